// Flow control end to end: the relay holds the program to the pace of the slowest client that keeps
// acknowledging, so a slow screen loses nothing, also after the agent restarts and when the program exits
// while its output is held back; without pacing, a slow client loses output. Relay and agent run as
// processes of their own, so that a client busy drawing slows only itself (one relay: the groups add
// nothing to what is measured here).

import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli } from './helpers/cli.js';
import { ClientSession } from '../src/client/session.js';
import type { Connect } from '../src/client/transport.js';
import { wsConnect } from '../src/net/ws-connect.js';
import { parseAccessLink } from '../src/protocol/index.js';
import { EventLog } from './helpers/wait.js';
import { RAW_READY, cleanup, rawCommand, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

describe('flow control', () => {
  // The slow client of the second case is ten times slower still, so that it falls behind the program
  // even on a loaded machine where the program itself is slow; the first case proves pacing holds
  // whatever the speeds are.
  for (const [what, window, lossless, processingMs] of [
    ['paces the program to a slow client that keeps acknowledging, so it loses nothing', undefined, true, 8],
    ['(without pacing, a slow client loses output)', '1G', false, 100],
  ] as const) {
    it(what, { timeout: 90_000 }, async () => {
      const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json', ...(window ? ['--flow-window', window] : [])]);
      const relayUrl = (await relay.events.next((e) => e.event === 'listening')).url as string;
      const home = tempDir();
      const total = 32 << 20; // far more than the relay's and the kernel's socket buffers hold
      const agent = runCli(
        ['agent', '--relay', relayUrl, '--json', '--config-dir', home, '--cwd', home, '--buffer-size', '1M', '--', '/bin/sh', ...rawCommand(`yes | head -c ${total}; exec sleep 3600`)],
        shellEnv(home),
      );
      const link = (await agent.events.next((e) => e.event === 'ready', 15_000)).url as string;
      const slow = new TestClient(link, { history: 'bytes', processingMs }); // 8 MB/s or 0.6 MB/s
      await slow.go();
      if (lossless) {
        await slow.chunks.until(() => slow.rawLength >= total, 60_000, 'the slow client to get everything');
        expect(createHash('sha256').update(slow.rawOutput).digest('hex')).toBe(createHash('sha256').update(Buffer.alloc(total, 'y\n')).digest('hex'));
      } else {
        await slow.gaps.next(() => true, 80_000, 'output lost by the slow client');
      }
    });
  }
});

describe('flow control across an agent restart', () => {
  it('paces the new run to a slow client that stayed connected, though the new stream starts below where the old one ended', { timeout: 90_000 }, async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const relayUrl = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const [before, after] = [20 << 20, 16 << 20]; // the new stream ends below where the old one did
    const agent = (total: number): ReturnType<typeof runCli> =>
      runCli(['agent', '--relay', relayUrl, '--json', '--config-dir', home, '--cwd', home, '--buffer-size', '1M', '--', '/bin/sh', ...rawCommand(`yes | head -c ${total}; exec sleep 3600`)], shellEnv(home));
    const first = agent(before);
    const link = (await first.events.next((e) => e.event === 'ready', 15_000)).url as string;
    const client = new TestClient(link, { history: 'bytes', processingMs: 0 }); // it acknowledges what it processed
    await client.go();
    await client.chunks.until(() => client.rawLength >= before, 60_000, 'the first run’s output');
    first.child.kill('SIGTERM');
    await first.exited;
    await client.waitForState('agent_offline');
    const from = client.chunks.items.length;
    const sinceRestart = (): Buffer => Buffer.concat(client.chunks.items.slice(from).map((c) => c.data));
    agent(after);
    await client.chunks.until(() => sinceRestart().includes(RAW_READY), 20_000, 'the new run to be ready');
    const start = client.length - sinceRestart().length + sinceRestart().indexOf(RAW_READY) + RAW_READY.length;
    client.processingMs = 50; // about 1.3 MB/s from now on
    client.type('\r');
    // Unpaced, the program would outrun the client by far more than the relay and the agent hold for it.
    await client.chunks.until(() => client.length - start >= after || client.gaps.items.length > 0, 60_000, 'the new run’s output');
    expect(client.gaps.items).toEqual([]);
    expect(client.output.subarray(start).equals(Buffer.alloc(after, 'y\n'))).toBe(true);
  });
});

describe('flow control at exit', () => {
  it('a command that exits while its output is held back still delivers all of it', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json', '--flow-window', '64K']);
    const relayUrl = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const total = 1 << 20;
    const agent = runCli(
      ['agent', '--relay', relayUrl, '--json', '--config-dir', home, '--cwd', home, '--', '/bin/sh', ...rawCommand(`yes | head -c ${total}; exit 3`)],
      shellEnv(home),
    );
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000)).url as string;
    const slow = new TestClient(link, { history: 'bytes', processingMs: 20 }); // about 3 MB/s
    await slow.go();
    await slow.exits.next((m) => m.exit_code === 3, 60_000, 'the exit status');
    expect(slow.rawLength).toBe(total);
    expect((await agent.exited).code).toBe(3);
  });
});


describe('acknowledgements of a session given up', () => {
  it('a slow screen that finishes drawing one session after switching to another does not acknowledge the other with its positions', { timeout: 60_000 }, async () => {
    const relay = await startRelay();
    const [first, second] = [1 << 20, 300_000];
    const agent = await startAgent(relay.url, { command: '/bin/sh', args: rawCommand(`head -c ${first} /dev/zero | tr '\\0' a; exec sleep 3600`) });
    const link = parseAccessLink(agent.url);
    // What the client told the relay it processed, as sent.
    const acks = new EventLog<{ terminal: number; offset: number }>();
    const base = wsConnect(new URL(link.relayUrl).origin);
    const connect: Connect = (url, handlers) => {
      const socket = base(url, handlers);
      return {
        send: (data) => {
          if (typeof data === 'string' && JSON.parse(data).type === 'ack') acks.push(JSON.parse(data));
          socket.send(data);
        },
        close: (code, reason) => socket.close(code, reason),
      };
    };
    // Output as it came, each with what tells the session it was processed, held like a screen still drawing.
    const outputs = new EventLog<{ terminal: number | null; text: string; end: number; processed: () => void }>();
    const session = new ClientSession({
      relayUrl: link.relayUrl,
      agentId: link.agentId,
      credential: { kind: 'link', secret: link.secret, readOnly: false },
      connect,
      history: 'bytes',
      watch: 1,
      manualAck: true,
      events: { output: (data, end, processed) => outputs.push({ terminal: session.watching, text: Buffer.from(data).toString(), end, processed }) },
    });
    session.start();
    const received = (terminal: number, from = 0): number => outputs.items.slice(from).filter((o) => o.terminal === terminal).reduce((n, o) => n + o.text.length, 0);
    await outputs.until(() => outputs.items.some((o) => o.text.includes(RAW_READY)), 20_000, 'the first session to be ready');
    session.sendData('\r');
    await outputs.until(() => received(1) >= RAW_READY.length + first, 20_000, 'the first session’s output');
    const other = await session.startSession({ kind: 'command', command: ['/bin/sh', ...rawCommand(`head -c ${second} /dev/zero | tr '\\0' b; exec sleep 3600`)] });
    const switched = outputs.items.length;
    session.watch(other);
    await outputs.until(() => outputs.items.slice(switched).some((o) => o.terminal === other && o.text.includes(RAW_READY)), 20_000, 'the second session to be ready');
    session.sendData('\r');
    await outputs.until(() => received(other, switched) >= RAW_READY.length + second, 20_000, 'the second session’s output');
    // The screen finishes drawing: first what it had of the first session, then the second's.
    for (const output of outputs.items) output.processed();
    const end = outputs.items.at(-1)!.end;
    await acks.until((items) => items.some((a) => a.terminal === other && a.offset === end), 10_000, 'the second session’s output acknowledged');
    expect(acks.items.filter((a) => a.terminal === other && a.offset > end)).toEqual([]);
    session.close();
  });
});
