// Token buckets keyed by a string (a client address, usually): each key may spend `burst` at once and
// regains `perMinute` per minute. Idle keys are forgotten so the table stays small.

/** Settings of a RateLimiter. */
export interface RateLimitOptions {
  burst: number;
  perMinute: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** Per-key token buckets. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.refillPerMs = options.perMinute / 60_000;
  }

  /** Takes one token for `key`; false when none is left. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.options.burst, updated: now };
    bucket.tokens = this.tokensAt(bucket, now);
    bucket.updated = now;
    if (this.buckets.size > 10_000) this.prune(now);
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Milliseconds until `key` has a token again (0 if it has one now); takes nothing. */
  retryAfterMs(key: string): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return 0;
    const tokens = this.tokensAt(bucket, this.now());
    if (tokens >= 1) return 0;
    return Math.ceil((1 - tokens) / this.refillPerMs);
  }

  /** The tokens `bucket` holds at `now`, refilled since it was last updated. */
  private tokensAt(bucket: Bucket, now: number): number {
    return Math.min(this.options.burst, bucket.tokens + (now - bucket.updated) * this.refillPerMs);
  }

  private prune(now: number): void {
    const fullAfter = this.options.burst / this.refillPerMs;
    for (const [key, bucket] of this.buckets) if (now - bucket.updated > fullAfter) this.buckets.delete(key);
  }
}
