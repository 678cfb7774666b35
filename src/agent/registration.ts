// Registers an agent with a relay (`POST /api/agents`) and tells apart what is worth retrying.

import { fetchFailure } from '../net/fetch-error.js';
import { isId, trimSlash } from '../protocol/index.js';

/** What a relay hands a newly registered agent. */
export interface Registration {
  agentId: string;
  agentKey: string;
  /** The relay's URL for this agent's page, without the secret (the agent appends it). */
  clientUrl: string | undefined;
}

/** A registration the relay refused for good (bad registration token, bad request): retrying will not help. */
export class RegistrationRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RegistrationRefused';
  }
}

/** A registration that failed for now (relay down, rate limited, server error). */
export class RegistrationFailed extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(message);
    this.name = 'RegistrationFailed';
  }
}

/** Registers with the relay at `relayUrl`. */
export async function register(relayUrl: string, name: string | undefined, token: string | undefined, signal?: AbortSignal): Promise<Registration> {
  let response: Response;
  try {
    response = await fetch(`${trimSlash(relayUrl)}/api/agents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(name ? { name } : {}),
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new RegistrationFailed(`cannot reach the relay at ${relayUrl}: ${fetchFailure(error)}`, undefined);
  }
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Reported below with the status.
  }
  if (response.status === 201 && typeof body.agent_id === 'string' && isId(body.agent_id) && typeof body.agent_key === 'string') {
    return {
      agentId: body.agent_id,
      agentKey: body.agent_key,
      clientUrl: typeof body.client_url === 'string' ? body.client_url : undefined,
    };
  }
  const message = `the relay refused registration (HTTP ${response.status}${typeof body.message === 'string' ? `: ${body.message}` : ''})`;
  if (response.status === 429 || response.status >= 500 || response.status === 201) {
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new RegistrationFailed(message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
  throw new RegistrationRefused(message, response.status);
}

