// Limits on who may try to get in: connection attempts per address, and failed authentications
// (a wrong agent key, a wrong access token, an agent id the relay does not know) per address and per
// agent. Tokens are 256-bit, so failures only matter for links with a PIN, where the token also depends
// on the PIN (protocol/pin.ts): the per-agent budget makes guessing a PIN from many addresses slow
// too. Once a budget is spent, attempts are refused before their credentials are even looked at.

import { RateLimiter, type RateLimitOptions } from './rate-limit.js';

/** Budgets of an AuthGuard; each is a burst and a refill per minute. */
export interface AuthLimits {
  /** WebSocket connection attempts per address (default 120 at once, 600 a minute). */
  connections: RateLimitOptions;
  /** Failed authentications per address (default 10 at once, 10 a minute). */
  failuresPerAddress: RateLimitOptions;
  /** Failed authentications per agent, from anywhere (default 30 at once, 30 an hour). */
  failuresPerAgent: RateLimitOptions;
}

export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  connections: { burst: 120, perMinute: 600 },
  failuresPerAddress: { burst: 10, perMinute: 10 },
  failuresPerAgent: { burst: 30, perMinute: 0.5 },
};

/** The relay's door policy. */
export class AuthGuard {
  private readonly connections: RateLimiter;
  private readonly byAddress: RateLimiter;
  private readonly byAgent: RateLimiter;

  constructor(limits: Partial<AuthLimits> = {}, now?: () => number) {
    const l = { ...DEFAULT_AUTH_LIMITS, ...limits };
    this.connections = new RateLimiter(l.connections, now);
    this.byAddress = new RateLimiter(l.failuresPerAddress, now);
    this.byAgent = new RateLimiter(l.failuresPerAgent, now);
  }

  /** Counts a connection attempt; the wait in ms if `address` made too many, else 0. */
  connectionAttempt(address: string): number {
    return this.connections.take(address) ? 0 : Math.max(1, this.connections.retryAfterMs(address));
  }

  /** The wait in ms before `address` (or anyone, on `agentId`) may try to authenticate again; 0 if now. */
  blockedFor(address: string, agentId: string | undefined): number {
    return Math.max(this.byAddress.retryAfterMs(address), agentId === undefined ? 0 : this.byAgent.retryAfterMs(agentId));
  }

  /** Counts a failed authentication; `agentId` only for an agent the relay knows. */
  failed(address: string, agentId: string | undefined): void {
    this.byAddress.take(address);
    if (agentId !== undefined) this.byAgent.take(agentId);
  }
}
