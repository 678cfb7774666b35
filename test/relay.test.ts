// The relay against bad input and over plain HTTP: every bad frame gets a documented close code, the
// relay keeps serving everyone else, and its HTTP endpoints answer with clear errors.

import { afterEach, describe, expect, it } from 'vitest';
import {
  CloseCode,
  PROTOCOL_VERSION,
  FrameType,
  MAX_MESSAGE_BYTES,
  accessToken,
  encodeInputRecord,
  encodeMessage,
  newSecret,
  parseAccessLink,
  randomId,
  socketUrl,
  sealInput,
  sealOutput,
  tokenVerifier,
  utf8,
  viewSecret,
} from '../src/protocol/index.js';

const anyKey = new Uint8Array(32);
const encodeOutput = (offset: number, data: Uint8Array): Uint8Array<ArrayBuffer> => sealOutput(anyKey, 1, offset, data);
const encodeInput = (seq: number, record: Uint8Array, key: Uint8Array = anyKey): Uint8Array<ArrayBuffer> => sealInput(key, seq, record);
/** An agent hello with the verifiers of `secret`. */
const agentHello = (secret: string, agentId: string): string =>
  encodeMessage({
    type: 'hello',
    v: PROTOCOL_VERSION,
    terminals: [],
    access: tokenVerifier(accessToken(secret, agentId)),
    view: tokenVerifier(accessToken(viewSecret(secret, agentId), agentId)),
    devices: [],
  });
import { EventLog } from './helpers/wait.js';
import { admittedRawClient, cleanup, openRawChannel, rawSocket, startAgent, startRelay, TestClient, type RawSocket } from './helpers/system.js';

afterEach(cleanup);

/** A session with a working agent and client, plus a raw admitted client socket to abuse. */
async function withSession() {
  const relay = await startRelay({ handshakeTimeoutMs: 2000 });
  const agent = await startAgent(relay.url);
  const bystander = new TestClient(agent.url);
  await bystander.waitForState('online');
  const { agentId, secret } = parseAccessLink(agent.url);
  /** A raw client socket past the relay's hello and the channel handshake, and the key its input is sealed with. */
  const admitted = async (): Promise<RawSocket & { inputKey: Uint8Array }> => {
    const credential = { kind: 'link', secret, readOnly: false } as const;
    const { raw: socket, session } = await admittedRawClient(relay.url, agentId, credential);
    const channel = await openRawChannel(socket, agentId, credential, { session });
    return Object.assign(socket, { inputKey: channel.keys.send });
  };
  /** The bystander and the agent still work. */
  const stillServing = async (marker: number): Promise<void> => {
    bystander.type(`echo still-$((${marker}+1))\r`);
    await bystander.waitForOutput(`still-${marker + 1}`);
  };
  return { relay, agent, agentId, secret, bystander, admitted, stillServing };
}

describe('bad input from a client closes only that client', () => {
  const cases: Array<[string, (s: RawSocket) => void, number]> = [
    ['malformed JSON', (s) => s.ws.send('{"type": "ping"'), CloseCode.BadMessage],
    ['an unknown type', (s) => s.ws.send('{"type":"input","data":"ls\\n"}'), CloseCode.BadMessage],
    ['a second hello', (s) => s.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: 'a'.repeat(43), session: randomId() })), CloseCode.BadMessage],
    ['a wrong field type', (s) => s.ws.send('{"type":"ping","t":"soon"}'), CloseCode.BadMessage],
    ['a frame type clients may not send', (s) => s.ws.send(encodeOutput(0, utf8('fake output'))), CloseCode.BadMessage],
    ['an unknown binary frame', (s) => s.ws.send(Buffer.from([0x99, 1, 2, 3])), CloseCode.BadMessage],
    ['JSON in a binary frame', (s) => s.ws.send(Buffer.from('{"type":"ping"}')), CloseCode.BadMessage],
    ['an oversized frame', (s) => s.ws.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 1)), CloseCode.TooBig],
    ['invalid UTF-8 in a text frame', (s) => s.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }), 1007],
  ];
  for (const [what, send, code] of cases) {
    it(`${what} → close ${code}`, async () => {
      const { admitted, stillServing, relay } = await withSession();
      const socket = await admitted();
      send(socket);
      const closed = await socket.closed;
      expect(closed.code).toBe(code);
      await stillServing(code);
      expect(relay.relay.stats()).toEqual({ agentsOnline: 1, clients: 1 });
    });
  }

  it('a hello with another protocol version → close 4001', async () => {
    const { agentId, secret, relay, stillServing } = await withSession();
    const socket = rawSocket(socketUrl(relay.url, `/ws/client/${agentId}`), { origin: relay.url });
    await socket.opened;
    socket.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION + 1, token: accessToken(secret, agentId), session: randomId() }));
    expect((await socket.closed).code).toBe(CloseCode.UnsupportedVersion);
    await stillServing(1);
  });

  it('binary before hello → close 4000', async () => {
    const { agentId, relay, stillServing } = await withSession();
    const socket = rawSocket(socketUrl(relay.url, `/ws/client/${agentId}`), { origin: relay.url });
    await socket.opened;
    socket.ws.send(encodeInput(1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('id\r') })));
    expect((await socket.closed).code).toBe(CloseCode.BadMessage);
    await stillServing(2);
  });

  it('a malformed input record is skipped by the agent without harming the session', async () => {
    const { admitted, stillServing } = await withSession();
    const socket = await admitted();
    socket.ws.send(encodeInput(1, Uint8Array.from([0x01, 0, 0, 0, 1, 0]), socket.inputKey));
    socket.ws.send(encodeInput(2, Uint8Array.from([0x42]), socket.inputKey));
    const ack = await socket.messages.next((m) => m.binary !== undefined && m.binary[0] === FrameType.InputAck && m.binary.readUInt32BE(1) === 2);
    expect(ack.binary).toBeDefined();
    await stillServing(3);
  });
});

describe('bad input from an agent', () => {
  it('closes that agent connection with a code; the relay and other agents go on', async () => {
    const relay = await startRelay();
    const other = await startAgent(relay.url);
    const otherClient = new TestClient(other.url);
    await otherClient.waitForState('online');
    const registration = (await (await fetch(`${relay.url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { agent_id: string; agent_key: string };
    const connect = async (): Promise<RawSocket> => {
      const socket = rawSocket(socketUrl(relay.url, `/ws/agent/${registration.agent_id}`), { headers: { authorization: `Bearer ${registration.agent_key}` } });
      await socket.opened;
      return socket;
    };
    const hello = agentHello(newSecret(), registration.agent_id);
    const garbage: Array<[(s: RawSocket) => void, number]> = [
      [(s) => s.ws.send('not json'), CloseCode.BadMessage],
      [(s) => s.ws.send(encodeOutput(0, utf8('x'))), CloseCode.BadMessage], // output before hello
      [(s) => (s.ws.send(hello), s.ws.send(encodeInput(1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('x') })))), CloseCode.BadMessage],
      [(s) => (s.ws.send(hello), s.ws.send('{"type":"status"}')), CloseCode.BadMessage],
      [(s) => (s.ws.send(hello), s.ws.send(Buffer.from([0x10, 0, 0, 0, 1, 0x02, 0, 0, 0, 1, 0]))), CloseCode.BadMessage],
    ];
    for (const [send, code] of garbage) {
      const socket = await connect();
      send(socket);
      expect((await socket.closed).code).toBe(code);
    }
    otherClient.type('echo fine-$((8+1))\r');
    await otherClient.waitForOutput('fine-9');
  });

  it('an agent that receives garbage from its relay reconnects instead of dying', async () => {
    const { createServer } = await import('node:http');
    const { WebSocketServer } = await import('ws');
    const agentId = randomId();
    const server = createServer((req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ agent_id: agentId, agent_key: 'k'.repeat(43) }));
    });
    const wss = new WebSocketServer({ server });
    const connections = new EventLog<number>();
    wss.on('connection', (ws) => {
      connections.push(connections.items.length + 1);
      ws.send('{"type":"connected","agent_id":"' + agentId + '"}');
      ws.send('this is not a protocol message');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const agent = await startAgent(`http://127.0.0.1:${port}`);
      await agent.events.next((e) => e.event === 'relay_disconnected' && e.code === CloseCode.BadMessage);
      await connections.next((n) => n >= 3, 10_000, 'three connection attempts');
    } finally {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.close();
    }
  });
});

describe('keep-alive', () => {
  it('answers heartbeats and pings, and drops sockets that stop answering its pings', async () => {
    const relay = await startRelay({ pingIntervalMs: 100 });
    const registration = (await (await fetch(`${relay.url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' } })).json()) as { agent_id: string; agent_key: string };
    const secret = newSecret();
    const agent = rawSocket(socketUrl(relay.url, `/ws/agent/${registration.agent_id}`), { headers: { authorization: `Bearer ${registration.agent_key}` } });
    await agent.opened;
    agent.ws.send(agentHello(secret, registration.agent_id));
    agent.ws.send(encodeMessage({ type: 'heartbeat' }));
    await agent.messages.next((m) => m.text === '{"type":"heartbeat_ack"}');

    const client = rawSocket(socketUrl(relay.url, `/ws/client/${registration.agent_id}`), { origin: relay.url });
    await client.opened;
    client.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: accessToken(secret, registration.agent_id), session: randomId() }));
    await client.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected');
    client.ws.send(encodeMessage({ type: 'ping', t: 12345 }));
    await client.messages.next((m) => m.text === '{"type":"pong","t":12345}');
    expect(relay.relay.stats()).toEqual({ agentsOnline: 1, clients: 1 });

    // A client whose connection went dead (it reads nothing, so it answers no ping) is dropped.
    (client.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await relay.logs.next((e) => e.event === 'socket_dropped', 5000);
    await relay.logs.next((e) => e.event === 'client_disconnected', 5000);
    expect(relay.relay.stats()).toEqual({ agentsOnline: 1, clients: 0 });
  });
});

describe('HTTP', () => {
  it('registers agents and validates the request', async () => {
    const { url } = await startRelay();
    const ok = await fetch(`${url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"laptop"}' });
    expect(ok.status).toBe(201);
    const body = (await ok.json()) as Record<string, string>;
    expect(body.agent_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.agent_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.client_url).toBe(`${url}/a/${body.agent_id}`);
    const json = { 'content-type': 'application/json' };
    const cases: Array<[RequestInit, number, RegExp]> = [
      [{ method: 'POST', headers: json, body: '{"name":' }, 400, /malformed JSON/],
      [{ method: 'POST', headers: json, body: JSON.stringify({ name: 'x'.repeat(65) }) }, 400, /name/],
      [{ method: 'POST', headers: json, body: JSON.stringify({ name: 5 }) }, 400, /name/],
      [{ method: 'POST', headers: json, body: '[]' }, 400, /object/],
      [{ method: 'POST', headers: json, body: 'x'.repeat(5000) }, 413, /larger/],
      [{ method: 'GET' }, 405, /POST/],
      // Only JSON: what a page elsewhere can post without asking (a form, text/plain, no type at all) is refused.
      [{ method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"name":"cross-site"}' }, 415, /application\/json/],
      [{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=x' }, 415, /application\/json/],
      [{ method: 'POST', body: '{}' }, 415, /application\/json/],
      [{ method: 'POST' }, 415, /application\/json/],
    ];
    for (const [init, status, message] of cases) {
      const response = await fetch(`${url}/api/agents`, init);
      expect(response.status, JSON.stringify(init).slice(0, 60)).toBe(status);
      expect(((await response.json()) as { message: string }).message).toMatch(message);
    }
  });

  it('rate-limits registrations per address', async () => {
    const { url } = await startRelay({ registrationLimit: { burst: 3, perMinute: 1 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' } })).status);
    expect(statuses).toEqual([201, 201, 201, 429, 429]);
    const limited = await fetch(`${url}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('requires the registration token when one is set', async () => {
    const { url } = await startRelay({ registrationToken: 'owner-only' });
    const json = { 'content-type': 'application/json' };
    expect((await fetch(`${url}/api/agents`, { method: 'POST', headers: json })).status).toBe(401);
    expect((await fetch(`${url}/api/agents`, { method: 'POST', headers: { ...json, authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${url}/api/agents`, { method: 'POST', headers: { ...json, authorization: 'Bearer owner-only' } })).status).toBe(201);
    await expect(startAgent(url, { registrationToken: 'wrong' })).rejects.toThrow(/HTTP 401.*registration token/);
    await startAgent(url, { registrationToken: 'owner-only' });
  });

  it('reports health with counts (in a group, each relay those it serves)', async () => {
    const { url, members } = await startRelay();
    const agent = await startAgent(url);
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    const healths = await Promise.all(members.map(async (member) => (await (await fetch(`${member}/health`)).json()) as { agents_online: number; clients: number }));
    for (const health of healths) expect(health).toMatchObject({ status: 'ok', version: expect.any(String) });
    const sum = (key: 'agents_online' | 'clients'): number => healths.reduce((total, health) => total + health[key], 0);
    expect([sum('agents_online'), sum('clients')]).toEqual([1, 1]);
  });

  it('serves the web client with a strict policy, validators and compression', async () => {
    const { url } = await startRelay();
    const id = randomId();
    const page = await fetch(`${url}/a/${id}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain("frame-ancestors 'none'");
    // WebAssembly (the cipher's) may be compiled; JavaScript may not come inline or from eval.
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('app.js');
    const script = await fetch(`${url}/a/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.status).toBe(200);
    expect(script.headers.get('content-encoding')).toBe('gzip');
    const etag = script.headers.get('etag')!;
    expect((await fetch(`${url}/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${url}/`)).status).toBe(200);
    expect((await fetch(`${url}/a/not-an-id`)).status).toBe(404);
    expect((await fetch(`${url}/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/app.js`, { method: 'POST' })).status).toBe(405);
  });

  it('answers unknown WebSocket paths with 404 and keeps going', async () => {
    const { url } = await startRelay();
    const socket = rawSocket(socketUrl(url, '/ws/nothing/here'));
    await expect(socket.opened).rejects.toThrow();
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('closes every socket with 1001 when it shuts down', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    await relay.close();
    const waiting = await client.states.next((s) => s.kind === 'waiting');
    expect(waiting).toMatchObject({ code: CloseCode.GoingAway });
  });
});
