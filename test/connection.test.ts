// The relay's per-socket message loop (relay/connection.ts), driven by hand: an authenticated peer that keeps
// sending while an asynchronous step runs (an agent streaming output while its new credentials are written)
// is paused, not cut, and everything it sent is handled afterwards, in order.

import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Connection } from '../src/relay/connection.js';

/** The parts of a ws WebSocket the loop uses, recording what was done to it. */
class Socket extends EventEmitter {
  readonly OPEN = 1;
  readonly CLOSED = 3;
  readyState = 1;
  bufferedAmount = 0;
  paused = false;
  closed: [number, string] | undefined;
  close(code: number, reason: string): void {
    this.closed = [code, reason];
  }
  terminate(): void {
    this.readyState = 3;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  pong(): void {}
}

describe('Connection', () => {
  it('pauses an authenticated peer during a step instead of cutting it, then handles what came, in order', async () => {
    const socket = new Socket();
    const conn = new Connection(socket as never, { handshakeTimeoutMs: 10_000, controlRate: { burst: 2000, perMinute: 120_000 }, replyHighWater: 65536, address: 'test', log: () => undefined });
    conn.handshakeDone();
    const handled: number[] = [];
    let finishStep!: () => void;
    conn.onBinary = (bytes) => void handled.push(bytes[0]!);
    conn.onText = () => conn.step(() => new Promise<void>((resolve) => (finishStep = resolve)));
    socket.emit('message', Buffer.from('{"type":"credentials"}'), false);
    expect(socket.paused).toBe(true);
    // What was already on its way arrives meanwhile: more than the 64 a peer may send before its hello.
    for (let i = 0; i < 200; i++) socket.emit('message', Buffer.from([i % 256]), true);
    expect(handled).toEqual([]);
    finishStep();
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.closed).toBeUndefined();
    expect(socket.paused).toBe(false);
    expect(handled).toEqual(Array.from({ length: 200 }, (_, i) => i % 256));
  });

  it('before the handshake, a peer that sends more than 64 messages during a step is refused', async () => {
    const socket = new Socket();
    const conn = new Connection(socket as never, { handshakeTimeoutMs: 10_000, controlRate: { burst: 2000, perMinute: 120_000 }, replyHighWater: 65536, address: 'test', log: () => undefined });
    conn.onText = () => conn.step(() => new Promise<void>(() => undefined));
    socket.emit('message', Buffer.from('{"type":"hello"}'), false);
    expect(socket.paused).toBe(false);
    for (let i = 0; i < 65; i++) socket.emit('message', Buffer.from([1]), true);
    expect(socket.closed?.[0]).toBe(4000);
  });
});
