// One terminal's output stream at the agent, independent of the relay connection and of the PTY: it records
// the program's output by stream position, streams it to the relay with back-pressure while a client
// watches it (the relay would drop it otherwise; a client that starts watching is brought up to date), keeps
// the screen mirror fed, paces the program by what clients processed (pace.ts), answers the relay's `sync`
// requests for each client that watches it (replay from a position, or a snapshot when the position is
// gone), and decides the terminal's size. Live output is sealed with the stream's key, which only open channels get;
// what goes to one client (snapshots) with that connection's key. Clients, their keys and their input's
// bookkeeping are the client table's (client-table.ts).

import {
  MAX_MESSAGE_BYTES,
  MAX_OUTPUT_CHUNK,
  encodeMessage,
  encodeToClient,
  randomBytes,
  randomId,
  sealOutput,
  sealSnapshot,
  snapshotKey,
  toBase64Url,
  utf8,
  type ExitStatus,
  type HistoryMode,
  type InputRecord,
  type Resume,
} from '../protocol/index.js';
import type { OpenChannel } from './channel-host.js';
import type { ClientTable } from './client-table.js';
import type { FramePool } from './frame-pool.js';
import { OutputLog } from './output-log.js';
import { Pace, type PaceOptions } from './pace.js';
import { SizePolicy, type Size } from './size-policy.js';
import type { Uplink } from './uplink.js';

/** What the host does to the terminal. */
export interface TerminalControl {
  write(data: Uint8Array): void;
  resize(size: Size): void;
  /** Stop reading the terminal's output (the program blocks when it writes), or read it again. */
  pauseOutput(paused: boolean): void;
}

/** A copy of the screen that can be serialized (screen-mirror.ts). */
export interface ScreenSource {
  write(data: Uint8Array, end: number): void;
  resize(cols: number, rows: number): void;
  /** The screen as of everything written; undefined when it cannot be had. */
  snapshot(maxBytes: number): Promise<{ offset: number; data: string } | undefined>;
  /** Output given to it and not yet processed. */
  readonly backlog: number;
  /** Why it does not work, if it does not. */
  readonly failure: string | undefined;
}

/** Settings of a TerminalStream. */
export interface TerminalStreamOptions {
  /**
   * The screen mirror for snapshots. Without one (or while it fails), a client that lost its place gets a
   * cleared screen and the bytes still held, and is told that the screen could not be restored.
   */
  screen?: ScreenSource;
  /** Bytes of output kept for replay (default 4 MiB). */
  bufferSize?: number;
  /** Bytes waiting on the uplink above which live output pauses (default 1 MiB). */
  highWater?: number;
  /** Bytes waiting below which it resumes (default 256 KiB). */
  lowWater?: number;
  /** How long the pace holds for clients after losing the relay (pace.ts; tests shorten it). */
  pace?: PaceOptions;
  /** A snapshot could not be made or sent (the client gets the bytes held instead). */
  onSnapshotFailed?(message: string): void;
  /** Memory for live output's frames, reused once written (the agent's, shared by its sessions); without it each frame is new. */
  frames?: FramePool;
}

/**
 * A PTY read this large filled the terminal's buffer (Linux hands out at most 4095 bytes per read), so
 * more output is already waiting: it is held briefly and sent with what follows, in fewer, larger
 * frames. A shorter read ends a burst and sends everything at once, so keystroke echo is never delayed.
 */
const FULL_READ = 4095;
/** Longest a full read is held, in ms. */
const HOLD_MS = 2;

/** A screen client further behind than this gets a snapshot instead of a replay: it is faster to draw. */
const REPLAY_LIMIT = 1 << 20;

/** Largest snapshot sent (it must fit in one message with its envelope). */
const MAX_SNAPSHOT_BYTES = MAX_MESSAGE_BYTES - 1024;

/** A sync the relay asked for: answered once the client's channel is open and its budget allows. */
interface SyncRequest {
  sync: number;
  resume: Resume | undefined;
}

/** One terminal's output stream, as the relay and the clients that watch it see it. */
export class TerminalStream {
  /** Identifies this output stream; a new agent process starts a new stream. */
  readonly stream = randomId();
  /** Live output is sealed with it; random, never stored, given only to open channels (and replaced by `rekey`). */
  private streamKey = randomBytes(32);
  /** Which run of the command the stream is in: 1, then one more each time it is started again. */
  private run = 1;
  private readonly log: OutputLog;
  private sizes = new SizePolicy();
  /** Syncs asked for clients whose channel is not open yet, or that wait for their budget. */
  private readonly waitingSync = new Map<number, SyncRequest>();
  private readonly syncTimers = new Map<number, ReturnType<typeof setTimeout>>();
  /** Next stream position to send to the relay as live output. */
  private sent = 0;
  /**
   * The clients watching this terminal. Live output goes to the relay only while there is one: the relay
   * routes it to watching clients alone, so output nobody watches would cross the network (the computer's
   * upload) and cost both ends its sealing and framing for nothing. A client that starts watching gets a
   * sync (replay or snapshot) up to the end of the stream; live output goes out from where the stream stood
   * when it started watching, and the relay passes on only what continues the sync's answer.
   */
  private readonly watchers = new Set<number>();
  /** The uplink has too much waiting: live output waits until it drains. */
  private uplinkFull = false;
  /** Callbacks waiting for all output to be sent. */
  private flushWaiters: Array<() => void> = [];
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** How far the program's output may be read. */
  private readonly pace: Pace;
  /** The latest sync requested per client, so that a late snapshot never answers an older request. */
  private readonly latestSync = new Map<number, number>();
  /** Relay connections so far: a new one numbers its clients and their syncs from 1 again. */
  private connection = 0;
  private readonly screen: ScreenSource | undefined;
  private readonly highWater: number;
  private readonly lowWater: number;

  constructor(
    /** The terminal's number: the relay routes its output by it. */
    readonly terminal: number,
    private readonly uplink: Uplink,
    private readonly pty: TerminalControl,
    /** The clients with an open channel (their keys, their input's bookkeeping, their sync budgets). */
    private readonly clients: ClientTable,
    private readonly options: TerminalStreamOptions = {},
  ) {
    this.log = new OutputLog(options.bufferSize ?? 4 << 20);
    this.screen = options.screen;
    const log = this.log;
    const screen = this.screen;
    this.pace = new Pace(
      {
        get end() {
          return log.end;
        },
        get mirrorBacklog() {
          return screen?.backlog ?? 0;
        },
      },
      (paused) => this.pty.pauseOutput(paused),
      options.pace,
    );
    this.highWater = options.highWater ?? 1 << 20;
    this.lowWater = options.lowWater ?? 256 * 1024;
  }

  /** Stops the timers this host started. */
  dispose(): void {
    clearTimeout(this.holdTimer);
    for (const timer of this.syncTimers.values()) clearTimeout(timer);
    this.syncTimers.clear();
    this.pace.dispose();
    this.holdTimer = undefined;
  }

  /** Stream position after the last output byte. */
  get end(): number {
    return this.log.end;
  }

  /** The last output, at most `max` bytes of what is still held; `cut` if it does not start at the stream's start. */
  tail(max: number): { bytes: Uint8Array; cut: boolean } {
    const from = Math.max(this.log.start, this.log.end - max);
    return { bytes: this.log.read(from, this.log.end - from), cut: from > 0 };
  }

  /** What a client that starts watching is told: the stream's id, its key, where it ends now, and the run. */
  watchInfo(): { terminal: number; stream: string; key: string; end: number; run: number } {
    return { terminal: this.terminal, stream: this.stream, key: toBase64Url(this.streamKey), end: this.log.end, run: this.run };
  }

  /**
   * A new stream key, for output from `from` on: whenever a client starts watching (so that a credential
   * that leaks later gets no key to output recorded before), and after a device was revoked (a hostile relay
   * could still hand it the output). Returns the key to give every client watching; the old one opens only
   * output that ends by `from`.
   */
  rekey(): { key: string; from: number } {
    this.pump(); // what was read so far goes out under the old key, as far as the uplink takes it
    this.streamKey = randomBytes(32);
    // Nothing sealed under the old key (live output, sync answers) goes past what has been read.
    return { key: toBase64Url(this.streamKey), from: this.log.end };
  }

  /** The command starts again (--restart): its exit will name the next run. */
  nextRun(): void {
    this.run++;
  }

  /** The program's exit, with the position after its last output and its run. */
  exitStatus(status: Omit<ExitStatus, 'terminal' | 'end' | 'run'>): ExitStatus {
    return { ...status, terminal: this.terminal, end: this.log.end, run: this.run };
  }

  /** A client (its channel open: the client table has it) watches this terminal now: a sync asked for it meanwhile is answered. */
  opened(client: number, channel: OpenChannel): void {
    this.watchers.add(client);
    this.pace.clientBack(channel.session);
    if (this.waitingSync.has(client)) this.trySync(client);
  }

  /** The terminal size last decided on, to start a restarted command with. */
  get size(): Size | undefined {
    return this.sizes.current;
  }

  /** Resolves true once every output byte so far has been handed to the uplink (or passed by: nobody watches), or false after `timeoutMs`. */
  flush(timeoutMs: number): Promise<boolean> {
    if (this.isFlushed()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.flushWaiters = this.flushWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.flushWaiters.push(done);
    });
  }

  /** Output from the PTY: `data` is only lent (the PTY's read buffer), so what is kept of it is copied (the log, the mirror). */
  output(data: Uint8Array): void {
    this.log.append(data);
    this.screen?.write(data, this.log.end);
    this.pace.update();
    if (this.watchers.size === 0) {
      this.pump();
      return;
    }
    if (data.length >= FULL_READ && this.log.end - this.sent < MAX_OUTPUT_CHUNK) {
      this.holdTimer ??= setTimeout(() => {
        this.holdTimer = undefined;
        this.pump();
      }, HOLD_MS);
      return;
    }
    this.pump();
  }

  /** The uplink (re)connected: clients are brought up to date by syncs, so live output starts from now. */
  online(): void {
    this.connection++;
    this.uplinkFull = false;
    this.sent = this.log.end;
    this.watchers.clear(); // each client says again what it watches
    // The flow limit stays until the relay sends one (it does on every new connection).
    this.pace.relayBack();
    // The relay announces its clients again right after accepting the agent; each opens a new channel.
    this.latestSync.clear();
    this.waitingSync.clear();
    for (const timer of this.syncTimers.values()) clearTimeout(timer);
    this.syncTimers.clear();
    // The clients are new, the PTY's size is not: a restarted command starts at it until one reports another.
    this.sizes = new SizePolicy(this.sizes.current);
    this.settleFlush();
  }

  /** The uplink went down: the client sessions watching now are likely back once it is (pace.ts holds the pace for them). */
  offline(watchers: string[]): void {
    this.pace.relayLost(watchers);
  }

  /** The screen mirror made progress: reading may resume. */
  screenProgress(): void {
    this.pace.update();
  }

  /** Flow control from the relay: read no output beyond `limit` for now (null: no limit). */
  flow(limit: number | null): void {
    this.pace.relayLimitIs(limit);
  }

  /** The relay asks to bring a client up to date; only its latest request counts, answered once its channel is open and its budget allows. */
  sync(client: number, sync: number, resume: Resume | undefined): void {
    this.latestSync.set(client, sync);
    this.waitingSync.set(client, { sync, resume });
    this.trySync(client);
  }

  /** A client left (or stopped watching): what was kept for it goes, and its size no longer counts. */
  forget(client: number): void {
    this.watchers.delete(client);
    this.latestSync.delete(client);
    this.waitingSync.delete(client);
    clearTimeout(this.syncTimers.get(client));
    this.syncTimers.delete(client);
    this.applySize(this.sizes.remove(client));
  }

  /** A client's input record (opened and applied once by the client table): keystrokes for the program, or its size. */
  input(client: number, record: InputRecord): void {
    if (record.kind === 'data') {
      this.pty.write(record.data);
      this.applySize(this.sizes.activity(client));
    } else {
      this.applySize(this.sizes.report(client, { cols: record.cols, rows: record.rows }));
    }
  }

  /** Sends live output from `sent` until caught up or the uplink backs up; with nobody watching, passes it by. */
  private pump(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.watchers.size === 0) {
      this.sent = this.log.end;
      this.settleFlush();
      return;
    }
    while (this.sent < this.log.end && !this.uplinkFull && this.uplink.isOnline) {
      if (this.sent < this.log.start) this.sent = this.log.start; // clients that miss this part are synced
      const chunk = this.log.read(this.sent, MAX_OUTPUT_CHUNK);
      const waiting = this.sendOutput(chunk);
      this.sent += chunk.length;
      if (waiting > this.highWater) {
        this.uplinkFull = true;
        this.uplink.onceBelow(this.lowWater, () => {
          this.uplinkFull = false;
          this.pump();
        });
      }
    }
    this.settleFlush();
  }

  /** Seals live output at `sent` into a frame (the pool's while it lends, given back once written) and sends it; returns the bytes waiting. */
  private sendOutput(chunk: Uint8Array): number {
    const frames = this.options.frames;
    const room = frames?.take();
    if (!frames || !room) return this.uplink.send(sealOutput(this.streamKey, this.terminal, this.sent, chunk));
    return this.uplink.send(sealOutput(this.streamKey, this.terminal, this.sent, chunk, room), () => frames.give(room));
  }

  private isFlushed(): boolean {
    return this.uplink.isOnline && !this.uplinkFull && this.sent >= this.log.end;
  }

  private settleFlush(): void {
    if (this.flushWaiters.length === 0 || !this.isFlushed()) return;
    const waiters = this.flushWaiters;
    this.flushWaiters = [];
    for (const done of waiters) done();
  }

  /** Answers a client's waiting sync if its channel is open and its budget allows; otherwise when they do. */
  private trySync(client: number): void {
    const channel = this.clients.get(client);
    const request = this.waitingSync.get(client);
    if (!channel || !request || this.syncTimers.has(client)) return;
    const wait = this.clients.takeSync(channel);
    if (wait > 0) {
      this.syncTimers.set(
        client,
        setTimeout(() => {
          this.syncTimers.delete(client);
          this.trySync(client);
        }, wait),
      );
      return;
    }
    this.waitingSync.delete(client);
    // How missing output is filled is what the client said in its (authenticated) OPEN, not what the relay says.
    this.answerSync(client, request.sync, request.resume, channel.open.history);
  }

  /** Brings one client up to the end of the stream: replay from its position, or a snapshot of the screen. */
  private answerSync(client: number, sync: number, resume: Resume | undefined, history: HistoryMode): void {
    if (!this.clients.get(client)) return;
    const end = this.log.end;
    const held = resume !== undefined && resume.stream === this.stream && resume.offset >= this.log.start && resume.offset <= end;
    if (held && (history === 'bytes' || end - resume.offset <= REPLAY_LIMIT)) {
      this.answer(client, sync, undefined, resume.offset);
      return;
    }
    if (history === 'bytes') {
      this.answer(client, sync, undefined, this.log.start);
      return;
    }
    if (!this.screen || this.screen.failure !== undefined) {
      this.answer(client, sync, this.heldOnly(client), this.log.start);
      return;
    }
    const connection = this.connection;
    const answer = (snapshot: { offset: number; data: string } | undefined): void => {
      // Answer only the latest request of a client still here, on the same relay connection (a new one
      // numbers clients and syncs afresh); anything newer supersedes this one.
      const channel = this.clients.get(client);
      if (this.connection !== connection || this.latestSync.get(client) !== sync || !channel) return;
      const data = snapshot ? utf8(snapshot.data) : undefined;
      if (snapshot && data && snapshot.offset >= this.log.start && snapshot.offset <= this.log.end && data.length <= MAX_SNAPSHOT_BYTES) {
        this.answer(client, sync, sealSnapshot(snapshotKey(channel.keys.send, this.streamKey), this.terminal, snapshot.offset, data), snapshot.offset);
      } else {
        this.answer(client, sync, this.heldOnly(client), this.log.start);
      }
    };
    this.screen.snapshot(MAX_SNAPSHOT_BYTES).then(answer, (error: unknown) => {
      // A mirror that fails mid-snapshot: the client gets what is held, and the person hears why.
      this.options.onSnapshotFailed?.((error as Error).message);
      answer(undefined);
    });
  }

  /**
   * The snapshot for a screen client when no screen can be had: a reset, after which every byte still held
   * follows. From the start of the stream that redraws the whole screen; otherwise the client is told it does not.
   */
  private heldOnly(client: number): Uint8Array {
    const start = this.log.start;
    return sealSnapshot(snapshotKey(this.clients.get(client)!.keys.send, this.streamKey), this.terminal, start, new Uint8Array(0), start === 0 ? 'screen' : 'unavailable');
  }

  /** Sends one sync answer in one go: sync_begin, an optional snapshot, output from `from` to the end, the input ack. */
  private answer(client: number, sync: number, snapshot: Uint8Array | undefined, from: number): void {
    const end = this.log.end;
    const key = this.streamKey;
    this.uplink.send(encodeMessage({ type: 'sync_begin', client, sync }));
    if (snapshot) this.toClient(client, snapshot);
    if (from === end) this.toClient(client, sealOutput(key, this.terminal, end, new Uint8Array(0)));
    for (let at = from; at < end; ) {
      const chunk = this.log.read(at, MAX_OUTPUT_CHUNK);
      this.toClient(client, sealOutput(key, this.terminal, at, chunk));
      at += chunk.length;
    }
    const ack = this.clients.inputAck(client);
    if (ack) this.toClient(client, ack);
  }

  private toClient(client: number, inner: Uint8Array): void {
    this.uplink.send(encodeToClient(client, inner));
  }

  private applySize(size: Size | undefined): void {
    if (!size) return;
    this.pty.resize(size);
    this.screen?.resize(size.cols, size.rows);
  }
}
