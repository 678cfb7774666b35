// End to end over real sockets: a relay on 127.0.0.1, an agent running /bin/sh in a real PTY, and
// clients speaking the real protocol.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Connect } from '../src/client/transport.js';
import { PROTOCOL_VERSION, CloseCode, encodeMessage, parseAccessLink, randomId, socketUrl, toBase64Url, randomBytes } from '../src/protocol/index.js';
import { killAll, runCli } from './helpers/cli.js';
import { RAW_READY, cleanup, rawCommand, rawSocket, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';
import { waitFor } from './helpers/wait.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

/** A Connect like the real one that also hands out the socket, so a test can stop reading from it. */
function pausableConnect(origin: string): { connect: Connect; socket: () => WebSocket } {
  let last: WebSocket | undefined;
  const connect: Connect = (url, handlers) => {
    const ws = new WebSocket(url, { origin, perMessageDeflate: false });
    last = ws;
    ws.on('open', () => handlers.open());
    ws.on('message', (data, isBinary) => (isBinary ? handlers.binary(data as Buffer) : handlers.text(data.toString())));
    ws.on('close', (code, reason) => handlers.close(code, reason.toString()));
    ws.on('error', () => undefined);
    return { send: (data) => ws.readyState === ws.OPEN && ws.send(data), close: () => ws.terminate() };
  };
  return { connect, socket: () => last! };
}

describe('a session through the relay', () => {
  it('registers, connects, and carries keystrokes and output both ways', async () => {
    const { url: relayUrl, relay } = await startRelay();
    const agent = await startAgent(relayUrl);
    expect(agent.url).toMatch(new RegExp(`^${relayUrl}/a/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    client.type('echo "sum=$((40+2))"\r');
    await client.waitForOutput('sum=42');
    expect(relay.stats()).toEqual({ agentsOnline: 1, clients: 1 });
  });

  it('lets several browsers watch and type into one agent; all see the same output', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url);
    const a = new TestClient(agent.url);
    const b = new TestClient(agent.url);
    await Promise.all([a.waitForState('online'), b.waitForState('online')]);
    // Each has its first screen (the prompt) before anyone types: one still waiting for it would get the
    // command's output inside that screen, drawn its own way, instead of as the bytes the other saw.
    await Promise.all([a.waitForOutput('$ '), b.waitForOutput('$ ')]);
    a.type('echo from-a-$((1+1))\r');
    await Promise.all([a.waitForOutput('from-a-2'), b.waitForOutput('from-a-2')]);
    b.type('echo from-b-$((2+2))\r');
    await Promise.all([a.waitForOutput('from-b-4'), b.waitForOutput('from-b-4')]);
    const tail = (text: string) => text.slice(text.indexOf('from-a-2'));
    expect(tail(a.text)).toBe(tail(b.text));
  });

  it('keeps output produced while no browser is attached', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url, { command: '/bin/sh', args: ['-c', 'echo before-anyone-$((3*3)); exec /bin/sh'] });
    await agent.events.next((e) => e.event === 'relay_connected');
    const client = new TestClient(agent.url);
    await client.waitForOutput('before-anyone-9');
  });

  it('a paste far larger than the terminal takes at once reaches a program that echoes it, whole, and the agent goes on answering', { timeout: 60_000 }, async () => {
    const relay = await startRelay();
    const home = tempDir();
    // The agent in a process of its own: one that stopped answering would stop only itself.
    const agent = runCli(['agent', '--relay', relay.url, '--json', '--config-dir', home, '--cwd', home, '--', '/bin/sh', ...rawCommand('exec cat')], shellEnv(home));
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000)).url as string;
    const client = new TestClient(link, { history: 'bytes' });
    await client.go();
    // 512 KB of lines: the terminal takes a few KiB at a time, and takes more only once `cat`'s echo of
    // them has been read.
    const paste = Buffer.from(Array.from({ length: 8192 }, (_, i) => `${String(i).padStart(6, '0')} ${'x'.repeat(56)}\n`).join(''));
    client.session.sendData(paste);
    await client.chunks.until(() => client.rawLength >= paste.length, 30_000, 'the paste echoed');
    expect(client.rawOutput.equals(paste)).toBe(true);
    client.type('after\n');
    await client.waitForOutput(/after\n$/);
  });

  it('passes multi-byte UTF-8 split across PTY reads through intact', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url, {
      command: '/bin/sh',
      args: ['-c', "stty -echo; printf 'go\\n'; read x; printf '\\344'; read y; printf '\\270\\255 done\\n'; exec /bin/sh"],
    });
    const client = new TestClient(agent.url, { history: 'bytes' });
    await client.waitForOutput('go');
    client.type('\r');
    // The first byte of 中 arrives on its own: the program waits before writing the other two.
    await client.chunks.until(() => client.output.includes(0xe4), 10_000, 'the first byte of the character');
    expect(client.output[client.output.length - 1]).toBe(0xe4);
    client.type('\r');
    await client.waitForOutput('中 done');
    expect(client.output.includes(Buffer.from('中 done'))).toBe(true);
  });

  it('delivers the last output of a command that exits right after writing it', async () => {
    const { url } = await startRelay();
    for (let round = 0; round < 3; round++) {
      const agent = await startAgent(url, { command: '/bin/sh', args: ['-c', 'read x; seq 1 200000; exit 4'] });
      const client = new TestClient(agent.url, { history: 'bytes' });
      await client.waitForState('online');
      client.type('\r');
      await client.exits.next((s) => s.exit_code === 4, 20_000, 'the exit status');
      const lines = client.text.replace(/\r/g, '').split('\n');
      const numbers = lines.filter((l) => /^\d+$/.test(l)).map(Number);
      expect(numbers.length, `round ${round}`).toBe(200000);
      expect(numbers.at(-1)).toBe(200000);
      client.close();
      await agent.agent.done;
    }
  });

  it('resizes the PTY to the browser terminal size', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url);
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    // (The answer may come as live output or inside the first snapshot, which draws line ends as cursor moves.)
    client.session.resize(123, 41);
    client.type('stty size\r');
    await client.waitForOutput(/41 123/);
    client.session.resize(90, 30);
    client.type('stty size\r');
    await client.waitForOutput(/30 90/);
  });

  it('reports the command exit to browsers and ends the agent with its code', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url, { command: '/bin/sh', args: ['-c', 'read line; exit 7'] });
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    client.type('\r');
    const status = await client.exits.next((s) => s.exit_code !== undefined);
    expect(status).toMatchObject({ exit_code: 7, message: expect.stringContaining('exited with code 7') });
    expect(await agent.agent.done).toBe(7);
    await client.waitForState('agent_offline');
  });

  it('restarts the command with --restart, keeping the session', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url, { command: '/bin/sh', args: ['-c', 'echo run-$$; read line; exit 3'], restart: true });
    const client = new TestClient(agent.url);
    await client.waitForOutput(/run-\d+/);
    const first = /run-(\d+)/.exec(client.text)![1];
    client.type('\r');
    await agent.events.next((e) => e.event === 'exit' && e.restarting);
    const pids = await client.chunks.until(() => {
      const seen = new Set([...client.text.matchAll(/run-(\d+)/g)].map((m) => m[1]));
      return seen.size >= 2 && seen;
    }, 10_000, 'a second run of the command');
    expect(pids.has(first)).toBe(true);
    expect(client.states.items.at(-1)?.kind).toBe('online');
  });
});

describe('a client that stops reading', () => {
  it('neither slows the others nor loses anything: it catches up once it reads again', async () => {
    const { url } = await startRelay();
    const total = 32 << 20;
    const agent = await startAgent(url, {
      command: '/bin/sh',
      args: rawCommand(`yes | head -c ${total}; exec sleep 3600`),
      bufferSize: 48 << 20,
    });
    const { connect, socket } = pausableConnect(url);
    const stalled = new TestClient(agent.url, { history: 'bytes', connect });
    const reader = new TestClient(agent.url, { history: 'bytes' });
    await Promise.all([stalled.waitForOutput(RAW_READY), reader.waitForOutput(RAW_READY)]);
    const tcp = (socket() as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    await reader.go();
    await reader.chunks.until(() => reader.rawLength >= total, 60_000, 'the reading client to get everything');
    expect(stalled.rawLength).toBeLessThan(total);
    tcp.resume();
    await stalled.chunks.until(() => stalled.rawLength >= total, 60_000, 'the stalled client to catch up');
    const expected = createHash('sha256').update(Buffer.alloc(total, 'y\n')).digest('hex');
    expect(createHash('sha256').update(reader.rawOutput).digest('hex')).toBe(expected);
    expect(createHash('sha256').update(stalled.rawOutput).digest('hex')).toBe(expected);
  });
});

describe('who gets in', () => {
  it('refuses an agent with a wrong or missing key, or a key in the URL; a right key takes over the agent', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url);
    const agentId = parseAccessLink(agent.url).agentId;
    const wrong = rawSocket(socketUrl(url, `/ws/agent/${agentId}`), { headers: { authorization: `Bearer ${toBase64Url(randomBytes(32))}` } });
    expect(await wrong.closed).toMatchObject({ code: CloseCode.Unauthorized });
    const missing = rawSocket(socketUrl(url, `/ws/agent/${agentId}`));
    expect(await missing.closed).toMatchObject({ code: CloseCode.Unauthorized });
    const unknown = rawSocket(socketUrl(url, `/ws/agent/${randomId()}?key=abc`));
    expect(await unknown.closed).toMatchObject({ code: CloseCode.Unauthorized });

    // The registered key (read from the agent's identity file) is refused in the URL, where logs would keep it …
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = `${agent.configDir}/agents`;
    const identity = JSON.parse(readFileSync(`${dir}/${readdirSync(dir).find((f) => f.endsWith('.json'))}`, 'utf8'));
    const viaQuery = rawSocket(socketUrl(url, `/ws/agent/${agentId}?key=${encodeURIComponent(identity.agentKey)}`));
    expect(await viaQuery.closed).toMatchObject({ code: CloseCode.Unauthorized, reason: expect.stringMatching(/Authorization header/) });
    // … and accepted in the Authorization header.
    const viaHeader = rawSocket(socketUrl(url, `/ws/agent/${agentId}`), { headers: { authorization: `Bearer ${identity.agentKey}` } });
    await viaHeader.opened;
    viaHeader.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, terminals: [], access: toBase64Url(randomBytes(32)), view: toBase64Url(randomBytes(32)), devices: [] }));
    await viaHeader.messages.next((m) => m.text !== undefined && JSON.parse(m.text).type === 'connected');
    // It took over: the original agent connection was closed as replaced and does not fight back.
    await agent.events.next((e) => e.event === 'relay_disconnected' && e.code === CloseCode.Replaced);
    await agent.events.next((e) => e.event === 'error');
  });

  it('refuses a browser without the secret: wrong token, no hello, another agent id', async () => {
    const { url } = await startRelay({ handshakeTimeoutMs: 300 });
    const agent = await startAgent(url);
    const { agentId, relayUrl } = parseAccessLink(agent.url);
    const origin = relayUrl;

    const wrongToken = rawSocket(socketUrl(url, `/ws/client/${agentId}`), { origin });
    await wrongToken.opened;
    wrongToken.ws.send(encodeMessage({ type: 'hello', v: PROTOCOL_VERSION, token: toBase64Url(randomBytes(32)), session: randomId() }));
    expect(await wrongToken.closed).toMatchObject({ code: CloseCode.Unauthorized });

    const silent = rawSocket(socketUrl(url, `/ws/client/${agentId}`), { origin });
    expect(await silent.closed).toMatchObject({ code: CloseCode.HandshakeTimeout });

    const other = new TestClient(`${relayUrl}/a/${randomId()}#${parseAccessLink(agent.url).secret}`);
    const failed = await other.waitForState('failed');
    expect(failed).toMatchObject({ code: CloseCode.Unauthorized });
    expect(wrongToken.messages.items.filter((m) => m.binary)).toEqual([]);
  });

  it('refuses browser sockets from other origins', async () => {
    const { url } = await startRelay({ allowedOrigins: ['https://app.example.com'] });
    const agent = await startAgent(url);
    const { agentId } = parseAccessLink(agent.url);
    const port = new URL(url).port;
    for (const origin of [undefined, 'null', 'https://evil.example', `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`, 'https://app.example.com.evil.net']) {
      const socket = rawSocket(socketUrl(url, `/ws/client/${agentId}`), { origin });
      expect(await socket.closed, String(origin)).toMatchObject({ code: CloseCode.ForbiddenOrigin });
    }
    const allowed = new TestClient(agent.url, { origin: 'https://app.example.com' });
    await allowed.waitForState('online');
    const agentFromPage = rawSocket(socketUrl(url, `/ws/agent/${agentId}`), { origin: `http://127.0.0.1:${port}` });
    expect(await agentFromPage.closed).toMatchObject({ code: CloseCode.ForbiddenOrigin });
  });

  it('keeps no public list of agents', async () => {
    const { url } = await startRelay();
    await startAgent(url);
    for (const path of ['/api/agents', '/api/clients', '/a/', '/agents']) {
      const response = await fetch(`${url}${path}`);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(await response.text()).not.toMatch(/[A-Za-z0-9_-]{22}/);
    }
  });
});

describe('coming and going', () => {
  it('tells every browser when the agent goes offline and back; the link stays the same', async () => {
    const { url } = await startRelay();
    const first = await startAgent(url);
    const clients = [new TestClient(first.url), new TestClient(first.url), new TestClient(first.url)];
    await Promise.all(clients.map((c) => c.waitForState('online')));
    await first.close();
    await Promise.all(clients.map((c) => c.waitForState('agent_offline')));
    const marks = clients.map((c) => c.states.items.length);
    const second = await startAgent(url, { configDir: first.configDir, cwd: first.cwd });
    expect(second.url).toBe(first.url);
    await Promise.all(clients.map((c, i) => c.waitForState('online', 10_000, marks[i])));
    clients[0]!.type('echo back-$((5+5))\r');
    await Promise.all(clients.map((c) => c.waitForOutput('back-10')));
  });

  it('prints links with the relay URL it was given (or linkBase), whatever public URL the relay reports', async () => {
    const { url } = await startRelay({ publicUrl: 'https://relay.example.com/ccr' });
    const agent = await startAgent(url);
    expect(agent.url).toMatch(new RegExp(`^${url}/a/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`));
    const behindProxy = await startAgent(url, { linkBase: 'https://relay.example.com/ccr' });
    expect(behindProxy.url).toMatch(/^https:\/\/relay\.example\.com\/ccr\/a\/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$/);
  });

  it('a restarted command starts at the size the browser set', async () => {
    const { url } = await startRelay();
    const agent = await startAgent(url, { command: '/bin/sh', args: ['-c', 'echo started; read x; stty size; read y; exit 1'], restart: true });
    const client = new TestClient(agent.url);
    await client.waitForOutput('started');
    client.session.resize(101, 33);
    client.type('\r');
    await client.waitForOutput(/33 101\r?\n/);
    client.type('\r');
    await client.chunks.until(() => client.text.split('started').length === 3, 10_000, 'the restarted command');
    client.type('\r');
    await client.chunks.until(() => /33 101\r?\n[\s\S]*33 101\r?\n/.test(client.text), 10_000, 'stty size of the restarted command');
  });

  it('a command restarted while the relay was away (and came back) starts at the size the browser set', async () => {
    const dataDir = tempDir();
    const signals = tempDir();
    const go = join(signals, 'go');
    const first = await startRelay({ dataDir });
    // Each run prints its size, then ends once told to (a file appears).
    const agent = await startAgent(first.url, {
      command: '/bin/sh',
      args: ['-c', `stty size; while [ ! -e ${go} ]; do sleep 0.05; done; rm -f ${go}; exit 1`],
      restart: true,
    });
    const client = new TestClient(agent.url, { history: 'bytes' });
    await client.waitForOutput(/24 80\r?\n/);
    client.session.resize(101, 33);
    await client.session.delivered(); // the agent has the size
    writeFileSync(go, '');
    await client.waitForOutput(/24 80\r?\n[\s\S]*33 101\r?\n/); // the second run has the browser's size
    client.close();
    // The relay goes away and comes back; meanwhile nobody is connected.
    await first.close();
    await agent.events.next((e) => e.event === 'relay_disconnected');
    const mark = agent.events.items.length;
    await startRelay({ dataDir, port: first.port });
    await agent.events.next((e) => e.event === 'relay_connected', 15_000, 'the agent back on the relay', mark);
    // The command ends and starts again before anyone is back: it still gets the size last applied.
    writeFileSync(go, '');
    const later = new TestClient(agent.url, { history: 'bytes' });
    const text = await later.waitForOutput(/33 101\r?\n[\s\S]*\d+ \d+\r?\n/);
    expect(text.match(/\d+ \d+(?=\r?\n)/g)).toEqual(['24 80', '33 101', '33 101']);
  });

  it('a client watching a command that ended while the relay was away hears of its exit once back', { timeout: 40_000 }, async () => {
    const dataDir = tempDir();
    const go = join(tempDir(), 'go');
    const first = await startRelay({ dataDir });
    const agent = await startAgent(first.url, { command: '/bin/sh', args: ['-c', `echo waiting; while [ ! -e ${go} ]; do sleep 0.05; done; echo bye; exit 3`], stay: true });
    const client = new TestClient(agent.url, { history: 'bytes' }); // as `ccremote attach > file`
    await client.waitForOutput('waiting');
    await first.close();
    await agent.events.next((e) => e.event === 'relay_disconnected');
    writeFileSync(go, '');
    // The command ends while the relay is away (the agent gives up waiting to hand its last output over).
    await agent.events.next((e) => e.event === 'exit', 20_000, 'the exit at the agent');
    await startRelay({ dataDir, port: first.port });
    await client.waitForOutput('bye', 15_000);
    const exit = await client.exits.next((e) => e.terminal === 1, 10_000, 'the exit, at the client');
    expect(exit).toMatchObject({ terminal: 1, exit_code: 3, restarting: false });
  });

  it('re-registers after a relay restart that lost its records, instead of looping', async () => {
    const first = await startRelay();
    const agent = await startAgent(first.url);
    const oldId = agent.agent.agentId;
    const oldLink = agent.url;
    await first.close();
    await agent.events.next((e) => e.event === 'relay_disconnected');
    const second = await startRelay({ port: first.port });
    const ready = await agent.events.next((e) => e.event === 'ready' && e.agentId !== oldId, 15_000);
    expect(ready).toMatchObject({ event: 'ready', url: expect.stringContaining(second.url) });
    const client = new TestClient((ready as { url: string }).url);
    client.type('echo new-link-$((1+6))\r');
    await client.waitForOutput('new-link-7');
    // By now the agent has been connected a while: it registered exactly once and stays connected.
    expect(second.logs.items.filter((e) => e.event === 'agent_registered')).toHaveLength(1);
    expect(second.logs.items.filter((e) => e.event === 'agent_connected')).toHaveLength(1);
    const stale = new TestClient(oldLink);
    expect(await stale.waitForState('failed')).toMatchObject({ code: CloseCode.Unauthorized });
  });

  it('keeps agents and links across a relay restart with a data directory; everyone reconnects by themselves', async () => {
    const dataDir = tempDir();
    const first = await startRelay({ dataDir });
    const agent = await startAgent(first.url);
    const client = new TestClient(agent.url);
    await client.waitForState('online');
    await first.close();
    await client.states.next((s) => s.kind === 'waiting');
    const second = await startRelay({ dataDir, port: first.port });
    const mark = client.states.items.length;
    await client.waitForState('online', 15_000, mark);
    client.type('echo survived-$((6*6))\r');
    await client.waitForOutput('survived-36');
    expect(second.logs.items.filter((e) => e.event === 'agent_registered')).toEqual([]);
    expect(agent.events.items.filter((e) => e.event === 'ready')).toHaveLength(1);
  });
});

describe('input that does not fit', () => {
  it('a paste larger than the room left in the input queue is refused whole: none of it reaches the program', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/sh', args: rawCommand('exec cat > got.txt') });
    const client = new TestClient(agent.url, { maxQueuedInputBytes: 100_000 });
    await client.go();
    // A paste of two chunks, more than the session keeps unacknowledged, sent at once (nothing can be acknowledged meanwhile).
    const paste = `\x1b[200~${'p'.repeat(120_000)}\x1b[201~`;
    expect(client.session.sendData(paste)).toBe(false);
    expect(client.errors.items.map((e) => e.code)).toEqual(['input_queue_full']);
    expect(client.session.sendData('END')).toBe(true);
    const got = join(agent.cwd, 'got.txt');
    await waitFor(() => existsSync(got) && readFileSync(got, 'utf8').endsWith('END'), 10_000, 'END at the program');
    expect(readFileSync(got, 'utf8')).toBe('END');
  });
});
