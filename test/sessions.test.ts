// Several sessions on one agent: started, listed, switched between, ended and dismissed from a client;
// what each session's input and output reach; who may start and end them; the agent's own limits and
// folders; and the same from a terminal (`ccremote sessions`, `attach --session`, `attach --new`).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, HandshakeStep, encodeChannelMessage, encodeFromClient, parseAccessLink, sealChannel } from '../src/protocol/index.js';
import type { Connect, Transport } from '../src/client/transport.js';
import { wsConnect } from '../src/net/ws-connect.js';
import { EventLog } from './helpers/wait.js';
import { relayBehindHostile } from './helpers/hostile-relay.js';
import { killAll, runCli } from './helpers/cli.js';
import { admittedRawClient, channelMessages, cleanup, openRawChannel, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';
import { waitFor } from './helpers/wait.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

/** A phone on an agent whose first session prints all the time, and a quiet second session (a shell). */
async function busyAndQuiet(): Promise<{ phone: TestClient; quiet: number }> {
  const relay = await startRelay();
  const agent = await startAgent(relay.url, { args: ['-c', 'i=0; while true; do echo "busy line $i"; i=$((i+1)); done'] });
  const phone = new TestClient(agent.url);
  await phone.waitForOutput('busy line');
  return { phone, quiet: await phone.session.startSession({ kind: 'shell' }) };
}

/** `phone` kept its first connection all along, and heard of no error. */
function expectOneConnection(phone: TestClient): void {
  expect(phone.errors.items).toEqual([]);
  expect(phone.states.items.filter((s) => s.kind !== 'online' && s.kind !== 'connecting')).toEqual([]);
  expect(phone.states.items.filter((s) => s.kind === 'connecting')).toHaveLength(1);
}

describe('sessions from a client', () => {
  it('starts a second and third session, switches between them, and each one’s input reaches only its own program', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    expect(phone.session.watching).toBe(1);
    const shell = await phone.session.startSession({ kind: 'shell' });
    const other = await phone.session.startSession({ kind: 'command', command: ['/bin/sh'], cwd: agent.cwd });
    expect([shell, other]).toEqual([2, 3]);
    const listed = await phone.sessionLists.next((list) => list.length === 3, 10_000, 'three sessions');
    expect(listed.map((s) => [s.terminal, s.kind, s.state])).toEqual([
      [1, 'command', 'running'],
      [2, 'shell', 'running'],
      [3, 'command', 'running'],
    ]);
    expect(listed[2]).toMatchObject({ cwd: realpathSync(agent.cwd), command: '/bin/sh', waiting: false });

    // Each session gets what is typed while it is watched, and only that.
    for (const terminal of [2, 3, 1]) {
      phone.session.watch(terminal);
      await phone.watchings.next((t) => t === terminal, 10_000, `watching ${terminal}`);
      phone.type(`echo in-session-${terminal} > marker-${terminal}.txt; echo typed-into-$((${terminal}*11))\r`);
      await phone.waitForOutput(`typed-into-${terminal * 11}`);
    }
    for (const terminal of [1, 2, 3]) expect(readFileSync(join(agent.cwd, `marker-${terminal}.txt`), 'utf8')).toBe(`in-session-${terminal}\n`);
    // A second client watching session 2 sees none of session 3's output.
    const tablet = new TestClient(agent.url, { watch: 2 });
    await tablet.watchings.next((t) => t === 2, 10_000, 'the tablet on session 2');
    phone.session.watch(3);
    await phone.watchings.next((t) => t === 3);
    phone.type('echo only-in-three-$((3*3))\r');
    await phone.waitForOutput('only-in-three-9');
    tablet.type('echo tablet-in-two-$((2*2))\r');
    await tablet.waitForOutput('tablet-in-two-4');
    expect(tablet.text).not.toContain('only-in-three-9');
  });

  it('switching away from a session that prints all the time loses no connection: its output still on the way is not shown', async () => {
    const { phone, quiet } = await busyAndQuiet();
    for (let round = 0; round < 6; round++) {
      phone.session.watch(quiet);
      await phone.watchings.next((t) => t === quiet, 10_000, 'on the quiet one', phone.watchings.items.length - 1);
      phone.type(`echo quiet-round-${round}-$((${round}+100))\r`);
      await phone.waitForOutput(`quiet-round-${round}-${round + 100}`);
      expect(phone.text).not.toContain('busy line');
      phone.session.watch(1);
      await phone.waitForOutput('busy line');
    }
    expectOneConnection(phone);
  });

  it('switching away from a printing session and straight back loses no connection: its output from the watch before is passed over', async () => {
    const { phone, quiet } = await busyAndQuiet();
    for (let round = 0; round < 10; round++) {
      // Back before the relay heard of the first switch: output of session 1 sent under the key of the
      // watch before is still on its way when the client already waits for the new watch's key.
      phone.session.watch(quiet);
      phone.session.watch(1);
      const keys = phone.streamKeys.items.length;
      await phone.streamKeys.next(() => true, 10_000, `the key of round ${round}`, keys);
      const from = phone.chunks.items.length;
      await expect.poll(() => phone.chunks.items.length, { timeout: 10_000 }).toBeGreaterThan(from);
    }
    expectOneConnection(phone);
  });

  it('output of a session nobody watches stays at the agent: the relay gets none of it, and a client that watches it later gets all of it', async () => {
    const relay = await startRelay({ metrics: { host: '127.0.0.1', port: 0 } }, { alone: true });
    const metrics = relay.logs.items.find((e) => e.event === 'metrics_listening')!.url as string;
    const fromAgent = async (): Promise<number> => Number(/^ccremote_received_bytes_total\{from="agent"\} (\d+)$/m.exec(await (await fetch(metrics)).text())?.[1]);
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const before = await fromAgent();
    // A megabyte printed in a session nobody watches (the phone stays on session 1).
    const script = `head -c 1000000 /dev/zero | tr '\\0' x; echo; echo unwatched-end-$((6*7)); echo > printed.txt; exec cat`;
    const quiet = await phone.session.startSession({ kind: 'command', command: ['/bin/sh', '-c', script], cwd: agent.cwd });
    await expect.poll(() => existsSync(join(agent.cwd, 'printed.txt')), { timeout: 30_000 }).toBe(true);
    expect(await fromAgent()).toBeLessThan(before + 100_000);
    // A client that watches it now, asking for the bytes, gets every one.
    const later = new TestClient(agent.url, { history: 'bytes', watch: quiet });
    await later.waitForOutput('unwatched-end-42', 20_000);
    expect(later.text.split('x').length - 1).toBe(1_000_000);
    // One that asks for the screen gets it as the program left it.
    const screen = new TestClient(agent.url, { watch: quiet });
    await screen.waitForOutput('unwatched-end-42', 20_000);
    expect(screen.chunks.items[0]?.kind).toBe('snapshot');
    // While watched, its output goes out live: the terminal's echo of what is typed, then `cat`'s.
    later.type('live-after-watch\r');
    await expect.poll(() => later.text.split('live-after-watch').length - 1, { timeout: 10_000 }).toBe(2);
  });

  it('switching faster than the agent allows is refused; picking the session again once it allows shows it', { timeout: 60_000 }, async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForOutput('$ ');
    const second = await phone.session.startSession({ kind: 'shell' });
    /** Watches `terminal`; resolves with how the agent answered: its stream key, or a refusal. */
    const watch = async (terminal: number): Promise<'taken' | 'refused'> => {
      const [keys, errors] = [phone.streamKeys.items.length, phone.errors.items.length];
      phone.session.watch(terminal);
      return waitFor(
        () =>
          phone.streamKeys.items.slice(keys).some((k) => k.terminal === terminal) ? 'taken' : phone.errors.items.slice(errors).some((e) => e.code === 'refused') ? 'refused' : undefined,
        10_000,
        `the answer to the watch of ${terminal}`,
      );
    };
    // Back and forth as fast as the answers come: 30 switches at once are allowed, then 2 a second.
    let answer: 'taken' | 'refused' = 'taken';
    let target = 1;
    for (let switches = 0; answer === 'taken'; switches++) {
      expect(switches).toBeLessThan(60);
      target = phone.session.watching === 1 ? second : 1;
      answer = await watch(target);
    }
    expect(phone.errors.items.at(-1)!.message).toMatch(/Switching sessions too fast; try again in \d+ s/);
    expect(phone.session.watching).toBe(target); // followed, but not shown
    // The person picks it again, a few times a second, until the agent allows it (each pick is answered).
    while ((await watch(target)) === 'refused') await new Promise((resolve) => setTimeout(resolve, 100));
    phone.type('echo back-$((6*7))\r');
    await phone.waitForOutput('back-42');
  });

  it('ends a session (its last screen stays until dismissed) and the agent ends with its last one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const second = await phone.session.startSession({ kind: 'shell' });
    phone.session.watch(second);
    await phone.watchings.next((t) => t === second);
    phone.type('echo last-words-$((5*5))\r');
    await phone.waitForOutput('last-words-25');
    phone.session.endSession(second);
    const exit = await phone.exits.next((e) => e.terminal === second, 10_000, 'the ended session’s exit');
    expect(exit.signal ?? exit.exit_code).toBeDefined();
    const ended = await phone.sessionLists.next((list) => list.some((s) => s.terminal === second && s.state === 'exited'), 10_000, 'listed as ended');
    expect(ended.find((s) => s.terminal === second)?.state).toBe('exited');
    // Still readable: a new client watching it gets its last screen.
    const reader = new TestClient(agent.url, { watch: second });
    await reader.waitForOutput('last-words-25');
    phone.session.dismissSession(second);
    await phone.sessionLists.next((list) => list.every((s) => s.terminal !== second), 10_000, 'dismissed');
    // The agent ran on while session 1 ran; when it ends, the agent ends with its code.
    phone.session.watch(1);
    await phone.watchings.next((t) => t === 1);
    phone.type('exit 4\r');
    expect(await agent.agent.done).toBe(4);
  });

  it('keeps running when its first session ends while another runs; plain `attach` joins the most recently active one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const second = await phone.session.startSession({ kind: 'command', command: ['/bin/sh', '-c', 'echo latest-$((8*8)); read x; echo typed-$x; exit 6'] });
    await phone.sessionLists.next((list) => list.some((s) => s.terminal === second));
    // The first session ends: the second still runs, so the agent goes on.
    phone.type('exit 0\r');
    await phone.sessionLists.next((list) => list.some((s) => s.terminal === 1 && s.state === 'exited'), 10_000, 'the first session ended');
    const attached = runCli(['attach', agent.url]);
    await new Promise<void>((resolve) => attached.child.stdout.on('data', () => attached.stdout().includes('latest-64') && resolve()));
    attached.child.stdin.write('here\n');
    expect((await attached.exited).code).toBe(6);
    expect(attached.stdout().toString()).toContain('typed-here');
    // Its last session ended: now the agent ends, with that session's code.
    expect(await agent.agent.done).toBe(6);
  });

  it('with --stay, the agent keeps running when no session does, and a client starts one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { stay: true });
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    phone.type('exit 0\r');
    await phone.sessionLists.next((list) => list.every((s) => s.state === 'exited'), 10_000, 'the first session ended');
    const started = await phone.session.startSession({ kind: 'shell' });
    phone.session.watch(started);
    phone.type('echo alive-$((6*7))\r');
    await phone.waitForOutput('alive-42');
  });

  it('--max-sessions bounds what a link holder starts; the oldest ended session makes room', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { maxSessions: 2 });
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const second = await phone.session.startSession({ kind: 'shell' });
    await expect(phone.session.startSession({ kind: 'shell' })).rejects.toThrow(/already runs 2 sessions.*--max-sessions/);
    phone.session.endSession(second);
    await phone.sessionLists.next((list) => list.some((s) => s.terminal === second && s.state === 'exited'));
    const third = await phone.session.startSession({ kind: 'shell' });
    const list = await phone.sessionLists.next((l) => l.some((s) => s.terminal === third));
    expect(list.map((s) => s.terminal)).toEqual([1, third]);
  });

  it('two starts at once at the limit, with one ended session to make room: one starts, the other is refused', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { maxSessions: 2 });
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const second = await phone.session.startSession({ kind: 'shell' });
    phone.session.endSession(second);
    await phone.sessionLists.next((list) => list.some((s) => s.terminal === second && s.state === 'exited'));
    // Both sent together (a double tap): the ended session makes room for one of them only.
    const results = await Promise.allSettled([phone.session.startSession({ kind: 'shell' }), phone.session.startSession({ kind: 'shell' })]);
    const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const list = await phone.sessionLists.next((l) => started.every((t) => l.some((s) => s.terminal === t)), 10_000, 'the started sessions listed');
    expect(list.length).toBeLessThanOrEqual(2);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(String((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason)).toMatch(/already runs 2 sessions/);
  });

  it('starts only in folders under the allowed roots, whatever the path says; lists them', async () => {
    const relay = await startRelay();
    const root = tempDir('ccremote-root-');
    mkdirSync(join(root, 'project', 'src'), { recursive: true });
    mkdirSync(join(root, 'project', '.git'));
    mkdirSync(join(root, '.hidden'));
    const outside = tempDir('ccremote-outside-');
    symlinkSync(outside, join(root, 'sneaky'));
    const agent = await startAgent(relay.url, { roots: [root] });
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    for (const cwd of [outside, join(root, '..'), join(root, 'sneaky'), join(root, 'project', '..', '..'), 'relative/path', join(root, 'missing')]) {
      await expect(phone.session.startSession({ kind: 'shell', cwd }), cwd).rejects.toThrow(/outside the folders|full path|no folder/);
    }
    const started = await phone.session.startSession({ kind: 'shell', cwd: join(root, 'project') });
    const list = await phone.sessionLists.next((l) => l.some((s) => s.terminal === started));
    expect(list.find((s) => s.terminal === started)?.cwd).toBe(realpathSync(join(root, 'project')));
    // The browser: roots and recent folders first, then a folder's subfolders (no hidden ones, git marked).
    const top = await phone.session.listFolders();
    expect(top.entries.map((e) => e.path)).toEqual(expect.arrayContaining([realpathSync(root), realpathSync(join(root, 'project'))]));
    const listing = await phone.session.listFolders(realpathSync(root));
    expect(listing.entries.map((e) => [e.name, e.git])).toEqual([['project', true]]);
    expect(listing.parent).toBeNull();
    expect((await phone.session.listFolders(join(realpathSync(root), 'project'))).parent).toBe(realpathSync(root));
    await expect(phone.session.listFolders(outside)).rejects.toThrow(/outside the folders/);
  });

  it('starts a session in a new git worktree on a new branch', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const repo = join(agent.cwd, 'repo');
    mkdirSync(repo);
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: repo, env: { ...shellEnv(agent.cwd), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }, encoding: 'utf8' });
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README'), 'hello\n');
    git('add', 'README');
    git('commit', '-q', '-m', 'first');
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const started = await phone.session.startSession({ kind: 'shell', cwd: repo, worktree: 'fix/login' });
    const list = await phone.sessionLists.next((l) => l.some((s) => s.terminal === started));
    const session = list.find((s) => s.terminal === started)!;
    expect(session).toMatchObject({ worktree: 'fix/login', cwd: realpathSync(join(repo, '.ccremote', 'worktrees', 'fix-login')) });
    expect(readFileSync(join(repo, '.ccremote', '.gitignore'), 'utf8')).toBe('*\n');
    phone.session.watch(started);
    phone.type('git rev-parse --abbrev-ref HEAD; git -C .. status --porcelain; echo done-$((1+1))\r');
    const text = await phone.waitForOutput('done-2');
    expect(text).toMatch(/fix\/login/);
    expect(git('status', '--porcelain')).toBe(''); // the main checkout sees nothing of it
    await expect(phone.session.startSession({ kind: 'shell', cwd: repo, worktree: 'fix/login' })).rejects.toThrow(/exists already/);
    await expect(phone.session.startSession({ kind: 'shell', cwd: agent.cwd, worktree: 'x' })).rejects.toThrow(/not in a git repository/);
  });

  it('writes nothing for a worktree above the allowed folders, nor through a link the repository holds', async () => {
    const relay = await startRelay();
    const home = tempDir('ccremote-home-');
    const repo = join(home, 'repo');
    const env = { ...shellEnv(home), GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
    const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env, encoding: 'utf8' });
    mkdirSync(join(repo, 'inner'), { recursive: true });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'first');
    // The agent runs in the inner folder and allows only it: the repository's top is above.
    const agent = await startAgent(relay.url, { cwd: join(repo, 'inner'), roots: [join(repo, 'inner')], env });
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    await expect(phone.session.startSession({ kind: 'shell', worktree: 'above' })).rejects.toThrow(/outside the folders/);
    expect(existsSync(join(repo, '.ccremote'))).toBe(false);
    expect(git(repo, 'branch', '--list', 'above')).toBe('');
    // A repository whose .ccremote is a link somewhere else: nothing is written through it.
    const other = join(home, 'other');
    const elsewhere = tempDir('ccremote-elsewhere-');
    mkdirSync(other);
    git(other, 'init', '-q', '-b', 'main');
    git(other, 'commit', '-q', '--allow-empty', '-m', 'first');
    symlinkSync(elsewhere, join(other, '.ccremote'));
    const agent2 = await startAgent(relay.url, { cwd: other, env });
    const tablet = new TestClient(agent2.url);
    await tablet.waitForState('online');
    await expect(tablet.session.startSession({ kind: 'shell', worktree: 'linked' })).rejects.toThrow(/symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('who may start and end sessions', () => {
  it('a read-only link lists and watches, but the agent refuses its start, end and dismiss, also when the relay forwards them', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const owner = new TestClient(through(agent.url));
    await owner.waitForState('online');
    const viewLink = through(agent.agent.viewUrl!);
    const viewer = new TestClient(viewLink);
    const list = await viewer.sessionLists.next(() => true);
    expect(list.map((s) => s.terminal)).toEqual([1]);
    await expect(viewer.session.startSession({ kind: 'shell' })).rejects.toThrow(/read-only/);
    viewer.session.endSession(1);
    expect((await viewer.errors.next((e) => e.code === 'refused')).message).toMatch(/read-only link cannot end/);
    viewer.session.dismissSession(1);
    expect((await viewer.errors.next((e) => e.code === 'refused' && /dismiss/.test(e.message))).message).toMatch(/read-only link cannot dismiss/);
    // A raw read-only channel writing a start itself, sealed with its own key: the agent refuses it.
    const { relayUrl, agentId, secret } = parseAccessLink(viewLink);
    const credential = { kind: 'link', secret, readOnly: true } as const;
    const { raw, session } = await admittedRawClient(relayUrl, agentId, credential);
    const channel = await openRawChannel(raw, agentId, credential, { session });
    raw.ws.send(sealChannel(channel.keys.send, 1, encodeChannelMessage({ type: 'start', request: 9, kind: 'shell' })));
    await raw.messages.until(() => channelMessages(raw, channel).some((m) => m.type === 'refused'), 10_000, 'the refusal');
    expect(channelMessages(raw, channel).find((m) => m.type === 'refused')).toMatchObject({ request: 9, message: expect.stringMatching(/read-only/) });
    owner.session.listDevices(); // a round trip: the agent handled everything before
    await owner.deviceLists.next(() => true);
    expect(owner.session.sessions.map((s) => s.terminal)).toEqual([1]);
    expect(agent.events.items.filter((e) => e.event === 'session_started')).toEqual([]);
  });

  it('a start the relay recorded and plays again starts nothing more', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const phone = new TestClient(through(agent.url));
    await phone.waitForState('online');
    const mark = hostile.seen.items.length;
    await phone.session.startSession({ kind: 'shell' });
    const sent = hostile.seen.items.slice(mark).filter((m) => m.side === 'agent' && m.way === 'down' && m.binary && m.data[0] === FrameType.FromClient && m.data[5] === FrameType.Channel);
    expect(sent.length).toBeGreaterThan(0);
    const rejected = agent.events.items.filter((e) => e.event === 'input_rejected').length;
    for (const frame of sent) hostile.inject('agent', hostile.connections('agent'), frame.data);
    await agent.events.until((events) => events.filter((e) => e.event === 'input_rejected').length >= rejected + sent.length, 10_000, 'every replay refused');
    // On a later connection it does not even open.
    hostile.cut('client', hostile.connections('client'));
    await phone.waitForState('online', 15_000, phone.states.items.length);
    const client = JSON.parse(hostile.messages('agent', 'down').filter((m) => !m.binary && m.data.includes('client_joined')).at(-1)!.data.toString()).client as number;
    for (const frame of sent) hostile.inject('agent', hostile.connections('agent'), encodeFromClient(client, frame.data.subarray(5)));
    await agent.events.until((events) => events.filter((e) => e.event === 'input_rejected').length >= rejected + 2 * sent.length, 10_000, 'refused on the new connection too');
    expect(agent.events.items.filter((e) => e.event === 'session_started')).toHaveLength(1);
    const list = await phone.sessionLists.next(() => true, 10_000, 'the list', phone.sessionLists.items.length - 1);
    expect(list.map((s) => s.terminal)).toEqual([1, 2]);
  });

  it('the relay learns a session’s number and nothing else: no name, folder or command crosses it in the clear', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const secretFolder = join(agent.cwd, 'secret-project-folder');
    mkdirSync(secretFolder);
    const phone = new TestClient(through(agent.url));
    await phone.waitForState('online');
    await phone.session.startSession({ kind: 'command', cwd: secretFolder, command: ['/bin/sh', '-c', 'echo secret-command-ran; exec sleep 100'] });
    await phone.sessionLists.next((list) => list.length === 2);
    for (const needle of ['secret-project-folder', 'secret-command-ran', '/bin/sh', '"shell"', '"command"']) {
      expect(hostile.seen.items.filter((m) => m.data.includes(needle)), needle).toEqual([]);
    }
  });
});

describe('sessions from a terminal', () => {
  it('`ccremote sessions --json` lists them; `attach --session` joins one and `attach --new` starts one', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url);
    await phone.waitForState('online');
    const second = await phone.session.startSession({ kind: 'command', command: ['/bin/sh', '-c', 'echo from-second; read x; echo bye-second; exit 3'] });
    await phone.sessionLists.next((list) => list.length === 2);

    const listing = runCli(['sessions', agent.url, '--json']);
    expect((await listing.exited).code).toBe(0);
    const lines = listing.stdout().toString().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.id, l.state])).toEqual([
      [1, 'running'],
      [second, 'running'],
    ]);
    for (const line of lines) for (const field of ['id', 'name', 'cwd', 'command', 'state']) expect(line).toHaveProperty(field);
    const text = runCli(['sessions', agent.url]);
    expect((await text.exited).code).toBe(0);
    expect(text.stdout().toString()).toMatch(/^\s+2\s.*running.*\/bin\/sh -c echo from-second/m);

    // Joins session 2 (not the most recently active one), types into it, and exits with its code.
    const attached = runCli(['attach', agent.url, '--session', String(second)]);
    await new Promise<void>((resolve) => attached.child.stdout.on('data', () => attached.stdout().includes('from-second') && resolve()));
    attached.child.stdin.write('\n');
    expect((await attached.exited).code).toBe(3);
    expect(attached.stdout().toString()).toContain('bye-second');

    const fresh = runCli(['attach', agent.url, '--new', '--cwd', agent.cwd, '--', '/bin/sh', '-c', 'echo in-a-new-session-$((2*21)); exit 5']);
    expect((await fresh.exited).code).toBe(5);
    expect(fresh.stdout().toString()).toContain('in-a-new-session-42');
    expect(agent.events.items.filter((e) => e.event === 'session_started')).toHaveLength(2);

    const missing = runCli(['attach', agent.url, '--session', '99']);
    expect((await missing.exited).code).toBe(2);
    expect(missing.stderr()).toMatch(/no session 99/);
    expect(existsSync(agent.cwd)).toBe(true);
  });
});

/**
 * A phone watching session 1 with a second session started, whose next connection can be made to finish its
 * handshake only when the test says: `reconnect()` drops the connection and resolves once the next one's
 * OPEN is out and its WELCOME arrived (held, with all that follows it); `release()` lets them in, in order.
 */
async function phoneAtWelcome(): Promise<{ phone: TestClient; two: number; reconnect(): Promise<number>; release(): void }> {
  const relay = await startRelay();
  const agent = await startAgent(relay.url);
  const link = parseAccessLink(agent.url);
  const base = wsConnect(new URL(link.relayUrl).origin);
  const sockets: Transport[] = [];
  let holding = false;
  const held = new EventLog<() => void>();
  const connect: Connect = (url, handlers) => {
    const socket = base(url, {
      ...handlers,
      binary: (data) => {
        const welcome = data[0] === FrameType.Handshake && data[1] === HandshakeStep.Welcome;
        if (holding && (welcome || held.items.length > 0)) held.push(() => handlers.binary(data));
        else handlers.binary(data);
      },
    });
    sockets.push(socket);
    return socket;
  };
  const phone = new TestClient(agent.url, { connect });
  await phone.waitForState('online');
  phone.type('echo first-$((3*7))\r');
  await phone.waitForOutput('first-21');
  const two = await phone.session.startSession({ kind: 'shell' });
  return {
    phone,
    two,
    async reconnect() {
      holding = true;
      const states = phone.states.items.length;
      sockets.at(-1)!.close(1000, 'network changed');
      await held.next(() => true, 10_000, 'the WELCOME of the next connection');
      return states;
    },
    release() {
      holding = false;
      for (const deliver of held.items.splice(0)) deliver();
    },
  };
}

describe('switching sessions while the channel opens', () => {
  it('a session chosen after OPEN went out and before WELCOME came is the one watched once the channel is open', async () => {
    const { phone, two, reconnect, release } = await phoneAtWelcome();
    const before = await reconnect(); // the OPEN named session 1
    phone.session.watch(two);
    release();
    await phone.waitForState('online', 10_000, before);
    expect(phone.session.watching).toBe(two);
    // Session 2's stream comes, and what is typed into it shows.
    await phone.streamKeys.next((k) => k.terminal === two, 10_000, `the stream of session ${two}`);
    phone.type('echo in-two-$((2*21))\r');
    await phone.waitForOutput('in-two-42');
  });

  it('switching away and straight back while the channel opens loses no connection', async () => {
    const { phone, two, reconnect, release } = await phoneAtWelcome();
    const before = await reconnect(); // the OPEN resumed session 1 where the phone stood
    phone.session.watch(two);
    phone.session.watch(1); // afresh: what was shown of it is gone
    release();
    await phone.waitForState('online', 10_000, before);
    phone.type('echo again-$((3*8))\r');
    await phone.waitForOutput('again-24');
    expect(phone.errors.items).toEqual([]);
    expect(phone.states.items.slice(before).map((s) => s.kind)).toEqual(['waiting', 'connecting', 'online']);
  });
});

describe('input as the channel opens', () => {
  it('what is typed as the channel opens goes after what waited for it: none of it is lost', async () => {
    const { phone, reconnect, release } = await phoneAtWelcome();
    const before = await reconnect();
    phone.type('echo waited-$((5*5))'); // typed while the channel opens: it waits
    // Typed the moment the channel is open (from the `opened` callback, as an app may do).
    const typing = phone.welcomes.subscribe(() => {
      typing();
      phone.type('; echo then-$((6*6))\r');
    });
    release();
    await phone.waitForState('online', 10_000, before);
    await phone.waitForOutput('then-36');
    await phone.waitForOutput('waited-25');
  });
});
