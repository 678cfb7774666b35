// Adapts a `ws` WebSocket (server or client side) to the Peer interface, including the drain
// notification used to resume sending to a peer that fell behind.

import type { WebSocket } from 'ws';
import { closeReason } from '../protocol/index.js';
import type { Peer } from './peer.js';

interface Waiter {
  bytes: number;
  callback: () => void;
}

/** A Peer over a server-side `ws` socket. */
export class SocketPeer implements Peer {
  private waiters: Waiter[] = [];
  /** One callback for every send, so that no closure is made per frame. */
  private readonly flushed = (): void => {
    if (this.waiters.length === 0) return;
    const waiting = this.ws.bufferedAmount;
    const ready = this.waiters.filter((w) => waiting <= w.bytes);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => waiting > w.bytes);
    for (const w of ready) w.callback();
  };

  constructor(private readonly ws: WebSocket) {}

  send(data: string | Uint8Array, written?: () => void): number {
    if (this.ws.readyState !== this.ws.OPEN) {
      written?.();
      return 0;
    }
    // `ws` calls back once the socket has written the frame, or with an error once it cannot.
    this.ws.send(
      data,
      written
        ? () => {
            written();
            this.flushed();
          }
        : this.flushed,
    );
    return this.ws.bufferedAmount;
  }

  get waiting(): number {
    return this.ws.bufferedAmount;
  }

  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) this.ws.close(code, closeReason(reason));
  }

  onceBelow(bytes: number, callback: () => void): void {
    if (this.ws.bufferedAmount <= bytes) queueMicrotask(callback);
    else this.waiters.push({ bytes, callback });
  }
}
