// `POST /api/presence`: whether agents are online, for the start page's list of paired agents. The
// caller proves, per agent, that it holds a link, by the same access token a browser presents on
// connecting; agents it cannot prove are answered `unauthorized` and count as failed authentications
// (auth-guard.ts), so the endpoint is no way to probe agent ids or guess tokens. The relay learns
// nothing it would not learn from the browser connecting.

import { array, isId, object, str, validateShape, ProtocolError, ID_LENGTH } from '../protocol/index.js';
import { tokenAccess, type AgentStore } from './agent-store.js';
import type { AuthGuard } from './auth-guard.js';

/** Agents one request may ask about. */
export const MAX_PRESENCE_AGENTS = 32;

const token = str({ min: 43, max: 43, pattern: /^[A-Za-z0-9_-]+$/ });
const presenceBody = {
  agents: array(object({ id: str({ min: ID_LENGTH, max: ID_LENGTH }), token }), { max: MAX_PRESENCE_AGENTS }),
};

/** One agent's answer. */
export type Presence = { id: string; online: boolean; name?: string } | { id: string; error: 'unauthorized' };

/** What the route needs from the relay. */
export interface PresenceContext {
  store: AgentStore;
  guard: AuthGuard;
  /** Whether the agent is connected, and the name it goes by. */
  presence(agentId: string): { online: boolean; name: string | undefined };
}

/** Parses a request body; throws ProtocolError saying what is wrong. */
export function parsePresenceRequest(body: string): Array<{ id: string; token: string }> {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ProtocolError('malformed JSON');
  }
  return validateShape(presenceBody, value, 'body').agents;
}

/**
 * Answers for each agent, in order. Returns `blockedMs` instead if `address` (or anyone, on one of the
 * agents) failed to authenticate too often lately.
 */
export async function answerPresence(
  ctx: PresenceContext,
  address: string,
  agents: Array<{ id: string; token: string }>,
): Promise<{ agents: Presence[] } | { blockedMs: number }> {
  const out: Presence[] = [];
  for (const { id, token } of agents) {
    const record = isId(id) ? await ctx.store.get(id) : undefined;
    const blockedMs = ctx.guard.blockedFor(address, record ? id : undefined);
    if (blockedMs > 0) return { blockedMs };
    if (!record || !tokenAccess(record, token)) {
      ctx.guard.failed(address, record ? id : undefined);
      out.push({ id, error: 'unauthorized' });
      continue;
    }
    const { online, name } = ctx.presence(id);
    const shown = name ?? record.name;
    out.push(shown === undefined ? { id, online } : { id, online, name: shown });
  }
  return { agents: out };
}
