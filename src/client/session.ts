// The client side of a session, shared by the web terminal and `ccremote attach`: it connects to the
// relay with the token derived from the link's secret, keeps its place in the agent's output stream
// across reconnects, and delivers input exactly once (queued while offline, numbered, resent until the
// agent acknowledges it). Terminal bytes are end-to-end encrypted: it opens what the agent sealed and
// seals its input, with keys derived from the link's secret (seal.ts); anything that does not open, or
// comes out of order, is refused and the connection replaced. The agent's attention events (the
// program waits for the person) are sealed the same way. Independent of the socket implementation: it
// is handed a `Connect`.

import {
  Backoff,
  CloseCode,
  FATAL_CLOSE_CODES,
  ErrorCode,
  FrameType,
  IntegrityError,
  MAX_INPUT_CHUNK,
  PROTOCOL_VERSION,
  ProtocolError,
  accessToken,
  attentionKey,
  closeReason,
  decodeFrameOf,
  encodeMessage,
  openAttention,
  openFrame,
  openSnapshot,
  outputKey,
  parseRelayToClient,
  randomId,
  retryAfterFromReason,
  sessionKeys,
  socketUrl,
  utf8,
  keySecrets,
  type AttentionEvent,
  type BackoffOptions,
  type HistoryMode,
  type InputRecord,
  type SessionKeys,
  type SnapshotKind,
  type RelayToClient,
} from '../protocol/index.js';
import { InputQueue } from './input-queue.js';
import type { Connect, Transport } from './transport.js';

/** Where the session stands, as shown to the person using it. */
export type SessionState =
  | { kind: 'connecting' }
  | { kind: 'online'; name: string | undefined }
  | { kind: 'agent_offline'; name: string | undefined }
  | { kind: 'waiting'; retryInMs: number; code: number; reason: string }
  | { kind: 'failed'; code: number; reason: string }
  | { kind: 'closed' };

/** A status line from the agent (for example the command's exit). */
export type StatusMessage = Extract<RelayToClient, { type: 'status' }>;

/** Callbacks a session reports to; all optional. */
export interface SessionEvents {
  /** Terminal bytes, in stream order, each byte exactly once; `end` is the stream position after them. */
  output?(data: Uint8Array, end: number): void;
  /**
   * Replace the screen with `data` (reset the terminal first); the stream continues at `offset`. With
   * `unavailable` the agent could not restore the screen: `data` is empty, and what follows is only the
   * output it still holds (say so to the person).
   */
  snapshot?(data: Uint8Array, offset: number, kind: SnapshotKind): void;
  /** In `bytes` history mode: `missing` bytes of output were no longer buffered and are skipped. */
  gap?(missing: number): void;
  /**
   * After a reconnection (of this client or of the agent), how the session caught up: `resumed` (every
   * byte missed was replayed), `restored` (the screen was replaced by a snapshot: some output was not
   * replayed), or `gap` (bytes history: output was lost).
   */
  resync?(how: 'resumed' | 'restored' | 'gap'): void;
  state?(state: SessionState): void;
  status?(status: StatusMessage): void;
  error?(code: string, message: string): void;
  /** Round-trip time to the relay, in ms, measured by ping/pong. */
  latency?(ms: number): void;
  /** The program wants the person: it waits for them (`notification`, `message` says why) or finished its turn (`stop`). */
  attention?(event: AttentionEvent): void;
}

/** Settings of a ClientSession. */
export interface ClientSessionOptions {
  relayUrl: string;
  agentId: string;
  /** The link's secret: the full secret, or the view secret of a read-only link. */
  secret: string;
  /** The link is read-only: output can be watched, input cannot be sent. */
  readOnly?: boolean;
  /** The PIN key (pinKey()), for a link that needs a PIN. */
  pin?: Uint8Array;
  connect: Connect;
  events?: SessionEvents;
  /** How missing output is filled after a gap: `screen` (default) or `bytes`. */
  history?: HistoryMode;
  /** Input bytes kept while the agent is unreachable; more is refused (default 1 MiB). */
  maxQueuedInputBytes?: number;
  backoff?: BackoffOptions;
  /** Interval of pings to the relay (default 15 s). */
  pingIntervalMs?: number;
  /** Silence after which the connection is presumed dead and replaced (default 45 s). */
  idleTimeoutMs?: number;
  /**
   * Flow control: when true the owner calls `acknowledge(end)` once it has processed output (the web
   * terminal does so when xterm.js has parsed it); otherwise output counts as processed when the
   * `output` callback returns.
   */
  manualAck?: boolean;
}

/** Acknowledge at least every this many bytes processed, */
const ACK_EVERY = 64 * 1024;
/** and no later than this after processing anything (ms). */
const ACK_DELAY_MS = 50;

/** One person's view of one agent; survives any number of reconnects until `close()`. */
export class ClientSession {
  /** This session's identity at the agent; stable across reconnects, so input is applied once. */
  readonly sessionId = randomId();
  private readonly events: SessionEvents;
  private readonly token: string;
  private readonly viewSecret: string;
  /** Keys of this session's input and of the agent's acknowledgements of it (none for a read-only link). */
  private readonly inputKeys: SessionKeys | undefined;
  /** The keys output and attention events of the current stream open with. */
  private outputKey: Uint8Array | undefined;
  private attentionKey: Uint8Array | undefined;
  private readonly backoff: Backoff;
  /** Input not yet acknowledged by the agent (none for a read-only link). */
  private readonly input: InputQueue | undefined;
  private stream: string | undefined;
  private position: number | null = null;
  private size: { cols: number; rows: number } | undefined;
  private socket: Transport | undefined;
  private generation = 0;
  private admitted = false;
  private agentOnline = false;
  private agentName: string | undefined;
  private lastHeard = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private current: SessionState = { kind: 'connecting' };
  private stopped = false;
  /** Flow control: how far output has been processed, and how far that was told to the relay. */
  private processed = -1;
  private ackSent = -1;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set when a reconnection happened and the next output tells how it was caught up. */
  private resyncing = false;
  /** The agent came back as a new process: what came before is not continued. */
  private streamChanged = false;

  constructor(private readonly options: ClientSessionOptions) {
    this.events = options.events ?? {};
    const { agentId } = options;
    const secrets = keySecrets(options.secret, agentId, options.readOnly === true, options.pin);
    this.viewSecret = secrets.view;
    // A read-only link's token comes from its view secret.
    this.token = accessToken(secrets.full ?? secrets.view, agentId);
    this.inputKeys = secrets.full === undefined ? undefined : sessionKeys(secrets.full, agentId, this.sessionId);
    this.input = this.inputKeys && new InputQueue(this.inputKeys.input, options.maxQueuedInputBytes ?? 1 << 20);
    this.backoff = new Backoff({ baseMs: 500, capMs: 10_000, ...options.backoff });
  }

  /** The current state. */
  get state(): SessionState {
    return this.current;
  }

  /** The stream position of the next output byte this session needs, or null before the first. */
  get offset(): number | null {
    return this.position;
  }

  /** Opens the first connection. */
  start(): void {
    this.open();
  }

  /** Whether this session can type (its link is not read-only). */
  get canType(): boolean {
    return this.inputKeys !== undefined;
  }

  /** Sends keystrokes or text (a string is sent as UTF-8). Returns false if the offline queue is full or the link is read-only. */
  sendData(data: string | Uint8Array): boolean {
    if (!this.inputKeys) {
      this.events.error?.(ErrorCode.ReadOnly, 'This is a read-only link: typing is not possible.');
      return false;
    }
    const bytes = typeof data === 'string' ? utf8(data) : data;
    for (let at = 0; at < bytes.length; at += MAX_INPUT_CHUNK) {
      if (!this.enqueue({ kind: 'data', data: bytes.subarray(at, at + MAX_INPUT_CHUNK) })) return false;
    }
    return true;
  }

  /** Reports this client's terminal size; the agent decides which client's size the PTY takes. */
  resize(cols: number, rows: number): void {
    if (!this.inputKeys) return; // a read-only viewer does not size the terminal
    if (this.size && this.size.cols === cols && this.size.rows === rows) return;
    this.size = { cols, rows };
    if (this.admitted && this.agentOnline) this.enqueue({ kind: 'resize', cols, rows });
  }

  /** Flow control: output up to stream position `offset` has been processed. */
  acknowledge(offset: number): void {
    if (offset <= this.processed) return;
    this.processed = offset;
    if (!this.admitted) return;
    if (this.processed - Math.max(this.ackSent, 0) >= ACK_EVERY) this.sendAck();
    else this.ackTimer ??= setTimeout(() => this.sendAck(), ACK_DELAY_MS);
  }

  private sendAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (!this.admitted || this.processed <= this.ackSent) return;
    this.ackSent = this.processed;
    this.sendText(encodeMessage({ type: 'ack', offset: this.processed }));
  }

  /**
   * Resolves once the agent has written everything sent so far to the program (it acknowledged the
   * input). Programs read what arrives together as one: this separates a paste from the Enter after it.
   */
  delivered(): Promise<void> {
    return this.input && !this.stopped ? this.input.delivered() : Promise.resolve();
  }

  /** Skips the wait before the next reconnect attempt (for example when the page becomes visible). */
  reconnectNow(): void {
    if (this.current.kind !== 'waiting') return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  /** Closes the connection for good. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.input?.release();
    this.dropSocket(CloseCode.Normal, 'client closed');
    this.setState({ kind: 'closed' });
  }

  private open(): void {
    this.generation++;
    const generation = this.generation;
    this.admitted = false;
    this.setState({ kind: 'connecting' });
    const live = (): boolean => generation === this.generation && !this.stopped;
    this.socket = this.options.connect(socketUrl(this.options.relayUrl, `/ws/client/${this.options.agentId}`), {
      open: () => live() && this.onOpen(),
      text: (data) => live() && this.guard(() => this.onText(data)),
      binary: (data) => live() && this.guard(() => this.onBinary(data)),
      close: (code, reason) => live() && this.onClose(code, reason),
    });
  }

  private onOpen(): void {
    this.lastHeard = Date.now();
    const resume = this.stream !== undefined && this.position !== null ? { stream: this.stream, offset: this.position } : undefined;
    this.sendText(
      encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: this.token, session: this.sessionId, resume, history: this.options.history ?? 'screen' }),
    );
    const interval = this.options.pingIntervalMs ?? 15_000;
    clearInterval(this.pingTimer);
    // The first ping comes at a random point of the interval, so that clients that connected together
    // (after a relay restart, say) do not all ping together forever after.
    const generation = this.generation;
    this.pingTimer = setTimeout(() => {
      if (generation !== this.generation) return;
      this.tick();
      this.pingTimer = setInterval(() => this.tick(), interval);
    }, Math.random() * interval);
  }

  private tick(): void {
    if (Date.now() - this.lastHeard > (this.options.idleTimeoutMs ?? 45_000)) {
      this.onClose(CloseCode.Idle, 'no answer from the relay');
      return;
    }
    this.sendText(encodeMessage({ type: 'ping', t: Date.now() }));
  }

  /** A malformed message from the relay ends this connection; the session reconnects. */
  private guard(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (error instanceof IntegrityError) {
        this.events.error?.(ErrorCode.Integrity, `Terminal data failed its integrity check and was refused (${error.message}); reconnecting.`);
      } else {
        this.events.error?.(ErrorCode.BadMessage, `relay sent a bad message: ${error.message}`);
      }
      this.onClose(CloseCode.BadMessage, closeReason(error.message), false);
    }
  }

  private onText(raw: string): void {
    this.lastHeard = Date.now();
    const message = parseRelayToClient(raw);
    switch (message.type) {
      case 'connected':
        this.admitted = true;
        this.ackSent = -1; // the relay knows nothing of this connection's progress yet
        this.backoff.reset();
        this.sendText(encodeMessage({ type: 'ping', t: Date.now() }));
        this.agentName = message.name;
        this.agentStatus(message.agent_online, message.stream);
        return;
      case 'agent_online':
        this.agentName = message.name ?? this.agentName;
        this.agentStatus(true, message.stream);
        return;
      case 'agent_offline':
        this.agentStatus(false, undefined);
        return;
      case 'status':
        this.events.status?.(message);
        return;
      case 'error':
        this.events.error?.(message.code, message.message);
        return;
      case 'pong':
        if (message.t !== undefined) this.events.latency?.(Date.now() - message.t);
        return;
      case 'attention':
        this.attention(message.box);
        return;
    }
  }

  private agentStatus(online: boolean, stream: string | undefined): void {
    // Coming (back) online with a place in the stream: the first output says how we caught up.
    if (online && !this.agentOnline && this.position !== null) this.resyncing = true;
    this.agentOnline = online;
    if (online && stream !== this.stream) {
      // A new stream (the agent restarted): positions in the old one mean nothing any more.
      if (this.stream !== undefined) this.streamChanged = true;
      this.stream = stream;
      this.outputKey = stream === undefined ? undefined : outputKey(this.viewSecret, this.options.agentId, stream);
      this.attentionKey = stream === undefined ? undefined : attentionKey(this.viewSecret, this.options.agentId, stream);
      this.position = null;
      this.processed = -1;
      this.ackSent = -1;
    }
    this.setState(online ? { kind: 'online', name: this.agentName } : { kind: 'agent_offline', name: this.agentName });
    if (!online) return;
    // Everything not yet acknowledged goes again; the agent applies each sequence number once.
    for (const frame of this.input?.pending() ?? []) this.socket?.send(frame);
    if (this.size) this.enqueue({ kind: 'resize', cols: this.size.cols, rows: this.size.rows });
  }

  /**
   * An attention event from the agent. One that does not open (sealed for another stream, altered) or
   * holds no valid event is only reported: unlike terminal data, nothing depends on it.
   */
  private attention(box: string): void {
    let event: AttentionEvent;
    try {
      if (!this.attentionKey) throw new ProtocolError('attention event before the agent came online');
      event = openAttention(this.attentionKey, box);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.events.error?.(ErrorCode.BadMessage, `An attention event from the agent was refused: ${error.message}`);
      return;
    }
    this.events.attention?.(event);
  }

  private onBinary(bytes: Uint8Array): void {
    this.lastHeard = Date.now();
    const frame = decodeFrameOf(bytes, [FrameType.Output, FrameType.Snapshot, FrameType.InputAck], 'relay');
    if (frame.type === FrameType.InputAck) {
      if (!this.inputKeys) throw new IntegrityError('input acknowledgement sent to a read-only session');
      openFrame(this.inputKeys.ack, frame);
      this.input?.acknowledged(frame.seq);
      return;
    }
    if (!this.outputKey) throw new ProtocolError('output before the agent came online');
    const snapshot = frame.type === FrameType.Snapshot ? openSnapshot(this.outputKey, frame) : undefined;
    const data = snapshot ? snapshot.data : openFrame(this.outputKey, frame);
    if (frame.type === FrameType.Output && this.position !== null) {
      // Output the session already has is never sent again, and a jump is only possible where output
      // may be lost (bytes history); either means frames were dropped, replayed or reordered on the way.
      const end = frame.offset + data.length;
      if (end <= this.position && (data.length > 0 || frame.offset < this.position)) {
        throw new IntegrityError(`output ${frame.offset}..${end} repeats what was already received (at ${this.position})`);
      }
      if (frame.offset > this.position && (this.options.history ?? 'screen') === 'screen') {
        throw new IntegrityError(`output jumps from ${this.position} to ${frame.offset}`);
      }
    }
    if (this.resyncing) {
      this.resyncing = false;
      // A screen the agent could not restore is output lost, whatever follows.
      const how =
        snapshot?.kind === 'unavailable'
          ? 'gap'
          : snapshot || this.streamChanged
            ? 'restored'
            : this.position !== null && frame.offset > this.position
              ? 'gap'
              : 'resumed';
      this.streamChanged = false;
      this.events.resync?.(how);
    }
    if (snapshot) {
      this.position = frame.offset;
      // A snapshot starts the screen over: progress counts from its position.
      this.processed = Math.min(this.processed, frame.offset - 1);
      this.events.snapshot?.(data, frame.offset, snapshot.kind);
      if (!this.options.manualAck) this.acknowledge(frame.offset);
      return;
    }
    const end = frame.offset + data.length;
    if (this.position === null) {
      this.position = frame.offset;
    } else if (frame.offset > this.position) {
      this.events.gap?.(frame.offset - this.position);
      this.position = frame.offset;
    }
    // Bytes already written are skipped; an empty frame only establishes the position.
    if (end <= this.position) return;
    const fresh = data.subarray(this.position - frame.offset);
    this.position = end;
    if (fresh.length > 0) this.events.output?.(fresh, end);
    if (!this.options.manualAck) this.acknowledge(end);
  }

  private enqueue(record: InputRecord): boolean {
    if (!this.input) return false;
    const frame = this.input.add(record);
    if (!frame) {
      this.events.error?.('input_queue_full', 'The agent is not acknowledging input; further keystrokes are dropped until it does.');
      return false;
    }
    if (this.admitted && this.agentOnline) this.socket?.send(frame);
    return true;
  }

  private onClose(code: number, reason: string, serverSaid = true): void {
    this.dropSocket(code === CloseCode.BadMessage ? CloseCode.BadMessage : CloseCode.Normal, 'reconnecting');
    if (this.stopped) return;
    const explained =
      code === CloseCode.Unauthorized && this.options.pin
        ? 'Wrong PIN, or this link was replaced.'
        : (describeClose(code) ?? (reason || 'Connection lost.'));
    if (serverSaid && FATAL_CLOSE_CODES.has(code)) {
      this.setState({ kind: 'failed', code, reason: explained });
      return;
    }
    // The relay says how long to wait after too many failed attempts.
    const retryInMs = Math.max(this.backoff.next(), code === CloseCode.RateLimited ? (retryAfterFromReason(reason) ?? 0) : 0);
    this.setState({ kind: 'waiting', retryInMs, code, reason: explained });
    this.retryTimer = setTimeout(() => this.open(), retryInMs);
  }

  private dropSocket(code: number, reason: string): void {
    this.generation++;
    clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.admitted = false;
    this.agentOnline = false;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(code, reason);
  }

  private sendText(text: string): void {
    this.socket?.send(text);
  }

  private setState(state: SessionState): void {
    this.current = state;
    this.events.state?.(state);
  }
}

/** A short human explanation of a close code, if it has one. */
export function describeClose(code: number): string | undefined {
  switch (code) {
    case CloseCode.Unauthorized:
      return 'This link is not valid (wrong secret, or the agent now has a new link).';
    case CloseCode.ForbiddenOrigin:
      return 'This page is not allowed to connect to the relay (origin refused).';
    case CloseCode.UnsupportedVersion:
      return 'The relay speaks another protocol version.';
    case CloseCode.BadMessage:
      return 'A message was rejected.';
    case CloseCode.TooMany:
      return 'Too many connections; retrying.';
    case CloseCode.RateLimited:
      return 'Too many failed attempts; waiting before trying again.';
    case CloseCode.GoingAway:
      return 'The relay is restarting.';
    case CloseCode.Idle:
      return 'The connection went quiet.';
    case CloseCode.TooBig:
      return 'A message was too large.';
    default:
      return undefined;
  }
}
