// A budget per key (an address, usually) that every relay of a group shares: a token bucket kept in the
// group's Redis, so that an address does not get a fresh budget at each relay and every relay answers it
// alike. This relay's own bucket counts too, and stands alone while Redis cannot be reached; a relay
// without a group has only its own.

import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';
import type { RedisLink } from './redis-link.js';

/**
 * KEYS[1]: the bucket; ARGV: burst, refill per ms, 1 to take one (0 to look). Returns [taken (0/1), ms until
 * a token is there]. Time is Redis's own, the same for every relay.
 */
const BUCKET = `
local burst, perMs, take = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = math.min(burst, (tonumber(state[1]) or burst) + (now - (tonumber(state[2]) or now)) * perMs)
local taken = 0
if take == 1 and tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
if take == 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
end
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) / perMs) end
return { taken, wait }
`;

export class GroupBudget {
  private readonly local: RateLimiter;

  constructor(
    /** What the budget is for (part of its keys in Redis). */
    private readonly name: string,
    private readonly options: RateLimitOptions,
    /** The group's Redis, for a relay of a group. */
    private readonly redis?: RedisLink,
    now?: () => number,
  ) {
    this.local = new RateLimiter(options, now);
  }

  /** Takes one from `key`'s budget: 0 if there was one, else the ms until there is. */
  async take(key: string): Promise<number> {
    const here = this.local.take(key) ? 0 : Math.max(1, this.local.retryAfterMs(key));
    const shared = await this.shared(key, 1);
    return shared === undefined ? here : Math.max(here, shared.taken ? 0 : Math.max(1, shared.waitMs));
  }

  /** The ms until `key` has budget again (0: now); takes nothing. */
  async waitMs(key: string): Promise<number> {
    const here = this.local.retryAfterMs(key);
    const shared = await this.shared(key, 0);
    return Math.max(here, shared?.waitMs ?? 0);
  }

  /** The group's bucket for `key` (taking one if `take`), or undefined alone or while Redis cannot be reached. */
  private async shared(key: string, take: 0 | 1): Promise<{ taken: boolean; waitMs: number } | undefined> {
    if (!this.redis) return undefined;
    try {
      const [taken, waitMs] = (await this.redis.commands.eval(BUCKET, 1, `ccremote:budget:${this.name}:${key}`, this.options.burst, this.options.perMinute / 60_000, take)) as [number, number];
      return { taken: taken === 1, waitMs };
    } catch {
      return undefined;
    }
  }
}
