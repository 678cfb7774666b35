// A client's place in the agent's output stream, across connections: which stream it follows, the position
// of the next byte it needs, and the stream keys its open channel was given. It accepts output and
// snapshots only where they continue what it has (IntegrityError otherwise: a replay, a jump, an older
// screen), opens the stream's sealed broadcasts (attention events, the exit status), and reports the exit
// once every byte up to its end has arrived.

import {
  FrameType,
  IntegrityError,
  ProtocolError,
  fromBase64Url,
  openAttention,
  openExitStatus,
  openFrame,
  openSnapshot,
  streamSubkey,
  type AttentionEvent,
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
  private stream: string | undefined;
  private position: number | null = null;
  /** The open channel's stream keys, newest first (output sealed before a `stream_key` opens with the one before); none while closed. */
  private keys: Uint8Array[] | undefined;
  /** Set when the channel was lost, until the next frame tells how the session caught up. */
  private resyncing = false;
  /** The agent came back with a new stream: what came before is not continued. */
  private streamChanged = false;
  /** The command's exit, kept until all output up to its end has arrived. */
  private pendingExit: ExitStatus | undefined;

  constructor(
    private readonly history: HistoryMode,
    private readonly events: StreamEvents,
  ) {}

  /** The stream position of the next byte needed, or null before the first. */
  get offset(): number | null {
    return this.position;
  }

  /** Where to resume: the stream and position, once there are both. */
  resumePoint(): Resume | undefined {
    return this.stream !== undefined && this.position !== null ? { stream: this.stream, offset: this.position } : undefined;
  }

  /** A channel opened on this stream with this key. Returns true for a new stream: positions in the old one mean nothing. */
  attach(stream: string, key: string): boolean {
    if (this.position !== null && this.stream !== undefined) this.resyncing = true;
    this.keys = [fromBase64Url(key)];
    if (stream === this.stream) return false;
    if (this.stream !== undefined) this.streamChanged = true;
    this.stream = stream;
    this.position = null;
    this.pendingExit = undefined;
    return true;
  }

  /** Output from now on is sealed with `key`. */
  rekey(key: string): void {
    if (this.keys) this.keys = [fromBase64Url(key), this.keys[0]!];
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
    const keys = this.keys;
    if (!keys) throw new ProtocolError('terminal data before the channel opened');
    const snapshot = frame.type === FrameType.Snapshot ? openSnapshot(connectionKey, frame) : undefined;
    const data = frame.type === FrameType.Snapshot ? snapshot!.data : openOutput(keys, frame);
    this.check(frame, data.length, snapshot !== undefined);
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
      this.events.snapshot?.(data, frame.offset, snapshot.kind);
      this.settleExit();
      return { kind: 'snapshot', at: frame.offset };
    }
    const end = frame.offset + data.length;
    if (this.position === null) {
      this.position = frame.offset;
    } else if (frame.offset > this.position) {
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
    this.events.output?.(fresh, end);
    this.settleExit();
    return { kind: 'output', at: end };
  }

  /** Opens an attention event (ProtocolError, or IntegrityError, if it cannot be). */
  attention(box: string): AttentionEvent {
    return openAttention(this.subkey('attention'), box);
  }

  /** The command's exit (ProtocolError, or IntegrityError, if it cannot be opened); reported once its output is all here. */
  exitStatus(box: string): void {
    this.pendingExit = openExitStatus(this.subkey('status'), box);
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
    const end = frame.offset + length;
    if (end <= this.position && (length > 0 || frame.offset < this.position)) {
      throw new IntegrityError(`output ${frame.offset}..${end} repeats what was already received (at ${this.position})`);
    }
    if (frame.offset > this.position && this.history === 'screen') throw new IntegrityError(`output jumps from ${this.position} to ${frame.offset}`);
  }

  /** The key of a broadcast box (attention events, exit statuses), from the newest stream key. */
  private subkey(use: 'attention' | 'status'): Uint8Array {
    if (!this.keys) throw new ProtocolError(`${use === 'status' ? 'exit status' : 'attention event'} before the channel opened`);
    return streamSubkey(this.keys[0]!, use);
  }

  private settleExit(): void {
    const exit = this.pendingExit;
    if (!exit || (this.position ?? 0) < exit.end) return;
    this.pendingExit = undefined;
    this.events.exit?.(exit);
  }
}

/** Opens an OUTPUT frame with the newest stream key, or the one before it (output sealed before a new key). */
function openOutput(keys: readonly Uint8Array[], frame: OutputFrame): Uint8Array {
  for (let i = 0; i < keys.length - 1; i++) {
    try {
      return openFrame(keys[i]!, frame);
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
    }
  }
  return openFrame(keys[keys.length - 1]!, frame);
}
