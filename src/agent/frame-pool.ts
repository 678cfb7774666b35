// Memory for the frames of live output, reused once the socket has written them. A flooding program makes
// a frame of up to 256 KiB every few milliseconds; a fresh array for each (and OpenSSL's result, and the
// mirror's batches) is off-heap memory the engine counts, and it starts a full collection, marked on helper
// threads, every few dozen MiB. The pool is the agent's, shared by its sessions; it keeps only a few frames
// idle, and makes a fresh one whenever all are still being written (a slow relay).

import { MAX_OUTPUT_CHUNK, outputFrameBytes } from '../protocol/index.js';

/** Frames kept for reuse: a flood has about this many written at once to a relay that keeps up. */
const MAX_IDLE = 4;

export class FramePool {
  private readonly idle: Array<Uint8Array<ArrayBuffer>> = [];
  /** Room for the largest OUTPUT frame. */
  readonly frameBytes = outputFrameBytes(MAX_OUTPUT_CHUNK);

  /** Room for one frame: an idle one, or a new one. Give it back once written, and not before. */
  take(): Uint8Array<ArrayBuffer> {
    return this.idle.pop() ?? new Uint8Array(this.frameBytes);
  }

  /** A frame taken from this pool was written: it may be reused (kept if few are idle). */
  give(room: Uint8Array<ArrayBuffer>): void {
    if (room.length === this.frameBytes && this.idle.length < MAX_IDLE) this.idle.push(room);
  }

  /** Frames idle now. */
  get idleCount(): number {
    return this.idle.length;
  }
}
