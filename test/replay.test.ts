// No replay, no rewind: a hostile relay that records what passes through it gets nothing out of playing
// it back. Input recorded before an agent restart does not run again after it; a snapshot or output
// recorded on an earlier connection, or from a process that ended, is refused; an exit status from
// another run is refused, and `attach` exits with the real one. (Every connection has keys of its own:
// protocol/channel.ts.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, decodeFrame, encodeFromClient, type FromClientFrame } from '../src/protocol/index.js';
import { killAll, runCli } from './helpers/cli.js';
import { relayBehindHostile, type Tapped } from './helpers/hostile-relay.js';
import { cleanup, startAgent, TestClient } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

const json = (m: Tapped): Record<string, unknown> | undefined => (m.binary ? undefined : (JSON.parse(m.data.toString()) as Record<string, unknown>));

describe('a relay that records and plays back', () => {
  it('input recorded before the agent restarts does not run again after it', async () => {
    const { hostile, through } = await relayBehindHostile();
    const first = await startAgent(hostile.url);
    const client = new TestClient(through(first.url));
    await client.waitForState('online');
    client.type('echo ran >> runs.txt; echo typed-$((20+2))\r');
    await client.waitForOutput(/typed-22\r?\n/);
    // Everything the client's input became on its way to the agent, as the relay saw it.
    const recorded = hostile
      .messages('agent', 'down')
      .filter((m) => m.binary && m.data[0] === FrameType.FromClient)
      .map((m) => decodeFrame(m.data) as FromClientFrame)
      .filter((f) => f.inner[0] === FrameType.Input);
    expect(recorded.length).toBeGreaterThan(0);

    await first.close();
    const second = await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd });
    await client.waitForState('online', 15_000, client.states.items.length);
    // The relay plays the recorded input back to the new agent process, as from the client it now has.
    const agentConnection = hostile.connections('agent');
    const joined = hostile.messages('agent', 'down').filter((m) => m.connection === agentConnection && json(m)?.type === 'client_joined').at(-1)!;
    const current = json(joined)!.client as number;
    for (const frame of recorded) hostile.inject('agent', agentConnection, encodeFromClient(current, frame.inner));
    await second.events.until((events) => events.filter((e) => e.event === 'input_rejected').length >= recorded.length, 10_000, 'every replayed frame refused');
    for (const event of second.events.items.filter((e) => e.event === 'input_rejected')) {
      expect(event).toMatchObject({ reason: expect.stringMatching(/failed authentication/) });
    }
    // What the client types now runs; what was recorded did not run again.
    client.type('echo checked-$((1+2))\r');
    await client.waitForOutput(/checked-3\r?\n/);
    expect(readFileSync(join(first.cwd, 'runs.txt'), 'utf8')).toBe('ran\n');
  });

  it('a snapshot from an earlier connection, or output of a process that ended, is refused', async () => {
    const { hostile, through } = await relayBehindHostile();
    const first = await startAgent(hostile.url);
    const client = new TestClient(through(first.url));
    await client.waitForState('online');
    client.type('echo before-$((3*3))\r');
    await client.waitForOutput(/before-9\r?\n/);
    const snapshot = hostile.messages('client', 'down').find((m) => m.binary && m.data[0] === FrameType.Snapshot)!;
    const output = hostile.messages('client', 'down').filter((m) => m.binary && m.data[0] === FrameType.Output).at(-1)!;
    expect(snapshot).toBeDefined();

    // A new connection: the snapshot recorded on the first one does not open on it.
    hostile.cut('client', 1);
    await client.waitForState('online', 15_000, client.states.items.length);
    let errors = client.errors.items.length;
    hostile.inject('client', hostile.connections('client'), snapshot.data);
    expect(await client.errors.next((e) => e.code === 'integrity', 10_000, 'the old snapshot refused', errors)).toMatchObject({
      message: expect.stringMatching(/failed authentication/),
    });
    await client.waitForState('online', 15_000, client.states.items.length);

    // A new agent process: output of the one that ended does not open either, though the relay says it is the agent's.
    await first.close();
    await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd });
    await client.waitForState('online', 15_000, client.states.items.length);
    errors = client.errors.items.length;
    const chunks = client.chunks.items.length;
    hostile.inject('client', hostile.connections('client'), output.data);
    expect(await client.errors.next((e) => e.code === 'integrity', 10_000, 'the old stream refused', errors)).toMatchObject({
      message: expect.stringMatching(/failed authentication/),
    });
    // The session goes on with the new process; nothing of the old one reached the screen.
    client.type('echo after-$((2*5))\r');
    await client.waitForOutput(/after-10\r?\n/);
    expect(client.chunks.items.slice(chunks).filter((c) => c.data.includes('before-9'))).toEqual([]);
  });

  it("an exit status from another run is refused; attach exits with the command's real code", async () => {
    const { hostile, through } = await relayBehindHostile();
    // A first run that succeeds: the relay keeps its exit status.
    const first = await startAgent(hostile.url, { args: ['-c', 'read x; exit 0'] });
    const watcher = new TestClient(through(first.url));
    await watcher.waitForState('online');
    watcher.type('\r');
    await watcher.exits.next((e) => e.exit_code === 0, 10_000, 'the first run exits 0');
    const success = hostile.messages('client', 'down').find((m) => json(m)?.type === 'status')!;
    watcher.close();
    await first.agent.done;

    // A second run of the same agent that fails; the relay tells attach it succeeded.
    const second = await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd, args: ['-c', 'read x; echo failing; exit 3'] });
    const attach = runCli(['attach', through(second.url)]);
    await new Promise<void>((resolve) => attach.child.stderr.on('data', () => attach.stderr().includes('connected to') && resolve()));
    hostile.inject('client', hostile.connections('client'), success.data.toString());
    attach.child.stdin.write('\n');
    const { code } = await attach.exited;
    expect(code).toBe(3);
    expect(attach.stderr()).toMatch(/exit status from the agent was refused/);
    expect(attach.stdout().toString()).toContain('failing');
  });
});
