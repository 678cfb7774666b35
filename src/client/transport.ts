// The tiny socket interface the client session runs over. The web terminal adapts the browser's
// WebSocket to it and `ccremote attach` adapts the `ws` package's, so the session logic is shared.

/** What the session calls on an open socket. */
export interface Transport {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** What the socket reports back; an adapter calls these and nothing else. */
export interface TransportHandlers {
  open(): void;
  text(data: string): void;
  binary(data: Uint8Array): void;
  /** Called once, whether the socket failed to open or closed later. */
  close(code: number, reason: string): void;
}

/** Opens a WebSocket to `url` and wires it to `handlers`. */
export type Connect = (url: string, handlers: TransportHandlers) => Transport;
