// Token buckets: a bucket may spend `burst` at once and regains `perMinute` per minute. A RateLimiter
// keeps one bucket per key (a client address, usually) and forgets idle keys so its table stays small;
// a lone TokenBucket limits one thing, such as the messages of one socket.

/** Settings of a token bucket. */
export interface RateLimitOptions {
  burst: number;
  perMinute: number;
}

/** One token bucket. */
export class TokenBucket {
  // Numbers from the start: a field declared without a value takes any value, and every fractional number
  // stored into it is then an object of its own. A relay takes a token for each message of each socket, so
  // that was two objects per message, each living until the socket's next message: long enough to reach the
  // old generation, which they filled (BENCHMARKS, M6). A field that starts as a number is updated in place.
  private tokens = 0;
  private updated = 0;
  private readonly refillPerMs: number;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = options.burst;
    this.updated = now();
    this.refillPerMs = options.perMinute / 60_000;
  }

  /** Takes one token; false when none is left. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there again (0 if one is there now); takes nothing. */
  retryAfterMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) / this.refillPerMs);
  }

  /** Whether the bucket is full again (nothing to remember). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.options.burst;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.options.burst, this.tokens + (now - this.updated) * this.refillPerMs);
    this.updated = now;
  }
}

/** Token buckets per key. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when none is left. */
  take(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= 10_000) this.prune();
      bucket = new TokenBucket(this.options, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Milliseconds until `key` has a token again (0 if it has one now); takes nothing. */
  retryAfterMs(key: string): number {
    return this.buckets.get(key)?.retryAfterMs() ?? 0;
  }

  /** Forgets keys whose buckets are full again: they are as good as new. */
  private prune(): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
  }
}
