// The attention channel and the real hook script (dist/agent/attention-hook.js, run through a shell as
// Claude Code runs it): events arrive, a permission request waits for its answer and prints Claude Code's
// decision (or none), garbage is dropped without harm, floods are cut, the hook never fails, and closing
// removes everything.

import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AttentionChannel, hookScriptPath, shellQuote } from '../src/agent/attention-channel.js';
import type { HookEvent, HookPermission } from '../src/agent/attention-channel.js';
import { EventLog } from './helpers/wait.js';

const channels: AttentionChannel[] = [];
afterEach(async () => {
  await Promise.all(channels.splice(0).map((c) => c.close()));
});

async function openChannel(options: Parameters<typeof AttentionChannel.open>[1] = {}) {
  const events = new EventLog<HookEvent>();
  const permissions = new EventLog<HookPermission>();
  const toolCalls = new EventLog<string>();
  const channel = await AttentionChannel.open({ attention: events.push, permission: permissions.push, toolDone: toolCalls.push }, options);
  channels.push(channel);
  return { channel, events, permissions, toolCalls };
}

/** Runs a shell command with `input` on its stdin; resolves with its exit code and what it printed. */
function runPrinting(command: string, input: string): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; stdout: string }> } {
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stdin!.end(input);
  return { child, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout }))) };
}

const permissionRequest = (command: string): string =>
  JSON.stringify({
    session_id: 'abc',
    hook_event_name: 'PermissionRequest',
    tool_name: 'Bash',
    tool_input: { command, description: 'Make a file' },
    permission_suggestions: [],
  });
const toolRan = (command: string): string =>
  JSON.stringify({ session_id: 'abc', hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command, description: 'Make a file' }, tool_response: {} });

/** Runs a shell command with `input` on its stdin (left open if undefined); resolves with its exit code. */
function run(command: string, input: string | undefined): Promise<number | null> {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => undefined);
  if (input !== undefined) child.stdin.end(input);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

/** Writes raw bytes to the channel as one connection; resolves once the channel has closed it. */
function rawLine(path: string, data: string | Buffer, end = true): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(path, () => (end ? socket.end(data) : socket.write(data)));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}

const notification = (message: unknown): string =>
  JSON.stringify({ session_id: 'abc', transcript_path: '/tmp/t.jsonl', cwd: '/tmp', hook_event_name: 'Notification', message, notification_type: 'permission_prompt' });
const stop = JSON.stringify({ session_id: 'abc', hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'secret reply' });

describe('attention channel with the hook script', () => {
  it('the hook, run through a shell as Claude Code runs it, delivers Notification and Stop events', async () => {
    expect(existsSync(hookScriptPath()), `${hookScriptPath()} missing: run npm run build`).toBe(true);
    const { channel, events } = await openChannel();
    expect(await run(channel.hookCommand, notification('Claude needs your permission to use Bash'))).toBe(0);
    expect(await events.next(() => true, 5000, 'a notification')).toEqual({ kind: 'notification', message: 'Claude needs your permission to use Bash', type: 'permission_prompt' });
    expect(await run(channel.hookCommand, stop)).toBe(0);
    expect(await events.next((e) => e.kind === 'stop', 5000, 'a stop')).toEqual({ kind: 'stop' });
    // Long messages are cut, control characters (escape sequences) neutralised.
    expect(await run(channel.hookCommand, notification(`\u001b[2J\u0007 ${'y'.repeat(900)}`))).toBe(0);
    const long = await events.next((e) => e.message?.includes('yyy') === true, 5000, 'a long notification');
    expect(long.message).toBe(`[2J  ${'y'.repeat(494)}`); // ESC and BEL became spaces; 500 characters before that
    expect(events.items).toHaveLength(3);
  });

  it('settingsJson registers the hook command in Claude Code hooks format: tool results in the background, permissions with an hour and a minute', async () => {
    const { channel } = await openChannel();
    const hook = { type: 'command', command: channel.hookCommand };
    const background = [{ matcher: '', hooks: [{ ...hook, async: true }] }];
    expect(JSON.parse(channel.settingsJson())).toEqual({
      hooks: {
        Notification: [{ matcher: '', hooks: [hook] }],
        Stop: [{ hooks: [hook] }],
        PermissionRequest: [{ matcher: '', hooks: [{ ...hook, timeout: 3660 }] }],
        PostToolUse: background,
        PostToolUseFailure: background,
      },
    });
    expect(channel.hookCommand).toBe([process.execPath, hookScriptPath(), channel.path].map(shellQuote).join(' '));
  });

  it('shell quoting keeps any argument whole', async () => {
    for (const weird of ["it's", "'", "a b\t$HOME `x` \"q\" \\ '' ;|&"]) {
      const printed = await new Promise<string>((resolve) => {
        const child = spawn('/bin/sh', ['-c', `printf %s ${shellQuote(weird)}`], { stdio: ['ignore', 'pipe', 'ignore'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('close', () => resolve(out));
      });
      expect(printed).toBe(weird);
    }
  });

  it('the hook exits 0 whatever happens: no channel, no argument, garbage or too much input, stdin never closing', async () => {
    const { channel, events } = await openChannel();
    const hook = [process.execPath, hookScriptPath()].map(shellQuote).join(' ');
    expect(await run(`${hook} /nonexistent/ccremote/attention.sock`, notification('hi'))).toBe(0);
    expect(await run(hook, notification('hi'))).toBe(0);
    expect(await run(channel.hookCommand, 'not json at all')).toBe(0);
    expect(await run(channel.hookCommand, '')).toBe(0);
    expect(await run(channel.hookCommand, '[1,2,3]')).toBe(0);
    expect(await run(channel.hookCommand, notification('x'.repeat(5 * 1024 * 1024)))).toBe(0);
    expect(await run(channel.hookCommand, undefined)).toBe(0); // gives up by itself
    // A hook event the agent does not use reaches the channel and is dropped there.
    expect(await run(channel.hookCommand, JSON.stringify({ hook_event_name: 'PreToolUse', tool_name: 'Bash' }))).toBe(0);
    // The channel still works, and none of the above produced an event.
    expect(await run(channel.hookCommand, stop)).toBe(0);
    await events.next(() => true, 5000, 'the stop');
    expect(events.items).toEqual([{ kind: 'stop' }]);
  });

  it('a permission request waits for the answer: Allow and Deny print Claude Code\'s decision, none prints nothing', async () => {
    const { channel, permissions, toolCalls } = await openChannel();
    const allowed = runPrinting(channel.hookCommand, permissionRequest('touch made && echo ok'));
    const request = await permissions.next(() => true, 5000, 'the request');
    expect(request).toMatchObject({ tool: 'Bash', detail: 'touch made && echo ok (Make a file)', call: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    expect(request.decide('allow')).toBe(true);
    expect(request.decide('deny')).toBe(false); // one decision only
    const allow = await allowed.done;
    expect(allow.code).toBe(0);
    expect(JSON.parse(allow.stdout)).toEqual({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } });

    const denied = runPrinting(channel.hookCommand, permissionRequest('rm -rf build'));
    (await permissions.next((p) => p.detail.startsWith('rm'), 5000, 'the second request')).decide('deny');
    const deny = await denied.done;
    expect(JSON.parse(deny.stdout)).toMatchObject({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'deny', message: expect.stringContaining('denied') } } });

    const undecided = runPrinting(channel.hookCommand, permissionRequest('make'));
    (await permissions.next((p) => p.detail.startsWith('make'), 5000, 'the third request')).decide(undefined);
    expect(await undecided.done).toEqual({ code: 0, stdout: '' });

    // The tool call's fingerprint comes back when it ran, the same as the request's.
    expect(await run(channel.hookCommand, toolRan('touch made && echo ok'))).toBe(0);
    expect(await toolCalls.next(() => true, 5000, 'the tool call')).toBe(request.call);
  });

  it('a permission hook that Claude Code stops (the person answered at the terminal) is gone, and a late answer does nothing', async () => {
    const { channel, permissions } = await openChannel();
    const hook = runPrinting(channel.hookCommand, permissionRequest('sleep 1'));
    const request = await permissions.next(() => true, 5000, 'the request');
    const gone = new EventLog<true>();
    request.onGone(() => gone.push(true));
    hook.child.kill('SIGTERM');
    await gone.next(() => true, 5000, 'the request gone');
    expect(request.decide('allow')).toBe(false);
    expect((await hook.done).stdout).toBe('');
  });

  it('drops malformed lines, wrong types, oversized and half-sent lines, and keeps serving', async () => {
    const { channel, events } = await openChannel();
    const garbage: Array<string | Buffer> = [
      'not json\n',
      '\n',
      '',
      'null\n',
      '["Stop"]\n',
      '{"event":"Bogus"}\n',
      '{"event":"stop"}\n',
      '{"event":"Notification","message":5}\n',
      '{"event":{"toString":"Stop"}}\n',
      Buffer.from([0xff, 0xfe, 0x00, 0x0a]),
      `{"event":"Notification","message":"${'x'.repeat(20 * 1024)}"}\n`,
      'y'.repeat(40 * 1024),
    ];
    await Promise.all(garbage.map((g) => rawLine(channel.path, g)));
    await rawLine(channel.path, '{"event":"Stop"', false); // never finished: dropped when the channel closes it
    await rawLine(channel.path, '{"event":"Notification","message":"  ok  "}\n{"event":"Stop"}\n');
    expect(await events.next(() => true, 5000, 'the valid line')).toEqual({ kind: 'notification', message: 'ok' });
    expect(events.items).toHaveLength(1); // only the first line of a connection counts
  });

  it('passes on at most maxEvents per window', async () => {
    let now = 0;
    const { channel, events } = await openChannel({ maxEvents: 10, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 12; i++) await rawLine(channel.path, `{"event":"Notification","message":"n${i}"}\n`);
    expect(events.items.map((e) => e.message)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    now += 10_000;
    await rawLine(channel.path, '{"event":"Stop"}\n');
    expect(events.items.at(-1)).toEqual({ kind: 'stop' });
  });

  it('lives in a private directory that close() removes', async () => {
    const { channel } = await openChannel();
    expect(channel.dir).toBeDefined();
    expect(statSync(channel.dir!).mode & 0o777).toBe(0o700);
    expect(channel.path).toBe(`${channel.dir}/attention.sock`);
    await channel.close();
    expect(existsSync(channel.dir!)).toBe(false);
    const refused = await new Promise<string | undefined>((resolve) => {
      const socket = connect(channel.path);
      socket.on('connect', () => resolve(undefined));
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    });
    expect(refused).toBe('ENOENT');
    await channel.close(); // twice is harmless
  });
});
