// Limits on who may try to get in: connection attempts and failed authentications (a wrong agent key,
// a wrong access token, an agent id the relay does not know), both per address. There is no budget per
// agent: keys and tokens are 256-bit and cannot be guessed, so a budget per agent would only let anyone
// who knows an agent id lock its owner out, and tell them the id exists. Once an address's budget is
// spent, its attempts are refused before their credentials are even looked at.

import { addressKey } from './address.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';

/** Budgets of an AuthGuard; each is a burst and a refill per minute. */
export interface AuthLimits {
  /** WebSocket connection attempts per address (default 120 at once, 600 a minute). */
  connections: RateLimitOptions;
  /** Failed authentications per address (default 10 at once, 10 a minute). */
  failuresPerAddress: RateLimitOptions;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  connections: { burst: 120, perMinute: 600 },
  failuresPerAddress: { burst: 10, perMinute: 10 },
};

/**
 * Failed authentications counted by every relay of a group (in its Redis), so that an address does not get
 * a fresh budget at each relay: its failures within a window, the window being the time the budget takes
 * to refill.
 */
export interface SharedFailures {
  /** Counts one failure of `key`, within a window of `windowMs`. */
  add(key: string, windowMs: number): Promise<void>;
  /** The failures of `key` in its current window, and the ms left in it. */
  count(key: string): Promise<{ failures: number; remainingMs: number }>;
}

/** The relay's door policy. Addresses are counted as addressKey groups them (IPv6 per /64). */
export class AuthGuard {
  private readonly connections: RateLimiter;
  private readonly byAddress: RateLimiter;
  private readonly failureBudget: RateLimitOptions;

  constructor(
    limits: Partial<AuthLimits> = {},
    now?: () => number,
    /** The group's count of failures, for a relay of a group. */
    private readonly shared?: SharedFailures,
  ) {
    const l = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.connections = new RateLimiter(l.connections, now);
    this.byAddress = new RateLimiter(l.failuresPerAddress, now);
    this.failureBudget = l.failuresPerAddress;
  }

  /** Counts a connection attempt; the wait in ms if `address` made too many, else 0. */
  connectionAttempt(address: string): number {
    const key = addressKey(address);
    return this.connections.take(key) ? 0 : Math.max(1, this.connections.retryAfterMs(key));
  }

  /** The wait in ms before `address` may try to authenticate again (at any relay of the group); 0 if now. */
  async blockedFor(address: string): Promise<number> {
    const key = addressKey(address);
    const here = this.byAddress.retryAfterMs(key);
    if (here > 0 || !this.shared) return here;
    // While the group's count cannot be read, this relay's own stands.
    const counted = await this.shared.count(key).catch(() => ({ failures: 0, remainingMs: 0 }));
    return counted.failures >= this.failureBudget.burst ? Math.max(1, counted.remainingMs) : 0;
  }

  /** Counts a failed authentication from `address` (at every relay of the group). */
  failed(address: string): void {
    const key = addressKey(address);
    this.byAddress.take(key);
    void this.shared?.add(key, (60_000 * this.failureBudget.burst) / this.failureBudget.perMinute).catch(() => undefined);
  }
}
