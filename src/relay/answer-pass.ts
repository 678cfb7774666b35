// A notification's answer that reached a relay of the group other than the one serving its agent: passed
// on to that relay's `POST /api/answer` (authenticated as a member of the group, with the device's
// address), whose reply comes back as what became of the answer. It stays sealed all the way.

import type { AnswerRequest } from '../protocol/index.js';
import type { AnswerForwarded } from './answer-relay.js';
import type { RelayGroup } from './relay-group.js';

/** Longer than the owner waits for its agent, so that its own timeout is the one reported. */
const PASS_TIMEOUT_MS = 20_000;

/** Passes `request` to the relay that serves its agent; `offline` when none other does or it cannot be reached. */
export async function passAnswer(group: RelayGroup, request: AnswerRequest, address: string, secure: boolean): Promise<AnswerForwarded> {
  const owner = await group.ownerOf(request.agent_id).catch(() => undefined);
  if (!owner || owner.id === group.id) return { kind: 'offline' };
  try {
    const response = await fetch(`${owner.url}/api/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...group.forwardHeaders(address, secure) },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(PASS_TIMEOUT_MS),
    });
    const body = (await response.json()) as { sealed?: unknown };
    if (response.status === 200 && typeof body.sealed === 'string') return { kind: 'answered', sealed: body.sealed };
    if (response.status === 404) return { kind: 'unknown' };
    if (response.status === 504) return { kind: 'timeout' };
    if (response.status === 429) return { kind: 'rate_limited', retryAfterMs: Number(response.headers.get('retry-after') ?? 1) * 1000 };
    return { kind: 'offline' };
  } catch {
    return { kind: 'offline' };
  }
}
