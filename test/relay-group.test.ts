// Several relays, one service (`ccremote relay --redis`), against a private redis-server: an agent on relay
// A serves a browser that reached relay B (forwarded relay to relay: input, output, resize, sessions,
// presence), byte for byte; when the agent comes back through another relay, browsers follow it without
// losing or repeating a byte; a rotation on A cuts old links held on B; Redis going away is reported, and
// what cannot be routed is refused with a clear code.

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, expect, it } from 'vitest';
import { CloseCode, accessToken, parseAccessLink, randomId } from '../src/protocol/index.js';
import { Redis } from 'ioredis';
import { CutProxy } from './helpers/cut-proxy.js';
import { createRelay } from '../src/relay/relay.js';
import { runCli } from './helpers/cli.js';
import { POSTGRES_URL, describePostgres, freshSchema } from './helpers/postgres.js';
import { describeRedis, startRedis } from './helpers/redis.js';
import { atCleanup, cleanup, startAgent, startRelay, TestClient, type TestRelay } from './helpers/system.js';
import { waitFor, within } from './helpers/wait.js';

afterEach(cleanup);

/** The same link, through another relay of the group. */
const through = (link: string, relayUrl: string): string => link.replace(/^https?:\/\/[^/]+/, relayUrl);

/** The numbers a `seq` printed, in order, from a client's text. */
const numbersIn = (text: string): number[] => text.replace(/\r/g, '').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);

describeRedis('a group of relays on one Redis', () => {
  it('a browser on relay B works with an agent on relay A: output byte for byte, input, resize, sessions, presence', { timeout: 120_000 }, async () => {
    const redis = await startRedis();
    const [a, b] = [await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url })];
    const agent = await startAgent(a.url);
    const onA = new TestClient(agent.url, { history: 'bytes' });
    const onB = new TestClient(through(agent.url, b.url), { history: 'bytes' });
    await onA.waitForState('online');
    await onB.waitForState('online', 10_000).catch((error: Error) => {
      throw new Error(`${error.message}; B: ${JSON.stringify(b.logs.items.slice(-8))}; states ${JSON.stringify(onB.states.items)}`);
    });
    expect(b.logs.items).toContainEqual(expect.objectContaining({ event: 'client_forwarded' }));
    // Typed on B, sized on B: the agent's shell on A gets both.
    onB.session.resize(117, 39);
    onB.type('stty size; seq 1 3000000; echo done-$((6*7))\r');
    await Promise.all([onA.waitForOutput('done-42', 60_000), onB.waitForOutput('done-42', 60_000)]).catch((error: Error) => {
      throw new Error(`${error.message.slice(0, 80)}; A has ${numbersIn(onA.text).at(-1)}, B has ${numbersIn(onB.text).at(-1)}; states B ${JSON.stringify(onB.states.items.map((s) => s.kind))}`);
    });
    expect(onB.text).toContain('39 117');
    const numbers = numbersIn(onB.text);
    expect(numbers.length).toBe(3_000_000);
    expect(numbers.every((n, i) => n === i + 1)).toBe(true);
    // Both relays hand their browser the same bytes from the start of the command on.
    const from = (client: TestClient): Buffer => client.output.subarray(client.output.indexOf('stty size'));
    expect(from(onB).equals(from(onA))).toBe(true);
    // Sessions started from B run on A.
    const started = await onB.session.startSession({ kind: 'command', command: ['/bin/sh'], cwd: agent.cwd });
    expect(started).toBe(2);
    // Presence through B, for the holder of the link.
    const link = parseAccessLink(agent.url);
    const presence = await fetch(`${b.url}/api/presence`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agents: [{ id: link.agentId, token: accessToken(link.secret, link.agentId) }] }),
    });
    expect(((await presence.json()) as { agents: unknown[] }).agents).toEqual([expect.objectContaining({ id: link.agentId, online: true })]);
    const health = (await (await fetch(`${b.url}/health`)).json()) as { redis: { state: string } };
    expect(health.redis).toEqual({ state: 'ready' });
    // One VAPID key pair for the group: a subscription made through one relay is reached through any.
    const key = async (url: string): Promise<string> => ((await (await fetch(`${url}/api/push/key`)).json()) as { public_key: string }).public_key;
    expect(await key(a.url)).toBe(await key(b.url));
  });

  for (const size of [1, 2, 3]) {
    it(`with ${size} relay${size > 1 ? 's' : ''}: a client on each gets the same bytes, types, and sees the others' sessions`, { timeout: 60_000 }, async () => {
      const redis = await startRedis();
      const relays = [];
      for (let i = 0; i < size; i++) relays.push(await startRelay({ redis: redis.url }));
      const agent = await startAgent(relays[0]!.url);
      const clients = relays.map((relay) => new TestClient(through(agent.url, relay.url), { history: 'bytes' }));
      await Promise.all(clients.map((c) => c.waitForState('online')));
      for (const [i, client] of clients.entries()) {
        client.type(`echo typed-on-${i}-$((${i}+100))\r`);
        // The output and the prompt after it: a line typed before the prompt is echoed ahead of it, and the
        // prompt would then open seq's first line ("$ 1").
        await Promise.all(clients.map((c) => c.waitForOutput(`typed-on-${i}-${i + 100}\r\n$ `)));
      }
      clients.at(-1)!.type('seq 1 200000; echo all-$((7*7))\r');
      await Promise.all(clients.map((c) => c.waitForOutput('all-49', 30_000)));
      const tail = (c: TestClient): Buffer => c.output.subarray(c.output.indexOf('typed-on-0'));
      for (const client of clients.slice(1)) expect(tail(client).equals(tail(clients[0]!))).toBe(true);
      // Where the numbers first differ from 1, 2, 3…, with the raw text around it (a failure says which bytes).
      const numbers = numbersIn(clients[0]!.text);
      const wrong = numbers.findIndex((n, i) => n !== i + 1);
      const near = wrong < 0 ? '' : JSON.stringify(clients[0]!.text.slice(Math.max(0, clients[0]!.text.indexOf(`\n${numbers[wrong]}\r`) - 80), clients[0]!.text.indexOf(`\n${numbers[wrong]}\r`) + 80));
      expect(numbers.length, `first out of order at ${wrong}: ${near}; states ${JSON.stringify(clients[0]!.states.items.map((x) => x.kind))}`).toBe(200_000);
      // A session started through the last relay is listed at the first.
      const started = await clients.at(-1)!.session.startSession({ kind: 'command', command: ['/bin/sh'], cwd: agent.cwd });
      await clients[0]!.sessionLists.until((lists) => lists.at(-1)?.some((s) => s.terminal === started) === true, 10_000, 'the new session listed');
    });
  }

  it('when the agent comes back through another relay, browsers follow it without losing or repeating a byte', async () => {
    const redis = await startRedis();
    const [a, b] = [await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url })];
    // A load balancer in front of both: the agent reaches A through it, later B.
    const balancer = await CutProxy.start(a.port);
    atCleanup(() => balancer.close());
    const agent = await startAgent(balancer.url, { command: '/bin/sh', args: ['-c', 'read x; seq 1 600000; echo seq-done-$((2*4)); read y; echo finished-$((3*3)); exec /bin/sh'] });
    const onB = new TestClient(through(agent.url, b.url), { history: 'bytes' });
    await onB.waitForState('online');
    onB.type('\r');
    await onB.waitForOutput(/\n1000\r?\n/, 20_000);
    // The agent's connection drops; the load balancer now sends it to B.
    balancer.retarget(b.port);
    balancer.cutAll();
    await b.logs.next((e) => e.event === 'agent_connected', 20_000, 'the agent on B');
    await onB.waitForOutput('seq-done-8', 60_000).catch((error: Error) => {
      throw new Error(`${error.message.slice(0, 60)}; states ${JSON.stringify(onB.states.items.map((x) => [x.kind, 'code' in x ? x.code : '']))}; B: ${JSON.stringify(b.logs.items.slice(-12).map((e) => e.event))}; agent: ${JSON.stringify(agent.events.items.slice(-6))}`);
    });
    onB.type('\r');
    await onB.waitForOutput('finished-9', 60_000);
    const numbers = numbersIn(onB.text);
    const wrong = numbers.findIndex((n, i) => n !== i + 1);
    expect(wrong, `around ${JSON.stringify(numbers.slice(Math.max(0, wrong - 3), wrong + 3))}`).toBe(-1);
    expect(numbers.length).toBe(600_000);
    expect(numbers.every((n, i) => n === i + 1)).toBe(true);
    expect(onB.states.items.filter((s) => s.kind === 'online').length).toBeGreaterThan(1); // it reconnected
  });

  it('relay A killed (SIGKILL) mid-stream: its agent goes on through the next relay, the browser on B resumes byte for byte, and nothing of A stays in Redis', { timeout: 90_000 }, async () => {
    const redis = await startRedis();
    const relayA = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json', '--redis', redis.url, '--group-ttl', '3s']);
    const joined = await relayA.events.next((e) => e.event === 'group_joined', 15_000, 'relay A in the group');
    const aUrl = joined.url as string;
    const b = await startRelay({ redis: redis.url, groupTtlMs: 3000 });
    const agent = await startAgent(aUrl, {
      fallbackRelays: [b.url],
      command: '/bin/sh',
      args: ['-c', 'read x; seq 1 1500000; echo seq-done-$((2*4)); read y; echo finished-$((3*3)); exec /bin/sh'],
    });
    const onB = new TestClient(through(agent.url, b.url), { history: 'bytes' });
    await onB.waitForState('online');
    onB.type('\r');
    await onB.waitForOutput('\n1000\r\n', 20_000);
    relayA.child.kill('SIGKILL');
    await b.logs.next((e) => e.event === 'agent_connected', 30_000, 'the agent on B');
    await onB.waitForOutput('seq-done-8', 60_000).catch((error: Error) => {
      throw new Error(`${error.message.slice(0, 60)}; states ${JSON.stringify(onB.states.items.map((x) => [x.kind, 'code' in x ? x.code : '']))}; B: ${JSON.stringify(b.logs.items.slice(-12).map((e) => e.event))}; agent: ${JSON.stringify(agent.events.items.slice(-6))}`);
    });
    onB.type('\r');
    await onB.waitForOutput('finished-9', 30_000);
    const numbers = numbersIn(onB.text);
    const wrong = numbers.findIndex((n, i) => n !== i + 1);
    expect(wrong, `around ${JSON.stringify(numbers.slice(Math.max(0, wrong - 3), wrong + 3))}`).toBe(-1);
    expect(numbers.length).toBe(1_500_000);
    // A's records expire: the group forgets it.
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    await expect.poll(() => inspect.exists(`ccremote:relay:${joined.relay as string}`), { timeout: 15_000 }).toBe(0);
    const owners = await Promise.all((await inspect.keys('ccremote:owner:*')).map((key) => inspect.get(key)));
    expect(owners).not.toContain(joined.relay);
  });

  it('a rolling restart behind a load balancer, one relay at a time: agent and browsers follow, and every browser gets every byte once', { timeout: 120_000 }, async () => {
    const redis = await startRedis();
    const relays: TestRelay[] = [];
    for (let i = 0; i < 3; i++) relays.push(await startRelay({ redis: redis.url }));
    // The balancer sends each connection to the next relay it holds for healthy, as one checking /health would.
    const pool = new Set(relays.map((relay) => relay.port));
    let turn = 0;
    const balancer = await CutProxy.start(0, { router: () => [...pool][turn++ % pool.size]! });
    atCleanup(() => balancer.close());
    const agent = await startAgent(balancer.url, {
      command: '/bin/sh',
      args: ['-c', 'read x; for i in $(seq 1 150); do seq $((i*1000-999)) $((i*1000)); sleep 0.05; done; echo seq-done-$((2*4)); exec /bin/sh'],
    });
    const browsers = [new TestClient(agent.url, { history: 'bytes' }), new TestClient(agent.url, { history: 'bytes' })];
    await Promise.all(browsers.map((browser) => browser.waitForState('online')));
    browsers[0]!.type('\r');
    await Promise.all(browsers.map((browser) => browser.waitForOutput(/\n1000\r?\n/, 20_000)));
    for (const [i, relay] of relays.entries()) {
      // Out of the pool, stopped (1001 to everyone on it), started again on its port, back in once healthy.
      pool.delete(relay.port);
      await relay.close();
      relays[i] = await startRelay({ redis: redis.url, port: relay.port });
      await expect.poll(async () => (await fetch(`${relays[i]!.url}/health`)).status, { timeout: 10_000 }).toBe(200);
      pool.add(relay.port);
    }
    await Promise.all(browsers.map((browser) => browser.waitForOutput('seq-done-8', 60_000)));
    for (const browser of browsers) {
      const numbers = numbersIn(browser.text);
      const wrong = numbers.findIndex((n, i) => n !== i + 1);
      expect(wrong, `around ${JSON.stringify(numbers.slice(Math.max(0, wrong - 3), wrong + 3))}`).toBe(-1);
      expect(numbers.length).toBe(150_000);
      expect(browser.states.items.filter((state) => state.kind === 'online').length).toBeGreaterThan(1); // it was moved at least once
    }
  });

  it('/metrics, on an address of its own, counts connections, bytes, forwarded browsers and refusals, and says whether Redis answers', async () => {
    const redis = await startRedis();
    const a = await startRelay({ redis: redis.url, metrics: { host: '127.0.0.1', port: 0 } });
    const b = await startRelay({ redis: redis.url, metrics: { host: '127.0.0.1', port: 0 } });
    const metricsOf = async (relay: typeof a): Promise<string> => {
      const at = relay.logs.items.find((e) => e.event === 'metrics_listening')!.url as string;
      const response = await fetch(at);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return response.text();
    };
    const agent = await startAgent(a.url);
    const onB = new TestClient(through(agent.url, b.url));
    onB.type('echo metered-$((6*7))\r');
    await onB.waitForOutput('metered-42');
    const bad = new TestClient(through(agent.url.replace(/#.*$/, `#${'A'.repeat(43)}`), b.url));
    await bad.waitForState('failed');
    const [atA, atB] = [await metricsOf(a), await metricsOf(b)];
    expect(atA).toMatch(/^ccremote_agents_online 1$/m);
    expect(atA).toMatch(/^ccremote_clients 1$/m); // the browser B forwarded (the bad one was refused at A)
    expect(Number(/^ccremote_received_bytes_total\{from="agent"\} (\d+)$/m.exec(atA)?.[1])).toBeGreaterThan(0);
    expect(atA).toMatch(/^ccremote_refusals_total\{kind="client"\} 1$/m);
    expect(atB).toMatch(/^ccremote_forwarded_clients_total 2$/m);
    expect(atB).toMatch(/^ccremote_redis_up 1$/m);
    expect(atB).toMatch(/^# TYPE ccremote_refusals_total counter$/m);
    // Not on the public address.
    expect((await fetch(`${a.url}/metrics`)).status).toBe(404);
  });

  it('Redis restarted mid-stream: a browser forwarded from B to A loses and repeats nothing, and the group takes up its records again', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const [a, b] = [await startRelay({ redis: redis.url, groupTtlMs: 3000 }), await startRelay({ redis: redis.url, groupTtlMs: 3000 })];
    const agent = await startAgent(a.url, { command: '/bin/sh', args: ['-c', 'read x; seq 1 800000; echo seq-done-$((2*4)); exec /bin/sh'] });
    const onB = new TestClient(through(agent.url, b.url), { history: 'bytes' });
    await onB.waitForState('online');
    onB.type('\r');
    await onB.waitForOutput('\n1000\r\n', 20_000);
    await redis.stop(true);
    await redis.start();
    await onB.waitForOutput('seq-done-8', 60_000);
    const numbers = numbersIn(onB.text);
    expect(numbers.length).toBe(800_000);
    expect(numbers.every((n, i) => n === i + 1)).toBe(true);
    // The relays take up their records in the new Redis (A puts back the agent's, which it lost): a new
    // browser on B is forwarded to A again.
    await a.logs.next((e) => e.event === 'agent_record_restored', 15_000, 'the agent record put back');
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    expect(await inspect.exists(`ccremote:owner:${parseAccessLink(agent.url).agentId}`)).toBe(1);
    const later = new TestClient(through(agent.url, b.url));
    later.type('echo again-$((40+2))\r');
    await later.waitForOutput('again-42');
  });

  it('costs Redis in proportion: an idle agent is one renewal a period, and only the relay holding its connection follows it', async () => {
    const redis = await startRedis();
    const ttlMs = 1500; // renewed every 500 ms
    const [a, b] = [await startRelay({ redis: redis.url, groupTtlMs: ttlMs }), await startRelay({ redis: redis.url, groupTtlMs: ttlMs })];
    const agent = await startAgent(a.url);
    const agentId = agent.agent.agentId!;
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    const followers = async (): Promise<number> => Number(((await inspect.pubsub('NUMSUB', `ccremote:events:${agentId}`)) as [string, number])[1]);
    // Only A, which holds the agent's connection, follows its events.
    await expect.poll(followers).toBe(1);
    // Every command Redis gets while the agent is idle, over several renewal periods.
    const monitor = await inspect.monitor(); // a connection of its own
    atCleanup(() => void monitor.disconnect());
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: unknown[]) => seen.push(args.map(String)));
    const renewals = (): string[][] => seen.filter((c) => c[0]?.toLowerCase() === 'eval' && c.includes(`ccremote:owner:${agentId}`));
    await expect.poll(() => renewals().length, { timeout: 10_000 }).toBeGreaterThanOrEqual(4);
    const window = [...seen];
    // The agent costs its renewals and nothing else (the renewal script's own get and pexpire show too); the
    // rest is each relay renewing its own record and reading where browsers reach the group's relays directly.
    const owner = `ccremote:owner:${agentId}`;
    const ofAgent = window.filter((c) => c.some((arg) => arg.includes(agentId)));
    expect(ofAgent.filter((c) => !(c[0] === 'eval' && c[3] === owner) && !(['get', 'pexpire'].includes(c[0]!) && c[1] === owner))).toEqual([]);
    const others = window.filter((c) => !c.some((arg) => arg.includes(agentId)));
    const own = (c: string[]): boolean => (c[0]!.toLowerCase() === 'set' && /^ccremote:(relay:|group-secret)/.test(c[1]!)) || (c[0]!.toLowerCase() === 'hgetall' && c[1] === 'ccremote:direct');
    expect(others.filter((c) => !own(c))).toEqual([]);
    // A browser of this agent reaching B is passed on to A whole: B follows nothing for it.
    const onB = new TestClient(through(agent.url, b.url));
    await onB.waitForState('online');
    onB.type('echo via-b-$((3*3))\r');
    await onB.waitForOutput('via-b-9');
    expect(await followers()).toBe(1);
    // Once nothing of the agent is connected anywhere, nobody follows it, and B holds no socket of it.
    onB.close();
    await agent.close();
    await expect.poll(followers).toBe(0);
    await expect.poll(() => b.relay.sockets().open).toBe(0);
  });

  it('relays with addresses of their own (--direct-url): a browser reaching B is sent to A, which serves its agent, and B forwards it when A cannot be reached', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const a = await startRelay({ redis: redis.url, directUrl: true });
    const b = await startRelay({ redis: redis.url, directUrl: true, metrics: { host: '127.0.0.1', port: 0 } });
    // A load balancer in front of both: the agent reaches A through it, later B.
    const balancer = await CutProxy.start(a.port);
    atCleanup(() => balancer.close());
    const agent = await startAgent(balancer.url);
    const onB = new TestClient(through(agent.url, b.url));
    await onB.waitForState('online').catch((error: Error) => {
      throw new Error(`${error.message}; B: ${JSON.stringify(b.logs.items.slice(-5))}; A: ${JSON.stringify(a.logs.items.slice(-5))}; states ${JSON.stringify(onB.states.items)}`);
    });
    onB.type('echo direct-$((6*7))\r');
    await onB.waitForOutput('direct-42');
    // B sent it on (Direct, with A's address), A admitted it (A's page origin or not: B's is a group origin).
    expect(b.logs.items).toContainEqual(expect.objectContaining({ event: 'client_directed', relay: expect.any(String) }));
    expect(b.logs.items.filter((e) => e.event === 'client_forwarded')).toEqual([]);
    expect(a.logs.items).toContainEqual(expect.objectContaining({ event: 'client_connected' }));
    expect(a.relay.stats().clients).toBe(1);
    expect(b.relay.sockets().open).toBe(0);
    expect(a.logs.items).toContainEqual(expect.objectContaining({ event: 'group_joined', direct: a.url }));
    // The page B serves may open its socket to A (and only to the group's own addresses).
    const csp = (await fetch(`${b.url}/`)).headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(new RegExp(`connect-src 'self'[^;]* ${a.url.replace('http', 'ws').replace(/[.:/]/g, '\\$&')}[ ;]`));
    // When the agent comes back through B, the browser follows it there and B serves it itself.
    balancer.retarget(b.port);
    balancer.cutAll();
    await b.logs.next((e) => e.event === 'agent_connected', 20_000, 'the agent on B');
    await b.logs.next((e) => e.event === 'client_connected', 20_000, 'the browser on B');
    onB.type('echo back-$((6*8))\r');
    await onB.waitForOutput('back-48');
    expect(b.relay.stats().clients).toBe(1);

    // A relay whose direct address browsers cannot reach: the browser comes back to B asking to be forwarded.
    const free = createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(free.address() as AddressInfo).port}`;
    await new Promise((resolve) => free.close(resolve));
    const c = await startRelay({ redis: redis.url, directUrl: deadUrl });
    const onC = await startAgent(c.url);
    const viaB = new TestClient(through(onC.url, b.url));
    await viaB.waitForState('online', 20_000);
    viaB.type('echo forwarded-$((6*9))\r');
    await viaB.waitForOutput('forwarded-54');
    const sent = b.logs.items.filter((e) => e.event === 'client_directed' || e.event === 'client_forwarded').map((e) => e.event);
    expect(sent.slice(-2)).toEqual(['client_directed', 'client_forwarded']);

    // A page from a relay without an address of its own, whose origin the relay of the agent does not take
    // (their operator gave them no common --public-url): refused there, the browser is forwarded instead.
    const plain = await startRelay({ redis: redis.url });
    const viaPlain = new TestClient(through(agent.url, plain.url)); // the agent is on B now
    await viaPlain.waitForState('online', 20_000);
    const ofPlain = plain.logs.items.filter((e) => e.event === 'client_directed' || e.event === 'client_forwarded').map((e) => e.event);
    expect(ofPlain).toEqual(['client_directed', 'client_forwarded']);
    expect(b.logs.items).toContainEqual(expect.objectContaining({ event: 'client_refused', reason: 'origin not allowed' }));
    expect(viaPlain.states.items.some((s) => s.kind === 'failed')).toBe(false);
    // B's /metrics counts the browsers it sent on, apart from those it forwarded.
    const metrics = await (await fetch(b.logs.items.find((e) => e.event === 'metrics_listening')!.url as string)).text();
    expect(metrics).toMatch(/^ccremote_directed_clients_total 2$/m);
    expect(metrics).toMatch(/^ccremote_forwarded_clients_total 1$/m);
  });

  it('a relay cut off from Redis while the agent came online at another sends its waiting browsers there once Redis is back', async () => {
    const redis = await startRedis();
    // B reaches Redis through a proxy that can cut it off (A, and Redis itself, go on).
    const toRedis = await CutProxy.start(redis.port);
    atCleanup(() => toRedis.close());
    const a = await startRelay({ redis: redis.url });
    const b = await startRelay({ redis: `redis://127.0.0.1:${toRedis.port}` });
    const first = await startAgent(a.url);
    await first.close();
    // A browser on B waits there for the agent, which is offline.
    const onB = new TestClient(through(first.url, b.url));
    await onB.waitForState('agent_offline');
    toRedis.refuse(true);
    toRedis.cutAll();
    await b.logs.next((e) => e.event === 'redis_down', 10_000, 'Redis down at B');
    // Meanwhile the agent comes back, through A: B cannot hear it.
    const connectedAtA = a.logs.items.filter((e) => e.event === 'agent_connected').length;
    const agent = await startAgent(a.url, { configDir: first.configDir, cwd: first.cwd });
    expect(agent.url).toBe(first.url);
    await a.logs.until((items) => items.filter((e) => e.event === 'agent_connected').length > connectedAtA, 10_000, 'the agent back at A');
    const before = b.logs.items.length;
    toRedis.refuse(false);
    await b.logs.next((e) => e.event === 'redis_ready', 20_000, 'Redis back at B', before);
    // B finds out where the agent is now, and the browser waiting there follows it.
    await onB.waitForState('online', 20_000);
    onB.type('echo found-$((6*7))\r');
    await onB.waitForOutput('found-42');
  });

  it('a rotation on A cuts the old links held by browsers on B', async () => {
    const redis = await startRedis();
    const [a, b] = [await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url })];
    const agent = await startAgent(a.url);
    const onB = new TestClient(through(agent.url, b.url));
    await onB.waitForState('online');
    await agent.close();
    const rotated = await startAgent(a.url, { configDir: agent.configDir, cwd: agent.cwd, rotate: true });
    expect(rotated.url).not.toBe(agent.url);
    const failed = await onB.states.next((s) => s.kind === 'failed', 20_000, 'the old link refused');
    expect(failed).toMatchObject({ kind: 'failed' });
    const fresh = new TestClient(through(rotated.url, b.url));
    await fresh.waitForState('online');
  });

  it('Redis unreachable: /health says so, a browser that cannot be routed is refused clearly, and it recovers', async () => {
    const redis = await startRedis();
    const [a, b] = [await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url })];
    const agent = await startAgent(a.url);
    const onA = new TestClient(agent.url);
    await onA.waitForState('online');
    await redis.stop(true);
    await b.logs.next((e) => e.event === 'redis_down', 15_000, 'Redis down at B');
    const health = await fetch(`${b.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { redis: { state: string } }).redis.state).toBe('down');
    const onB = new TestClient(through(agent.url, b.url));
    const refused = await onB.states.next((s) => s.kind === 'waiting', 15_000, 'the refusal');
    expect(refused).toMatchObject({ code: CloseCode.Unroutable });
    onB.close();
    // A keeps serving the connection it holds.
    onA.type('echo still-$((2*21))\r');
    await onA.waitForOutput('still-42');
    const before = b.logs.items.length;
    await redis.start();
    await b.logs.next((e) => e.event === 'redis_ready', 20_000, 'Redis back at B', before);
    expect((await fetch(`${b.url}/health`)).status).toBe(200);
  });
});

describeRedis('a browser forwarded to a relay that has not answered yet', () => {
  it('may send only its first messages meanwhile: a socket that sends more is cut (policy), and the relay goes on', async () => {
    const redis = await startRedis();
    const relay = await startRelay({ redis: redis.url });
    // A member of the group that takes connections and never answers them (a relay stuck, a network dropping packets).
    const held: Socket[] = [];
    const silent = createServer((socket) => void held.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    atCleanup(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    const agentId = randomId();
    await inspect.set('ccremote:relay:silent', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`);
    await inspect.set(`ccremote:owner:${agentId}`, 'silent');
    const browser = new WebSocket(`${relay.url.replace(/^http/, 'ws')}/ws/client/${agentId}`, { origin: relay.url });
    const closed = new Promise<number>((resolve) => browser.on('close', (code) => resolve(code)));
    await new Promise((resolve) => browser.on('open', resolve));
    await waitFor(() => held.length > 0, 10_000, 'the relay to forward the browser');
    // A megabyte and a half before the silent relay answers: far more than a browser's hello and handshake.
    for (let i = 0; i < 6; i++) browser.send(Buffer.alloc(256 * 1024, i));
    expect(await within(closed, 10_000, 'the browser cut')).toBe(CloseCode.PolicyViolation);
    // The relay goes on: an agent connects and a browser reaches it.
    const agent = await startAgent(relay.url);
    const client = new TestClient(agent.url);
    await client.waitForState('online');
  });
});

describeRedis('a relay of a group that cannot start', () => {
  it('says why, and lets go of the group\'s Redis it had already joined (a missing web root, unreadable VAPID keys)', async () => {
    const redis = await startRedis();
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    /** The relays' connections Redis holds (theirs are named; this test's own is not). */
    const relayConnections = async (): Promise<number> => ((await inspect.client('LIST')) as string).split('\n').filter((line) => / name=ccremote-relay/.test(line)).length;
    await expect(createRelay({ redis: redis.url, webRoot: '/nonexistent/ccremote-web' })).rejects.toThrow(/ENOENT/);
    await expect.poll(relayConnections).toBe(0);
    await inspect.set('ccremote:vapid', '{"damaged": true}');
    await expect(createRelay({ redis: redis.url })).rejects.toThrow(/VAPID/);
    await expect.poll(relayConnections).toBe(0);
  });
});

describeRedis('a relay of a group closing', () => {
  it('closes while its Redis does not answer (stalled, not gone): its records there expire by themselves', async () => {
    const redis = await startRedis();
    const relay = await startRelay({ redis: redis.url });
    const agent = await startAgent(relay.url);
    const online = new TestClient(agent.url);
    await online.waitForState('online');
    const inspect = new Redis(redis.url);
    const pid = Number(/process_id:(\d+)/.exec(await inspect.info('server'))?.[1]);
    inspect.disconnect();
    // A Redis that stops answering (a network that drops its packets, a server paused) while the relay stops.
    process.kill(pid, 'SIGSTOP');
    atCleanup(() => void process.kill(pid, 'SIGCONT'));
    await within(relay.close(), 15_000, 'the relay closed');
  });
});

describeRedis('budgets a group shares', () => {
  it('PIN guesses through several relays draw on one budget: the agent\'s', async () => {
    const pin = 'correct-horse-42';
    const redis = await startRedis();
    const relays = [await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url }), await startRelay({ redis: redis.url })];
    const agent = await startAgent(relays[0]!.url, { pin });
    // Ten exchanges in all, spread over the three relays: the tenth and after wait, whichever relay they use.
    for (let n = 0; n < 10; n++) {
      const guess = new TestClient(through(agent.url, relays[n % 3]!.url), { pin: `wrong-guess-${n}` });
      expect(await guess.waitForState('failed')).toMatchObject({ refused: 'unknown_credential' });
      guess.close();
    }
    const right = new TestClient(through(agent.url, relays[1]!.url), { pin });
    expect(await right.waitForState('waiting')).toMatchObject({ code: CloseCode.RateLimited, reason: expect.stringMatching(/Too many PIN attempts/) });
  });

  it('failed authentications from one address count at every relay of the group', async () => {
    const redis = await startRedis();
    const authLimits = { failuresPerAddress: { burst: 4, perMinute: 4 } };
    const relays = [await startRelay({ redis: redis.url, authLimits }), await startRelay({ redis: redis.url, authLimits }), await startRelay({ redis: redis.url, authLimits })];
    const agent = await startAgent(relays[0]!.url);
    // A made-up secret: each relay refuses it (4401), and counts it for this address in the group's Redis.
    const wrong = agent.url.replace(/#.*$/, `#${'A'.repeat(43)}`);
    for (let n = 0; n < 4; n++) {
      const guess = new TestClient(through(wrong, relays[n % 2]!.url));
      expect(await guess.waitForState('failed')).toMatchObject({ code: CloseCode.Unauthorized });
      guess.close();
    }
    // The third relay never saw this address fail, and still refuses it before looking at its credentials.
    const next = new TestClient(through(agent.url, relays[2]!.url));
    expect(await next.waitForState('waiting')).toMatchObject({ code: CloseCode.RateLimited });
  });
});

describePostgres('the agent registry in PostgreSQL', () => {
  it('an agent that moved to another relay while Redis was away is kept there when Redis comes back, not cut as replaced (4409)', { timeout: 90_000 }, async () => {
    const redis = await startRedis();
    // The relays reach Redis through a proxy that can cut them off from it (Redis itself keeps its records).
    const toRedis = await CutProxy.start(redis.port);
    atCleanup(() => toRedis.close());
    // A long record life: A's record of the agent is still there when Redis comes back.
    const options = { redis: `redis://127.0.0.1:${toRedis.port}`, database: POSTGRES_URL, databaseSchema: freshSchema(), groupTtlMs: 30_000 };
    const [a, c] = [await startRelay(options), await startRelay(options)];
    const cId = c.logs.items.find((e) => e.event === 'group_joined')!.relay as string;
    // A load balancer in front of both: the agent reaches A through it, later C.
    const balancer = await CutProxy.start(a.port);
    atCleanup(() => balancer.close());
    const agent = await startAgent(balancer.url);
    const agentId = parseAccessLink(agent.url).agentId;
    await a.logs.next((e) => e.event === 'agent_connected', 10_000, 'the agent on A');
    // Redis goes away for both relays; meanwhile the agent's connection drops, and it comes back through C.
    toRedis.refuse(true);
    toRedis.cutAll();
    await Promise.all([a.logs.next((e) => e.event === 'redis_down', 10_000, 'Redis down at A'), c.logs.next((e) => e.event === 'redis_down', 10_000, 'Redis down at C')]);
    balancer.retarget(c.port);
    balancer.cutAll();
    await c.logs.next((e) => e.event === 'agent_connected', 20_000, 'the agent on C');
    await c.logs.next((e) => e.event === 'group_claim_failed', 10_000, 'C could not record it');
    const before = c.logs.items.length;
    toRedis.refuse(false);
    await c.logs.next((e) => e.event === 'redis_ready', 20_000, 'Redis back at C', before);
    // C serves the agent's latest connection: it records so, and the agent goes on there.
    const inspect = new Redis(redis.url);
    atCleanup(() => void inspect.disconnect());
    await expect.poll(() => inspect.get(`ccremote:owner:${agentId}`), { timeout: 20_000 }).toBe(cId);
    const viaA = new TestClient(through(agent.url, a.url));
    viaA.type('echo still-here-$((6*7))\r');
    await viaA.waitForOutput('still-here-42', 20_000);
    expect(c.logs.items.filter((e) => e.event === 'agent_disconnected')).toEqual([]);
  });

  it('survives a restart of every relay of the group: the agent comes back with its key, and its link works', { timeout: 60_000 }, async () => {
    const redis = await startRedis();
    const databaseSchema = freshSchema();
    const options = { redis: redis.url, database: POSTGRES_URL, databaseSchema };
    let [a, b] = [await startRelay(options), await startRelay(options)];
    const health = (await (await fetch(`${a.url}/health`)).json()) as { database: { state: string } };
    expect(health.database).toEqual({ state: 'ready' });
    const agent = await startAgent(a.url);
    const first = new TestClient(through(agent.url, b.url));
    first.type('echo before-$((20+1))\r');
    await first.waitForOutput('before-21');
    first.close();
    // Every relay stops, and Redis forgets everything; new relays start on the same addresses.
    const ports = [a.port, b.port];
    await Promise.all([a.close(), b.close()]);
    const flush = new Redis(redis.url);
    await flush.flushall();
    flush.disconnect();
    [a, b] = [await startRelay({ ...options, port: ports[0] }), await startRelay({ ...options, port: ports[1] })];
    await a.logs.next((e) => e.event === 'agent_connected', 30_000, 'the agent back at A');
    // Its record came from the database: it did not register again.
    expect(agent.events.items.filter((e) => e.event === 'registered')).toHaveLength(1);
    const again = new TestClient(through(agent.url, b.url));
    again.type('echo after-$((20+2))\r');
    await again.waitForOutput('after-22');
  });
});
