// `POST /api/presence`, which the start page asks whether remembered agents are online: it answers only
// for agents whose access token the caller presents, refuses bad input with a clear error, and counts
// wrong tokens as failed authentications so it cannot be used to probe ids or guess tokens.

import { afterEach, describe, expect, it } from 'vitest';
import { accessToken, parseAccessLink, randomId, viewSecret } from '../src/protocol/index.js';
import { cleanup, startAgent, startRelay } from './helpers/system.js';

afterEach(cleanup);

/** The view token of an access link, as the start page sends it. */
function viewToken(url: string): { id: string; token: string } {
  const link = parseAccessLink(url);
  const secret = link.readOnly ? link.secret : viewSecret(link.secret, link.agentId);
  return { id: link.agentId, token: accessToken(secret, link.agentId) };
}

async function ask(relayUrl: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(`${relayUrl}/api/presence`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
}

describe('presence', () => {
  it('says which agents are online, for holders of their links only', async () => {
    const relay = await startRelay();
    const online = await startAgent(relay.url, { name: 'laptop' });
    const stopped = await startAgent(relay.url, { name: 'desktop' });
    await stopped.close();
    const full = parseAccessLink(online.url);
    const answer = await ask(relay.url, {
      agents: [viewToken(online.url), viewToken(online.agent.viewUrl!), { id: full.agentId, token: accessToken(full.secret, full.agentId) }, viewToken(stopped.url)],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      agents: [
        { id: full.agentId, online: true, name: 'laptop' },
        { id: full.agentId, online: true, name: 'laptop' },
        { id: full.agentId, online: true, name: 'laptop' },
        { id: parseAccessLink(stopped.url).agentId, online: false, name: 'desktop' },
      ],
    });
    // A token for another agent, or an agent the relay does not know, learns nothing.
    const other = viewToken(stopped.url);
    expect((await ask(relay.url, { agents: [{ id: full.agentId, token: other.token }, { id: randomId(), token: other.token }] })).body).toEqual({
      agents: [
        { id: full.agentId, error: 'unauthorized' },
        { id: expect.any(String), error: 'unauthorized' },
      ],
    });
    // Tokens never reach the log.
    expect(JSON.stringify(relay.logs.items)).not.toContain(other.token);
  });

  it('refuses malformed requests with a clear error, and wrong tokens soon with 429', async () => {
    const relay = await startRelay({ authLimits: { failuresPerAddress: { burst: 3, perMinute: 1 } } });
    const agent = await startAgent(relay.url);
    const good = viewToken(agent.url);
    const cases: Array<[unknown, number, RegExp]> = [
      ['not json', 400, /malformed JSON/],
      [[], 400, /expected an object/],
      [{}, 400, /body\.agents: missing/],
      [{ agents: 'x' }, 400, /expected an array/],
      [{ agents: [{ id: good.id }] }, 400, /body\.agents\[0\]\.token: missing/],
      [{ agents: [{ id: good.id, token: 'short' }] }, 400, /token: length/],
      [{ agents: Array.from({ length: 33 }, () => good) }, 400, /at most 32/],
    ];
    for (const [body, status, message] of cases) {
      const answer = await ask(relay.url, body);
      expect(answer.status, JSON.stringify(body)).toBe(status);
      expect(answer.body.message, JSON.stringify(body)).toMatch(message);
    }
    expect((await ask(relay.url, 'x'.repeat(10_000))).status).toBe(413);
    // Only JSON: a form or text/plain post from another site cannot spend this address's budget.
    const plain = await ask(relay.url, { agents: [good] }, { headers: { 'content-type': 'text/plain' } });
    expect(plain.status).toBe(415);
    expect(plain.body.error).toBe('unsupported_media_type');
    const get = await fetch(`${relay.url}/api/presence`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');

    // Three wrong tokens spend this address's budget; then even the right one waits.
    const wrong = { id: good.id, token: 'A'.repeat(43) };
    for (let i = 0; i < 3; i++) expect((await ask(relay.url, { agents: [wrong] })).body).toEqual({ agents: [{ id: good.id, error: 'unauthorized' }] });
    const blocked = await ask(relay.url, { agents: [good] });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body.error).toBe('rate_limited');
  });

  it('wrong tokens from many addresses lock nobody out; an unknown agent and a wrong token get the same answer', async () => {
    const relay = await startRelay({ trustProxy: ['127.0.0.1'], authLimits: { failuresPerAddress: { burst: 3, perMinute: 1 } } });
    const target = await startAgent(relay.url, { name: 'target' });
    const other = await startAgent(relay.url, { name: 'other' });
    const good = viewToken(target.url);
    const from = (address: string) => ({ headers: { 'content-type': 'application/json', 'x-forwarded-for': address } });
    // Thirty failures against the target from fifteen addresses (the old per-agent budget was thirty), and
    // fifteen on unknown ids: each address spends only its own budget of three.
    const wrong = { id: good.id, token: 'B'.repeat(43) };
    for (let a = 1; a <= 15; a++) {
      const address = from(`203.0.113.${a}`);
      const answer = await ask(relay.url, { agents: [wrong] }, address);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ agents: [{ id: good.id, error: 'unauthorized' }] });
      const unknownId = randomId();
      const unknown = await ask(relay.url, { agents: [{ ...wrong, id: unknownId }] }, address);
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual({ agents: [{ id: unknownId, error: 'unauthorized' }] });
      expect((await ask(relay.url, { agents: [wrong] }, address)).body).toEqual(answer.body);
      expect((await ask(relay.url, { agents: [good] }, address)).status).toBe(429);
    }
    // … while the owner, from its own address, still learns where its agents are.
    expect((await ask(relay.url, { agents: [good, viewToken(other.url)] }, from('198.51.100.7'))).body).toEqual({
      agents: [
        { id: good.id, online: true, name: 'target' },
        { id: viewToken(other.url).id, online: true, name: 'other' },
      ],
    });
  });
});
