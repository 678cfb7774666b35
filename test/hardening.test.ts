// The relay's door against hostile input before anyone is authenticated: bad auth fields, oversized and
// fragmented frames, invalid UTF-8, unknown types, floods of connections from one address. Each gets a
// clear refusal; the relay keeps serving the session already running; no process is started; and no
// secret shows up in the relay's log.

import { afterEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, CloseCode, MAX_MESSAGE_BYTES, accessToken, encodeMessage, parseAccessLink, randomId, socketUrl } from '../src/protocol/index.js';
import { rawTcp } from './helpers/raw-tcp.js';
import { childProcesses, cleanup, rawSocket, startAgent, startRelay, TestClient, type RawSocket, type TestRelay } from './helpers/system.js';

afterEach(cleanup);

/** A relay (trusting X-Forwarded-For, so tests can speak from many addresses) with one working session. */
async function door() {
  const relay = await startRelay({ trustProxy: ['127.0.0.1'], handshakeTimeoutMs: 3000 });
  const agent = await startAgent(relay.url);
  const { agentId, secret } = parseAccessLink(agent.url);
  const bystander = new TestClient(agent.url);
  await bystander.waitForState('online');
  const processes = childProcesses();
  expect(processes.length).toBeGreaterThan(0); // the agent's shell, at least: the check below can see children
  let from = 0;
  /** A raw browser socket to this agent from a fresh address. */
  const browser = (options: { id?: string; origin?: string } = {}): RawSocket =>
    rawSocket(socketUrl(relay.url, `/ws/client/${options.id ?? agentId}`), {
      origin: options.origin ?? relay.url,
      headers: { 'x-forwarded-for': `192.0.2.${++from}` },
    });
  /** The session still works, no process was started, and no secret reached the log. */
  const unharmed = async (marker: number): Promise<void> => {
    bystander.type(`echo alive-$((${marker}+1))\r`);
    await bystander.waitForOutput(`alive-${marker + 1}`);
    expect(childProcesses()).toEqual(processes);
    const log = JSON.stringify(relay.logs.items);
    for (const secretThing of [secret, accessToken(secret, agentId)]) expect(log).not.toContain(secretThing);
    expect(relay.relay.stats()).toMatchObject({ agentsOnline: 1 });
  };
  return { relay, agent, agentId, secret, bystander, browser, unharmed };
}

describe('before authentication', () => {
  it('bad auth fields in a browser hello each get 4000 naming the field, or 4401', async () => {
    const { browser, unharmed, agentId, secret } = await door();
    const session = randomId();
    const hello = (fields: Record<string, unknown>): string => JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, session, ...fields });
    const cases: Array<[string, string, number, RegExp]> = [
      ['missing token', hello({}), CloseCode.BadMessage, /token: missing/],
      ['empty token', hello({ token: '' }), CloseCode.BadMessage, /token: length/],
      ['token of the wrong type', hello({ token: 42 }), CloseCode.BadMessage, /token: expected a string/],
      ['token as an object', hello({ token: { $ne: '' } }), CloseCode.BadMessage, /token: expected a string/],
      ['oversized token', hello({ token: 'A'.repeat(10_000) }), CloseCode.BadMessage, /token: length/],
      ['token with bad characters', hello({ token: `${'A'.repeat(42)}=` }), CloseCode.BadMessage, /token: has an invalid format/],
      ['missing session', JSON.stringify({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(secret, agentId) }), CloseCode.BadMessage, /session: missing/],
      ['missing version', JSON.stringify({ type: 'hello', token: accessToken(secret, agentId), session }), CloseCode.BadMessage, /v: missing/],
      ['a control message over 16 KiB', hello({ token: accessToken(secret, agentId), pad: 'x'.repeat(20_000) }), CloseCode.BadMessage, /larger than 16384 bytes/],
      ['wrong token', hello({ token: accessToken(randomId() + randomId().slice(0, 21), agentId) }), CloseCode.Unauthorized, /invalid link/],
    ];
    for (const [what, text, code, reason] of cases) {
      const socket = browser();
      await socket.opened;
      socket.ws.send(text);
      const closed = await socket.closed;
      expect(closed, what).toMatchObject({ code, reason: expect.stringMatching(reason) });
      expect(socket.messages.items, what).toEqual([]);
    }
    await unharmed(1);
  });

  it('bad agent credentials and hellos: 4401 without a valid key, 4000 naming the field', async () => {
    const { relay, unharmed, agentId } = await door();
    const agentSocket = (authorization: string | undefined, id = agentId): RawSocket =>
      rawSocket(socketUrl(relay.url, `/ws/agent/${id}`), { headers: authorization === undefined ? {} : { authorization } });
    for (const authorization of [undefined, '', 'Bearer ', 'Basic abc', `Bearer ${'A'.repeat(4000)}`, `Bearer ${'A'.repeat(43)}`]) {
      expect(await agentSocket(authorization).closed, String(authorization).slice(0, 20)).toMatchObject({ code: CloseCode.Unauthorized });
    }
    // A freshly registered agent with a valid key but a malformed hello.
    const registered = (await (await fetch(`${relay.url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' } })).json()) as { agent_id: string; agent_key: string };
    for (const [fields, reason] of [
      [{ access: undefined }, /access: missing/],
      [{ access: 'short' }, /access: length/],
      [{ view: 12 }, /view: expected a string/],
      [{ name: 'n'.repeat(500) }, /name: length/],
    ] as const) {
      const socket = agentSocket(`Bearer ${registered.agent_key}`, registered.agent_id);
      await socket.opened;
      const hello: Record<string, unknown> = { type: 'hello', v: PROTOCOL_VERSION, terminals: [], access: 'A'.repeat(43), view: 'B'.repeat(43) };
      socket.ws.send(JSON.stringify({ ...hello, ...fields }));
      expect(await socket.closed).toMatchObject({ code: CloseCode.BadMessage, reason: expect.stringMatching(reason) });
    }
    await unharmed(2);
  });

  it('huge frames, thousands of fragments, invalid UTF-8 and unknown types are refused; fragmented hellos are fine', async () => {
    const { browser, unharmed, agentId, secret } = await door();
    const refusals: Array<[string, (s: RawSocket) => void, number]> = [
      ['a frame over 1 MiB', (s) => s.ws.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61)), CloseCode.TooBig],
      [
        'five thousand fragments adding up to over 1 MiB',
        (s) => {
          const piece = Buffer.alloc(256, 0x61);
          for (let i = 0; i < 5000; i++) s.ws.send(piece, { binary: false, fin: false });
          s.ws.send(piece, { binary: false, fin: true });
        },
        CloseCode.TooBig,
      ],
      ['invalid UTF-8 in a text frame', (s) => s.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false }), 1007],
      ['an unknown message type', (s) => s.ws.send('{"type":"exec","command":"id"}'), CloseCode.BadMessage],
      ['not JSON', (s) => s.ws.send('hello?'), CloseCode.BadMessage],
      ['binary before hello', (s) => s.ws.send(Buffer.from([0x02, 0, 0, 0, 1])), CloseCode.BadMessage],
    ];
    for (const [what, send, code] of refusals) {
      const socket = browser();
      await socket.opened;
      send(socket);
      expect((await socket.closed).code, what).toBe(code);
    }
    // A valid hello cut into two thousand fragments is still one message, and is admitted.
    const socket = browser();
    await socket.opened;
    const hello = Buffer.from(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(secret, agentId), session: randomId() }));
    const fragments = 2000;
    const step = Math.ceil(hello.length / fragments);
    for (let at = 0; at < hello.length; at += step) socket.ws.send(hello.subarray(at, at + step), { binary: false, fin: at + step >= hello.length });
    await socket.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected');
    await unharmed(3);
  });

  it('a thousand connection attempts from one address: the first are served, then HTTP 429; other addresses get in', async () => {
    const { relay, agent, unharmed } = await door();
    const { agentId } = parseAccessLink(agent.url);
    const address = '198.51.100.77';
    const attempt = (): Promise<number> =>
      new Promise((resolve) => {
        const socket = rawSocket(socketUrl(relay.url, `/ws/client/${agentId}`), { origin: relay.url, headers: { 'x-forwarded-for': address } });
        socket.ws.once('unexpected-response', (_req, res) => {
          expect(res.headers['retry-after']).toMatch(/^\d+$/);
          resolve(res.statusCode ?? 0);
          socket.ws.terminate();
        });
        socket.ws.once('open', () => {
          resolve(101);
          socket.ws.terminate();
        });
      });
    const statuses: number[] = [];
    const started = performance.now();
    for (let batch = 0; batch < 20; batch++) statuses.push(...(await Promise.all(Array.from({ length: 50 }, attempt))));
    const seconds = (performance.now() - started) / 1000;
    const served = statuses.filter((s) => s === 101).length;
    const refused = statuses.filter((s) => s === 429).length;
    expect(served + refused).toBe(1000);
    // The burst (120) is served, then no more than the bucket refilled while the attempts went on (600 a
    // minute): however slow the machine, so the bound follows the time they took. Each relay that takes
    // browsers counts on its own (in a group, browsers reach every relay but the agents').
    const doors = Math.max(1, relay.members.length - 1);
    expect(served).toBeGreaterThanOrEqual(120);
    expect(served).toBeLessThanOrEqual(doors * (120 + Math.ceil(seconds * 10) + 1));
    expect(refused).toBeGreaterThan(0);
    expect(relay.logs.items.some((e) => e.event === 'connection_refused' && e.address === address)).toBe(true);
    // Someone else connects normally.
    const other = new TestClient(agent.url);
    await other.waitForState('online');
    await unharmed(4);
  });

  it('brute-forced agent ids all get the same answer as a wrong token, then a wait', async () => {
    const { relay, browser, unharmed, agentId, secret } = await door();
    const answers: Array<{ code: number; reason: string }> = [];
    for (let i = 0; i < 14; i++) {
      // All from one address (browser() would give each its own).
      const socket = rawSocket(socketUrl(relay.url, `/ws/client/${randomId()}`), { origin: relay.url, headers: { 'x-forwarded-for': '198.51.100.9' } });
      await socket.opened;
      socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(secret, agentId), session: randomId() }));
      answers.push(await socket.closed);
    }
    // Unknown ids are answered exactly like a wrong token: nothing tells which ids exist.
    const wrongToken = browser();
    await wrongToken.opened;
    wrongToken.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(randomId() + randomId().slice(0, 21), agentId), session: randomId() }));
    const wrong = await wrongToken.closed;
    expect(answers.slice(0, 10)).toEqual(Array(10).fill(wrong));
    expect(answers.slice(10).map((a) => a.code)).toEqual(Array(4).fill(CloseCode.RateLimited));
    await unharmed(5);
  });
  it('failures from many addresses lock nobody out by agent id, and unknown ids are answered exactly like wrong tokens', async () => {
    const { relay, agentId, secret, unharmed } = await door();
    /** One handshake from `address`; how the relay answered (code 0: admitted). */
    const attempt = async (address: string, id: string, token: string): Promise<{ code: number; reason: string }> => {
      const socket = rawSocket(socketUrl(relay.url, `/ws/client/${id}`), { origin: relay.url, headers: { 'x-forwarded-for': address } });
      await socket.opened;
      socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token, session: randomId() }));
      const answer = await Promise.race([
        socket.closed,
        socket.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected').then(() => ({ code: 0, reason: 'connected' })),
      ]);
      socket.ws.terminate();
      return answer;
    };
    const wrongToken = (): string => accessToken(randomId() + randomId().slice(0, 21), agentId);
    // Sixty failures against the real id from six addresses: twice the old per-agent budget of thirty.
    const answers: Array<{ code: number; reason: string }> = [];
    for (let a = 1; a <= 6; a++) for (let n = 0; n < 10; n++) answers.push(await attempt(`203.0.113.${a}`, agentId, wrongToken()));
    // And as many against ids that do not exist, from six other addresses.
    const unknown: Array<{ code: number; reason: string }> = [];
    for (let a = 1; a <= 6; a++) for (let n = 0; n < 10; n++) unknown.push(await attempt(`203.0.113.${100 + a}`, randomId(), wrongToken()));
    expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(new Set([JSON.stringify({ code: CloseCode.Unauthorized, reason: 'invalid link' })]));
    expect(unknown).toEqual(answers);
    // The owner, from an address of its own, gets in at once.
    expect(await attempt('198.51.100.200', agentId, accessToken(secret, agentId))).toEqual({ code: 0, reason: 'connected' });
    // Each attacking address is held back by its own budget only, whichever id it tried.
    expect((await attempt('203.0.113.1', agentId, accessToken(secret, agentId))).code).toBe(CloseCode.RateLimited);
    // The same answer, but for the wait, which depends on when each address spent its budget.
    const waitless = (answer: { code: number; reason: string }) => ({ code: answer.code, reason: answer.reason.replace(/retry in \d+ s$/, 'retry in N s') });
    const [unknownId, knownId] = [await attempt('203.0.113.101', randomId(), wrongToken()), await attempt('203.0.113.2', agentId, wrongToken())];
    expect(waitless(unknownId)).toEqual(waitless(knownId));
    expect(waitless(knownId)).toEqual({ code: CloseCode.RateLimited, reason: 'too many failed attempts; retry in N s' });
    await unharmed(6);
  });
});

describe('what a request says about itself', () => {
  /** One browser handshake with a wrong token; resolves with the address the relay logged for it. */
  const refusedFrom = async (relay: TestRelay, agentId: string, headers: Record<string, string>): Promise<{ code: number; address: unknown }> => {
    const from = relay.logs.items.length;
    const socket = rawSocket(socketUrl(relay.url, `/ws/client/${agentId}`), { origin: relay.url, headers });
    await socket.opened;
    socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: 'A'.repeat(43), session: randomId() }));
    const { code } = await socket.closed;
    const logged = await relay.logs.next((e) => e.event === 'client_refused', 5000, 'the refusal in the log', from);
    return { code, address: logged.address };
  };

  it('X-Forwarded-For and X-Forwarded-Proto are believed only from the proxies given', async () => {
    // Trusting another address: the headers are the client's own words, and ignored.
    const elsewhere = await startRelay({ trustProxy: ['10.255.255.1', '192.0.2.0/24'] });
    const agent = await startAgent(elsewhere.url);
    const { agentId } = parseAccessLink(agent.url);
    const answers = [];
    for (let i = 1; i <= 11; i++) answers.push(await refusedFrom(elsewhere, agentId, { 'x-forwarded-for': `198.51.100.${i}` }));
    expect(answers.slice(0, 10)).toEqual(Array(10).fill({ code: CloseCode.Unauthorized, address: '127.0.0.1' }));
    // One address's budget of ten failures is spent, whatever the headers say.
    const limited = rawSocket(socketUrl(elsewhere.url, `/ws/client/${agentId}`), { origin: elsewhere.url, headers: { 'x-forwarded-for': '198.51.100.200' } });
    await limited.opened;
    limited.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: 'A'.repeat(43), session: randomId() }));
    expect((await limited.closed).code).toBe(CloseCode.RateLimited);
    // A page that claims HTTPS through X-Forwarded-Proto is not the relay's own origin.
    const claimsTls = rawSocket(socketUrl(elsewhere.url, `/ws/client/${agentId}`), {
      origin: elsewhere.url.replace('http:', 'https:'),
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(await claimsTls.closed).toMatchObject({ code: CloseCode.ForbiddenOrigin });
    const register = (relayUrl: string, headers: Record<string, string>) =>
      fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' }).then((r) => r.json() as Promise<{ client_url: string }>);
    expect((await register(elsewhere.url, { 'x-forwarded-proto': 'https' })).client_url).toMatch(/^http:\/\//);

    // Trusting this machine (by prefix): the last address that is not a trusted proxy is the client's.
    const behind = await startRelay({ trustProxy: ['127.0.0.0/8'] });
    const agentBehind = await startAgent(behind.url);
    const idBehind = parseAccessLink(agentBehind.url).agentId;
    expect((await refusedFrom(behind, idBehind, { 'x-forwarded-for': '203.0.113.7' })).address).toBe('203.0.113.7');
    // What the client wrote further left proves nothing; proxies of ours on the way are skipped.
    expect((await refusedFrom(behind, idBehind, { 'x-forwarded-for': '6.6.6.6, 203.0.113.8, 127.0.0.5' })).address).toBe('203.0.113.8');
    expect((await refusedFrom(behind, idBehind, { 'x-forwarded-for': '[2001:db8::9]:4433' })).address).toBe('2001:db8::9');
    const viaTls = rawSocket(socketUrl(behind.url, `/ws/client/${idBehind}`), { origin: behind.url.replace('http:', 'https:'), headers: { 'x-forwarded-proto': 'https' } });
    await viaTls.opened;
    viaTls.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: 'A'.repeat(43), session: randomId() }));
    expect((await viaTls.closed).code).toBe(CloseCode.Unauthorized); // past the origin check: only the token is wrong
    expect((await register(behind.url, { 'x-forwarded-proto': 'https' })).client_url).toMatch(/^https:\/\//);
  });

  it('an upgrade whose request target is no URL (`//[`, `http://[`) is refused with 400, and the relay goes on', async () => {
    const { relay, agentId, unharmed } = await door();
    const upgrade = `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 3).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n`;
    for (const target of ['//[', `//[/ws/client/${agentId}`, 'http://[', 'http://relay:99999/ws/agent/x']) {
      const raw = await rawTcp(relay.url, `GET ${target} HTTP/1.1\r\nHost: ${new URL(relay.url).host}\r\n${upgrade}\r\n`);
      const answer = await raw.received.until((chunks) => {
        const all = Buffer.concat(chunks).toString();
        return all.includes('\r\n\r\n') && all;
      }, 5000, `an answer to ${target}`);
      expect(answer.split('\r\n')[0], target).toBe('HTTP/1.1 400 Bad Request');
    }
    await unharmed(5);
  });

  it('the Host header is checked before it is used: anything but a host and port is refused with 400', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const { agentId } = parseAccessLink(agent.url);
    /** A raw request with this Host header: the status line it got. */
    const withHost = async (host: string, path = '/api/agents', extra = ''): Promise<string> => {
      const method = path === '/api/agents' ? 'POST' : 'GET';
      const body = method === 'POST' ? '{}' : '';
      const raw = await rawTcp(
        relay.url,
        `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extra}\r\n${body}`,
      );
      const text = await raw.received.until((chunks) => {
        const all = Buffer.concat(chunks).toString();
        return all.includes('\r\n\r\n') && all;
      }, 5000, 'an answer');
      return text;
    };
    for (const host of ['evil.example/a/x?', '"><img src=x>', 'evil.example:99999', '[not:an:address]', 'a..b', 'evil.example:80:80', `${'a'.repeat(64)}.example`]) {
      expect((await withHost(host)).split('\r\n')[0], host).toBe('HTTP/1.1 400 Bad Request');
      const upgrade = `Upgrade: websocket\r\nConnection: Upgrade\r\nOrigin: http://${host}\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 2).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n`;
      expect((await withHost(host, `/ws/client/${agentId}`, upgrade)).split('\r\n')[0], host).toMatch(/^HTTP\/1\.1 400 /);
    }
    for (const host of ['relay.example:8080', 'RELAY.example', '[2001:db8::1]:443', '192.0.2.1']) {
      const answer = await withHost(host);
      expect(answer.split('\r\n')[0], host).toBe('HTTP/1.1 201 Created');
      expect(answer, host).toContain(`"client_url":"http://${host.toLowerCase()}/a/`);
    }
  });
});
