// Failed authentications counted across a relay group (auth-guard.ts), in its Redis: one counter per
// address (grouped as addressKey does), living as long as the window it counts.

import type { SharedFailures } from './auth-guard.js';
import type { RedisLink } from './redis-link.js';

const failuresKey = (key: string): string => `ccremote:auth-failures:${key}`;

export class RedisFailures implements SharedFailures {
  constructor(private readonly redis: RedisLink) {}

  async add(key: string, windowMs: number): Promise<void> {
    await this.redis.commands.multi().incr(failuresKey(key)).pexpire(failuresKey(key), Math.ceil(windowMs), 'NX').exec();
  }

  async count(key: string): Promise<{ failures: number; remainingMs: number }> {
    const [[, failures], [, remaining]] = (await this.redis.commands.multi().get(failuresKey(key)).pttl(failuresKey(key)).exec()) as [[unknown, string | null], [unknown, number]];
    return { failures: Number(failures ?? 0), remainingMs: Math.max(0, remaining) };
  }
}
