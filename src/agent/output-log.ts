// The agent's record of recent output, addressed by absolute stream position: a ring of bytes of a fixed
// capacity. Browsers and the relay resume from a position; whatever is older than `start` is gone. The ring
// is allocated as output arrives (doubling from INITIAL_BYTES up to the capacity), so a session that prints
// little costs little.

/** The first allocation, before a session printed more. */
const INITIAL_BYTES = 64 * 1024;

/** A bounded window onto the output stream. */
export class OutputLog {
  private ring: Uint8Array;
  private total = 0;

  /** `capacity`: bytes kept (at least 1). */
  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Uint8Array(Math.min(capacity, INITIAL_BYTES));
  }

  /** Stream position just after the last byte appended. */
  get end(): number {
    return this.total;
  }

  /** Oldest stream position still held. */
  get start(): number {
    return Math.max(0, this.total - this.capacity);
  }

  /** Bytes of memory the ring takes now. */
  get allocated(): number {
    return this.ring.length;
  }

  /** Appends bytes; returns the stream position of the first of them. */
  append(data: Uint8Array): number {
    const offset = this.total;
    if (this.ring.length < this.capacity && this.total + data.length > this.ring.length) this.grow(this.total + data.length);
    const size = this.ring.length;
    const kept = data.length > size ? data.subarray(data.length - size) : data;
    const at = (this.total + (data.length - kept.length)) % size;
    const first = size - at;
    if (kept.length <= first) {
      this.ring.set(kept, at);
    } else {
      this.ring.set(kept.subarray(0, first), at);
      this.ring.set(kept.subarray(first), 0);
    }
    this.total += data.length;
    return offset;
  }

  /**
   * Bytes from stream position `from` (which must lie in [start, end]), at most `max` of them.
   * Returns a view into the ring when the range is contiguous, a copy when it wraps.
   */
  read(from: number, max: number): Uint8Array {
    if (from < this.start || from > this.total) throw new RangeError(`position ${from} not held (have ${this.start}..${this.total})`);
    const length = Math.min(max, this.total - from);
    const size = this.ring.length;
    const at = from % size;
    if (at + length <= size) return this.ring.subarray(at, at + length);
    const out = new Uint8Array(length);
    out.set(this.ring.subarray(at));
    out.set(this.ring.subarray(0, length - (size - at)), size - at);
    return out;
  }

  /**
   * A larger ring for `needed` bytes of stream (doubling, at most the capacity). Called only while the ring
   * never wrapped (it grows before it would), so its bytes sit at their stream positions.
   */
  private grow(needed: number): void {
    let size = this.ring.length;
    while (size < needed && size < this.capacity) size *= 2;
    const ring = new Uint8Array(Math.min(size, this.capacity));
    ring.set(this.ring.subarray(0, this.total));
    this.ring = ring;
  }
}
