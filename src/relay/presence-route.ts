// `POST /api/presence`: whether agents are online, for the start page's list of paired agents. The
// caller proves, per agent, that it holds a link, by the same access token a browser presents on
// connecting; agents it cannot prove are answered `unauthorized` (unknown or not, alike) and count as
// failed authentications of the caller's address (auth-guard.ts), so the endpoint is no way to probe
// agent ids or guess tokens. The relay learns
// nothing it would not learn from the browser connecting.

import { isId, type Presence, type PresenceRequest } from '../protocol/index.js';
import { tokenAccess, type AgentStore } from './agent-store.js';
import type { AuthGuard } from './auth-guard.js';

/** What the route needs from the relay. */
export interface PresenceContext {
  store: AgentStore;
  guard: AuthGuard;
  /** Whether the agent is connected, and the name it goes by. */
  presence(agentId: string): { online: boolean; name: string | undefined } | Promise<{ online: boolean; name: string | undefined }>;
}

/**
 * Answers for each agent, in order: its presence, or `unauthorized` for an unknown agent and a wrong
 * token alike. Returns `blockedMs` instead if `address` failed too often lately.
 */
export async function answerPresence(
  ctx: PresenceContext,
  address: string,
  request: PresenceRequest,
): Promise<{ agents: Presence[] } | { blockedMs: number }> {
  const out: Presence[] = [];
  for (const { id, token, device } of request.agents) {
    const blocked = await ctx.guard.blockedFor(address);
    if (blocked > 0) return { blockedMs: blocked };
    const record = isId(id) ? await ctx.store.get(id) : undefined;
    if (!tokenAccess(record, token, device) || !record) {
      ctx.guard.failed(address);
      out.push({ id, error: 'unauthorized' });
      continue;
    }
    const { online, name } = await ctx.presence(id);
    const shown = name ?? record.name;
    out.push(shown === undefined ? { id, online } : { id, online, name: shown });
  }
  return { agents: out };
}
