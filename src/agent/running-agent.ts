// A running agent, made of named parts with one lifecycle: its identity and credentials, the link to the
// relay, the channels with clients (channel-host.ts) and what is kept per client (client-table.ts), the
// paired devices (devices.ts), the sessions (sessions.ts) and what starting one from a phone involves
// (starts/), what reaches the person when a session wants them (attention-desk.ts), and the local control
// socket for `ccremote devices`. It routes what the relay and the clients
// send to the part it is for, and stops everything it started, once, when it ends.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  Backoff,
  FrameType,
  PROTOCOL_VERSION,
  ProtocolError,
  decodeFrameOf,
  formatAccessLink,
  printable,
  randomId,
  viewSecret,
  type AgentChannelMessage,
  type ExitStatus,
  type FromClientFrame,
  type RelayToAgent,
} from '../protocol/index.js';
import type { AgentEvent, AgentOptions } from './agent-options.js';
import { RateLimiter } from '../net/rate-limit.js';
import { ChannelHost, type OpenChannel, type SessionRequest } from './channel-host.js';
import { ClientTable } from './client-table.js';
import { AttentionDesk } from './attention-desk.js';
import { ControlSocket, controlPath } from './control-socket.js';
import { AgentCredentials } from './credentials.js';
import { Devices } from './devices.js';
import type { Identity, IdentityFile } from './identity.js';
import type { LockFile } from './lock-file.js';
import type { PtyExit } from './pty-process.js';
import { RegistrationFailed, register } from './registration.js';
import { RelayLink } from './relay-link.js';
import { Sessions, StartRefused } from './sessions.js';
import { listConversations } from './starts/conversations.js';
import { recordingsForClients } from '../recording/recording-store.js';
import { DEFAULT_MAX_UPLOAD, DEFAULT_UPLOAD_DIR, FileTransfers, TransferRefused } from './file-transfers.js';
import type { Roots } from './starts/folders.js';
import type { RecentFolders } from './starts/recent-folders.js';
import { resolveStart, type StartContext } from './starts/start-request.js';
import type { SessionSettings, SessionSpec, TerminalSession } from './terminal-session.js';

/** What the agent was started with, checked and resolved (agent.ts). */
export interface AgentSetup {
  options: AgentOptions;
  relayUrl: string;
  name: string;
  identity: Identity;
  identityFile: IdentityFile;
  lock: LockFile;
  /** The first session: the command given after `--` (default `claude`). */
  first: SessionSpec;
  settings: SessionSettings;
  start: StartContext;
  recent: RecentFolders;
  roots: Roots;
  emit(event: AgentEvent): void;
}

/** Where the agent is in its life. */
type Lifecycle = { kind: 'running' } | { kind: 'stopping' } | { kind: 'stopped'; code: number };

export class RunningAgent {
  readonly done: Promise<number>;
  private finish!: (code: number) => void;
  private lifecycle: Lifecycle = { kind: 'running' };
  private announced = false;
  private readonly registration = new AbortController();
  private readonly emit: (event: AgentEvent) => void;
  private readonly options: AgentOptions;
  /** This process, as clients know it: a new one has no record of the input the one before was sent. */
  private readonly instance = randomId();

  private readonly link: RelayLink;
  private readonly credentials: AgentCredentials;
  private readonly clients: ClientTable;
  private readonly channels: ChannelHost;
  private readonly devices: Devices;
  private readonly sessions: Sessions;
  private readonly desk: AttentionDesk;
  private readonly transfers: FileTransfers;
  private control: ControlSocket | undefined;
  /** A `sessions` message goes to every channel at the end of this turn (changes come in bursts). */
  private sessionsDue = false;
  /** When input was last refused in words to the browsers (at most once a second: a hostile relay could send a flood). */
  private lastRejection = 0;
  /** Kinds of message from the relay this agent does not know, already reported. */
  private readonly unknownFromRelay = new Set<string>();
  /** Watches per client session (each one replaces a terminal's stream key). */
  private readonly watches = new RateLimiter(WATCH_BUDGET);

  constructor(private readonly setup: AgentSetup) {
    this.options = setup.options;
    this.emit = setup.emit;
    this.done = new Promise<number>((resolve) => (this.finish = resolve));
    const identity = setup.identity;
    this.link = new RelayLink({
      relayUrl: setup.relayUrl,
      fallbackUrls: this.options.fallbackRelays,
      credentials: () => ({ agentId: identity.agentId!, agentKey: identity.agentKey! }),
      hello: () => ({ type: 'hello', v: PROTOCOL_VERSION, name: setup.name, terminals: this.sessions.terminals(), ...this.credentials.forRelay(identity.agentId!) }),
      onOnline: () => this.online(),
      onMessage: (message) => this.relayMessage(message),
      onFrame: (frame) => this.clientFrame(frame),
      onUnknown: (type) => {
        if (this.unknownFromRelay.has(type)) return;
        this.unknownFromRelay.add(type);
        this.emit({ event: 'warning', message: `the relay sent a "${type}" message this agent does not know (the relay is newer: update ccremote here); ignored` });
      },
      onDown: (down) => {
        this.sessions.offline();
        this.emit({ event: 'relay_disconnected', ...down });
      },
      onUnauthorized: async () => {
        identity.agentId = undefined;
        identity.agentKey = undefined;
        await this.ensureRegistered();
      },
      onFatal: (code, reason) => {
        this.emit({ event: 'error', message: `the relay closed the connection for good (${code}: ${reason})` });
        void this.stop(1);
      },
      backoff: this.options.backoff,
    });
    this.credentials = new AgentCredentials(identity, setup.identityFile, this.options.linkTtlMs);
    this.clients = new ClientTable(this.link, (client, record) => this.sessions.input(client, record), {
      onClients: (count) => this.emit({ event: 'clients', count }),
      onBadInput: (client, reason) => this.rejectInput(client, reason),
      syncBudget: this.options.syncBudget,
    });
    this.channels = new ChannelHost(
      this.link,
      {
        agentId: () => identity.agentId!,
        linkSecret: () => this.credentials.linkSecret,
        linkUsable: (access) => this.credentials.linkUsable(access),
        devices: () => this.credentials.devices,
        pin: this.options.pin,
        welcome: () => ({ instance: this.instance, name: setup.name }),
      },
      {
        opened: (client, channel) => this.channelOpened(client, channel),
        refused: (_client, refused, address) => this.emit({ event: 'refused', reason: refused.reason, message: refused.message, address }),
        pair: (device, client) => this.devices.pair(device, client),
        revoke: async (id) => (await this.devices.revoke(id)) !== undefined,
        bad: (client, reason) => this.rejectInput(client, reason),
        request: (client, channel, message) => this.request(client, channel, message),
      },
    );
    this.devices = new Devices({
      credentials: this.credentials,
      channels: this.channels,
      agentId: () => identity.agentId,
      toRelay: (message) => this.link.sendMessage(message),
      clientLeft: (client) => this.forgetClient(client),
      rekey: () => this.sessions.rekeyAll(),
      links: () => ({ url: this.accessUrl(), viewUrl: this.accessUrl(true) }),
      emit: this.emit,
    });
    this.transfers = new FileTransfers(
      { maxBytes: this.options.maxUpload ?? DEFAULT_MAX_UPLOAD, uploadDir: this.options.uploadDir ?? DEFAULT_UPLOAD_DIR, recordings: setup.settings.recording?.dir },
      {
        send: (client, message) => this.channels.send(client, message),
        folder: (terminal) => this.sessions.get(terminal)?.spec.cwd,
        done: ({ direction, ...what }) => this.emit({ event: direction === 'received' ? 'file_received' : 'file_sent', ...what }),
      },
    );
    this.sessions = new Sessions(this.link, this.clients, setup.settings, this.options.maxSessions ?? DEFAULT_MAX_SESSIONS, {
      terminalOpened: (session) => this.link.sendMessage({ type: 'terminal_opened', terminal: session.terminal, stream: session.stream.stream }),
      terminalClosed: (terminal) => {
        this.desk.closed(terminal);
        this.link.sendMessage({ type: 'terminal_closed', terminal });
      },
      rekeyed: (terminal, key, from, watchers) => {
        for (const client of watchers) this.channels.send(client, { type: 'stream_key', terminal, key, from });
      },
      exited: (session, status, exit, ranMs, lastLines) => this.sessionExited(session, status, exit, ranMs, lastLines),
      attention: (session, event, type) => this.desk.attention(session, event, type),
      permission: (session, hook) => this.desk.permission(session, hook),
      toolDone: (session, call) => this.desk.toolDone(session.terminal, call),
      typedInto: (session) => this.desk.typedInto(session.terminal),
      changed: () => this.sessionsChanged(),
      warning: (session, message) => {
        const said = `${message} (session ${session.terminal}, ${session.info().name})`;
        this.emit({ event: 'warning', message: said });
        this.toEveryChannel({ type: 'warning', terminal: session.terminal, message: said.slice(0, 512) });
      },
    });
    this.desk = new AttentionDesk({
      agentId: () => identity.agentId!,
      name: setup.name,
      devices: () => this.credentials.devices,
      setPush: (device, push) => this.credentials.setPush(device, push),
      session: (terminal) => this.sessions.get(terminal),
      channels: () => this.channels.open(),
      send: (client, message) => this.channels.send(client, message),
      toRelay: (message) => this.link.sendMessage(message),
      emit: this.emit,
      remindAfterMs: this.options.remindAfterMs,
    });
  }

  /** The access link (or the read-only one). */
  accessUrl(readOnly = false): string {
    const identity = this.setup.identity;
    const agentId = identity.agentId!;
    const secret = readOnly ? viewSecret(identity.secret, agentId) : identity.secret;
    return formatAccessLink({ relayUrl: this.options.linkBase ?? this.setup.relayUrl, agentId, secret, readOnly, pin: this.options.pin !== undefined });
  }

  get agentId(): string | undefined {
    return this.setup.identity.agentId;
  }

  /** Starts the first session, the control socket, then registers (if needed) and connects. Throws if the first session cannot start. */
  async start(): Promise<void> {
    try {
      await this.sessions.start(this.setup.first);
    } catch (error) {
      await this.stop(1);
      throw error;
    }
    try {
      this.control = await ControlSocket.open(controlPath(this.setup.identityFile.path), { handle: (request) => this.devices.control(request) });
    } catch (error) {
      this.emit({ event: 'warning', message: `"ccremote devices" cannot reach this agent while it runs: ${(error as Error).message}` });
    }
    void (async () => {
      try {
        await this.ensureRegistered();
        if (this.lifecycle.kind === 'running') this.link.start();
      } catch (error) {
        if (this.lifecycle.kind !== 'running') return;
        this.emit({ event: 'error', message: (error as Error).message });
        await this.stop(1);
      }
    })();
  }

  /** Stops everything it started, once; `done` resolves with `code`. */
  async stop(code: number): Promise<void> {
    if (this.lifecycle.kind !== 'running') return;
    this.lifecycle = { kind: 'stopping' };
    this.registration.abort();
    this.desk.close();
    await this.transfers.close();
    await this.sessions.dispose();
    this.clients.dispose();
    await Promise.all([this.link.close(), this.control?.close()]);
    this.setup.lock.release();
    this.lifecycle = { kind: 'stopped', code };
    this.finish(code);
  }

  private online(): void {
    this.channels.reset();
    this.clients.clear();
    this.sessions.online();
    this.desk.online();
    this.emit({ event: 'relay_connected' });
    if (!this.announced) {
      this.announced = true;
      this.emit({ event: 'ready', agentId: this.agentId!, url: this.accessUrl(), viewUrl: this.accessUrl(true) });
    }
  }

  /** A control message from the relay: clients come and go (their channels with them), syncs, flow. */
  private relayMessage(message: RelayToAgent): void {
    switch (message.type) {
      case 'client_joined':
        // A number announced again starts over: whatever it had (an open channel, its keys) is gone everywhere.
        this.forgetClient(message.client);
        this.channels.joined(message.client, message.address);
        return;
      case 'client_left':
        return this.forgetClient(message.client);
      case 'sync':
        // Only for a client the relay announced, and only for what it watches (the agent's record decides).
        if (this.channels.knows(message.client)) this.sessions.sync(message.client, message.terminal, message.sync, message.resume);
        return;
      case 'flow':
        return this.sessions.flow(message.terminal, message.limit);
      case 'error':
        // Something the agent sent was refused: the person hears of it (in the relay's words, as data).
        return this.emit({ event: 'warning', message: `the relay refused something this agent sent (${printable(message.code)}): ${printable(message.message)}` });
      case 'push_result':
      case 'answer':
        return this.desk.relay(message);
      case 'connected':
      case 'heartbeat_ack':
        return;
    }
  }

  /** A client is gone: its handshake or channel, what it watched, and what was kept for it. */
  private forgetClient(client: number): void {
    void this.transfers.clientLeft(client);
    this.sessions.forgetClient(client);
    this.channels.left(client);
    this.clients.left(client);
  }

  /** A frame from a client: input for a terminal, or its channel's handshake and messages. */
  private clientFrame(frame: FromClientFrame): void {
    const inner = decodeFrameOf(frame.inner, [FrameType.Input, FrameType.Handshake, FrameType.Channel], 'relay');
    try {
      if (inner.type === FrameType.Handshake) return this.channels.handshake(frame.client, inner);
      if (inner.type === FrameType.Channel) return this.channels.channel(frame.client, inner);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      return this.rejectInput(frame.client, error.message);
    }
    this.clients.frame(frame.client, inner);
  }

  /** A client's channel opened: it hears of the sessions, and watches what it watched before, if that is still there. */
  private channelOpened(client: number, channel: OpenChannel): void {
    this.clients.opened(client, channel);
    this.devices.connected(channel);
    this.channels.send(client, this.sessionsMessage());
    this.desk.opened(client, channel);
    const watch = channel.open.watch;
    if (watch) this.watch(client, channel, watch.terminal, watch.resume);
  }

  /**
   * A client watches a terminal (null: none): it gets the stream's key, and the relay routes the terminal's
   * output to it. Each watch costs a new stream key for everyone on that terminal: a client session gets
   * WATCH_BUDGET of them.
   */
  private watch(client: number, channel: OpenChannel, terminal: number | null, resume: { stream: string; offset: number } | undefined): void {
    const wait = terminal === null ? 0 : this.watches.retryAfterMs(channel.session);
    if (wait > 0) {
      this.channels.send(client, { type: 'refused', message: `Switching sessions too fast; try again in ${Math.max(1, Math.ceil(wait / 1000))} s.` });
      return;
    }
    if (terminal !== null) this.watches.take(channel.session);
    const session = this.sessions.watch(client, channel, terminal, resume);
    if (terminal !== null && !session) {
      this.channels.send(client, { type: 'refused', message: `There is no session ${terminal} (any more).` });
    }
    if (session) this.channels.send(client, { type: 'stream', ...session.stream.watchInfo() });
    // A client that comes back to a stream whose program ended meanwhile (its channel was not open to hear
    // the exit) hears it now, as those watching did.
    const ended = session?.ended;
    if (ended && resume?.stream === session!.stream.stream) this.channels.send(client, { type: 'exit', ...ended });
    this.link.sendMessage({ type: 'watch', client, terminal: session ? session.terminal : null, ...(session && resume ? { resume } : {}) });
  }

  /** A request about sessions, from a client's channel; one that fails is answered with why (and the person hears of it). */
  private async request(client: number, channel: OpenChannel, message: SessionRequest): Promise<void> {
    try {
      await this.serve(client, channel, message);
    } catch (error) {
      const refused = error instanceof StartRefused || error instanceof TransferRefused;
      const reason = refused ? error.message : `The agent could not do that: ${(error as Error).message}`;
      if (!refused) this.emit({ event: 'warning', message: `a ${message.type} request failed: ${(error as Error).message}` });
      this.channels.send(client, { type: 'refused', message: reason.slice(0, 512), ...('request' in message ? { request: message.request } : {}) });
    }
  }

  private async serve(client: number, channel: OpenChannel, message: SessionRequest): Promise<void> {
    const full = channel.access === 'full';
    const readOnly = (what: string): void => this.channels.send(client, { type: 'refused', message: `A read-only link cannot ${what}.`, ...('request' in message ? { request: message.request } : {}) });
    switch (message.type) {
      case 'watch':
        return this.watch(client, channel, message.terminal, message.resume);
      case 'start': {
        if (!full) return readOnly('start a session');
        const spec = await resolveStart(message, this.setup.start);
        const session = await this.sessions.start(spec);
        // The folder asked for is the one to offer again (a worktree's own folder is made for this one session).
        void this.setup.recent.add(spec.worktree && message.cwd !== undefined ? await this.setup.roots.folder(message.cwd) : spec.worktree ? this.setup.start.defaultCwd : spec.cwd);
        this.emit({ event: 'session_started', terminal: session.terminal, name: session.info().name, cwd: spec.cwd, command: session.info().command, address: channel.address });
        this.channels.send(client, { type: 'started', request: message.request, terminal: session.terminal });
        return;
      }
      case 'end':
        if (!full) return readOnly('end a session');
        if (!(await this.sessions.end(message.terminal))) this.channels.send(client, { type: 'refused', message: `There is no session ${message.terminal}.` });
        return;
      case 'dismiss': {
        if (!full) return readOnly('dismiss a session');
        const session = this.sessions.get(message.terminal);
        if (!session) return this.channels.send(client, { type: 'refused', message: `There is no session ${message.terminal}.` });
        if (session.running) return this.channels.send(client, { type: 'refused', message: 'A running session is ended first, then dismissed.' });
        await this.sessions.dismiss(message.terminal);
        return this.stopIfIdle();
      }
      case 'conversations': {
        if (!full) return readOnly('list conversations');
        const cwd = await this.setup.roots.folder(message.cwd);
        this.channels.send(client, { type: 'conversations', request: message.request, cwd, conversations: await listConversations(cwd, this.setup.start.env) });
        return;
      }
      case 'push_subscribe':
      case 'push_unsubscribe':
      case 'push_mute':
      case 'permission_answer':
        return this.desk.serve(client, channel, message);
      case 'upload':
      case 'upload_data':
      case 'upload_cancel':
      case 'download':
      case 'download_ack':
      case 'download_cancel':
      case 'recording_download':
        if (!full) return readOnly('send files or take them');
        return this.transfers.serve({ number: client, session: channel.session }, message);
      case 'recordings': {
        if (!full) return readOnly('list recordings');
        const dir = this.setup.settings.recording?.dir;
        const recordings = dir === undefined ? [] : await recordingsForClients(dir);
        return this.channels.send(client, { type: 'recordings', request: message.request, recordings });
      }
      case 'folders': {
        if (!full) return readOnly('browse folders');
        if (message.path === undefined) {
          const entries = [...new Set([...this.setup.recent.list(), ...this.setup.roots.paths])].slice(0, 50).map((path) => ({ name: path, path, git: false }));
          return this.channels.send(client, { type: 'folders', request: message.request, path: null, parent: null, entries });
        }
        const listing = await this.setup.roots.list(message.path);
        this.channels.send(client, { type: 'folders', request: message.request, ...listing });
        return;
      }
    }
  }

  private sessionsMessage(): AgentChannelMessage {
    return { type: 'sessions', sessions: this.sessions.list(), max: this.sessions.max };
  }

  /** The list changed: every channel hears of it at the end of this turn (once for a burst of changes). */
  private sessionsChanged(): void {
    if (this.sessionsDue) return;
    this.sessionsDue = true;
    setImmediate(() => {
      this.sessionsDue = false;
      if (this.lifecycle.kind === 'running') this.toEveryChannel(this.sessionsMessage());
    });
  }

  private toEveryChannel(message: AgentChannelMessage): void {
    for (const [client] of this.channels.open()) this.channels.send(client, message);
  }

  private sessionExited(session: TerminalSession, status: ExitStatus, exit: PtyExit, ranMs: number, lastLines: string[] | undefined): void {
    if (this.lifecycle.kind !== 'running') return;
    this.desk.ended(session.terminal);
    this.toEveryChannel({ type: 'exit', ...status });
    this.emit({
      event: 'exit',
      terminal: session.terminal,
      name: session.info().name,
      exitCode: exit.exitCode,
      signal: exit.signal,
      restarting: status.restarting,
      ranMs,
      ...(lastLines ? { lastLines } : {}),
    });
    this.stopIfIdle(exit);
  }

  /** With no program running (and no --stay), the agent ends: with the code of the last program that ended. */
  private stopIfIdle(exit?: PtyExit): void {
    if (this.options.stay || this.sessions.running > 0 || this.lifecycle.kind !== 'running') return;
    void this.stop(exit ? (exit.signal ? 128 + exit.signal : exit.exitCode) : 0);
  }

  /** Input refused: the person hears of it, and the browsers too (at most once a second). */
  private rejectInput(client: number, reason: string): void {
    this.emit({ event: 'input_rejected', client, reason });
    if (Date.now() - this.lastRejection < 1000) return;
    this.lastRejection = Date.now();
    this.link.sendMessage({ type: 'error', message: `The agent refused input from a browser: ${reason}.` });
  }

  /** Registers (retrying while the relay is unreachable) unless the identity already has an id. */
  private async ensureRegistered(): Promise<void> {
    const identity = this.setup.identity;
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000, ...this.options.backoff });
    // Any relay of the group registers an agent for all of them: one that cannot be reached gives way to the next.
    const relays = [this.setup.relayUrl, ...(this.options.fallbackRelays ?? [])];
    let attempt = 0;
    while (!identity.agentId) {
      try {
        const registration = await register(relays[attempt++ % relays.length]!, this.setup.name, this.options.registrationToken, this.registration.signal);
        identity.agentId = registration.agentId;
        identity.agentKey = registration.agentKey;
        this.announced = false;
        await this.setup.identityFile.save(identity);
        this.emit({ event: 'registered', agentId: registration.agentId });
      } catch (error) {
        if (this.lifecycle.kind !== 'running') throw error;
        if (!(error instanceof RegistrationFailed)) throw error;
        const retryInMs = error.retryAfterMs ?? backoff.next();
        this.emit({ event: 'relay_disconnected', code: 0, reason: error.message, retryInMs });
        await sleep(retryInMs, undefined, { signal: this.registration.signal });
      }
    }
  }
}

/** Watches a client session may make: 30 at once, then 2 a second (a person switching sessions makes far fewer). */
export const WATCH_BUDGET = { burst: 30, perMinute: 120 };

/** Sessions an agent has at once unless told otherwise (--max-sessions). */
export const DEFAULT_MAX_SESSIONS = 16;
