// End-to-end encryption against a hostile relay: a real relay with a man in the middle that records,
// alters, replays, reorders and misroutes what passes through it. Nothing of the terminal crosses it in
// plaintext, and every interference is refused by the receiver, which says so.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  CloseCode,
  FrameType,
  accessToken,
  encodeFromClient,
  encodeInputRecord,
  encodeMessage,
  inputKey,
  keySecrets,
  parseAccessLink,
  pinKey,
  randomBytes,
  toBase64Url,
  randomId,
  sealInput,
  socketUrl,
  utf8,
} from '../src/protocol/index.js';
import type { AgentOptions } from '../src/agent/agent.js';
import { relayBehindHostile, type Tapped } from './helpers/hostile-relay.js';
import { cleanup, rawSocket, startAgent, startRelay, TestClient, type TestAgent } from './helpers/system.js';

afterEach(cleanup);

/** A relay, a man in the middle in front of it, and agents that reach the relay only through it. */
async function behindHostileRelay() {
  const { relay, hostile, through } = await relayBehindHostile();
  const agent = async (options: Partial<AgentOptions> = {}): Promise<TestAgent & { link: string; viewLink: string }> => {
    const started = await startAgent(hostile.url, options);
    return { ...started, link: through(started.url), viewLink: through(started.agent.viewUrl!) };
  };
  return { relay, hostile, agent };
}

const isOutput = (m: Tapped): boolean => m.side === 'client' && m.way === 'down' && m.binary && m.data[0] === FrameType.Output && m.data.length > 49;

describe('end-to-end encryption', () => {
  it('neither a typed nor a printed marker crosses the relay in plaintext', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link);
    await client.waitForState('online');
    const typed = 'typed-marker-7f3a9c';
    client.type(`echo ${typed} | tr a-z A-Z\r`);
    await client.waitForOutput(typed.toUpperCase()); // printed by the PTY only
    expect(client.text).toContain(typed); // the echo of what was typed came back too
    for (const [side, way] of [['client', 'up'], ['client', 'down'], ['agent', 'up'], ['agent', 'down']] as const) {
      expect(hostile.messages(side, way).length).toBeGreaterThan(0);
    }
    for (const marker of [typed, typed.toUpperCase()]) {
      const found = hostile.seen.items.filter((m) => m.data.includes(marker));
      expect(found).toEqual([]);
    }
  });

  it('refuses output altered on the way, says so, and recovers everything by resuming', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link, { history: 'bytes' });
    await client.waitForState('online');
    let flipped = 0;
    hostile.tamper = (m) => {
      if (!isOutput(m) || flipped > 0) return undefined;
      flipped++;
      const data = Buffer.from(m.data);
      data[data.length - 1]! ^= 0x01;
      return [{ data, binary: true }];
    };
    client.type('echo altered-$((20+1))\r');
    const error = await client.errors.next((e) => e.code === 'integrity');
    expect(error.message).toMatch(/failed authentication/);
    hostile.tamper = undefined;
    // The session reconnects and resumes from where it stood: the refused bytes come again, intact.
    await client.waitForOutput(/altered-21/);
    const reference = new TestClient(link, { history: 'bytes' });
    await reference.waitForOutput(/altered-21\r?\n/);
    client.type('echo done-$((1+1))\r');
    await client.waitForOutput('done-2');
    await reference.waitForOutput('done-2');
    expect(client.output.toString()).toBe(reference.output.toString());
  });

  it('refuses a replayed frame and two frames swapped', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link);
    await client.waitForState('online');
    client.type('echo first-$((1+1))\r');
    await client.waitForOutput('first-2');
    const old = hostile.seen.items.filter(isOutput).at(-1)!;
    hostile.inject('client', old.connection, old.data);
    expect((await client.errors.next((e) => e.code === 'integrity')).message).toMatch(/repeats what was already received/);
    await client.waitForState('online', 10_000, client.states.items.length);

    // Hold one output frame back and deliver it after the next.
    const errorsBefore = client.errors.items.length;
    let held: Buffer | undefined;
    hostile.tamper = (m) => {
      if (!isOutput(m)) return undefined;
      if (!held) {
        held = m.data;
        return [];
      }
      hostile.tamper = undefined;
      return [
        { data: m.data, binary: true },
        { data: held, binary: true },
      ];
    };
    client.type('echo one; sleep 0.3; echo two\r');
    const swapped = await client.errors.next((e) => e.code === 'integrity', 10_000, 'an integrity error', errorsBefore);
    expect(swapped.message).toMatch(/jumps/);
    await client.waitForOutput(/^two\r?$/m);
  });

  it("refuses another agent's output delivered to this agent's client", async () => {
    const { hostile, agent } = await behindHostileRelay();
    const a = await agent();
    const b = await agent();
    const clientA = new TestClient(a.link);
    const clientB = new TestClient(b.link);
    await Promise.all([clientA.waitForState('online'), clientB.waitForState('online')]);
    clientB.type('echo from-b-$((2+2))\r');
    await clientB.waitForOutput('from-b-4');
    const connectionB = hostile.seen.items.find((m) => m.side === 'client' && m.way === 'down' && m.data.includes(parseAccessLink(b.link).agentId))!.connection;
    const connectionA = connectionB === 1 ? 2 : 1;
    const fromB = hostile.seen.items.filter((m) => isOutput(m) && m.connection === connectionB).at(-1)!;
    hostile.inject('client', connectionA, fromB.data);
    expect((await clientA.errors.next((e) => e.code === 'integrity')).message).toMatch(/failed authentication/);
    expect(clientA.text).not.toContain('from-b-4');
  });

  it('the agent refuses input altered on the way, and browsers hear of it', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent();
    const client = new TestClient(started.link);
    await client.waitForState('online');
    hostile.tamper = (m) => {
      if (m.side !== 'client' || m.way !== 'up' || !m.binary || m.data[0] !== FrameType.Input) return undefined;
      hostile.tamper = undefined;
      const data = Buffer.from(m.data);
      data[data.length - 3]! ^= 0x20;
      return [{ data, binary: true }];
    };
    client.type('touch altered\r');
    const rejected = await started.events.next((e) => e.event === 'input_rejected');
    expect(rejected).toMatchObject({ reason: expect.stringMatching(/failed authentication/) });
    await client.errors.next((e) => /refused input/.test(e.message));
    // Later input goes through; the altered keystrokes were never applied.
    client.type('echo later-$((3+4))\r');
    await client.waitForOutput('later-7');
    expect(existsSync(join(started.cwd, 'altered'))).toBe(false);
  });
});

describe('read-only links', () => {
  it('watch the terminal; their input and resize are refused by the agent even when the relay forwards them', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent();
    const owner = new TestClient(started.link);
    const viewer = new TestClient(started.viewLink);
    await Promise.all([owner.waitForState('online'), viewer.waitForState('online')]);
    expect(viewer.session.canType).toBe(false);
    owner.type('echo shown-$((5+5))\r');
    await viewer.waitForOutput('shown-10');
    viewer.type('touch typed-by-viewer\r');
    expect((await viewer.errors.next((e) => e.code === 'read_only')).message).toMatch(/read-only/);

    // A read-only holder writing frames itself, sealed with what it can derive (its view secret), and a
    // relay that lies to the agent that this client may type and forwards everything it sends.
    hostile.tamper = (m) => {
      if (m.side !== 'agent' || m.way !== 'down' || m.binary) return undefined;
      const text = m.data.toString().replace('"read_only":true', '"read_only":false');
      return [{ data: Buffer.from(text), binary: false }];
    };
    const { relayUrl, agentId, secret: view } = parseAccessLink(started.viewLink);
    const raw = rawSocket(socketUrl(relayUrl, `/ws/client/${agentId}`), { origin: relayUrl });
    await raw.opened;
    const session = randomId();
    raw.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(view, agentId), session }));
    await raw.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected');
    const joined = await hostile.seen.next((m) => m.side === 'agent' && m.way === 'down' && m.data.includes(session));
    const client = JSON.parse(joined.data.toString()).client as number;
    const key = inputKey(view, agentId, session);
    const frames = [
      sealInput(key, 1, encodeInputRecord({ kind: 'data', data: utf8('touch typed-by-viewer\r') })),
      sealInput(key, 2, encodeInputRecord({ kind: 'resize', cols: 50, rows: 20 })),
    ];
    // The relay itself refuses them …
    raw.ws.send(frames[0]!);
    await raw.messages.next((m) => m.text !== undefined && JSON.parse(m.text).code === 'read_only');
    // … and when it forwards them anyway, the agent refuses them.
    const agentConnection = hostile.messages('agent', 'up').at(-1)!.connection;
    for (const frame of frames) hostile.inject('agent', agentConnection, encodeFromClient(client, frame));
    await started.events.until((items) => items.filter((e) => e.event === 'input_rejected').length >= 2);
    owner.type('stty size; echo checked-$((1+2))\r');
    await owner.waitForOutput(/^24 80\r?$[\s\S]*checked-3/m);
    expect(existsSync(join(started.cwd, 'typed-by-viewer'))).toBe(false);
  });
});

describe('rotating the secret', () => {
  it('cuts every browser holding the old links; the new link works', async () => {
    const relay = await startRelay();
    const first = await startAgent(relay.url);
    const old = new TestClient(first.url);
    const oldViewer = new TestClient(first.agent.viewUrl!);
    await Promise.all([old.waitForState('online'), oldViewer.waitForState('online')]);
    await first.close();
    await old.waitForState('agent_offline');
    const second = await startAgent(relay.url, { configDir: first.configDir, cwd: first.cwd, rotate: true });
    expect(parseAccessLink(second.url).agentId).toBe(parseAccessLink(first.url).agentId);
    expect(second.url).not.toBe(first.url);
    for (const client of [old, oldViewer]) {
      const failed = await client.waitForState('failed');
      expect(failed).toMatchObject({ reason: expect.stringMatching(/not valid/) });
    }
    const again = new TestClient(first.url);
    await again.waitForState('failed');
    const fresh = new TestClient(second.url);
    fresh.type('echo rotated-$((2*3))\r');
    await fresh.waitForOutput('rotated-6');
  });
});

describe('a PIN on top of the link', () => {
  const PIN = 'correct-horse-42';

  it('the right PIN watches and types; the link alone or a wrong PIN is refused; the PIN never crosses the relay', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent({ pin: PIN });
    const link = parseAccessLink(started.link);
    expect(link.pin).toBe(true);
    expect(parseAccessLink(started.viewLink)).toMatchObject({ pin: true, readOnly: true });
    const key = await pinKey(PIN, link.agentId);

    const owner = new TestClient(started.link, { pin: key });
    const viewer = new TestClient(started.viewLink, { pin: key });
    owner.type('echo pin-$((6*7))\r');
    await owner.waitForOutput('pin-42');
    await viewer.waitForOutput('pin-42');
    expect(viewer.session.canType).toBe(false);

    const withoutPin = new TestClient(started.link);
    const wrongPin = new TestClient(started.link, { pin: await pinKey('correct-horse-43', link.agentId) });
    const viewWithoutPin = new TestClient(started.viewLink);
    expect(await withoutPin.waitForState('failed')).toMatchObject({ code: CloseCode.Unauthorized });
    expect(await wrongPin.waitForState('failed')).toMatchObject({ code: CloseCode.Unauthorized, reason: expect.stringMatching(/Wrong PIN/) });
    expect(await viewWithoutPin.waitForState('failed')).toMatchObject({ code: CloseCode.Unauthorized });

    // Nothing the relay handled contains the PIN, its key, or the secrets derived with it.
    const pinned = keySecrets(link.secret, link.agentId, false, key);
    const needles = [PIN, toBase64Url(key), pinned.full!, pinned.view];
    for (const needle of needles) expect(hostile.seen.items.filter((m) => m.data.includes(needle))).toEqual([]);
    expect(hostile.seen.items.filter((m) => m.data.includes(Buffer.from(key)))).toEqual([]);
  });

  it('guessing is rate-limited per address; guesses from many addresses lock the owner out of nothing', async () => {
    const relay = await startRelay({ trustProxy: ['127.0.0.1'] });
    const target = await startAgent(relay.url, { pin: PIN });
    const other = await startAgent(relay.url);
    const { agentId, secret } = parseAccessLink(target.url);
    const key = await pinKey(PIN, agentId);
    const owner = new TestClient(target.url, { pin: key });
    await owner.waitForState('online');
    const rightToken = accessToken(keySecrets(secret, agentId, false, key).full!, agentId);
    /** One handshake from `address` with `token`; resolves with how the relay answered. */
    const attempt = async (address: string, token: string, id = agentId): Promise<{ code: number; reason: string }> => {
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
    // A wrong guess is, to the relay, a token that matches nothing: the first test shows a wrong PIN gives one.
    const guess = (): string => toBase64Url(randomBytes(32));

    // One address: ten failures, then even the right PIN is refused from it until the wait is over.
    for (let n = 0; n < 10; n++) expect(await attempt('198.51.100.1', guess())).toMatchObject({ code: CloseCode.Unauthorized });
    const limited = await attempt('198.51.100.1', rightToken);
    expect(limited).toMatchObject({ code: CloseCode.RateLimited, reason: expect.stringMatching(/retry in \d+ s$/) });
    // Brute-forcing agent ids from that address gets the same answer, whatever the id.
    expect(await attempt('198.51.100.1', rightToken, randomId())).toMatchObject({ code: CloseCode.RateLimited });
    // Other addresses still get in with the right PIN.
    expect(await attempt('198.51.100.2', rightToken)).toMatchObject({ code: 0 });

    // Many addresses, one agent: each address spends its own budget only. Nobody who merely knows the agent
    // id can keep its owner (or anyone else) out.
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4']) {
      for (let n = 0; n < 10; n++) expect(await attempt(address, guess())).toMatchObject({ code: CloseCode.Unauthorized });
    }
    expect(await attempt('203.0.113.99', rightToken)).toMatchObject({ code: 0 });
    const otherLink = parseAccessLink(other.url);
    expect(await attempt('203.0.113.99', accessToken(otherLink.secret, otherLink.agentId), otherLink.agentId)).toMatchObject({ code: 0 });
    owner.type('echo still-here-$((2+2))\r');
    await owner.waitForOutput('still-here-4');
  });
});
