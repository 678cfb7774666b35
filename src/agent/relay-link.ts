// The agent's connection to its relay: connects with the agent key, says hello, keeps the link alive
// with heartbeats, validates everything the relay sends, and reconnects with jittered, capped backoff.
// When the relay no longer accepts the key it asks its owner to register again instead of looping.

import { WebSocket } from 'ws';
import {
  CloseCode,
  Liveness,
  RetrySchedule,
  closeAction,
  FrameType,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  UnknownMessage,
  closeReason,
  decodeFrameOf,
  encodeMessage,
  parseRelayToAgent,
  socketUrl,
  type AgentToRelay,
  type FromClientFrame,
  type RelayToAgent,
} from '../protocol/index.js';
import { SocketPeer } from '../net/socket-peer.js';
import { maskOptions } from '../net/ws-mask.js';

/** Why the link is down, and what happens next. */
export interface LinkDown {
  code: number;
  reason: string;
  /** Delay before the next attempt; undefined when the link will not retry. */
  retryInMs: number | undefined;
}

/** Settings and callbacks of a RelayLink. */
export interface RelayLinkOptions {
  relayUrl: string;
  /**
   * Other relays of the same group, tried in order (after `relayUrl`) when a relay cannot be reached: a
   * connection that could not be opened moves on to the next; a connection that was lost tries its relay once more first.
   */
  fallbackUrls?: string[];
  /** Current credentials (they change after a re-registration). */
  credentials(): { agentId: string; agentKey: string };
  /** The hello to send on every connection. */
  hello(): Extract<AgentToRelay, { type: 'hello' }>;
  /** The relay accepted the agent. */
  onOnline(): void;
  onMessage(message: RelayToAgent): void;
  onFrame(frame: FromClientFrame): void;
  /** The relay sent a message of a type this agent does not know (a newer relay); it is ignored. */
  onUnknown(type: string): void;
  onDown(down: LinkDown): void;
  /** The relay refused the key: register again; the link reconnects once this resolves. */
  onUnauthorized(): Promise<void>;
  /** The link gave up for good (replaced by another agent, protocol mismatch). */
  onFatal(code: number, reason: string): void;
  heartbeatMs?: number;
  /** Silence after which the link is presumed dead (default 3 heartbeats). */
  deadAfterMs?: number;
  backoff?: { baseMs?: number; capMs?: number };
}

/** A self-healing connection to the relay. */
export class RelayLink {
  private ws: WebSocket | undefined;
  private peer: SocketPeer | undefined;
  private online = false;
  private stopped = false;
  private liveness: Liveness | undefined;
  private readonly retry: RetrySchedule;
  /** The relays to try, and which one this connection goes to. */
  private readonly urls: string[];
  private current = 0;

  constructor(private readonly options: RelayLinkOptions) {
    // Capped at 5 s: once the relay is back, the clients that paced the agent wait for it (pace.ts).
    this.retry = new RetrySchedule({ baseMs: 500, capMs: 5000, ...options.backoff });
    this.urls = [options.relayUrl, ...(options.fallbackUrls ?? [])];
  }

  /** The relay this link connects (or last connected) to. */
  get relayUrl(): string {
    return this.urls[this.current]!;
  }

  /** Whether the relay has accepted this agent on the current connection. */
  get isOnline(): boolean {
    return this.online;
  }

  start(): void {
    this.connect();
  }

  /** Sends a frame if online; returns the bytes waiting to be written (0 when offline). `written`: see Uplink. */
  send(data: string | Uint8Array, written?: () => void): number {
    if (this.online && this.peer) return this.peer.send(data, written);
    written?.();
    return 0;
  }

  /** Sends a control message if online. */
  sendMessage(message: AgentToRelay): void {
    this.send(encodeMessage(message));
  }

  /** Calls `callback` once the bytes waiting drop to `bytes` (or the link went down: the callback then runs on the next connection's first drain). */
  onceBelow(bytes: number, callback: () => void): void {
    this.peer?.onceBelow(bytes, callback);
  }

  /** Closes the link for good, waiting briefly for queued frames (such as an exit status) to go out. */
  async close(): Promise<void> {
    this.stopped = true;
    this.retry.cancel();
    this.liveness?.stop();
    const ws = this.ws;
    if (!ws || ws.readyState === ws.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000);
      ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (ws.readyState === ws.CONNECTING) ws.terminate();
      else ws.close(CloseCode.Normal, 'agent stopping');
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const { agentId, agentKey } = this.options.credentials();
    const relayUrl = this.relayUrl;
    const ws = new WebSocket(socketUrl(relayUrl, `/ws/agent/${agentId}`), {
      headers: { authorization: `Bearer ${agentKey}` },
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      ...maskOptions(relayUrl),
    });
    this.ws = ws;
    this.peer = new SocketPeer(ws);
    let failure: string | undefined;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      ws.send(encodeMessage(this.options.hello()));
      const every = this.options.heartbeatMs ?? 20_000;
      this.liveness?.stop();
      this.liveness = new Liveness({
        everyMs: every,
        deadAfterMs: this.options.deadAfterMs ?? every * 3,
        probe: () => this.online && ws.send(encodeMessage({ type: 'heartbeat' })),
        dead: () => ws.terminate(),
      });
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws === ws) this.liveness?.heard();
      try {
        this.receive(data as Buffer, isBinary);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        // A newer relay's message: said (once per kind, by the owner) and ignored; closing would only bring it again.
        if (error instanceof UnknownMessage) return this.options.onUnknown(error.messageType);
        failure = `relay sent a bad message: ${error.message}`;
        ws.close(CloseCode.BadMessage, closeReason(error.message));
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      failure = `relay answered HTTP ${res.statusCode} instead of a WebSocket`;
      ws.terminate();
    });
    ws.on('error', (error) => {
      failure ??= (error as NodeJS.ErrnoException).code ?? error.message;
    });
    ws.on('close', (code, reasonBytes) => {
      if (this.ws !== ws) return;
      this.liveness?.stop();
      this.liveness = undefined;
      this.online = false;
      this.ws = undefined;
      this.peer = undefined;
      if (this.stopped) return;
      // A relay that could not be reached: the next one of the group is tried.
      if (!opened && this.urls.length > 1) this.current = (this.current + 1) % this.urls.length;
      this.closed(code, reasonBytes.toString() || failure || 'connection lost');
    });
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.options.onFrame(decodeFrameOf(data, [FrameType.FromClient], 'relay'));
      return;
    }
    const message = parseRelayToAgent(data.toString('utf8'));
    if (message.type === 'connected') {
      this.online = true;
      this.retry.succeeded();
      this.options.onOnline();
      return;
    }
    if (message.type !== 'heartbeat_ack') this.options.onMessage(message);
  }

  private closed(code: number, reason: string): void {
    const action = closeAction('agent', code);
    if (action === 'fatal') {
      this.options.onDown({ code, reason, retryInMs: undefined });
      this.options.onFatal(code, reason);
      return;
    }
    const retryInMs = this.retry.delayAfter(code, reason);
    this.options.onDown({ code, reason, retryInMs });
    if (action === 'register') {
      // The relay does not know this agent (it lost its records) or its key: register again, then reconnect.
      // The first re-registration reconnects at once; if the new key is refused too, the backoff applies.
      this.options.onUnauthorized().then(
        () => this.schedule(this.retry.attempts <= 1 ? 0 : retryInMs),
        () => this.schedule(retryInMs),
      );
      return;
    }
    this.schedule(retryInMs);
  }

  private schedule(delayMs: number): void {
    if (!this.stopped) this.retry.schedule(delayMs, () => this.connect());
  }
}
