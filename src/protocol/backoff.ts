// The reconnect schedule every side follows: exponential, capped, with jitter so that many agents
// or browsers cut off by one relay restart do not all come back in the same instant.

/** Settings for a Backoff. */
export interface BackoffOptions {
  /** First delay, in ms. */
  baseMs?: number;
  /** Largest delay, in ms. */
  capMs?: number;
  /** Source of randomness in [0, 1); tests may pass a fixed one. */
  random?: () => number;
}

/** Produces successive reconnect delays; `reset()` after a connection that worked. */
export class Backoff {
  private attempt = 0;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? 500;
    this.capMs = options.capMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt: a random point in the upper half of min(cap, base·2^n). */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling * (0.5 + this.random() / 2));
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
