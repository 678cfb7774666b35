// Memory for the frames of live output, reused once the socket has written them. A flooding program makes
// a frame of up to 256 KiB every few milliseconds; a fresh array for each (and OpenSSL's result, and the
// mirror's batches) is off-heap memory the engine counts, and it starts a full collection, marked on helper
// threads, every few dozen MiB. The pool is the agent's, shared by its sessions. It lends a bounded number of
// frames at once: behind a slow relay small frames pile up (the bytes waiting, not the frames, are what the
// stream limits), and each would hold room for the largest; past the bound, frames are made to measure.

import { MAX_OUTPUT_CHUNK, outputFrameBytes } from '../protocol/index.js';

/** Frames lent at once, at most: a flood to a relay that keeps up has a few being written at a time. */
const MAX_LENT = 8;
/** Frames kept for reuse once written. */
const MAX_IDLE = 4;

export class FramePool {
  private readonly idle: Array<Uint8Array<ArrayBuffer>> = [];
  private lent = 0;
  /** Room for the largest OUTPUT frame. */
  readonly frameBytes = outputFrameBytes(MAX_OUTPUT_CHUNK);

  /**
   * Room for one frame, an idle one or a new one; undefined while MAX_LENT are out (make the frame to
   * measure then). Give it back once written, and not before.
   */
  take(): Uint8Array<ArrayBuffer> | undefined {
    if (this.lent >= MAX_LENT) return undefined;
    this.lent++;
    return this.idle.pop() ?? new Uint8Array(this.frameBytes);
  }

  /** Room taken from this pool was written: it may be reused (kept if few are idle). */
  give(room: Uint8Array<ArrayBuffer>): void {
    this.lent--;
    if (this.idle.length < MAX_IDLE) this.idle.push(room);
  }

  /** Frames idle now, and lent now. */
  get counts(): { idle: number; lent: number } {
    return { idle: this.idle.length, lent: this.lent };
  }
}
