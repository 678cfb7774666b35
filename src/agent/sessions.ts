// The agent's sessions: each a program in its own terminal (terminal-session.ts), numbered for the relay to
// route by. It starts and ends them, says which terminal each client watches (the client asks through its
// channel; the relay is told the number only), hands a watching client the terminal's stream key (a new
// one each time somebody starts watching: a credential that leaks later gets no key to what was sent
// before), and routes what the relay and the clients send to the terminal it is for.

import type { InputRecord, Resume, SessionInfo } from '../protocol/index.js';
import type { OpenChannel } from './channel-host.js';
import type { ClientTable } from './client-table.js';
import { FramePool } from './frame-pool.js';
import { TerminalSession, type SessionEvents, type SessionSettings, type SessionSpec } from './terminal-session.js';
import type { Uplink } from './uplink.js';

/** What the sessions tell the agent, besides each session's own events. */
export interface SessionsEvents extends SessionEvents {
  /** A terminal was started, or is gone: the relay hears its number (and stream), nothing else. */
  terminalOpened(session: TerminalSession): void;
  terminalClosed(terminal: number): void;
  /** Output of `terminal` is sealed with a new key from `from` on: the clients watching it (other than the one that caused it) get it. */
  rekeyed(terminal: number, key: string, from: number, watchers: number[]): void;
}

/** Why a session could not be started, in words for the person who asked. */
export class StartRefused extends Error {
  override name = 'StartRefused';
}

export class Sessions {
  private readonly sessions = new Map<number, TerminalSession>();
  /**
   * Client → the terminal it watches, and where it said it stands in it (sealed, so the relay cannot choose):
   * the first sync after a watch starts from there, whatever the relay asks.
   */
  private readonly watching = new Map<number, number>();
  private readonly firstSync = new Map<number, Resume | undefined>();
  private nextTerminal = 1;
  /** Starts under way (their program is being started). */
  private starting = 0;
  /** What every session starts with, the memory for their output frames included. */
  private readonly settings: SessionSettings;

  constructor(
    private readonly uplink: Uplink,
    private readonly clients: ClientTable,
    settings: SessionSettings,
    /** Sessions a link holder may have at once (running, or ended and not dismissed). */
    readonly max: number,
    private readonly events: SessionsEvents,
  ) {
    this.settings = { frames: new FramePool(), ...settings };
  }

  get(terminal: number): TerminalSession | undefined {
    return this.sessions.get(terminal);
  }

  all(): IterableIterator<TerminalSession> {
    return this.sessions.values();
  }

  /** How many sessions' programs run (or are about to start again). */
  get running(): number {
    let n = 0;
    for (const session of this.sessions.values()) if (session.running) n++;
    return n;
  }

  /** What clients list, oldest first. */
  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  /** The terminals as the relay knows them. */
  terminals(): Array<{ terminal: number; stream: string }> {
    return [...this.sessions.values()].map((s) => ({ terminal: s.terminal, stream: s.stream.stream }));
  }

  /**
   * Starts a session. At the limit, the oldest ended session is dismissed to make room; with none ended,
   * the start is refused (StartRefused).
   */
  async start(spec: SessionSpec): Promise<TerminalSession> {
    // Starts under way count too: requests that arrive together cannot pass the limit together.
    let making: Promise<boolean> | undefined;
    if (this.sessions.size + this.starting >= this.max) {
      const ended = [...this.sessions.values()].find((s) => !s.running);
      if (!ended) throw new StartRefused(`This computer already runs ${this.max} sessions (the agent's --max-sessions); end one first.`);
      // It leaves the list at once, and the room it makes is counted as this start's before anything is awaited.
      making = this.dismiss(ended.terminal);
    }
    const terminal = this.nextTerminal++;
    this.starting++;
    let session: TerminalSession;
    try {
      await making;
      session = await TerminalSession.start(terminal, spec, this.settings, this.uplink, this.clients, this.events);
    } finally {
      this.starting--;
    }
    this.sessions.set(terminal, session);
    this.events.terminalOpened(session);
    this.events.changed(session);
    return session;
  }

  /** Ends a session's program; it stays listed, ended, until dismissed. */
  async end(terminal: number): Promise<boolean> {
    const session = this.sessions.get(terminal);
    if (!session) return false;
    await session.end();
    return true;
  }

  /** Forgets a session: its program is stopped if it still runs, and its clients watch nothing. */
  async dismiss(terminal: number): Promise<boolean> {
    const session = this.sessions.get(terminal);
    if (!session) return false;
    this.sessions.delete(terminal);
    for (const [client, watched] of this.watching) if (watched === terminal) this.watching.delete(client);
    this.events.terminalClosed(terminal);
    await session.dispose();
    this.events.changed(session);
    return true;
  }

  /** The terminal a client watches, if any. */
  watchedBy(client: number): TerminalSession | undefined {
    const terminal = this.watching.get(client);
    return terminal === undefined ? undefined : this.sessions.get(terminal);
  }

  /**
   * A client (its channel open) watches `terminal` now (null: nothing). Returns the session, with a new
   * stream key whose details go to the client; undefined if there is no such session.
   */
  watch(client: number, channel: OpenChannel, terminal: number | null, resume?: Resume): TerminalSession | undefined {
    this.unwatch(client);
    const session = terminal === null ? undefined : this.sessions.get(terminal);
    if (!session) return undefined;
    this.watching.set(client, session.terminal);
    this.firstSync.set(client, resume);
    const { key, from } = session.stream.rekey();
    this.events.rekeyed(session.terminal, key, from, this.watchersOf(session.terminal).filter((c) => c !== client));
    session.stream.opened(client, channel);
    return session;
  }

  /** A client left: what any session kept for it (its size, a sync it asked for) goes too. */
  forgetClient(client: number): void {
    this.unwatch(client);
    for (const session of this.sessions.values()) session.stream.forget(client);
  }

  /** The client watches nothing any more (it left, or watches another terminal). */
  unwatch(client: number): void {
    const session = this.watchedBy(client);
    this.watching.delete(client);
    this.firstSync.delete(client);
    session?.stream.forget(client);
  }

  /** Every terminal gets a new stream key (a device was revoked: the relay could still hand it output); its watchers get it. */
  rekeyAll(): void {
    for (const session of this.sessions.values()) {
      const { key, from } = session.stream.rekey();
      this.events.rekeyed(session.terminal, key, from, this.watchersOf(session.terminal));
    }
  }

  /** A client's input record, opened and applied once by the client table: for the terminal it names. */
  input(client: number, record: InputRecord): void {
    const session = this.sessions.get(record.terminal);
    if (!session || !session.running) return;
    session.stream.input(client, record);
    if (record.kind === 'data') session.typedInto(record.data);
  }

  /** The relay asks to bring a client up to date with the terminal it watches (the agent's record decides; an older request is ignored). */
  sync(client: number, terminal: number, sync: number, resume: Resume | undefined): void {
    const session = this.watchedBy(client);
    if (session?.terminal !== terminal) return;
    // The first answer after a watch follows what the client said; later ones (it lagged) what the relay
    // delivered, which the client checks continues what it has.
    const first = this.firstSync.has(client);
    const said = this.firstSync.get(client);
    this.firstSync.delete(client);
    session.stream.sync(client, sync, first ? said : resume);
  }

  flow(terminal: number, limit: number | null): void {
    this.sessions.get(terminal)?.stream.flow(limit);
  }

  /** A new relay connection: every client opens a new channel and says again what it watches. */
  online(): void {
    this.watching.clear();
    this.firstSync.clear();
    for (const session of this.sessions.values()) session.stream.online();
  }

  /** The relay connection is gone: each terminal holds the pace of those who watched it, for a while (pace.ts). */
  offline(): void {
    for (const session of this.sessions.values()) {
      const sessions = this.watchersOf(session.terminal)
        .map((c) => this.clients.get(c)?.session)
        .filter((s): s is string => s !== undefined);
      session.stream.offline(sessions);
    }
  }

  /** Stops every session. */
  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    this.watching.clear();
    this.firstSync.clear();
    await Promise.all(all.map((s) => s.dispose()));
  }

  private watchersOf(terminal: number): number[] {
    const clients: number[] = [];
    for (const [client, watched] of this.watching) if (watched === terminal) clients.push(client);
    return clients;
  }
}
