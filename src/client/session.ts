// The client side of a session, shared by the web terminal and `ccremote attach`: it connects to the
// relay with the token of the credential it holds (an access link, or a paired device's key), runs the
// channel handshake with the agent on every connection (channel-client.ts), keeps its place in the agent's
// output stream across reconnects (stream-follower.ts), and delivers input exactly once (queued while offline, numbered,
// resent until the agent acknowledges it). Live output opens with the stream key the agent gave this
// connection; snapshots, acknowledgements and channel messages with this connection's key; input is sealed
// with it. Anything that does not open, comes out of order or is older than what the session has is
// refused and the connection replaced. Independent of the socket implementation: it is handed a `Connect`.

import {
  CloseCode,
  ErrorCode,
  FrameType,
  IntegrityError,
  MAX_INPUT_CHUNK,
  PROTOCOL_VERSION,
  ProtocolError,
  accessToken,
  closeReason,
  decodeFrameOf,
  deviceToken,
  encodeChannelMessage,
  encodeMessage,
  open,
  openFrame,
  parseAgentChannel,
  parseRelayToClient,
  randomId,
  Liveness,
  RetrySchedule,
  closeAction,
  sealChannel,
  socketUrl,
  toBase64Url,
  randomBytes,
  utf8,
  type AgentChannelMessage,
  type AttentionEvent,
  type BackoffOptions,
  type ChannelFrame,
  type ClientChannelMessage,
  type Credential,
  type DeviceInfo,
  type HandshakeFrame,
  type HistoryMode,
  type InputRecord,
  type OpenPayload,
  type Refused,
  type WelcomePayload,
} from '../protocol/index.js';
import { ChannelClient, defaultKeyAgreement, type HandshakeOutcome, type KeyAgreement } from './channel-client.js';
import { InputQueue } from './input-queue.js';
import { StreamFollower, type StreamEvents } from './stream-follower.js';
import type { Connect, Transport } from './transport.js';

/** Where the session stands, as shown to the person using it. */
export type SessionState =
  | { kind: 'connecting' }
  | { kind: 'online'; name: string | undefined }
  | { kind: 'agent_offline'; name: string | undefined }
  | { kind: 'waiting'; retryInMs: number; code: number; reason: string }
  /** Given up: the relay refused the credential (`code`), or the agent refused the handshake (`refused`). */
  | { kind: 'failed'; code: number; reason: string; refused?: Refused['reason'] }
  | { kind: 'closed' };

/** A paired device's credential, as the session reports it once the agent accepted it (keep it; forget the link). */
export interface PairedCredential {
  id: string;
  secret: string;
  name: string;
  access: 'full' | 'view';
}

/** Callbacks a session reports to; all optional (the output stream's are StreamEvents). */
export interface SessionEvents extends StreamEvents {
  state?(state: SessionState): void;
  error?(code: string, message: string): void;
  /** Round-trip time to the relay, in ms, measured by ping/pong. */
  latency?(ms: number): void;
  /** The program wants the person: it waits for them (`notification`, `message` says why) or finished its turn (`stop`). */
  attention?(event: AttentionEvent): void;
  /** The device is paired: from now on the session connects with this credential (store it, forget the link). */
  paired?(credential: PairedCredential): void;
  /** The channel opened: what this connection may do, and the device it authenticated as. */
  opened?(welcome: WelcomePayload): void;
  /** The paired devices, as asked for with `listDevices()`. */
  devices?(devices: DeviceInfo[]): void;
  /** A device was revoked, as asked for with `revokeDevice()`. */
  revoked?(id: string): void;
}

/** Settings of a ClientSession. */
export interface ClientSessionOptions {
  relayUrl: string;
  agentId: string;
  /** What the session proves it holds: a link's secret, or a paired device's key. */
  credential: Credential;
  /** The PIN, for a link that needs one (only pairing with a link asks for it). */
  pin?: string;
  /** Pair this device with the agent (a link only), under this name; see `paired`. */
  pair?: { name: string };
  /** How the handshake's ephemeral keys are made (the web page passes WebCrypto's where it has it). */
  keyAgreement?: KeyAgreement;
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

/** The channel with the agent on the current connection. */
type Channel =
  | { kind: 'closed' }
  | { kind: 'handshaking'; client: ChannelClient }
  | {
      kind: 'open';
      keys: { send: Uint8Array; receive: Uint8Array };
      access: 'full' | 'view';
      /** Channel messages numbered in each direction: the last sent, and the last taken (a replay is not above it). */
      seq: { sent: number; received: number };
    };

/**
 * PIN exchanges a session runs without one ending in an authenticated WELCOME before it asks for the PIN
 * again. A relay that plays the agent learns from each exchange whether one PIN guess was right, so it must
 * not be able to make the session run them without end.
 */
const MAX_UNCONFIRMED_PIN_EXCHANGES = 3;

/** One person's view of one agent; survives any number of reconnects until `close()`. */
export class ClientSession {
  /** This session's identity at the agent; stable across reconnects, so input is applied once. */
  readonly sessionId = randomId();
  private readonly events: SessionEvents;
  private credential: Credential;
  private readonly retry: RetrySchedule;
  /** Input not yet acknowledged by the agent. */
  private readonly input: InputQueue;
  private channel: Channel = { kind: 'closed' };
  /** Where the session stands in the agent's output stream. */
  private readonly stream: StreamFollower;
  private size: { cols: number; rows: number } | undefined;
  private socket: Transport | undefined;
  private generation = 0;
  private admitted = false;
  private agentName: string | undefined;
  /** Keep-alive of the current connection. */
  private liveness: Liveness | undefined;
  private current: SessionState = { kind: 'connecting' };
  private stopped = false;
  /** Flow control: how far output has been processed, and how far that was told to the relay. */
  private processed = -1;
  private ackSent = -1;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** A pairing sent on this connection, and the key it offered. */
  private pairing: { id: string; secret: string } | undefined;
  /** The credential the current connection was admitted with (pairing replaces the session's on the way). */
  private admittedWith: Credential | undefined;
  /** PIN exchanges started since the last authenticated WELCOME. */
  private pinExchanges = 0;
  /** While a handshake step computes (its key agreement may be asynchronous), what arrives waits here, in order. */
  private inbox: Array<{ text: string } | { binary: Uint8Array }> | undefined;

  constructor(private readonly options: ClientSessionOptions) {
    this.events = options.events ?? {};
    this.credential = options.credential;
    this.input = new InputQueue(options.maxQueuedInputBytes ?? 1 << 20);
    this.stream = new StreamFollower(options.history ?? 'screen', this.events);
    this.retry = new RetrySchedule({ baseMs: 500, capMs: 10_000, ...options.backoff });
  }

  /** The current state. */
  get state(): SessionState {
    return this.current;
  }

  /** The stream position of the next output byte this session needs, or null before the first. */
  get offset(): number | null {
    return this.stream.offset;
  }

  /** Opens the first connection. */
  start(): void {
    this.open();
  }

  /** Whether this session can type: its credential is not read-only (and the agent agreed, once the channel is open). */
  get canType(): boolean {
    return this.channel.kind === 'open' ? this.channel.access === 'full' : !this.credential.readOnly;
  }

  /** Sends keystrokes or text (a string is sent as UTF-8). Returns false if the offline queue is full or the session is read-only. */
  sendData(data: string | Uint8Array): boolean {
    if (!this.canType) {
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
    if (!this.canType) return; // a read-only viewer does not size the terminal
    if (this.size && this.size.cols === cols && this.size.rows === rows) return;
    this.size = { cols, rows };
    if (this.channel.kind === 'open') this.enqueue({ kind: 'resize', cols, rows });
  }

  /** Flow control: output up to stream position `offset` has been processed. */
  acknowledge(offset: number): void {
    if (offset <= this.processed) return;
    this.processed = offset;
    if (!this.admitted) return;
    if (this.processed - Math.max(this.ackSent, 0) >= ACK_EVERY) this.sendAck();
    else this.ackTimer ??= setTimeout(() => this.sendAck(), ACK_DELAY_MS);
  }

  /** Asks the agent for its paired devices (answered by the `devices` event; full access only). */
  listDevices(): void {
    this.toChannel({ type: 'devices' });
  }

  /** Asks the agent to revoke a paired device (answered by `revoked`; the link is replaced too). */
  revokeDevice(id: string): void {
    this.toChannel({ type: 'revoke', id });
  }

  /**
   * Resolves once the agent has written everything sent so far to the program (it acknowledged the
   * input). Programs read what arrives together as one: this separates a paste from the Enter after it.
   */
  delivered(): Promise<void> {
    return !this.stopped ? this.input.delivered() : Promise.resolve();
  }

  /** Skips the wait before the next reconnect attempt (for example when the page becomes visible). */
  reconnectNow(): void {
    if (this.current.kind !== 'waiting') return;
    this.retry.cancel();
    this.open();
  }

  /** Closes the connection for good. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.retry.cancel();
    this.input.release();
    this.dropSocket(CloseCode.Normal, 'client closed');
    this.setState({ kind: 'closed' });
  }

  private sendAck(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    if (!this.admitted || this.processed <= this.ackSent) return;
    this.ackSent = this.processed;
    this.sendText(encodeMessage({ type: 'ack', offset: this.processed }));
  }

  private open(): void {
    this.generation++;
    const generation = this.generation;
    this.admitted = false;
    this.setState({ kind: 'connecting' });
    const live = (): boolean => generation === this.generation && !this.stopped;
    this.socket = this.options.connect(socketUrl(this.options.relayUrl, `/ws/client/${this.options.agentId}`), {
      open: () => live() && this.onOpen(),
      text: (data) => live() && this.deliver({ text: data }),
      binary: (data) => live() && this.deliver({ binary: data }),
      close: (code, reason) => live() && this.onClose(code, reason),
    });
  }

  /** A message from the relay: handled now, or after the handshake step under way. */
  private deliver(message: { text: string } | { binary: Uint8Array }): void {
    if (this.inbox) {
      this.inbox.push(message);
      return;
    }
    this.guard(() => ('text' in message ? this.onText(message.text) : this.onBinary(message.binary)));
  }

  /** Runs a handshake step that may wait (a key agreement); what arrives meanwhile is handled after it, in order. */
  private step(work: () => Promise<void>): void {
    const generation = this.generation;
    this.inbox ??= [];
    void work()
      .catch((error: unknown) => {
        if (generation === this.generation) this.guard(() => {
          throw error;
        });
      })
      .finally(() => {
        if (generation !== this.generation) return;
        const waiting = this.inbox ?? [];
        this.inbox = undefined;
        for (const message of waiting) this.deliver(message);
      });
  }

  private onOpen(): void {
    const { agentId } = this.options;
    const credential = this.credential;
    this.admittedWith = credential;
    const token = credential.kind === 'link' ? accessToken(credential.secret, agentId) : deviceToken(credential.secret, agentId, credential.id);
    this.sendText(
      encodeMessage({
        type: 'hello',
        v: PROTOCOL_VERSION,
        token,
        ...(credential.kind === 'device' ? { device: credential.id } : {}),
        session: this.sessionId,
        resume: this.stream.resumePoint(),
        history: this.options.history ?? 'screen',
      }),
    );
    this.liveness?.stop();
    this.liveness = new Liveness({
      everyMs: this.options.pingIntervalMs ?? 15_000,
      deadAfterMs: this.options.idleTimeoutMs ?? 45_000,
      probe: () => this.sendText(encodeMessage({ type: 'ping', t: Date.now() })),
      dead: () => this.onClose(CloseCode.Idle, 'no answer from the relay'),
    });
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
    this.liveness?.heard();
    const message = parseRelayToClient(raw);
    switch (message.type) {
      case 'connected':
        this.admitted = true;
        this.ackSent = -1; // the relay knows nothing of this connection's progress yet
        this.retry.succeeded();
        this.sendText(encodeMessage({ type: 'ping', t: Date.now() }));
        this.agentName = message.name;
        if (message.agent_online) this.handshake();
        else this.agentAway();
        return;
      case 'agent_online':
        // A new agent connection (maybe a new process): every connection to it runs its own handshake.
        this.agentName = message.name ?? this.agentName;
        this.handshake();
        return;
      case 'agent_offline':
        this.agentAway();
        return;
      case 'status':
        this.broadcast('An exit status', () => this.stream.exitStatus(message.box));
        return;
      case 'error':
        this.events.error?.(message.code, message.message);
        return;
      case 'pong':
        if (message.t !== undefined) this.events.latency?.(Date.now() - message.t);
        return;
      case 'attention':
        this.broadcast('An attention event', () => this.events.attention?.(this.stream.attention(message.box)));
        return;
    }
  }

  /** Starts the channel handshake with the agent on this connection. */
  private handshake(): void {
    const open = (): OpenPayload => {
      const resume = this.stream.resumePoint();
      return { session: this.sessionId, ...(resume ? { resume } : {}), history: this.options.history ?? 'screen' };
    };
    const pin = this.credential.kind === 'link' ? this.options.pin : undefined;
    if (pin !== undefined && this.pinExchanges++ >= MAX_UNCONFIRMED_PIN_EXCHANGES) {
      this.dropSocket(CloseCode.Normal, 'PIN needed again');
      this.setState({
        kind: 'failed',
        code: CloseCode.Unauthorized,
        reason: `The PIN exchange did not complete ${MAX_UNCONFIRMED_PIN_EXCHANGES} times in a row; type the PIN again.`,
        refused: 'pin_required',
      });
      return;
    }
    const client = new ChannelClient(this.options.agentId, this.credential, pin, open, this.options.keyAgreement ?? defaultKeyAgreement);
    this.channel = { kind: 'handshaking', client };
    this.step(async () => {
      const frame = await client.start();
      if (this.channel.kind === 'handshaking' && this.channel.client === client) this.socket?.send(frame);
    });
  }

  private agentAway(): void {
    this.closeChannel();
    this.setState({ kind: 'agent_offline', name: this.agentName });
  }

  private onHandshake(frame: HandshakeFrame): void {
    if (this.channel.kind !== 'handshaking') throw new ProtocolError('handshake frame outside a handshake');
    const client = this.channel.client;
    this.step(async () => {
      const outcome = await client.receive(frame);
      if (this.channel.kind === 'handshaking' && this.channel.client === client) this.handshakeStep(outcome);
    });
  }

  private handshakeStep(outcome: HandshakeOutcome): void {
    if (outcome.kind === 'send') {
      this.socket?.send(outcome.frame);
      return;
    }
    if (outcome.kind === 'refused') {
      this.channel = { kind: 'closed' };
      const { reason, message } = outcome.refused;
      if (reason === 'too_many_attempts' || reason === 'busy') {
        this.onClose(CloseCode.RateLimited, message, false);
        return;
      }
      this.dropSocket(CloseCode.Normal, 'refused by the agent');
      this.setState({ kind: 'failed', code: CloseCode.Unauthorized, reason: message, refused: reason });
      return;
    }
    this.opened(outcome.welcome, outcome.keys);
  }

  private opened(welcome: WelcomePayload, keys: { send: Uint8Array; receive: Uint8Array }): void {
    this.pinExchanges = 0;
    if (this.stream.attach(welcome.stream, welcome.key, welcome.run)) {
      // A new stream (the agent restarted): progress in the old one means nothing any more, and input the
      // old process was sent but did not acknowledge may have run there: it is not sent again.
      this.processed = -1;
      this.ackSent = -1;
      const dropped = this.input.dropSent();
      if (dropped > 0) {
        this.events.error?.(
          'input_dropped',
          `The agent restarted before confirming the last ${dropped === 1 ? 'input' : `${dropped} inputs`}; to be sure nothing runs twice, ${dropped === 1 ? 'it was' : 'they were'} not sent again.`,
        );
      }
    }
    this.channel = { kind: 'open', keys, access: welcome.access, seq: { sent: 0, received: 0 } };
    this.agentName = welcome.name ?? this.agentName;
    this.events.opened?.(welcome);
    this.setState({ kind: 'online', name: this.agentName });
    // Everything not yet acknowledged goes again, sealed for this connection; the agent applies each sequence number once.
    if (welcome.access === 'full') for (const frame of this.input.pending(keys.send)) this.socket?.send(frame);
    if (welcome.access === 'full' && this.size) this.enqueue({ kind: 'resize', cols: this.size.cols, rows: this.size.rows });
    if (this.options.pair && welcome.can_pair && this.credential.kind === 'link') {
      this.pairing = { id: deviceId(), secret: toBase64Url(randomBytes(32)) };
      this.toChannel({ type: 'pair', id: this.pairing.id, secret: this.pairing.secret, name: this.options.pair.name });
    }
  }

  private onChannel(frame: ChannelFrame): void {
    if (this.channel.kind !== 'open') throw new ProtocolError('channel message before the channel opened');
    const bytes = open(this.channel.keys.receive, frame.header, frame.box, 'channel message');
    if (frame.seq <= this.channel.seq.received) throw new IntegrityError(`channel message ${frame.seq} came again (a replay)`);
    this.channel.seq.received = frame.seq;
    const message: AgentChannelMessage = parseAgentChannel(bytes);
    switch (message.type) {
      case 'paired': {
        const pairing = this.pairing;
        if (!pairing || pairing.id !== message.id) return;
        this.pairing = undefined;
        this.credential = { kind: 'device', id: pairing.id, secret: pairing.secret, readOnly: message.access === 'view' };
        this.events.paired?.({ id: pairing.id, secret: pairing.secret, name: message.name, access: message.access });
        return;
      }
      case 'stream_key':
        this.stream.rekey(message.key, message.from);
        return;
      case 'devices':
        this.events.devices?.(message.devices);
        return;
      case 'revoked':
        this.events.revoked?.(message.id);
        return;
      case 'refused':
        this.events.error?.('refused', message.message);
        return;
    }
  }

  private toChannel(message: ClientChannelMessage): void {
    if (this.channel.kind !== 'open') return;
    this.socket?.send(sealChannel(this.channel.keys.send, ++this.channel.seq.sent, encodeChannelMessage(message)));
  }

  /**
   * A sealed broadcast from the agent (an attention event, the exit status). One that does not open (sealed
   * for another stream, altered) or holds nothing valid is only reported: unlike terminal data, nothing
   * depends on it.
   */
  private broadcast(what: string, handle: () => void): void {
    try {
      handle();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.events.error?.(ErrorCode.BadMessage, `${what} from the agent was refused: ${error.message}`);
    }
  }

  private onBinary(bytes: Uint8Array): void {
    this.liveness?.heard();
    const frame = decodeFrameOf(bytes, [FrameType.Output, FrameType.Snapshot, FrameType.InputAck, FrameType.Handshake, FrameType.Channel], 'relay');
    if (frame.type === FrameType.Handshake) return this.onHandshake(frame);
    if (this.channel.kind !== 'open') throw new ProtocolError('terminal data before the channel opened');
    if (frame.type === FrameType.Channel) return this.onChannel(frame);
    if (frame.type === FrameType.InputAck) {
      openFrame(this.channel.keys.receive, frame);
      this.input.acknowledged(frame.seq);
      return;
    }
    const received = this.stream.receive(frame, this.channel.keys.receive);
    // A snapshot starts the screen over: progress counts from its position.
    if (received?.kind === 'snapshot') this.processed = Math.min(this.processed, received.at - 1);
    if (received && !this.options.manualAck) this.acknowledge(received.at);
  }

  private enqueue(record: InputRecord): boolean {
    const seq = this.input.add(record);
    if (seq === undefined) {
      this.events.error?.('input_queue_full', 'The agent is not acknowledging input; further keystrokes are dropped until it does.');
      return false;
    }
    if (this.channel.kind === 'open') this.socket?.send(this.input.frame(seq, this.channel.keys.send)!);
    return true;
  }

  private onClose(code: number, reason: string, serverSaid = true): void {
    this.dropSocket(code === CloseCode.BadMessage ? CloseCode.BadMessage : CloseCode.Normal, 'reconnecting');
    if (this.stopped) return;
    const explained =
      code === CloseCode.Unauthorized && this.credential.kind === 'device'
        ? 'This device is not paired with the agent any more.'
        : (describeClose(code) ?? (reason || 'Connection lost.'));
    // A connection admitted with the link, on which this device paired, is cut when the link is replaced:
    // the device's own key gets it back in.
    const pairedSince = code === CloseCode.Unauthorized && this.admittedWith !== undefined && this.admittedWith !== this.credential;
    if (serverSaid && closeAction('client', code) === 'fatal' && !pairedSince) {
      this.setState({ kind: 'failed', code, reason: explained });
      return;
    }
    // The relay (or the agent) says how long to wait after too many failed attempts.
    const retryInMs = this.retry.delayAfter(code, reason);
    this.setState({ kind: 'waiting', retryInMs, code, reason: code === CloseCode.RateLimited && !serverSaid ? reason : explained });
    this.retry.schedule(retryInMs, () => this.open());
  }

  private dropSocket(code: number, reason: string): void {
    this.generation++;
    this.liveness?.stop();
    this.liveness = undefined;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.admitted = false;
    this.closeChannel();
    this.pairing = undefined;
    this.inbox = undefined;
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(code, reason);
  }

  private closeChannel(): void {
    this.channel = { kind: 'closed' };
    this.stream.detach();
  }

  private sendText(text: string): void {
    this.socket?.send(text);
  }

  private setState(state: SessionState): void {
    this.current = state;
    this.events.state?.(state);
  }
}

/** A new device id: random, and not starting with "-", so that it can be typed after `ccremote devices revoke`. */
function deviceId(): string {
  for (;;) {
    const id = randomId();
    if (!id.startsWith('-')) return id;
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
    case CloseCode.PolicyViolation:
      return 'The relay cut the connection: too many messages.';
    default:
      return undefined;
  }
}
