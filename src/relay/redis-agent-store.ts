// The agent registry of a relay group, in the Redis the group shares: an agent registered through one
// relay connects through any other, and its credentials (the verifiers browsers' tokens are checked
// against, never a secret) are the same at every relay. One JSON value per agent, and a sorted set of
// the agents that never connected, by registration time, for their expiry.

import type { RedisLink } from './redis-link.js';
import { applyCredentials, newAgentRecord, type AgentCredentialSet, type AgentRecord, type AgentStore, type CredentialChange } from './agent-store.js';

const agentKey = (id: string): string => `ccremote:agent:${id}`;
const UNCONNECTED = 'ccremote:agents-unconnected';

export class RedisAgentStore implements AgentStore {
  constructor(private readonly redis: RedisLink) {}

  async register(name: string | undefined): Promise<{ id: string; key: string }> {
    const { record, key } = newAgentRecord(name);
    await this.redis.commands.multi().set(agentKey(record.id), JSON.stringify(record)).zadd(UNCONNECTED, record.createdAt, record.id).exec();
    return { id: record.id, key };
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const text = await this.redis.commands.get(agentKey(id));
    return text ? (JSON.parse(text) as AgentRecord) : undefined;
  }

  /** (Only the relay the agent is connected to changes its credentials: no other writer to race with.) */
  async setCredentials(id: string, credentials: AgentCredentialSet): Promise<CredentialChange> {
    const record = await this.get(id);
    if (!record) return { linkReplaced: false, removedDevices: [] };
    const { changed, ...change } = applyCredentials(record, credentials);
    if (changed) await this.redis.commands.multi().set(agentKey(id), JSON.stringify(record)).zrem(UNCONNECTED, id).exec();
    return change;
  }

  async expireUnconnected(registeredBefore: number): Promise<string[]> {
    const ids = await this.redis.commands.zrangebyscore(UNCONNECTED, 0, registeredBefore - 1);
    const expired: string[] = [];
    for (const id of ids) {
      const record = await this.get(id);
      if (record && record.accessVerifier !== undefined) {
        await this.redis.commands.zrem(UNCONNECTED, id);
        continue;
      }
      await this.redis.commands.multi().del(agentKey(id)).zrem(UNCONNECTED, id).exec();
      expired.push(id);
    }
    return expired;
  }

  async restore(record: AgentRecord): Promise<void> {
    await this.redis.commands.set(agentKey(record.id), JSON.stringify(record), 'NX');
  }

  async close(): Promise<void> {}
}
