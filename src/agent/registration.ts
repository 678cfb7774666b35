// Registers an agent with a relay (`POST /api/agents`), validates the answer, and tells apart what is
// worth retrying. What the relay says is data: its answer is checked field by field, and its words go
// into messages only as printable text.

import { fetchFailure } from '../net/fetch-error.js';
import { ProtocolError, parseRegistrationAnswer, printable, trimSlash } from '../protocol/index.js';

/** What a relay hands a newly registered agent. */
export interface Registration {
  agentId: string;
  agentKey: string;
}

/** Why a registration was refused for good: the relay said no, or answered with something that is not a registration. */
export type RefusalCode = 'refused' | 'invalid_answer';

/** A registration the relay refused for good (bad registration token, bad request, an invalid answer): retrying will not help. */
export class RegistrationRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: RefusalCode = 'refused',
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

/** Longest part of a relay's message quoted in ours. */
const MAX_QUOTED = 200;

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
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // Reported below with the status.
  }
  if (response.status === 201) {
    try {
      const answer = parseRegistrationAnswer(body);
      return { agentId: answer.agent_id, agentKey: answer.agent_key };
    } catch (error) {
      const what = error instanceof ProtocolError ? printable(error.message) : 'not JSON';
      throw new RegistrationRefused(`the relay at ${relayUrl} answered registration with something that is not a valid registration (${what}); nothing was saved`, 201, 'invalid_answer');
    }
  }
  const said = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? printable((body as { message: string }).message).slice(0, MAX_QUOTED) : '';
  const message = `the relay refused registration (HTTP ${response.status}${said ? `: ${said}` : ''})`;
  if (response.status === 429 || response.status >= 500) {
    const retryAfter = Number(response.headers.get('retry-after'));
    throw new RegistrationFailed(message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined);
  }
  throw new RegistrationRefused(message, response.status);
}
