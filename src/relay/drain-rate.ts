// How fast one client gets through a terminal's output, measured at the relay from its acknowledgements,
// and the flow window that follows from it. A fixed window is either too small for a fast client (the agent
// waits for acknowledgements while every process on the way has spare time) or too large for a slow one (a
// key's echo, or the prompt after Ctrl-C, waits behind all of it). So the window holds about as much output
// as the slowest pacing client processes in a few tens of ms (the hub's `flowWindowMs`), between a least window
// and a most.

/** Shortest span a rate is measured over, in ms (clocks may tick in whole milliseconds). */
const SPAN_MS = 50;

/** A client's processing rate, from the offsets it acknowledged and when. */
export class DrainRate {
  // Where the span being measured started: when (NaN: no span) and at which offset. Two numbers updated in
  // place, not an object made for each span: one per acknowledgement of every client, each living until
  // the next, filled the relay's old generation (rate-limit.ts says how).
  private fromAt = Number.NaN;
  private fromOffset = 0;
  /** Bytes per ms over the latest whole span; 0 until one was measured. */
  perMs = 0;

  /** The client acknowledged `offset` at `at` (ms). */
  acked(offset: number, at: number): void {
    if (Number.isNaN(this.fromAt) || offset < this.fromOffset) return this.startSpan(offset, at);
    if (at - this.fromAt < SPAN_MS) return;
    // Time without output counts too: a quiet terminal measures slow, which only keeps the window small.
    this.perMs = (offset - this.fromOffset) / (at - this.fromAt);
    this.startSpan(offset, at);
  }

  /**
   * What the client has processed jumped without it saying so (a snapshot replaced output it lacked): the
   * span starts again, so the jump is not counted as processing; the rate measured so far stays.
   */
  restart(): void {
    this.fromAt = Number.NaN;
  }

  /** The client starts on another stream, or stops pacing: nothing measured counts. */
  reset(): void {
    this.fromAt = Number.NaN;
    this.perMs = 0;
  }

  private startSpan(offset: number, at: number): void {
    this.fromAt = at;
    this.fromOffset = offset;
  }
}

/** How large flow windows are. */
export interface WindowBounds {
  /** The least window, in bytes (also a client's until its rate is measured). */
  least: number;
  /** The most, in bytes. */
  most: number;
  /** The window holds this much of the slowest client's processing, in ms. */
  ms: number;
}

/** The flow window for a terminal whose slowest pacing client processes `perMs` bytes per ms. */
export function flowWindow(perMs: number, bounds: WindowBounds): number {
  return Math.min(bounds.most, Math.max(bounds.least, Math.round(perMs * bounds.ms)));
}
