// What the relay's HTTP routes (http-routes.ts, and the answer route it hands POST /api/answer to) need from
// the relay.

import type { RateLimiter } from '../net/rate-limit.js';
import type { AgentStore } from './agent-store.js';
import type { AnswerRelay } from './answer-relay.js';
import type { GroupBudget } from './group-budget.js';
import type { PresenceContext } from './presence-route.js';
import type { ProxyTrust } from './proxy-trust.js';
import type { RedisState } from './redis-link.js';
import type { RelayGroup } from './relay-group.js';
import type { StaticFiles } from './static-files.js';

/** What the routes need from the relay. */
export interface HttpContext extends PresenceContext {
  store: AgentStore;
  files: StaticFiles;
  /** Registrations per address (shared by the relay group). */
  registrations: GroupBudget;
  /** SHA-256 of the registration token, if the relay requires one. */
  registrationTokenHash: string | undefined;
  /** Base URL for links, or undefined to use the request's own scheme and Host. */
  publicUrl: string | undefined;
  secure: boolean;
  /** The reverse proxies whose X-Forwarded-* headers are believed. */
  proxies: ProxyTrust;
  stats(): { agentsOnline: number; clients: number };
  /** The relay's VAPID public key (base64url), for browsers' push subscriptions. */
  pushKey(): string;
  /** The state of the relay group's Redis, for a relay that is part of one. */
  redis(): RedisState | undefined;
  /** Answers to permission requests from notifications, and the budget of each address for them. */
  answers: AnswerRelay;
  answerAddresses: RateLimiter;
  /** The relay group this relay is part of, if any: an answer for an agent another member serves is passed there. */
  group: RelayGroup | undefined;
  startedAt: number;
  version: string;
  log(event: string, fields?: Record<string, unknown>): void;
}
