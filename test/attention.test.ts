// Attention events end to end: the real Claude Code CLI (against the fake Messages API) runs its Stop
// hook, the agent sends the event, naming its session, sealed in each client's channel (full and
// read-only), and the relay learns nothing of it. Also: how the agent registers the hooks, and that a
// relay cannot make one up.

import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, randomBytes, sealChannel, utf8 } from '../src/protocol/index.js';
import { hookScriptPath } from '../src/agent/attention-channel.js';
import { startClaudeAgent } from './helpers/fake-anthropic.js';
import { relayBehindHostile, type Tapped } from './helpers/hostile-relay.js';
import { cleanup, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

afterEach(cleanup);

/** The JSON control messages in what the man in the middle saw. */
const texts = (messages: Tapped[]): Array<Record<string, unknown>> =>
  messages.filter((m) => !m.binary).map((m) => JSON.parse(m.data.toString('utf8')) as Record<string, unknown>);

describe('attention events', () => {
  it("Claude Code's Stop hook reaches every client as an event the relay cannot read", { timeout: 120_000 }, async () => {
    const { hostile, through } = await relayBehindHostile();
    const { api, agent } = await startClaudeAgent(hostile.url, () => 'PONG-FROM-FAKE-API 42');
    const client = new TestClient(through(agent.url));
    const viewer = new TestClient(through(agent.agent.viewUrl!));
    // Claude Code's prompt box is up when its shortcut hint shows.
    await client.waitForOutput(/shortcuts|Try "/, 60_000);
    client.type('ping-from-phone');
    await client.waitForOutput('ping-from-phone', 30_000);
    client.type('\r');
    await api.requests.next((r) => r.path === '/v1/messages' && JSON.stringify(r.body?.messages ?? '').includes('ping-from-phone'), 30_000, 'the prompt at the API');
    const terminal = client.session.watching!;
    expect(await client.attentions.next((e) => e.kind === 'stop', 60_000, 'the stop event')).toEqual({ terminal, kind: 'stop' });
    expect(await viewer.attentions.next((e) => e.kind === 'stop', 10_000, 'the stop event, read-only')).toEqual({ terminal, kind: 'stop' });
    // The session list says it waits (until somebody types into it).
    await client.sessionLists.next((list) => list.some((s) => s.terminal === terminal && s.waiting), 10_000, 'the session marked waiting');
    await client.waitForOutput('PONG-FROM-FAKE-API'); // (words on screen are apart: cursor moves, not spaces)
    expect(client.errors.items).toEqual([]);

    // What the relay saw: no control message about it, and nothing of it in any frame.
    expect(texts(hostile.seen.items).filter((m) => m.type === 'attention')).toEqual([]);
    for (const plaintext of ['"kind":"stop"', '"kind"', '"waiting":true']) {
      expect(hostile.seen.items.filter((m) => m.data.includes(plaintext))).toEqual([]);
    }
  });

  it('the agent gives Claude Code its hooks with --settings (also on restart), unless told not to or given its own', { timeout: 60_000 }, async () => {
    // A stand-in for Claude Code named `claude`: prints its arguments, one per line, and exits at Enter.
    const bin = tempDir('ccremote-fake-claude-');
    const claude = join(bin, 'claude');
    writeFileSync(claude, '#!/bin/sh\nfor a in "$@"; do printf "<%s>\\n" "$a"; done\nprintf "<done>\\n"\nread line\n');
    chmodSync(claude, 0o755);
    const relay = await startRelay();
    /** The arguments of each run of the command (the restarts after pressing Enter too). */
    const argsOf = async (options: { args?: string[]; attentionHooks?: boolean; restart?: boolean }, runs = 1): Promise<string[][]> => {
      const agent = await startAgent(relay.url, { command: claude, ...options });
      const client = new TestClient(agent.url);
      let text = '';
      for (let run = 1; run <= runs; run++) {
        if (run > 1) client.type('\r');
        text = await client.waitForOutput(new RegExp(`(<done>[^]*){${run}}`), 20_000);
      }
      await agent.close();
      return text.split('<done>').slice(0, runs).map((output) => [...output.matchAll(/<([^>]*)>/g)].map((m) => m[1]!));
    };

    const [first, second] = await argsOf({ args: ['--model', 'x y'], restart: true }, 2);
    for (const args of [first!, second!]) {
      expect(args[0]).toBe('--settings');
      expect(args.slice(2)).toEqual(['--model', 'x y']);
      const settings = JSON.parse(args[1]!) as { hooks: Record<string, Array<{ hooks: Array<{ type: string; command: string }> }>> };
      expect(Object.keys(settings.hooks).sort()).toEqual(['Notification', 'PermissionRequest', 'PostToolUse', 'PostToolUseFailure', 'Stop']);
      const command = settings.hooks.Stop![0]!.hooks[0]!.command;
      expect(command).toContain(`'${hookScriptPath()}'`);
      const socket = command.slice(command.lastIndexOf(" '") + 2, -1);
      expect(socket).toMatch(/\/ccremote-[^/]+\/attention\.sock$/);
      // The agent has stopped (argsOf closes it): its channel's directory is gone.
      expect(existsSync(dirname(socket))).toBe(false);
    }
    expect(await argsOf({ args: ['--model', 'x'], attentionHooks: false })).toEqual([['--model', 'x']]);
    expect(await argsOf({ args: ['--settings', '{}'] })).toEqual([['--settings', '{}']]);
    expect(await argsOf({ args: ['--settings={}'] })).toEqual([['--settings={}']]);
  });

  it('a relay cannot make one up: no control message carries them, and a channel frame it forges does not open', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const client = new TestClient(through(agent.url));
    await client.waitForState('online');
    const forged = JSON.stringify({ type: 'attention', terminal: 1, kind: 'notification', message: 'Approve?' });
    // As a control message it is not one the relay may send: the page takes it for a newer relay's, and ignores it.
    const states = client.states.items.length;
    hostile.inject('client', 1, forged);
    expect((await client.errors.next((e) => e.code === 'unknown_message', 10_000, 'the report')).message).toMatch(/relay sent an? “attention” message this client does not know/);
    expect(client.states.items).toHaveLength(states); // the connection stays
    // As a channel frame sealed with any key but the connection's, it does not open.
    const connection = hostile.connections('client');
    expect(connection).toBe(1);
    hostile.inject('client', connection, sealChannel(randomBytes(32), 1_000, utf8(forged)));
    expect((await client.errors.next((e) => e.code === ErrorCode.Integrity, 10_000, 'the integrity error')).message).toMatch(/channel message/);
    expect(client.attentions.items).toEqual([]);
    // It comes back and works.
    await client.waitForState('online', 10_000, client.states.items.length);
    client.type('echo still-$((40 + 2))\r');
    await client.waitForOutput('still-42');
  });
});
