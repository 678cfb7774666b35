// What the agent says when something goes wrong: a screen mirror that cannot start or dies is reported to
// the person and to every browser (which are told the screen cannot be restored, instead of getting a
// blank one), and a command that fails at once shows its last lines, in its own words.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, runCli } from './helpers/cli.js';
import { cleanup, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

const DYING_MIRROR = fileURLToPath(new URL('./fixtures/dying-mirror.mjs', import.meta.url));

/** A shell script that draws a status line on row 1, scrolls 200 KiB of lines below it, and waits. */
const STATUS_THEN_FLOOD = [
  '-c',
  `printf '\\033[2J\\033[1;1HSTATUS: all good\\033[2;24r\\033[24;1H'; i=0; while [ $i -lt 4000 ]; do echo "line $i of the flood, long enough to fill fifty bytes"; i=$((i+1)); done; echo flood-done; read x`,
];

describe('a screen mirror that does not work', () => {
  it('that cannot start: the agent warns, and a client that needs the screen is told it cannot be restored', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, {
      args: STATUS_THEN_FLOOD,
      bufferSize: 64 * 1024,
      mirrorWorker: join(tempDir(), 'no-such-worker.js'),
    });
    const warning = await agent.events.next((e) => e.event === 'warning', 10_000, 'a warning');
    expect(warning).toMatchObject({ event: 'warning', message: expect.stringMatching(/screen mirror does not work \(.*no-such-worker\.js/) });
    // A bytes client sees when the flood is over; a screen client connecting then needs the screen.
    const watcher = new TestClient(agent.url, { history: 'bytes' });
    await watcher.waitForOutput('flood-done', 20_000);
    const late = new TestClient(agent.url);
    const snapshot = await late.chunks.next((c) => c.kind === 'snapshot', 10_000, 'a snapshot');
    expect(snapshot).toMatchObject({ screen: 'unavailable', data: Buffer.alloc(0) });
    // What follows is the output still held: the end of the flood, but not the status line drawn before it.
    await late.waitForOutput('flood-done');
    expect(late.text).not.toContain('STATUS: all good');
    expect(late.text.length).toBeLessThanOrEqual(64 * 1024);
  });

  it('that dies: the agent warns, clients attached hear of it, and the program is not held back', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { mirrorWorker: DYING_MIRROR, bufferSize: 64 * 1024 });
    const client = new TestClient(agent.url);
    client.type('echo before-$((1+1))\r');
    await client.waitForOutput('before-2');
    client.session.resize(13, 20); // the fixture's cue to die
    const warning = await agent.events.next((e) => e.event === 'warning', 10_000, 'a warning');
    expect(warning).toMatchObject({ message: expect.stringMatching(/screen mirror does not work \(.*exit code 3\)/) });
    await client.errors.next((e) => /screen mirror does not work/.test(e.message), 10_000, 'the agent telling its clients');
    // 1 MiB of output (more than the mirror may fall behind, and than the agent keeps) goes through with nothing parsing it.
    client.type('i=0; while [ $i -lt 16384 ]; do echo "$i ................................................"; i=$((i+1)); done; echo after-$((2+2))\r');
    await client.waitForOutput(/after-4\r?\n/, 20_000);
    const late = new TestClient(agent.url);
    await late.chunks.next((c) => c.kind === 'snapshot' && c.screen === 'unavailable', 10_000, 'an unavailable snapshot');
  });
});

describe('a command that fails at once', () => {
  it('shows its last lines and exit code on the agent\'s terminal, and in --json', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const command = ['--', '/bin/sh', '-c', 'echo "starting up"; printf "\\033[31mError: cannot reach api.example.com (ECONNREFUSED)\\033[0m\\n" >&2; exit 7'];
    const text = runCli(['agent', '--relay', url, '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, ...command], shellEnv(home));
    expect((await text.exited).code).toBe(7);
    expect(text.stderr()).toMatch(/command exited with code 7 after \d+\.\d s\n.*Its last lines of output:\n.*│ starting up\n.*│ Error: cannot reach api\.example\.com \(ECONNREFUSED\)\n/);
    const json = runCli(['agent', '--relay', url, '--json', '--config-dir', join(home, 'config'), '--cwd', home, ...command], shellEnv(home));
    expect((await json.exited).code).toBe(7);
    expect(json.events.items).toContainEqual({
      event: 'exit',
      terminal: 1,
      name: expect.stringMatching(/ · sh$/),
      exitCode: 7,
      restarting: false,
      ranMs: expect.any(Number),
      lastLines: ['starting up', 'Error: cannot reach api.example.com (ECONNREFUSED)'],
    });
  });

  it('Claude Code that is not logged in says so, in its own words', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const url = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const claude = fileURLToPath(new URL('../node_modules/.bin/claude', import.meta.url));
    // A home of its own: no login, no API key.
    const agent = runCli(['agent', '--relay', url, '--no-qr', '--config-dir', join(home, 'config'), '--cwd', home, '--', claude, '-p', 'hello'], shellEnv(home));
    expect((await agent.exited).code).toBe(1);
    expect(agent.stderr()).toMatch(/command exited with code 1 after [\d.]+ s\n.*Its last lines of output:\n(.*│.*\n)*.*│ Not logged in/);
  });
});
