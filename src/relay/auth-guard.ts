// Limits on who may try to get in: connection attempts and failed authentications (a wrong agent key,
// a wrong access token, an agent id the relay does not know), both per address. There is no budget per
// agent: keys and tokens are 256-bit and cannot be guessed, so a budget per agent would only let anyone
// who knows an agent id lock its owner out, and tell them the id exists. Once an address's budget is
// spent, its attempts are refused before their credentials are even looked at.

import { addressKey } from './address.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';
import { GroupBudget } from './group-budget.js';
import type { RedisLink } from './redis-link.js';

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

/** The relay's door policy. Addresses are counted as addressKey groups them (IPv6 per /64). */
export class AuthGuard {
  private readonly connections: RateLimiter;
  private readonly failures: GroupBudget;

  constructor(
    limits: Partial<AuthLimits> = {},
    now?: () => number,
    /** The group's Redis, for a relay of a group: failures are counted there, by every relay alike. */
    redis?: RedisLink,
  ) {
    const l = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.connections = new RateLimiter(l.connections, now);
    this.failures = new GroupBudget('auth-failures', l.failuresPerAddress, redis, now);
  }

  /** Counts a connection attempt; the wait in ms if `address` made too many, else 0. */
  connectionAttempt(address: string): number {
    const key = addressKey(address);
    return this.connections.take(key) ? 0 : Math.max(1, this.connections.retryAfterMs(key));
  }

  /** The wait in ms before `address` may try to authenticate again (at any relay of the group); 0 if now. */
  blockedFor(address: string): Promise<number> {
    return this.failures.waitMs(addressKey(address));
  }

  /** Counts a failed authentication from `address` (at every relay of the group). */
  failed(address: string): void {
    void this.failures.take(addressKey(address));
  }
}
