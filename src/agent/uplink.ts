// Where the agent's terminals and clients send frames: the relay link (relay-link.ts), or a test's stand-in.

/** A connection that takes frames and says how much waits to be written. */
export interface Uplink {
  /** Whether frames can be sent now. */
  readonly isOnline: boolean;
  /**
   * Sends a frame (binary) or control message (text); returns the bytes waiting to be written. `written`
   * is called once `data` is no longer needed (written, or dropped with the connection): only then may its
   * memory be reused.
   */
  send(data: string | Uint8Array, written?: () => void): number;
  /** Calls back once the bytes waiting drop to `bytes`. */
  onceBelow(bytes: number, callback: () => void): void;
}
