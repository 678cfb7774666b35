// Lossless sessions: output is never lost, duplicated or reordered across cut connections and a relay
// killed mid-stream; a client too far behind gets the exact screen; memory stays bounded behind a
// stalled client; input is applied exactly once; Ctrl-C works under a flood.

import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli } from './helpers/cli.js';
import { CutProxy } from './helpers/cut-proxy.js';
import { RAW_READY, admittedRawClient, cleanup, memory, openRawChannel, rawCommand, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';
import { parseAccessLink, randomId } from '../src/protocol/index.js';

const proxies: CutProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close();
  killAll();
  await cleanup();
});

async function proxy(port: number): Promise<CutProxy> {
  const p = await CutProxy.start(port);
  proxies.push(p);
  return p;
}

/** A file of `bytes` bytes of terminal text, and its SHA-256. */
function textFile(bytes: number): { path: string; sha256: string } {
  // Lines of 44 base64 characters (a SHA-256 each) and a newline: 45 bytes a line.
  const lines = Array.from({ length: Math.ceil(bytes / 45) + 1 }, () => createHash('sha256').update(randomId()).digest('base64'));
  const data = Buffer.from(`${lines.join('\n')}\n`).subarray(0, bytes);
  if (data.length !== bytes) throw new Error('test file too short');
  const path = join(tempDir(), 'output.txt');
  writeFileSync(path, data);
  return { path, sha256: createHash('sha256').update(data).digest('hex') };
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * An agent at `relayUrl` with two sessions, each printing a file of its own of `total` bytes once a key
 * comes, and a bytes client watching each; both sessions are started.
 */
async function twoPrintingSessions(relayUrl: string, total: number) {
  const [one, two] = [textFile(total), textFile(total)];
  const agent = await startAgent(relayUrl, { command: '/bin/sh', args: rawCommand(`cat ${one.path}; exec sleep 3600`) });
  const first = new TestClient(agent.url, { history: 'bytes', watch: 1 });
  await first.waitForOutput(RAW_READY);
  const second = await first.session.startSession({ kind: 'command', command: ['/bin/sh', ...rawCommand(`cat ${two.path}; exec sleep 3600`)] });
  const other = new TestClient(agent.url, { history: 'bytes', watch: second });
  await other.waitForOutput(RAW_READY);
  await Promise.all([first.go(), other.go()]);
  return { agent, one, two, first, other, second };
}

describe('output survives cut connections', () => {
  it('every client gets exactly what the PTY produced while connections are cut at random', { timeout: 180_000 }, async () => {
    const relay = await startRelay();
    const clientSide = await proxy(relay.port);
    const agentSide = await proxy(relay.port);
    const total = 24 << 20;
    const file = textFile(total);
    // Raw mode: the PTY passes the file's bytes through unchanged.
    const agent = await startAgent(agentSide.url, { command: '/bin/sh', args: rawCommand(`cat ${file.path}; exec sleep 3600`) });
    const link = agent.url.replace(agentSide.url, clientSide.url);
    const clients = [new TestClient(link, { history: 'bytes' }), new TestClient(link, { history: 'bytes' })];
    await Promise.all(clients.map((c) => c.waitForOutput(RAW_READY)));
    await clients[0]!.go();
    clientSide.cutRandomly(50, 400);
    agentSide.cutRandomly(100, 600);
    // However fast the stream goes, a connection is also cut after every 0.5–2 MiB the first client receives
    // (at least 12 cuts: the client side always has one open, the one those bytes just came through).
    let nextCut = 0;
    const cutOnProgress = clients[0]!.chunks.subscribe(() => {
      if (clients[0]!.rawLength < nextCut) return;
      nextCut = clients[0]!.rawLength + (512 << 10) + Math.random() * (1536 << 10);
      if (Math.random() >= 0.5 || !agentSide.cutOne()) clientSide.cutOne();
    });
    await Promise.all(clients.map((c) => c.chunks.until(() => c.rawLength >= total || c.gaps.items.length > 0, 120_000, 'all the output')));
    cutOnProgress();
    clientSide.stop();
    agentSide.stop();
    expect(clientSide.cuts + agentSide.cuts).toBeGreaterThan(10);
    for (const client of clients) {
      expect(client.gaps.items).toEqual([]);
      // An honest relay never trips the end-to-end checks, however its connections are cut.
      expect(client.errors.items.filter((e) => e.code === 'integrity')).toEqual([]);
      expect(client.rawLength).toBe(total);
      expect(sha256(client.rawOutput)).toBe(file.sha256);
    }
  });

  it('every client gets exactly what the PTY produced when the relay is killed mid-stream and started again seconds later', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    const start = (port: string): ReturnType<typeof runCli> => runCli(['relay', '--port', port, '--host', '127.0.0.1', '--data-dir', dataDir, '--json']);
    let relay = start('0');
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const port = new URL(url).port;
    const total = 24 << 20;
    const file = textFile(total);
    const agent = await startAgent(url, { command: '/bin/sh', args: rawCommand(`cat ${file.path}; exec sleep 3600`) });
    const clients = [new TestClient(agent.url, { history: 'bytes' }), new TestClient(agent.url, { history: 'bytes' })];
    await Promise.all(clients.map((c) => c.waitForOutput(RAW_READY)));
    await clients[0]!.go();
    await clients[0]!.chunks.until(() => clients[0]!.rawLength > 2 << 20, 30_000, 'the stream to be under way');
    const killedAt = Date.now();
    relay.child.kill('SIGKILL');
    await relay.exited;
    expect(clients[0]!.rawLength).toBeLessThan(total);
    // The relay stays down while the agent keeps trying to reach it for 4 s: meanwhile the program prints
    // far more than the agent's 4 MiB buffer holds, so nothing of it may be read before the clients are back.
    const failed = agent.events.items.length;
    await agent.events.until(
      (events) => Date.now() - killedAt > 4000 && events.slice(failed).filter((e) => e.event === 'relay_disconnected').length >= 2,
      30_000,
      'the agent to have tried to reach the relay for 4 s',
    );
    relay = start(port);
    await relay.events.next((e) => e.event === 'listening');
    await Promise.all(clients.map((c) => c.chunks.until(() => c.rawLength >= total || c.gaps.items.length > 0, 120_000, 'all the output')));
    for (const client of clients) {
      expect(client.gaps.items).toEqual([]);
      expect(client.errors.items.filter((e) => e.code === 'integrity')).toEqual([]);
      expect(client.rawLength).toBe(total);
      expect(sha256(client.rawOutput)).toBe(file.sha256);
      expect(client.states.items.some((s) => s.kind === 'waiting')).toBe(true);
    }
  });
});

describe('several sessions', () => {
  it('each client gets exactly what its session’s PTY produced when the relay is killed mid-stream and started again', { timeout: 180_000 }, async () => {
    const dataDir = tempDir();
    const start = (port: string): ReturnType<typeof runCli> => runCli(['relay', '--port', port, '--host', '127.0.0.1', '--data-dir', dataDir, '--json']);
    let relay = start('0');
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const port = new URL(url).port;
    const total = 8 << 20;
    const { agent, one, two, first, other, second } = await twoPrintingSessions(url, total);
    await first.chunks.until(() => first.rawLength > 1 << 20, 30_000, 'the streams to be under way');
    relay.child.kill('SIGKILL');
    await relay.exited;
    await agent.events.next((e) => e.event === 'relay_disconnected', 10_000, 'the agent to notice');
    relay = start(port);
    await relay.events.next((e) => e.event === 'listening');
    for (const [client, file] of [[first, one], [other, two]] as const) {
      await client.chunks.until(() => client.rawLength >= total || client.gaps.items.length > 0, 120_000, 'all of its session’s output');
      expect(client.gaps.items).toEqual([]);
      expect(client.errors.items.filter((e) => e.code === 'integrity')).toEqual([]);
      expect(client.rawLength).toBe(total);
      expect(sha256(client.rawOutput)).toBe(file.sha256);
    }
    expect(first.session.watching).toBe(1);
    expect(other.session.watching).toBe(second);
  });
});

describe('several sessions across an agent restart', () => {
  it('each client has every byte its session printed before the agent stopped; then the first session\'s new run, and no more of the sessions that ended with it', { timeout: 120_000 }, async () => {
    const relay = await startRelay();
    const total = 2 << 20;
    const { agent, one, two, first, other, second } = await twoPrintingSessions(relay.url, total);
    for (const [client, file] of [[first, one], [other, two]] as const) {
      await client.chunks.until(() => client.rawLength >= total, 60_000, 'all of its session’s output');
      expect(client.rawLength).toBe(total);
      expect(sha256(client.rawOutput)).toBe(file.sha256);
    }
    await agent.close();
    await first.waitForState('agent_offline');
    // The agent again, with its identity: its first session is a new run of its command; the other ended with it.
    await startAgent(relay.url, { configDir: agent.configDir, cwd: agent.cwd, command: '/bin/sh', args: ['-c', 'echo new-run-$((3*3)); exec sleep 3600'] });
    await first.waitForOutput('new-run-9', 20_000);
    expect(first.session.watching).toBe(1);
    const list = await other.sessionLists.next((sessions) => sessions.length > 0 && sessions.every((s) => s.terminal !== second), 20_000, 'the new agent’s list');
    expect(list.map((s) => s.terminal)).toEqual([1]);
    for (const client of [first, other]) {
      expect(client.errors.items.filter((e) => e.code === 'integrity')).toEqual([]);
      expect(client.gaps.items).toEqual([]);
    }
  });
});

describe('a client further behind than the buffer', () => {
  it('gets a snapshot that makes its screen equal to the agent\'s', async () => {
    const relay = await startRelay();
    const side = await proxy(relay.port);
    // Lots of coloured output (far more than the 64 KiB buffer), then a full-screen program's screen.
    const script = join(tempDir(), 'draw.sh');
    writeFileSync(
      script,
      [
        'read go',
        'i=0; while [ $i -lt 3000 ]; do printf "\\033[3%dmline %d of the long history\\033[0m\\n" $((i % 8)) $i; i=$((i+1)); done',
        'printf "\\033[?1049h\\033[2J\\033[5;10H\\033[1;31mFULL SCREEN\\033[0m\\033[8;3Hstatus: \\033[42m ok \\033[0m\\033[?25l"',
        'printf "\\033]0;window title\\007\\033[12;20H"',
        'echo done-drawing > /dev/null',
        'read wait',
      ].join('\n'),
    );
    const agent = await startAgent(relay.url, { command: '/bin/sh', args: [script], bufferSize: 64 * 1024 });
    const reference = new TestClient(agent.url, { history: 'bytes' }); // connected directly, all along
    const link = agent.url.replace(relay.url, side.url);
    const client = new TestClient(link, { origin: side.url });
    await Promise.all([reference.waitForState('online'), client.waitForState('online')]);
    side.refuse(true);
    side.cutAll();
    await client.states.next((s) => s.kind === 'waiting');
    reference.type('\r');
    await reference.chunks.until(() => reference.text.includes('\x1b[12;20H'), 20_000, 'the drawing to finish');
    side.refuse(false);
    await client.chunks.next((c) => c.kind === 'snapshot', 20_000, 'a snapshot', client.chunks.items.length);
    const screen = async (chunks: Array<{ kind: string; data: Buffer }>): Promise<string> => {
      const term = new headless.Terminal({ cols: 80, rows: 24, scrollback: 1000, allowProposedApi: true });
      const serializer = new serialize.SerializeAddon();
      term.loadAddon(serializer as never);
      for (const chunk of chunks) {
        if (chunk.kind === 'snapshot') term.reset();
        await new Promise<void>((resolve) => term.write(chunk.data, resolve));
      }
      const text = serializer.serialize({ scrollback: 200 });
      term.dispose();
      return text;
    };
    const got = await screen(client.chunks.items);
    const expected = await screen(reference.chunks.items);
    expect(got).toContain('FULL SCREEN');
    expect(got).toBe(expected);
  });
});

describe('bounded memory', () => {
  it('a stalled client costs relay and agent a bounded amount while another client receives everything', { timeout: 180_000 }, async () => {
    // Under a flood both processes' memory grows to a plateau (V8 heaps, buffers waiting for collection),
    // whatever the amount of output; the agent's reaches it in its second 64 MiB. One agent prints three
    // floods of 64 MiB to one reader, each after a key. The first two set the plateau in the same processes;
    // during the third a second client watches and reads nothing, and the peaks may rise above the plateau
    // only by what waits for it (~2 MiB at the relay). Unbounded, they would rise by at least the 64 MiB
    // the stalled client did not read.
    const total = 64 << 20;
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const relayUrl = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const flood = `yes | head -c ${total}`;
    const floods = [flood, flood, flood].join('; head -c1 >/dev/null; ');
    const agent = runCli(['agent', '--relay', relayUrl, '--json', '--config-dir', home, '--cwd', home, '--', '/bin/sh', ...rawCommand(`${floods}; exec sleep 3600`)], shellEnv(home));
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000)).url as string;
    const reader = new TestClient(link, { history: 'bytes' });
    await reader.waitForState('online');
    const peak = (): { relay: number; agent: number } => ({ relay: memory(relay.child.pid!, 'VmHWM'), agent: memory(agent.child.pid!, 'VmHWM') });
    const read = (n: number): Promise<unknown> => reader.chunks.until(() => reader.rawLength >= n * total, 120_000, `the reader to get flood ${n}`);

    await reader.go();
    await read(1);
    reader.type('\r');
    await read(2);
    const plain = peak();

    const { agentId, secret } = parseAccessLink(link);
    const credential = { kind: 'link', secret, readOnly: false } as const;
    const { raw: stalled, session } = await admittedRawClient(relayUrl, agentId, credential);
    // It watches the program's session, then reads nothing more.
    await openRawChannel(stalled, agentId, credential, { session, history: 'bytes', watch: { terminal: 1 } });
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    reader.type('\r');
    await read(3);
    const withStalled = peak();
    expect(sha256(reader.rawOutput)).toBe(sha256(Buffer.alloc(3 * total, 'y\n')));
    // The margin above the ~2 MiB is for the collector's timing, which varies with load on the machine.
    expect(withStalled.relay - plain.relay).toBeLessThan(32 << 20);
    expect(withStalled.agent - plain.agent).toBeLessThan(32 << 20);
    reader.close();
  });
});

describe('input', () => {
  it('is applied exactly once, even when the connection is cut right after sending it', async () => {
    const relay = await startRelay();
    const side = await proxy(relay.port);
    const agent = await startAgent(relay.url);
    const client = new TestClient(agent.url.replace(relay.url, side.url), { origin: side.url });
    await client.waitForState('online');
    for (let n = 1; n <= 5; n++) {
      client.type(`echo once-$((${n}*1000))\r`);
      side.cutAll();
    }
    // The shell echoes the commands as "once-$((n*1000))"; only their output reads "once-1000" and so on.
    for (let n = 1; n <= 5; n++) await client.waitForOutput(new RegExp(`once-${n * 1000}\\r?\\n`), 20_000);
    // A last marker makes sure nothing is still on its way, then each output must appear once.
    client.type('echo marker-$((6*7))\r');
    await client.waitForOutput(/marker-42\r?\n/, 20_000);
    for (let n = 1; n <= 5; n++) expect(client.text.match(new RegExp(`once-${n * 1000}\\r?\\n`, 'g'))).toHaveLength(1);
  });

  it('typed while the agent is away is queued and delivered once it is back', async () => {
    const relay = await startRelay();
    const first = await startAgent(relay.url);
    const client = new TestClient(first.url);
    await client.waitForState('online');
    await first.close();
    await client.waitForState('agent_offline');
    client.type('echo queued-$((40+2))\r');
    const second = await startAgent(relay.url, { configDir: first.configDir, cwd: first.cwd });
    await second.events.next((e) => e.event === 'relay_connected');
    // The queued line may reach the new shell before it prints its prompt: the terminal then echoes it
    // first, and the result follows the prompt ("$ queued-42"). Only the result reads "queued-42".
    await client.waitForOutput(/queued-42\r?\n/, 20_000);
    client.type('echo after-$((1+1))\r');
    await client.waitForOutput(/after-2\r?\n/);
    expect(client.text.match(/queued-42\r?\n/g)).toHaveLength(1);
  });
});

describe('Ctrl-C', () => {
  it('stops a flood: the prompt comes back', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { command: '/bin/bash', args: ['--norc', '--noprofile', '-i'], env: { ...shellEnv(tempDir()), PS1: 'PROMPT> ' } });
    const client = new TestClient(agent.url, { history: 'bytes' });
    await client.waitForOutput('PROMPT> ');
    client.type('yes\r');
    await client.chunks.until(() => client.length > 4 << 20, 20_000, 'the flood');
    const mark = client.length;
    client.type('\x03');
    await client.chunks.until(() => client.output.subarray(mark).includes('PROMPT> '), 10_000, 'the prompt after Ctrl-C');
  });
});
