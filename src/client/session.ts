// The client side of a connection to an agent, shared by the web terminal and `ccremote attach`: it connects
// to the relay with the token of the credential it holds (an access link, or a paired device's key), runs
// the channel handshake with the agent on every connection (channel-client.ts), hears of the agent's
// sessions and watches one of them at a time (switching needs no new connection), keeps its place in that
// session's output stream across reconnects (stream-follower.ts), and delivers input exactly once (queued
// while offline, numbered, resent until the agent acknowledges it). Live output opens with the stream key
// the agent gave it for the session it watches; snapshots, acknowledgements and channel messages with this
// connection's key; input is sealed with it. Anything that does not open, comes out of order or is older
// than what it has is refused and the connection replaced. Independent of the socket implementation: it is
// handed a `Connect`.

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
  UnknownMessage,
  randomId,
  Liveness,
  RetrySchedule,
  closeAction,
  describeClose,
  sealChannel,
  toBase64Url,
  randomBytes,
  utf8,
  type AgentChannelMessage,
  type ChannelFrame,
  type ClientChannelMessage,
  type ConversationInfo,
  type RecordingInfo,
  type Credential,
  type HandshakeFrame,
  type InputRecord,
  type OpenPayload,
  type SessionInfo,
  type WelcomePayload,
} from '../protocol/index.js';
import { ClientTransfers, type Progress } from './file-transfers.js';
import { ChannelClient, defaultKeyAgreement, type HandshakeOutcome } from './channel-client.js';
import { InputQueue } from './input-queue.js';
import { OutputAcks } from './output-acks.js';
import { RelayRoute } from './relay-route.js';
import { NO_ANSWER, Requests } from './requests.js';
import { StreamFollower } from './stream-follower.js';
import { WatchPlan } from './watch-plan.js';
import type { Transport } from './transport.js';
import type { ClientSessionOptions, FolderListing, PairedCredential, SessionEvents, SessionState, StartOptions } from './session-options.js';

export type { ClientSessionOptions, FolderListing, PairedCredential, SessionEvents, SessionState, StartOptions, WatchChoice } from './session-options.js';

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

/** One connection to the relay, from the moment it is opened until it is dropped; everything about it lives and dies here. */
interface Connection {
  readonly socket: Transport;
  readonly liveness: Liveness;
  /** The credential it was admitted with (pairing replaces the session's on the way). */
  readonly admittedWith: Credential;
  /** The relay said `connected`. */
  admitted: boolean;
  channel: Channel;
  /** A pairing sent on it, and the key it offered. */
  pairing: { id: string; secret: string } | undefined;
  /** While a handshake step computes (its key agreement may be asynchronous), what arrives waits here, in order. */
  inbox: Array<{ text: string } | { binary: Uint8Array }> | undefined;
  /** The watch the channel's OPEN named (null: none), and which of the session's watches it was. */
  openWatch?: { terminal: number | null; generation: number };
  /** A terminal whose next `stream` answers the OPEN's watch, given up during the handshake. */
  staleStream?: number;
}

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
  /** Which relay of a group the next connection goes to. */
  private readonly route: RelayRoute;
  /** Input not yet acknowledged by the agent. */
  private readonly input: InputQueue;
  /** Where the session stands in the output stream of the session it watches. */
  private readonly stream: StreamFollower;
  /** The connection now, if there is one. */
  private connection: Connection | undefined;
  private size: { cols: number; rows: number } | undefined;
  private agentName: string | undefined;
  /** The agent process this session last talked to (a new one has no record of input sent before). */
  private agentInstance: string | undefined;
  private current: SessionState = { kind: 'connecting' };
  /** Flow control: how far output was processed, and told. */
  private readonly acks = new OutputAcks((offset) => this.sendAck(offset));
  /** Kinds of message from the relay or the agent this client does not know, already reported. */
  private readonly unknownHeard = new Set<string>();
  /** The device this session pairs as, until the agent says it paired (offered again on each connection: a `paired` lost with one must not pair a second device). */
  private pairAs: { id: string; secret: string } | undefined;
  /** PIN exchanges started since the last authenticated WELCOME. */
  private pinExchanges = 0;
  /** What to watch when nothing is watched and the agent lists its sessions, and what is typed before. */
  private readonly plan: WatchPlan;
  private list: SessionInfo[] = [];
  /** One more each time another terminal (or none) is followed. */
  private watchGeneration = 0;
  /** Requests to the agent waiting for their answers. */
  private readonly requests: Requests;
  /** Files sent to the agent and taken from it; they go on across reconnects. */
  private readonly transfers = new ClientTransfers({
    send: (message) => this.toChannel(message),
    open: () => this.channel.kind === 'open',
    nextRequest: () => {
      const request = this.requests.number(() => this.transfers.refused(request, NO_ANSWER));
      return request;
    },
  });

  constructor(private readonly options: ClientSessionOptions) {
    this.events = options.events ?? {};
    this.credential = options.credential;
    this.plan = new WatchPlan(options.watch ?? 'latest', options.maxQueuedInputBytes ?? 1 << 20);
    this.input = new InputQueue(options.maxQueuedInputBytes ?? 1 << 20);
    this.requests = new Requests(options.answerTimeoutMs ?? 30_000);
    // Output and snapshots come with what counts them as processed (for `manualAck`).
    const events = this.events;
    this.stream = new StreamFollower(options.history ?? 'screen', {
      ...events,
      output: (data, end) => events.output?.(data, end, this.acks.processedBy(end)),
      snapshot: (data, offset, kind) => events.snapshot?.(data, offset, kind, this.acks.processedBy(offset)),
    });
    this.retry = new RetrySchedule({ baseMs: 500, capMs: 10_000, ...options.backoff });
    this.route = new RelayRoute(options.relayUrl);
  }

  /** The current state. */
  get state(): SessionState {
    return this.current;
  }

  /** The stream position of the next output byte this session needs, or null before the first. */
  get offset(): number | null {
    return this.stream.offset;
  }

  /** The agent's sessions, as last listed. */
  get sessions(): readonly SessionInfo[] {
    return this.list;
  }

  /** The session watched (null: none). */
  get watching(): number | null {
    return this.stream.following;
  }

  /** Opens the first connection. */
  start(): void {
    this.open();
  }

  private get channel(): Channel {
    return this.connection?.channel ?? { kind: 'closed' };
  }

  /** Whether this session can type: its credential is not read-only (and the agent agreed, once the channel is open). */
  get canType(): boolean {
    const channel = this.channel;
    return channel.kind === 'open' ? channel.access === 'full' : !this.credential.readOnly;
  }

  /** Sends keystrokes or text (a string is sent as UTF-8) to the session watched. Returns false if it cannot be sent. */
  sendData(data: string | Uint8Array): boolean {
    if (!this.canType) {
      this.events.error?.(ErrorCode.ReadOnly, 'This is a read-only link: typing is not possible.');
      return false;
    }
    const terminal = this.stream.following;
    const bytes = typeof data === 'string' ? utf8(data) : data;
    if (terminal === null) {
      // Typed before the agent listed its sessions: it goes to the one chosen then.
      if (this.plan.keep(bytes)) return true;
      this.events.error?.('no_session', 'No session is open to type into.');
      return false;
    }
    const records: InputRecord[] = [];
    for (let at = 0; at < bytes.length; at += MAX_INPUT_CHUNK) records.push({ kind: 'data', terminal, data: bytes.subarray(at, at + MAX_INPUT_CHUNK) });
    return this.enqueue(records);
  }

  /** Reports this client's terminal size; the agent decides which client's size the session's PTY takes. */
  resize(cols: number, rows: number): void {
    if (!this.canType) return; // a read-only viewer does not size the terminal
    if (this.size && this.size.cols === cols && this.size.rows === rows) return;
    this.size = { cols, rows };
    this.sendSize();
  }

  /** Watches another session (null: none), without a new connection; its output replaces what is shown. */
  watch(terminal: number | null): void {
    this.plan.chose(terminal);
    // The session followed already: nothing to do once the agent took the watch; asked again if it has not
    // (it refuses a switch beyond its budget, and the person taps the session again).
    if (terminal === this.stream.following && (terminal === null || this.stream.attached)) return;
    this.follow(terminal);
    this.toChannel({ type: 'watch', terminal });
  }

  /** Starts a session on the agent (a full link only); resolves with its terminal number, rejects with the agent's reason. */
  async startSession(start: StartOptions): Promise<number> {
    const answer = await this.ask((request) => ({ type: 'start', request, ...start }), 'started');
    return answer.terminal;
  }

  /** Ends a session's program (a full link only); its last screen stays until dismissed. */
  endSession(terminal: number): void {
    this.toChannel({ type: 'end', terminal });
  }

  /** Forgets an ended session (a full link only). */
  dismissSession(terminal: number): void {
    this.toChannel({ type: 'dismiss', terminal });
  }

  /** This paired device's Web Push subscription: the agent encrypts alerts for it (answered by `pushState`). */
  subscribePush(subscription: { endpoint: string; keys: { p256dh: string; auth: string } }): void {
    this.toChannel({ type: 'push_subscribe', endpoint: subscription.endpoint, p256dh: subscription.keys.p256dh, auth: subscription.keys.auth });
  }

  /** Mutes (or unmutes) push alerts about one session for this device (answered by `pushState`). */
  mutePush(terminal: number, muted: boolean): void {
    this.toChannel({ type: 'push_mute', terminal, muted });
  }

  /** Allows or denies a permission request (answered by `permissionSettled`, to every client). */
  answerPermission(id: string, decision: 'allow' | 'deny'): void {
    this.toChannel({ type: 'permission_answer', id, decision });
  }

  /** No more push alerts for this device. */
  unsubscribePush(): void {
    this.toChannel({ type: 'push_unsubscribe' });
  }

  /** A folder's earlier Claude Code conversations, newest first. */
  async listConversations(cwd: string): Promise<ConversationInfo[]> {
    return (await this.ask((request) => ({ type: 'conversations', request, cwd }), 'conversations')).conversations;
  }

  /**
   * Sends `bytes` as a file named `name` into the upload folder of session `terminal` (a full link only);
   * resolves with where the agent put it, relative to the session's folder. It goes on across reconnects.
   */
  uploadFile(terminal: number, name: string, bytes: Uint8Array, progress?: Progress): Promise<{ path: string; size: number }> {
    return this.transfers.upload(terminal, name, bytes, progress);
  }

  /** Takes the file at `path` in session `terminal`'s folder (a full link only); resolves with its name and bytes. */
  downloadFile(terminal: number, path: string, progress?: Progress): Promise<{ name: string; bytes: Uint8Array }> {
    return this.transfers.download(terminal, path, progress);
  }

  /** The agent's recordings, newest first (a full link only). */
  async listRecordings(): Promise<RecordingInfo[]> {
    return (await this.ask((request) => ({ type: 'recordings', request }), 'recordings')).recordings;
  }

  /** Takes one of the agent's recordings (asciicast v2), by its file name as listed (a full link only). */
  downloadRecording(file: string, progress?: Progress): Promise<{ name: string; bytes: Uint8Array }> {
    return this.transfers.recording(file, progress);
  }

  /** A folder's subfolders (without one: the allowed roots and the recent folders). */
  async listFolders(path?: string): Promise<FolderListing> {
    const { path: at, parent, entries } = await this.ask((request) => ({ type: 'folders', request, ...(path !== undefined ? { path } : {}) }), 'folders');
    return { path: at, parent, entries };
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
    return this.current.kind !== 'closed' ? this.input.delivered() : Promise.resolve();
  }

  /** Skips the wait before the next reconnect attempt (for example when the page becomes visible). */
  reconnectNow(): void {
    if (this.current.kind !== 'waiting') return;
    this.retry.cancel();
    this.open();
  }

  /** Closes the connection for good. */
  close(): void {
    if (this.current.kind === 'closed') return;
    this.transfers.close();
    this.retry.cancel();
    this.input.release();
    this.dropConnection(CloseCode.Normal, 'client closed');
    this.setState({ kind: 'closed' });
  }

  private get stopped(): boolean {
    return this.current.kind === 'closed';
  }

  /** Sends a request with a fresh number; resolves with the answer of type `kind`, rejects with a refusal, no answer in time, or when the channel closes first. */
  private ask<K extends AgentChannelMessage['type']>(make: (request: number) => ClientChannelMessage, kind: K): Promise<Extract<AgentChannelMessage, { type: K }>> {
    if (this.channel.kind !== 'open') return Promise.reject(new Error('The agent is not connected.'));
    return this.requests.ask(kind, (request) => this.toChannel(make(request)));
  }

  /** Follows `terminal` from now on (null: nothing); what was shown of another is gone. */
  private follow(terminal: number | null): void {
    if (terminal === this.stream.following) return;
    this.stream.follow(terminal);
    this.watchGeneration++;
    this.acks.restart();
    this.events.watching?.(terminal);
    // Its size first: keys typed from now on reach a program that already has it.
    this.sendSize();
    if (terminal !== null) for (const bytes of this.plan.takeKept()) this.sendData(bytes);
  }

  /** Tells the relay how far the session watched was processed; false when it cannot now. */
  private sendAck(offset: number): boolean {
    const terminal = this.stream.following;
    if (!this.connection?.admitted || terminal === null) return false;
    this.sendText(encodeMessage({ type: 'ack', terminal, offset }));
    return true;
  }

  private open(): void {
    this.dropConnection(CloseCode.Normal, 'reconnecting');
    this.setState({ kind: 'connecting' });
    const credential = this.credential;
    let connection: Connection | undefined;
    const live = (): boolean => connection !== undefined && this.connection === connection && !this.stopped;
    const socket = this.options.connect(this.route.socketUrl(this.options.agentId), {
      open: () => live() && this.onOpen(connection!),
      text: (data) => live() && this.deliver({ text: data }),
      binary: (data) => live() && this.deliver({ binary: data }),
      close: (code, reason) => live() && this.onClose(code, reason),
    });
    connection = {
      socket,
      liveness: new Liveness({
        everyMs: this.options.pingIntervalMs ?? 15_000,
        deadAfterMs: this.options.idleTimeoutMs ?? 45_000,
        probe: () => live() && this.sendText(encodeMessage({ type: 'ping', t: Date.now() })),
        dead: () => live() && this.onClose(CloseCode.Idle, 'no answer from the relay'),
      }),
      admittedWith: credential,
      admitted: false,
      channel: { kind: 'closed' },
      pairing: undefined,
      inbox: undefined,
    };
    this.connection = connection;
    this.acks.connected();
  }

  /** A message from the relay: handled now, or after the handshake step under way. */
  private deliver(message: { text: string } | { binary: Uint8Array }): void {
    const connection = this.connection!;
    if (connection.inbox) {
      connection.inbox.push(message);
      return;
    }
    this.guard(() => ('text' in message ? this.onText(message.text) : this.onBinary(message.binary)));
  }

  /** Runs a handshake step that may wait (a key agreement); what arrives meanwhile is handled after it, in order. */
  private step(work: () => Promise<void>): void {
    const connection = this.connection!;
    connection.inbox ??= [];
    void work()
      .catch((error: unknown) => {
        if (this.connection === connection) this.guard(() => {
          throw error;
        });
      })
      .finally(() => {
        if (this.connection !== connection) return;
        const waiting = connection.inbox ?? [];
        connection.inbox = undefined;
        for (const message of waiting) if (this.connection === connection) this.deliver(message);
      });
  }

  private onOpen(connection: Connection): void {
    const { agentId } = this.options;
    const credential = connection.admittedWith;
    const token = credential.kind === 'link' ? accessToken(credential.secret, agentId) : deviceToken(credential.secret, agentId, credential.id);
    this.sendText(
      encodeMessage({
        type: 'hello',
        v: PROTOCOL_VERSION,
        token,
        ...(credential.kind === 'device' ? { device: credential.id } : {}),
        session: this.sessionId,
      }),
    );
  }

  /** A malformed message from the relay ends this connection; the session reconnects. */
  private guard(handle: () => void): void {
    try {
      handle();
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      if (error instanceof UnknownMessage) return this.unknown(error);
      if (error instanceof IntegrityError) {
        this.events.error?.(ErrorCode.Integrity, `Terminal data failed its integrity check and was refused (${error.message}); reconnecting.`);
      } else {
        this.events.error?.(ErrorCode.BadMessage, `relay sent a bad message: ${error.message}`);
      }
      this.onClose(CloseCode.BadMessage, closeReason(error.message), false);
    }
  }

  /**
   * A message of a type this client does not know, from the relay or (sealed, so truly its own) from the
   * agent: the other side is newer. Said once per kind, and ignored; closing would only bring it again.
   */
  private unknown(error: UnknownMessage): void {
    const who = error.from === 'channel' ? 'agent' : 'relay';
    const kind = `${who}:${error.messageType}`;
    if (this.unknownHeard.has(kind)) return;
    this.unknownHeard.add(kind);
    this.events.error?.('unknown_message', `The ${who} sent a “${error.messageType}” message this client does not know: the ${who} is newer. Reload the page (or update ccremote here).`);
  }

  private onText(raw: string): void {
    this.connection!.liveness.heard();
    const message = parseRelayToClient(raw);
    switch (message.type) {
      case 'connected':
        this.connection!.admitted = true;
        this.route.admitted();
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
      case 'error':
        this.events.error?.(message.code, message.message);
        return;
      case 'pong':
        if (message.t !== undefined) this.events.latency?.(Date.now() - message.t);
        return;
    }
  }

  /** Starts the channel handshake with the agent on this connection. */
  private handshake(): void {
    const open = (): OpenPayload => {
      const watch = this.stream.resumePoint();
      connection.openWatch = { terminal: watch?.terminal ?? null, generation: this.watchGeneration };
      return { session: this.sessionId, history: this.options.history ?? 'screen', ...(watch ? { watch: { terminal: watch.terminal, ...(watch.resume ? { resume: watch.resume } : {}) } } : {}) };
    };
    const pin = this.credential.kind === 'link' ? this.options.pin : undefined;
    if (pin !== undefined && this.pinExchanges++ >= MAX_UNCONFIRMED_PIN_EXCHANGES) {
      this.dropConnection(CloseCode.Normal, 'PIN needed again');
      this.setState({
        kind: 'failed',
        code: CloseCode.Unauthorized,
        reason: `The PIN exchange did not complete ${MAX_UNCONFIRMED_PIN_EXCHANGES} times in a row; type the PIN again.`,
        refused: 'pin_required',
      });
      return;
    }
    const client = new ChannelClient(this.options.agentId, this.credential, pin, open, this.options.keyAgreement ?? defaultKeyAgreement);
    const connection = this.connection!;
    connection.channel = { kind: 'handshaking', client };
    this.step(async () => {
      const frame = await client.start();
      if (connection.channel.kind === 'handshaking' && connection.channel.client === client) connection.socket.send(frame);
    });
  }

  private agentAway(): void {
    this.closeChannel();
    this.setState({ kind: 'agent_offline', name: this.agentName });
  }

  private onHandshake(frame: HandshakeFrame): void {
    const connection = this.connection!;
    if (connection.channel.kind !== 'handshaking') throw new ProtocolError('handshake frame outside a handshake');
    const client = connection.channel.client;
    this.step(async () => {
      const outcome = await client.receive(frame);
      if (connection.channel.kind === 'handshaking' && connection.channel.client === client) this.handshakeStep(outcome);
    });
  }

  private handshakeStep(outcome: HandshakeOutcome): void {
    const connection = this.connection!;
    if (outcome.kind === 'send') {
      connection.socket.send(outcome.frame);
      return;
    }
    if (outcome.kind === 'refused') {
      connection.channel = { kind: 'closed' };
      const { reason, message } = outcome.refused;
      if (reason === 'too_many_attempts' || reason === 'busy') {
        this.onClose(CloseCode.RateLimited, message, false);
        return;
      }
      this.dropConnection(CloseCode.Normal, 'refused by the agent');
      this.setState({ kind: 'failed', code: CloseCode.Unauthorized, reason: message, refused: reason });
      return;
    }
    this.opened(outcome.welcome, outcome.keys);
  }

  private opened(welcome: WelcomePayload, keys: { send: Uint8Array; receive: Uint8Array }): void {
    const connection = this.connection!;
    this.pinExchanges = 0;
    if (this.agentInstance !== undefined && welcome.instance !== this.agentInstance) {
      // A new agent process: input the old one was sent but did not acknowledge may have run there: it is not sent again.
      const dropped = this.input.dropSent();
      if (dropped > 0) {
        this.events.error?.(
          'input_dropped',
          `The agent restarted before confirming the last ${dropped === 1 ? 'input' : `${dropped} inputs`}; to be sure nothing runs twice, ${dropped === 1 ? 'it was' : 'they were'} not sent again.`,
        );
      }
    }
    this.agentInstance = welcome.instance;
    connection.channel = { kind: 'open', keys, access: welcome.access, seq: { sent: 0, received: 0 } };
    this.agentName = welcome.name ?? this.agentName;
    // Online once the agent has listed its sessions (it does right after WELCOME), and one is chosen to watch.
    // Everything not yet acknowledged goes again, sealed for this connection; the agent applies each sequence number once,
    // so it goes before anything typed from now on (from `opened` too), which the agent would otherwise take first and drop it.
    if (welcome.access === 'full') for (const frame of this.input.pending(keys.send)) connection.socket.send(frame);
    // Another session (or the same one afresh) was chosen after the OPEN went out: the agent takes the OPEN's
    // watch first, and its answer is not for what is followed now; this watch follows it.
    const named = connection.openWatch;
    if (named && named.generation !== this.watchGeneration) {
      if (named.terminal !== null) connection.staleStream = named.terminal;
      this.toChannel({ type: 'watch', terminal: this.stream.following });
    }
    this.events.opened?.(welcome);
    if (this.options.pair && welcome.can_pair && this.credential.kind === 'link') {
      connection.pairing = this.pairAs ??= { id: deviceId(), secret: toBase64Url(randomBytes(32)) };
      this.toChannel({ type: 'pair', id: connection.pairing.id, secret: connection.pairing.secret, name: this.options.pair.name });
    }
    this.transfers.opened();
  }

  private onChannel(frame: ChannelFrame): void {
    const connection = this.connection!;
    const channel = connection.channel;
    if (channel.kind !== 'open') throw new ProtocolError('channel message before the channel opened');
    const bytes = open(channel.keys.receive, frame.header, frame.box, 'channel message');
    if (frame.seq <= channel.seq.received) throw new IntegrityError(`channel message ${frame.seq} came again (a replay)`);
    channel.seq.received = frame.seq;
    const message: AgentChannelMessage = parseAgentChannel(bytes);
    if (this.requests.settle(message)) return;
    if (this.transfers.receive(message)) return;
    switch (message.type) {
      case 'paired': {
        const pairing = connection.pairing;
        if (!pairing || pairing.id !== message.id) return;
        connection.pairing = undefined;
        this.pairAs = undefined;
        this.credential = { kind: 'device', id: pairing.id, secret: pairing.secret, readOnly: message.access === 'view' };
        this.events.paired?.({ id: pairing.id, secret: pairing.secret, name: message.name, access: message.access });
        return;
      }
      case 'sessions':
        return this.sessionsListed(message.sessions, message.max);
      case 'stream':
        // The agent took the watch: the session's output follows, sealed with this key.
        if (message.terminal === connection.staleStream) {
          connection.staleStream = undefined;
          return; // the answer to the OPEN's watch, given up during the handshake
        }
        if (message.terminal !== this.stream.following) return; // an answer to a watch given up since
        // A new stream (the agent restarted): positions in the old one, processed or acknowledged, mean nothing.
        if (this.stream.attach(message.terminal, message.stream, message.key, message.run)) this.acks.restart();
        this.events.streamKey?.(message.terminal, message.key);
        if (this.size && this.canType) this.enqueue([{ kind: 'resize', terminal: message.terminal, cols: this.size.cols, rows: this.size.rows }]);
        return;
      case 'stream_key':
        this.stream.rekey(message.terminal, message.key, message.from);
        if (message.terminal === this.stream.following) this.events.streamKey?.(message.terminal, message.key);
        return;
      case 'exit': {
        const { type: _exit, ...status } = message;
        this.stream.exitStatus(status);
        return;
      }
      case 'attention': {
        const { type: _attention, ...event } = message;
        this.events.attention?.(event);
        return;
      }
      case 'devices':
        this.events.devices?.(message.devices);
        return;
      case 'revoked':
        this.events.revoked?.(message.id);
        return;
      case 'warning':
        this.events.error?.('agent_warning', message.message);
        return;
      case 'permission_settled': {
        const { type: _settled, ...settled } = message;
        this.events.permissionSettled?.(settled);
        return;
      }
      case 'push_state':
        this.events.pushState?.(message.subscribed, message.muted, message.problem);
        return;
      case 'refused': {
        // A question's refusal was settled above.
        if (message.request !== undefined && this.transfers.refused(message.request, message.message)) return;
        this.events.error?.('refused', message.message);
        return;
      }
    }
  }

  /** The agent listed its sessions: what is watched may be gone; with nothing watched, one is chosen. */
  private sessionsListed(sessions: SessionInfo[], max: number): void {
    this.list = sessions;
    this.events.sessions?.(sessions, max);
    this.choose(sessions);
    if (this.current.kind !== 'online') this.setState({ kind: 'online', name: this.agentName });
  }

  /** What is watched may be gone; with nothing watched, one is chosen. */
  private choose(sessions: SessionInfo[]): void {
    const watched = this.stream.following;
    if (watched !== null && !sessions.some((s) => s.terminal === watched)) this.follow(null);
    if (this.stream.following !== null) return;
    const { terminal, missing } = this.plan.pick(sessions);
    if (missing) {
      const dropped = missing.dropped > 0 ? ' What you typed for it was not sent.' : '';
      this.events.error?.('no_session', `There is no session ${missing.asked}; showing the most recent one.${dropped}`);
    }
    if (terminal !== undefined) {
      this.follow(terminal);
      this.toChannel({ type: 'watch', terminal });
    }
  }

  private toChannel(message: ClientChannelMessage): void {
    const channel = this.channel;
    if (channel.kind !== 'open') return;
    this.connection!.socket.send(sealChannel(channel.keys.send, ++channel.seq.sent, encodeChannelMessage(message)));
  }

  private onBinary(bytes: Uint8Array): void {
    this.connection!.liveness.heard();
    const frame = decodeFrameOf(bytes, [FrameType.Output, FrameType.Snapshot, FrameType.InputAck, FrameType.Handshake, FrameType.Channel], 'relay');
    if (frame.type === FrameType.Handshake) return this.onHandshake(frame);
    const channel = this.channel;
    if (channel.kind !== 'open') throw new ProtocolError('terminal data before the channel opened');
    if (frame.type === FrameType.Channel) return this.onChannel(frame);
    if (frame.type === FrameType.InputAck) {
      openFrame(channel.keys.receive, frame);
      this.input.acknowledged(frame.seq);
      return;
    }
    const received = this.stream.receive(frame, channel.keys.receive);
    // A snapshot starts the screen over: progress counts from its position.
    if (received?.kind === 'snapshot') this.acks.startsOver(received.at);
    if (received && !this.options.manualAck) this.acks.processedTo(received.at);
  }

  private sendSize(): void {
    const terminal = this.stream.following;
    if (this.size && terminal !== null && this.channel.kind === 'open') this.enqueue([{ kind: 'resize', terminal, cols: this.size.cols, rows: this.size.rows }]);
  }

  /** Queues `records` (all or none) and sends them if the channel is open; false, said, when they do not fit. */
  private enqueue(records: InputRecord[]): boolean {
    const seqs = this.input.add(records);
    if (seqs === undefined) {
      this.events.error?.('input_queue_full', 'The agent is not acknowledging input; further keystrokes are dropped until it does.');
      return false;
    }
    const channel = this.channel;
    if (channel.kind === 'open') for (const seq of seqs) this.connection!.socket.send(this.input.frame(seq, channel.keys.send)!);
    return true;
  }

  private onClose(code: number, reason: string, serverSaid = true): void {
    const admittedWith = this.connection?.admittedWith;
    this.dropConnection(code === CloseCode.BadMessage ? CloseCode.BadMessage : CloseCode.Normal, 'reconnecting');
    if (this.stopped) return;
    const elsewhere = this.route.closed(code, reason);
    const explained =
      code === CloseCode.Unauthorized && this.credential.kind === 'device'
        ? 'This device is not paired with the agent any more.'
        : (describeClose(code) ?? (reason || 'Connection lost.'));
    // A connection admitted with the link, on which this device paired, is cut when the link is replaced:
    // the device's own key gets it back in.
    const pairedSince = code === CloseCode.Unauthorized && admittedWith !== undefined && admittedWith !== this.credential;
    if (serverSaid && closeAction('client', code) === 'fatal' && !pairedSince && !elsewhere) {
      this.setState({ kind: 'failed', code, reason: explained });
      return;
    }
    // The relay (or the agent) says how long to wait after too many failed attempts; the next attempt
    // going to another relay of the group (sent there, or back from there to be forwarded) goes at once.
    const retryInMs = elsewhere ? 0 : this.retry.delayAfter(code, reason);
    this.setState({ kind: 'waiting', retryInMs, code, reason: code === CloseCode.RateLimited && !serverSaid ? reason : explained });
    this.retry.schedule(retryInMs, () => this.open());
  }

  /** Ends the current connection, and everything that was about it. */
  private dropConnection(code: number, reason: string): void {
    const connection = this.connection;
    if (!connection) return;
    this.connection = undefined;
    connection.liveness.stop();
    this.acks.stop();
    this.closeChannelOf(connection);
    connection.socket.close(code, reason);
  }

  private closeChannel(): void {
    if (this.connection) this.closeChannelOf(this.connection);
  }

  private closeChannelOf(connection: Connection): void {
    connection.channel = { kind: 'closed' };
    connection.pairing = undefined;
    connection.inbox = undefined;
    connection.openWatch = undefined;
    connection.staleStream = undefined;
    this.stream.detach();
    // Requests on this channel get no answer now (transfers ask again on the next one).
    this.requests.closed(new Error('The connection to the agent was lost; try again.'));
  }

  private sendText(text: string): void {
    this.connection?.socket.send(text);
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
