// The interface between a routing core and whatever carries its messages. The relay's hub and the
// agent speak to their sockets through it; the `ws` adapter is socket-peer.ts, and tests can use a fake.

/** One connected agent or client, as the hub sees it. */
export interface Peer {
  /**
   * Queues a text (string) or binary frame; returns the bytes now waiting to be written to this peer.
   * `written` is called once `data` is no longer needed (written to the socket, or dropped with the
   * connection): only then may its memory be reused.
   */
  send(data: string | Uint8Array, written?: () => void): number;
  /** The bytes waiting to be written to this peer now. */
  readonly waiting: number;
  /** Closes the connection with a close code from CloseCode and a short reason. */
  close(code: number, reason: string): void;
  /** Calls `callback` once, as soon as the bytes waiting for this peer drop to `bytes` or fewer. */
  onceBelow(bytes: number, callback: () => void): void;
}
