// A client's place in the output stream of the terminal it watches, across connections: which terminal and
// stream it follows, the position of the next byte it needs, and the stream keys the agent gave it. It
// accepts output and snapshots only of that terminal and only where they continue what it has (output of
// another terminal, or from before this watch's key, is passed over unshown; IntegrityError otherwise: a
// replay, a jump, an older screen, output before the screen), and reports the exit of the current run once
// every byte up to its end has arrived. A key the agent replaced opens only output that ends by the position
// it was replaced at.

import {
  FrameType,
  IntegrityError,
  continuation,
  fromBase64Url,
  openFrame,
  openSnapshot,
  snapshotKey,
  type ExitStatus,
  type HistoryMode,
  type OutputFrame,
  type Resume,
  type SnapshotFrame,
  type SnapshotKind,
} from '../protocol/index.js';

/** What the follower reports (the session passes them on). */
export interface StreamEvents {
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
  /** The command ended (sealed by the agent), reported once all its output up to `end` has been delivered. */
  exit?(status: ExitStatus): void;
}

/** What a frame changed: output up to `at` was delivered, or a snapshot put the stream at `at`. */
export type Received = { kind: 'output'; at: number } | { kind: 'snapshot'; at: number };

export class StreamFollower {
  /** The terminal followed (null: none). */
  private terminal: number | null = null;
  private stream: string | undefined;
  private position: number | null = null;
  /**
   * The open channel's stream keys, newest first; each older one opens only output ending by `until` (where
   * the next one took over). None while the channel is closed.
   */
  private keys: Array<{ key: Uint8Array; until: number }> | undefined;
  /** The run of the command the stream is in (its exit status must name it). */
  private run = 1;
  /** Set when the channel was lost, until the next frame tells how the session caught up. */
  private resyncing = false;
  /** The agent came back with a new stream: what came before is not continued. */
  private streamChanged = false;
  /** The command's exit, kept until all output up to its end has arrived. */
  private pendingExit: ExitStatus | undefined;
  /** The run whose end for good was reported: the agent tells a client that comes back again, not knowing whether it heard. */
  private endedRun: number | undefined;

  constructor(
    private readonly history: HistoryMode,
    private readonly events: StreamEvents,
  ) {}

  /** The stream position of the next byte needed, or null before the first. */
  get offset(): number | null {
    return this.position;
  }

  /** The terminal followed, if any. */
  get following(): number | null {
    return this.terminal;
  }

  /** Whether the agent took the watch of the terminal followed, on this channel (it gave its stream key). */
  get attached(): boolean {
    return this.keys !== undefined;
  }

  /** Where to resume: the terminal, its stream and the position, once there are all. */
  resumePoint(): { terminal: number; resume: Resume | undefined } | undefined {
    if (this.terminal === null) return undefined;
    return { terminal: this.terminal, resume: this.stream !== undefined && this.position !== null ? { stream: this.stream, offset: this.position } : undefined };
  }

  /** Follows another terminal (null: none): nothing of the one before continues. */
  follow(terminal: number | null): void {
    if (terminal === this.terminal) return;
    this.terminal = terminal;
    this.stream = undefined;
    this.position = null;
    this.keys = undefined;
    this.resyncing = false;
    this.streamChanged = false;
    this.pendingExit = undefined;
    this.endedRun = undefined;
    this.run = 1;
  }

  /**
   * The agent took this client's watch of `terminal`: its output comes from `stream`, sealed with `key`, in
   * run `run`. Returns true for a new stream (of the same terminal: the agent restarted; positions in the old
   * one mean nothing).
   */
  attach(terminal: number, stream: string, key: string, run: number): boolean {
    if (terminal !== this.terminal) throw new IntegrityError(`the stream of terminal ${terminal}, while following ${this.terminal ?? 'none'}`);
    if (this.position !== null && this.stream !== undefined) this.resyncing = true;
    this.keys = [{ key: fromBase64Url(key), until: Number.MAX_SAFE_INTEGER }];
    this.run = run;
    if (stream === this.stream) return false;
    if (this.stream !== undefined) this.streamChanged = true;
    this.stream = stream;
    this.position = null;
    this.pendingExit = undefined;
    this.endedRun = undefined;
    return true;
  }

  /** Output of `terminal` from `from` on is sealed with `key`; the keys before it open only output that ends by `from`. */
  rekey(terminal: number, key: string, from: number): void {
    if (!this.keys || terminal !== this.terminal) return;
    const older = this.keys.map((k, i) => (i === 0 ? { key: k.key, until: from } : k));
    this.keys = [{ key: fromBase64Url(key), until: Number.MAX_SAFE_INTEGER }, ...older].slice(0, MAX_KEYS);
    this.forgetSpentKeys();
  }

  /** The channel closed: what comes next (on another one) tells how the session caught up. */
  detach(): void {
    if (this.keys && this.position !== null) this.resyncing = true;
    this.keys = undefined;
  }

  /**
   * An OUTPUT frame, or a SNAPSHOT sealed with the connection's `connectionKey`. Throws IntegrityError
   * for one that does not open or does not continue the stream; returns what it changed, if anything.
   */
  receive(frame: OutputFrame | SnapshotFrame, connectionKey: Uint8Array): Received | undefined {
    // Output of a session this client no longer watches may still be on its way (the relay switches when
    // the agent tells it to): it is not shown, and nothing else follows from it.
    if (frame.terminal !== this.terminal) return undefined;
    const keys = this.keys;
    // So may output of this session from the watch before, after a switch away and straight back: it comes
    // before this watch's key (the agent sends the key before it tells the relay), and the sync that follows
    // the key brings what it held. Nothing opens without a key, so it is not shown either.
    if (!keys) return undefined;
    // A snapshot opens only with this watch's newest stream key (and this connection's): one recorded for an
    // earlier watch of the same session, on this connection, does not.
    const snapshot = frame.type === FrameType.Snapshot ? openSnapshot(snapshotKey(connectionKey, keys[0]!.key), frame) : undefined;
    const data = frame.type === FrameType.Snapshot ? snapshot!.data : openOutput(keys, frame);
    if (frame.type === FrameType.Output && this.position === null && this.history === 'screen') {
      // A screen client starts from a snapshot (or from where it resumed): output alone would draw a partial screen.
      throw new IntegrityError(`output at ${frame.offset} before the screen it continues`);
    }
    this.check(frame, data.length, snapshot !== undefined);
    if (this.resyncing) {
      this.resyncing = false;
      // A screen the agent could not restore is output lost, whatever follows.
      const how =
        snapshot?.kind === 'unavailable'
          ? 'gap'
          : snapshot || this.streamChanged
            ? 'restored'
            : this.position !== null && continuation(this.position, frame.offset, data.length) === 'gap'
              ? 'gap'
              : 'resumed';
      this.streamChanged = false;
      this.events.resync?.(how);
    }
    if (snapshot) {
      this.position = frame.offset;
      this.events.snapshot?.(data, frame.offset, snapshot.kind);
      this.settleExit();
      return { kind: 'snapshot', at: frame.offset };
    }
    const end = frame.offset + data.length;
    if (this.position === null) {
      this.position = frame.offset;
    } else if (continuation(this.position, frame.offset, data.length) === 'gap') {
      this.events.gap?.(frame.offset - this.position);
      this.position = frame.offset;
    }
    // Bytes already written are skipped; an empty frame only establishes the position.
    if (end <= this.position) {
      this.settleExit();
      return undefined;
    }
    const fresh = data.subarray(this.position - frame.offset);
    this.position = end;
    this.forgetSpentKeys();
    this.events.output?.(fresh, end);
    this.settleExit();
    return { kind: 'output', at: end };
  }

  /**
   * The followed terminal's exit (the agent sealed it for this connection): IntegrityError if it is of an
   * earlier run; reported once its output is all here.
   */
  exitStatus(status: ExitStatus): void {
    if (status.terminal !== this.terminal || !this.keys) return;
    // An earlier run's exit is a replay. (A later one: this session missed an exit, which the relay withheld.)
    if (status.run < this.run) throw new IntegrityError(`exit status of run ${status.run}, while run ${this.run} is going on`);
    if (!status.restarting && status.run === this.endedRun) return; // told again on coming back
    // With --restart the command goes on: its next exit names the next run.
    this.run = status.restarting ? status.run + 1 : status.run;
    this.pendingExit = status;
    this.settleExit();
  }

  /** Refuses a frame that does not continue what this session has. */
  private check(frame: OutputFrame | SnapshotFrame, length: number, isSnapshot: boolean): void {
    if (this.position === null) return;
    if (isSnapshot) {
      if (frame.offset < this.position) throw new IntegrityError(`snapshot at ${frame.offset} is older than what was already received (at ${this.position})`);
      return;
    }
    // Output the session already has is never sent again, and a jump is only possible where output may be
    // lost (bytes history); either means frames were dropped, replayed or reordered on the way.
    const next = continuation(this.position, frame.offset, length);
    if (next === 'repeats') throw new IntegrityError(`output ${frame.offset}..${frame.offset + length} repeats what was already received (at ${this.position})`);
    if (next === 'gap' && this.history === 'screen') throw new IntegrityError(`output jumps from ${this.position} to ${frame.offset}`);
  }

  /** Drops older keys whose output is all behind the position (nothing they open can be taken any more). */
  private forgetSpentKeys(): void {
    const position = this.position;
    if (!this.keys || position === null) return;
    this.keys = this.keys.filter((k, i) => i === 0 || k.until > position);
  }

  private settleExit(): void {
    const exit = this.pendingExit;
    if (!exit || (this.position ?? 0) < exit.end) return;
    this.pendingExit = undefined;
    if (!exit.restarting) this.endedRun = exit.run;
    this.events.exit?.(exit);
  }
}

/** Stream keys kept at once (replaced faster than output arrives only when many channels open at once). */
const MAX_KEYS = 16;

/**
 * Opens an OUTPUT frame with the newest stream key, or an older one if the frame ends by where that one was
 * replaced (output sealed before a new key, still on its way).
 */
function openOutput(keys: ReadonlyArray<{ key: Uint8Array; until: number }>, frame: OutputFrame): Uint8Array {
  const end = frame.offset + frame.length;
  const usable = keys.filter((k, i) => i === 0 || end <= k.until);
  for (let i = 0; i < usable.length - 1; i++) {
    try {
      return openFrame(usable[i]!.key, frame);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
    }
  }
  return openFrame(usable[usable.length - 1]!.key, frame);
}
