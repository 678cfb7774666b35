// The agent's record of recent output, addressed by absolute stream position: a fixed-size ring of
// bytes. Browsers and the relay resume from a position; whatever is older than `start` is gone.

/** A bounded window onto the output stream. */
export class OutputLog {
  private readonly ring: Uint8Array;
  private total = 0;

  /** `capacity`: bytes kept (at least 1). */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.ring = new Uint8Array(capacity);
  }

  /** Stream position just after the last byte appended. */
  get end(): number {
    return this.total;
  }

  /** Oldest stream position still held. */
  get start(): number {
    return Math.max(0, this.total - this.ring.length);
  }

  /** Appends bytes; returns the stream position of the first of them. */
  append(data: Uint8Array): number {
    const offset = this.total;
    const capacity = this.ring.length;
    const kept = data.length > capacity ? data.subarray(data.length - capacity) : data;
    const at = (this.total + (data.length - kept.length)) % capacity;
    const first = Math.min(kept.length, capacity - at);
    this.ring.set(kept.subarray(0, first), at);
    if (first < kept.length) this.ring.set(kept.subarray(first), 0);
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
    const capacity = this.ring.length;
    const at = from % capacity;
    if (at + length <= capacity) return this.ring.subarray(at, at + length);
    const out = new Uint8Array(length);
    out.set(this.ring.subarray(at));
    out.set(this.ring.subarray(0, length - (capacity - at)), capacity - at);
    return out;
  }
}
