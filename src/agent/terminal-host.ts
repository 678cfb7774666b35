// The agent's session core, independent of the relay connection and of the PTY: it records output by
// stream position, streams it to the relay with back-pressure, answers the relay's `sync` requests for
// each client (replay from a position, or reset and replay when the position is gone), applies each
// client's input exactly once, and decides the terminal size. It serves clients whose channel is open
// (channel-host.ts): live output is sealed with the stream's key, which only they were given; what goes to
// one client (snapshots, input acknowledgements) with that connection's key, and input is applied only if
// it opens with the sender's connection key and the channel may type.

import {
  FrameType,
  MAX_MESSAGE_BYTES,
  MAX_OUTPUT_CHUNK,
  ProtocolError,
  decodeFrameOf,
  decodeInputRecord,
  encodeMessage,
  encodeToClient,
  openFrame,
  randomBytes,
  randomId,
  sealAttention,
  sealExitStatus,
  sealInputAck,
  sealOutput,
  sealSnapshot,
  streamSubkey,
  toBase64Url,
  utf8,
  type AttentionEvent,
  type ExitStatus,
  type FromClientFrame,
  type HistoryMode,
  type RelayToAgent,
  type Resume,
} from '../protocol/index.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';
import type { OpenChannel } from './channel-host.js';
import { OutputLog } from './output-log.js';
import { Pace, type PaceOptions } from './pace.js';
import { SizePolicy, type Size } from './size-policy.js';

/** Where the host sends frames: the relay link. */
export interface Uplink {
  /** Whether frames can be sent now. */
  readonly isOnline: boolean;
  /** Sends a frame (binary) or control message (text); returns the bytes waiting to be written. */
  send(data: string | Uint8Array): number;
  /** Calls back once the bytes waiting drop to `bytes`. */
  onceBelow(bytes: number, callback: () => void): void;
}

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

/** Settings of a TerminalHost. */
export interface TerminalHostOptions {
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
  /** Reports clients joining and leaving. */
  onClients?(count: number): void;
  /** Reports a client's input that could not be opened or decoded (it is skipped). */
  onBadInput?(client: number, message: string): void;
  /** Sync answers (replays, snapshots) each client session, and each credential, gets (tests shorten them). */
  syncBudget?: { perSession: RateLimitOptions; perCredential: RateLimitOptions };
}

/**
 * Sync answers per client session and per credential (a device, or a link): a viewer reconnecting in a loop
 * or asking for snapshot after snapshot gets them no faster than this (the rest wait their turn).
 */
export const SYNC_BUDGET = { perSession: { burst: 10, perMinute: 30 }, perCredential: { burst: 20, perMinute: 60 } };

/** Sessions whose last applied input is remembered, beyond which the oldest is forgotten. */
const MAX_SESSIONS = 1024;

/**
 * A PTY read this large filled the terminal's buffer (Linux hands out at most 4095 bytes per read), so
 * more output is already waiting: it is held briefly and sent with what follows, in fewer, larger
 * frames. A shorter read ends a burst and sends everything at once, so keystroke echo is never delayed.
 */
const FULL_READ = 4095;
/** Longest a full read is held, in ms. */
const HOLD_MS = 2;

/** Input acknowledgements are sent at most this often per client, in ms. */
const ACK_DELAY_MS = 20;

/** A screen client further behind than this gets a snapshot instead of a replay: it is faster to draw. */
const REPLAY_LIMIT = 1 << 20;

/** Largest snapshot sent (it must fit in one message with its envelope). */
const MAX_SNAPSHOT_BYTES = MAX_MESSAGE_BYTES - 1024;

/** A sync the relay asked for: answered once the client's channel is open and its budget allows. */
interface SyncRequest {
  sync: number;
  resume: Resume | undefined;
  history: HistoryMode;
}

/** One agent's terminal session as the relay and its clients see it. */
export class TerminalHost {
  /** Identifies this output stream; a new agent process starts a new stream. */
  readonly stream = randomId();
  /** Live output is sealed with it; random, never stored, given only to open channels (and replaced by `rekey`). */
  private streamKey = randomBytes(32);
  /** Which run of the command the stream is in: 1, then one more each time it is started again. */
  private run = 1;
  private readonly log: OutputLog;
  private sizes = new SizePolicy();
  /** Relay's client number → the client's open channel. */
  private readonly clients = new Map<number, OpenChannel>();
  /** Syncs asked for clients whose channel is not open yet, or that wait for their budget. */
  private readonly waitingSync = new Map<number, SyncRequest>();
  private readonly syncTimers = new Map<number, ReturnType<typeof setTimeout>>();
  private readonly sessionSyncs: RateLimiter;
  private readonly credentialSyncs: RateLimiter;
  /** Session id → highest input sequence number applied. Insertion order is age order. */
  private readonly applied = new Map<string, number>();
  private readonly pendingAcks = new Set<number>();
  private ackScheduled = false;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Next stream position to send to the relay as live output. */
  private sent = 0;
  /** The uplink has too much waiting: live output waits until it drains. */
  private uplinkFull = false;
  /** Callbacks waiting for all output to be sent. */
  private flushWaiters: Array<() => void> = [];
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** How far the program's output may be read. */
  private readonly pace: Pace;
  /** The latest sync requested per client, so that a late snapshot never answers an older request. */
  private readonly latestSync = new Map<number, number>();
  private readonly screen: ScreenSource | undefined;
  private readonly highWater: number;
  private readonly lowWater: number;

  constructor(
    private readonly uplink: Uplink,
    private readonly terminal: TerminalControl,
    private readonly options: TerminalHostOptions = {},
  ) {
    this.sessionSyncs = new RateLimiter(options.syncBudget?.perSession ?? SYNC_BUDGET.perSession);
    this.credentialSyncs = new RateLimiter(options.syncBudget?.perCredential ?? SYNC_BUDGET.perCredential);
    this.log = new OutputLog(options.bufferSize ?? 4 << 20);
    this.screen = options.screen;
    this.pace = new Pace(
      () => ({ end: this.log.end, mirrorBacklog: this.screen?.backlog ?? 0 }),
      (paused) => this.terminal.pauseOutput(paused),
      options.pace,
    );
    this.highWater = options.highWater ?? 1 << 20;
    this.lowWater = options.lowWater ?? 256 * 1024;
  }

  /** Stops the timers this host started. */
  dispose(): void {
    clearTimeout(this.holdTimer);
    clearTimeout(this.ackTimer);
    for (const timer of this.syncTimers.values()) clearTimeout(timer);
    this.syncTimers.clear();
    this.pace.dispose();
    this.holdTimer = undefined;
    this.ackTimer = undefined;
    this.ackScheduled = false;
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

  /** Number of clients attached (with an open channel). */
  get clientCount(): number {
    return this.clients.size;
  }

  /** What a new channel is told about the output stream: its id, its key, where it ends now, and the run. */
  welcome(): { stream: string; key: string; end: number; run: number } {
    return { stream: this.stream, key: toBase64Url(this.streamKey), end: this.log.end, run: this.run };
  }

  /**
   * A new stream key, for output from `from` on: with every channel opened (so that a credential that leaks
   * later gets no key to output recorded before), and after a device was revoked (a hostile relay could
   * still hand it the output). Returns the key to give every open channel; the old one opens only output
   * that ends by `from`.
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

  /** An attention event, sealed for every client of the stream. */
  sealAttention(event: AttentionEvent): string {
    return sealAttention(streamSubkey(this.streamKey, 'attention'), event);
  }

  /** The command's exit, sealed for every client of the stream, with the position after its last output. */
  sealExit(status: Omit<ExitStatus, 'end' | 'run'>): string {
    return sealExitStatus(streamSubkey(this.streamKey, 'status'), { ...status, end: this.log.end, run: this.run });
  }

  /** A client's channel opened (channel-host.ts): it is served from now on. */
  opened(client: number, channel: OpenChannel): void {
    this.clients.set(client, channel);
    this.pace.clientBack(channel.session);
    this.notifyClients();
    if (this.waitingSync.has(client)) this.trySync(client);
  }

  /** The terminal size last decided on, to start a restarted command with. */
  get size(): Size | undefined {
    return this.sizes.current;
  }

  /** Resolves true once every output byte so far has been handed to the uplink, or false after `timeoutMs`. */
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

  /** Output from the PTY. */
  output(data: Uint8Array): void {
    this.log.append(data);
    this.screen?.write(data, this.log.end);
    this.pace.update();
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
    this.uplinkFull = false;
    this.sent = this.log.end;
    // The flow limit stays until the relay sends one (it does on every new connection).
    this.pace.relayBack();
    // The relay announces its clients again right after accepting the agent; each opens a new channel.
    this.clients.clear();
    this.latestSync.clear();
    this.waitingSync.clear();
    for (const timer of this.syncTimers.values()) clearTimeout(timer);
    this.syncTimers.clear();
    this.sizes = new SizePolicy();
    this.notifyClients();
    this.settleFlush();
  }

  /** The uplink went down: the clients attached now are likely back once it is (pace.ts holds the pace for them). */
  offline(): void {
    this.pace.relayLost([...this.clients.values()].map((c) => c.session));
  }

  /** The screen mirror made progress: reading may resume. */
  screenProgress(): void {
    this.pace.update();
  }

  /** A control message from the relay. */
  message(message: RelayToAgent): void {
    switch (message.type) {
      case 'flow':
        this.pace.relayLimitIs(message.limit);
        return;
      case 'client_left':
        this.clients.delete(message.client);
        this.latestSync.delete(message.client);
        this.waitingSync.delete(message.client);
        clearTimeout(this.syncTimers.get(message.client));
        this.syncTimers.delete(message.client);
        this.pendingAcks.delete(message.client);
        this.applySize(this.sizes.remove(message.client));
        this.notifyClients();
        return;
      case 'sync':
        // Only the latest request counts; it is answered once the channel is open and the budget allows.
        this.latestSync.set(message.client, message.sync);
        this.waitingSync.set(message.client, { sync: message.sync, resume: message.resume, history: message.history });
        this.trySync(message.client);
        return;
      default:
        return;
    }
  }

  /** An input frame from a client, via the relay. */
  frame(frame: FromClientFrame): void {
    const client = this.clients.get(frame.client);
    if (client === undefined) return;
    const input = decodeFrameOf(frame.inner, [FrameType.Input], 'relay');
    const { session, keys } = client;
    if (client.access !== 'full') {
      this.options.onBadInput?.(frame.client, 'input from a read-only device or link');
      return;
    }
    const last = this.applied.get(session) ?? 0;
    if (input.seq > last) {
      try {
        // Opened before it counts as applied: a forged frame must not use up a sequence number.
        const payload = openFrame(keys.receive, input);
        this.remember(session, input.seq);
        const record = decodeInputRecord(payload);
        if (record.kind === 'data') {
          this.terminal.write(record.data);
          this.applySize(this.sizes.activity(frame.client));
        } else {
          this.applySize(this.sizes.report(frame.client, { cols: record.cols, rows: record.rows }));
        }
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.options.onBadInput?.(frame.client, error.message);
      }
    }
    this.scheduleAck(frame.client);
  }

  /** Sends live output from `sent` until caught up or the uplink backs up. */
  private pump(): void {
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    while (this.sent < this.log.end && !this.uplinkFull && this.uplink.isOnline) {
      if (this.sent < this.log.start) this.sent = this.log.start; // clients that miss this part are synced
      const chunk = this.log.read(this.sent, MAX_OUTPUT_CHUNK);
      const waiting = this.uplink.send(sealOutput(this.streamKey, this.sent, chunk));
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
    const credential = channel.credential.kind === 'device' ? `device:${channel.credential.id}` : `link:${channel.access}`;
    const wait = Math.max(this.sessionSyncs.retryAfterMs(channel.session), this.credentialSyncs.retryAfterMs(credential));
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
    this.sessionSyncs.take(channel.session);
    this.credentialSyncs.take(credential);
    this.waitingSync.delete(client);
    // How missing output is filled is what the client said in its (authenticated) OPEN, not what the relay says.
    this.sync(client, request.sync, request.resume, channel.open.history);
  }

  /** Brings one client up to the end of the stream: replay from its position, or a snapshot of the screen. */
  private sync(client: number, sync: number, resume: Resume | undefined, history: HistoryMode): void {
    if (!this.clients.has(client)) return;
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
    void this.screen.snapshot(MAX_SNAPSHOT_BYTES).then((snapshot) => {
      // Answer only the latest request of a client still here; anything newer supersedes this one.
      if (this.latestSync.get(client) !== sync || !this.clients.has(client)) return;
      const data = snapshot ? utf8(snapshot.data) : undefined;
      if (snapshot && data && snapshot.offset >= this.log.start && snapshot.offset <= this.log.end && data.length <= MAX_SNAPSHOT_BYTES) {
        this.answer(client, sync, sealSnapshot(this.clients.get(client)!.keys.send, snapshot.offset, data), snapshot.offset);
      } else {
        this.answer(client, sync, this.heldOnly(client), this.log.start);
      }
    });
  }

  /**
   * The snapshot for a screen client when no screen can be had: a reset, after which every byte still held
   * follows. From the start of the stream that redraws the whole screen; otherwise the client is told it does not.
   */
  private heldOnly(client: number): Uint8Array {
    const start = this.log.start;
    return sealSnapshot(this.clients.get(client)!.keys.send, start, new Uint8Array(0), start === 0 ? 'screen' : 'unavailable');
  }

  /** Sends one sync answer in one go: sync_begin, an optional snapshot, output from `from` to the end, the input ack. */
  private answer(client: number, sync: number, snapshot: Uint8Array | undefined, from: number): void {
    const { session, keys, access } = this.clients.get(client)!;
    const end = this.log.end;
    const key = this.streamKey;
    this.uplink.send(encodeMessage({ type: 'sync_begin', client, sync }));
    if (snapshot) this.toClient(client, snapshot);
    if (from === end) this.toClient(client, sealOutput(key, end, new Uint8Array(0)));
    for (let at = from; at < end; ) {
      const chunk = this.log.read(at, MAX_OUTPUT_CHUNK);
      this.toClient(client, sealOutput(key, at, chunk));
      at += chunk.length;
    }
    const seq = this.applied.get(session);
    if (seq !== undefined && access === 'full') this.toClient(client, sealInputAck(keys.send, seq));
  }

  private toClient(client: number, inner: Uint8Array): void {
    this.uplink.send(encodeToClient(client, inner));
  }

  private scheduleAck(client: number): void {
    this.pendingAcks.add(client);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    // Acknowledgements only let clients forget input they keep for resending, so nothing waits for
    // them: they are batched, one per client every ACK_DELAY_MS however fast someone types.
    this.ackTimer = setTimeout(() => {
      this.ackScheduled = false;
      for (const c of this.pendingAcks) {
        const client = this.clients.get(c);
        const seq = client === undefined ? undefined : this.applied.get(client.session);
        if (seq !== undefined && client?.access === 'full') this.toClient(c, sealInputAck(client.keys.send, seq));
      }
      this.pendingAcks.clear();
    }, ACK_DELAY_MS);
  }

  private remember(session: string, seq: number): void {
    this.applied.delete(session);
    this.applied.set(session, seq);
    if (this.applied.size > MAX_SESSIONS) this.applied.delete(this.applied.keys().next().value!);
  }

  private applySize(size: Size | undefined): void {
    if (!size) return;
    this.terminal.resize(size);
    this.screen?.resize(size.cols, size.rows);
  }

  private notifyClients(): void {
    this.options.onClients?.(this.clients.size);
  }
}
