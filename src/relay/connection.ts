// One WebSocket's message loop at the relay: messages are handled in order; while an asynchronous step
// (a store lookup) runs, later messages wait in a short queue. Control messages and WebSocket pings are
// rate-limited per socket, and pings are answered only while little waits to be written to the socket.
// Any error closes this socket and nothing else. After the handshake, a step (a credentials write) pauses
// the socket instead: what it sends meanwhile waits in the socket, not in the relay's memory. A socket that does not say hello in time is cut at
// once; one that is refused gets its close code and a moment to answer it, then is cut too, so that no
// peer keeps a socket open by ignoring the close handshake.

import type { RawData, WebSocket } from 'ws';
import { CloseCode, ProtocolError, checkControlSize, closeReason } from '../protocol/index.js';
import { TokenBucket, type RateLimitOptions } from '../net/rate-limit.js';

/** Messages that may wait while a connection is being authenticated. */
const MAX_EARLY_MESSAGES = 64;

/** How long a refused socket has to answer its close frame before it is cut, in ms. */
export const REFUSE_GRACE_MS = 1000;

const cutting = new WeakSet<WebSocket>();

/** Closes `ws` with `code`, and cuts it if its peer has not answered within `graceMs` (at once for 0): a peer that never answers a close holds nothing. */
export function closeThenCut(ws: WebSocket, code: number, reason: string, graceMs = REFUSE_GRACE_MS): void {
  if (ws.readyState === ws.OPEN) ws.close(code, closeReason(reason));
  if (graceMs === 0) return ws.terminate();
  if (ws.readyState === ws.CLOSED || cutting.has(ws)) return;
  cutting.add(ws);
  const timer = setTimeout(() => ws.terminate(), graceMs);
  timer.unref();
  ws.once('close', () => clearTimeout(timer));
}

/** Settings of a Connection. */
export interface ConnectionOptions {
  /** Time allowed between the upgrade and an accepted `hello`, in ms. */
  handshakeTimeoutMs: number;
  /** Control messages and pings this socket may send: a burst, and a refill per minute. */
  controlRate: RateLimitOptions;
  /** Bytes waiting for the socket above which its pings go unanswered. */
  replyHighWater: number;
  /** Where the socket comes from, for the log. */
  address: string;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** A socket's message loop; `onText` and `onBinary` are replaced as the handshake advances. */
export class Connection {
  onText: (raw: string) => void = () => {
    throw new ProtocolError('not ready for messages');
  };
  onBinary: (bytes: Buffer) => void = () => {
    throw new ProtocolError('expected hello as a text message');
  };
  private busy = false;
  private closed = false;
  private authenticated = false;
  private readonly early: Array<[RawData, boolean]> = [];
  /** Cuts a socket that does not say hello in time; dropped once it did (a socket lives long after). */
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly rate: TokenBucket;

  constructor(
    private readonly ws: WebSocket,
    private readonly options: ConnectionOptions,
  ) {
    this.rate = new TokenBucket(options.controlRate);
    this.handshakeTimer = setTimeout(() => this.refuse(CloseCode.HandshakeTimeout, 'no hello in time', 0), options.handshakeTimeoutMs);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('ping', (data) => this.ping(data));
    ws.on('close', () => {
      this.closed = true;
      this.stopHandshakeTimer();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  handshakeDone(): void {
    this.stopHandshakeTimer();
    this.authenticated = true;
  }

  private stopHandshakeTimer(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  /** Closes the socket with `code`, and cuts it if it has not answered within `graceMs` (at once for 0). */
  refuse(code: number, reason: string, graceMs = REFUSE_GRACE_MS): void {
    this.stopHandshakeTimer();
    this.closed = true;
    closeThenCut(this.ws, code, reason, graceMs);
  }

  /** Runs an asynchronous step, holding later messages until it is done. */
  step(run: () => Promise<void>): void {
    this.busy = true;
    // An authenticated peer may be streaming (an agent's output): it waits in its socket meanwhile.
    const paused = this.authenticated;
    if (paused) this.ws.pause();
    run()
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.busy = false;
        while (!this.busy && !this.closed && this.early.length > 0) {
          const [data, isBinary] = this.early.shift()!;
          this.handle(data, isBinary);
        }
        if (paused && !this.busy && !this.closed) this.ws.resume();
      });
  }

  private ping(data: Buffer): void {
    if (this.closed) return;
    if (!this.rate.take()) return this.tooFast();
    // Unanswered while the peer does not read what it is sent: it would only queue more.
    if (this.ws.bufferedAmount <= this.options.replyHighWater) this.ws.pong(data);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary && !this.rate.take()) return this.tooFast();
    if (this.busy) {
      // Before the handshake the queue is short; after it, the socket is paused and only what was already
      // on its way arrives.
      if (!this.authenticated && this.early.length >= MAX_EARLY_MESSAGES) return this.refuse(CloseCode.BadMessage, 'too many messages before the handshake finished');
      this.early.push([data, isBinary]);
      return;
    }
    this.handle(data, isBinary);
  }

  private tooFast(): void {
    this.options.log('socket_refused', { address: this.options.address, reason: 'too many messages' });
    // Nothing more is read: whatever the flood has sent already is not even parsed.
    this.ws.pause();
    this.refuse(CloseCode.PolicyViolation, 'too many messages; reconnect later');
  }

  private handle(data: RawData, isBinary: boolean): void {
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (isBinary) {
        this.onBinary(bytes);
      } else {
        checkControlSize(bytes.length);
        this.onText(bytes.toString('utf8'));
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (error instanceof ProtocolError) return this.refuse(error.code, error.message);
    this.options.log('internal_error', { message: (error as Error).message, stack: (error as Error).stack });
    this.refuse(1011, 'internal error');
  }
}
