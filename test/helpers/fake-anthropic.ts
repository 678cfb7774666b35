// A small local stand-in for the Anthropic Messages API (streaming SSE), enough for the real Claude
// Code CLI to run its interactive UI offline. Every request is recorded; every message request gets
// a streamed reply made by `reply`: text, or a tool use.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { atCleanup, startAgent, tempDir, type TestAgent } from './system.js';
import type { AgentOptions } from '../../src/agent/agent.js';
import { EventLog } from './wait.js';

/** The real Claude Code CLI, as installed for the tests. */
export const CLAUDE = fileURLToPath(new URL('../../node_modules/.bin/claude', import.meta.url));

export interface FakeRequest {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
}

export interface FakeAnthropic {
  url: string;
  requests: EventLog<FakeRequest>;
  close(): Promise<void>;
}

/** A reply: text, or a request to use a tool (Claude Code then runs it, asking the person first if it must). */
export type FakeReply = string | { tool: string; input: Record<string, unknown> };

/** Starts the fake API on 127.0.0.1, port 0. */
export async function startFakeAnthropic(reply: (request: FakeRequest) => FakeReply): Promise<FakeAnthropic> {
  const requests = new EventLog<FakeRequest>();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    req.on('end', () => {
      let body: Record<string, unknown> | undefined;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      const path = (req.url ?? '/').split('?')[0]!;
      const request = { method: req.method ?? 'GET', path, body };
      requests.push(request);
      if (req.method === 'POST' && path === '/v1/messages/count_tokens') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"input_tokens":12}');
        return;
      }
      if (req.method === 'POST' && path === '/v1/messages') {
        const answer = reply(request);
        const model = String(body?.model ?? 'claude-test');
        const usage = { input_tokens: 12, output_tokens: 8, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
        const tool = typeof answer === 'string' ? undefined : { type: 'tool_use', id: `toolu_fake${requests.items.length}`, name: answer.tool, input: answer.input };
        const stopReason = tool ? 'tool_use' : 'end_turn';
        if (!body?.stream) {
          const content = tool ?? { type: 'text', text: answer as string };
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: 'msg_fake', type: 'message', role: 'assistant', model, content: [content], stop_reason: stopReason, stop_sequence: null, usage }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const send = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
        send('message_start', { type: 'message_start', message: { id: 'msg_fake', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage } });
        if (tool) {
          send('content_block_start', { type: 'content_block_start', index: 0, content_block: { ...tool, input: {} } });
          send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(tool.input) } });
        } else {
          send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
          send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: answer } });
        }
        send('content_block_stop', { type: 'content_block_stop', index: 0 });
        send('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 8 } });
        send('message_stop', { type: 'message_stop' });
        res.end();
        return;
      }
      if (req.method === 'HEAD' || (req.method === 'GET' && path === '/')) {
        res.writeHead(200).end();
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A fake API key in Anthropic's format. */
export const FAKE_API_KEY = 'sk-ant-api03-ccremote-test-key-0123456789abcdefghijklmnopqrstuvwxyz-AA';

/** A HOME for Claude Code that skips the first-run screens for `projectDir`. */
export function claudeHome(home: string, projectDir: string): void {
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.claude.json'),
    JSON.stringify({
      hasCompletedOnboarding: true,
      customApiKeyResponses: { approved: [FAKE_API_KEY.slice(-20)], rejected: [] },
      projects: { [projectDir]: { hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true } },
    }),
  );
}

/** The environment Claude Code runs with against the fake API. */
export function claudeEnv(home: string, apiUrl: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: FAKE_API_KEY,
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
  };
}

/**
 * The real Claude Code CLI run by an agent of the relay at `relayUrl`, against a fake API answering with
 * `reply`, in a fresh project with its first-run screens skipped. Everything is closed at cleanup.
 */
export async function startClaudeAgent(
  relayUrl: string,
  reply: (request: FakeRequest) => FakeReply,
  options: { before?: (setup: { home: string; project: string; api: FakeAnthropic }) => Promise<void> } & Partial<AgentOptions> = {},
): Promise<{ api: FakeAnthropic; agent: TestAgent; project: string; home: string }> {
  const api = await startFakeAnthropic(reply);
  atCleanup(() => api.close());
  const home = tempDir('ccremote-claude-home-');
  const project = tempDir('ccremote-claude-project-');
  claudeHome(home, project);
  const { before, ...agentOptions } = options;
  await before?.({ home, project, api });
  const agent = await startAgent(relayUrl, { command: CLAUDE, args: [], cwd: project, env: claudeEnv(home, api.url), claudeCommand: CLAUDE, ...agentOptions });
  return { api, agent, project, home };
}

/**
 * A stand-in for Claude Code, named `claude`: it prints "waiting-for-enter", and each Enter runs the
 * Notification hook the agent gave it in --settings (with a permission message), then prints "hook-ran".
 */
export function claudeStandIn(): string {
  const claude = join(tempDir('ccremote-fake-claude-'), 'claude');
  writeFileSync(
    claude,
    `#!${process.execPath}
const settings = JSON.parse(process.argv[process.argv.indexOf('--settings') + 1]);
const hook = settings.hooks.Notification[0].hooks[0].command;
console.log('waiting-for-enter');
process.stdin.on('data', () => {
  const child = require('node:child_process').spawn('/bin/sh', ['-c', hook], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(JSON.stringify({ hook_event_name: 'Notification', message: 'Claude needs your permission to use Bash' }));
  child.on('exit', () => console.log('hook-ran'));
});
setInterval(() => {}, 1000);
`,
  );
  chmodSync(claude, 0o755);
  return claude;
}

/**
 * A stand-in for Claude Code asking permissions, named `claude`: it prints "waiting-for-enter"; each Enter
 * runs the PermissionRequest hook the agent gave it in --settings for a Bash command `echo step-N` (and
 * prints "asked-N"), then prints "decided-N:allow", "decided-N:deny" or "decided-N:none" from what the hook
 * printed once it exits. Other keys are read and ignored, as an answer at the terminal would be.
 */
export function permissionStandIn(): string {
  const claude = join(tempDir('ccremote-fake-claude-'), 'claude');
  writeFileSync(
    claude,
    `#!${process.execPath}
const settings = JSON.parse(process.argv[process.argv.indexOf('--settings') + 1]);
const hook = settings.hooks.PermissionRequest[0].hooks[0].command;
let step = 0;
// Raw before it says it waits: an Enter typed while the terminal was still cooked would arrive as a
// newline (the terminal turns CR into LF) and be ignored.
process.stdin.setRawMode?.(true);
process.stdin.on('data', (data) => {
  if (!data.includes(13)) return;
  const n = ++step;
  const child = require('node:child_process').spawn('/bin/sh', ['-c', hook], { stdio: ['pipe', 'pipe', 'ignore'] });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stdin.end(JSON.stringify({ session_id: 'stand-in', hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'echo step-' + n, description: 'Say the step' }, permission_suggestions: [] }));
  console.log('asked-' + n);
  child.on('close', () => {
    let behavior = 'none';
    try { behavior = JSON.parse(out).hookSpecificOutput.decision.behavior; } catch {}
    console.log('decided-' + n + ':' + behavior);
  });
});
console.log('waiting-for-enter');
setInterval(() => {}, 1000);
`,
  );
  chmodSync(claude, 0o755);
  return claude;
}
