// The hook command the agent registers with Claude Code (attention-channel.ts): `node attention-hook.js
// <channel>`. Claude Code writes the hook's JSON on stdin; this passes what the agent needs on to it as one
// JSON line over the local channel (a Unix socket or a Windows named pipe):
//
// - Notification and Stop: the event's name, message and type; then it exits.
// - PermissionRequest: the tool, a short summary of what it wants and a fingerprint of the request; then it
//   waits for the agent's answer line, `{"decision":"allow"|"deny"}`, and prints Claude Code's decision.
//   When the agent closes the channel without one (the request was answered at the terminal, timed out,
//   or the agent went away) it prints nothing: Claude Code's own prompt decides, as without this hook.
// - PostToolUse and PostToolUseFailure: the fingerprint of the tool call, so that the agent knows a request
//   it still holds was decided elsewhere.
//
// It must never hold Claude Code up longer than that or make it report a failure: whatever goes wrong, it
// exits 0, silently, without a decision.

import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { PERMISSION_WAIT_MS } from './hook-limits.js';

/** Most of the hook's JSON read from stdin, in bytes (a tool writing a large file sends all of it); more and the event is dropped. */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;
/** Reading and sending an event takes at most this long, in ms. */
const TIME_LIMIT_MS = 2000;
/** Longest message or summary passed on, in characters. */
const MAX_TEXT = 500;
/** Longest answer line read from the agent, in bytes. */
const MAX_ANSWER_BYTES = 1024;

function quit(): never {
  process.exit(0);
}

/** A short text for people: the command, the file, the address; otherwise the first text fields. */
function summary(tool: string, input: Record<string, unknown>): string {
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);
  const main = text(input.command) ?? text(input.file_path) ?? text(input.notebook_path) ?? text(input.url) ?? text(input.path) ?? text(input.pattern) ?? text(input.query);
  const found = main ?? Object.values(input).map(text).filter((v) => v !== undefined).slice(0, 2).join(' · ');
  const description = tool === 'Bash' ? text(input.description) : undefined;
  return (description && main ? `${main} (${description})` : found).slice(0, MAX_TEXT);
}

/** What identifies one tool call: the same in its PermissionRequest and its PostToolUse. */
function fingerprint(session: unknown, tool: unknown, input: unknown): string {
  return createHash('sha256').update(JSON.stringify([session, tool, input])).digest('base64url').slice(0, 22);
}

/** The line for the agent, and whether to wait for an answer; undefined if the input is not a hook event. */
function line(input: string): { line: string; wait: boolean } | undefined {
  const hook: unknown = JSON.parse(input);
  if (typeof hook !== 'object' || hook === null) return undefined;
  const { hook_event_name: event, message, notification_type: type, session_id: session, tool_name: tool, tool_input: toolInput } = hook as Record<string, unknown>;
  if (typeof event !== 'string') return undefined;
  const toLine = (value: Record<string, unknown>): string => `${JSON.stringify(value)}\n`;
  switch (event) {
    case 'PermissionRequest': {
      if (typeof tool !== 'string' || typeof toolInput !== 'object' || toolInput === null) return undefined;
      const detail = summary(tool, toolInput as Record<string, unknown>);
      return { line: toLine({ event, tool: tool.slice(0, 64), detail, call: fingerprint(session, tool, toolInput) }), wait: true };
    }
    case 'PostToolUse':
    case 'PostToolUseFailure':
      return { line: toLine({ event, call: fingerprint(session, tool, toolInput) }), wait: false };
    default: {
      const text = typeof message === 'string' ? message.trim().slice(0, MAX_TEXT) : undefined;
      return { line: toLine({ event, message: text, type: typeof type === 'string' ? type.slice(0, 64) : undefined }), wait: false };
    }
  }
}

/** Sends the line; for a permission request, prints the agent's decision once it comes. */
function send(channel: string, data: string, wait: boolean): void {
  const socket = connect(channel);
  socket.on('error', quit);
  if (!wait) {
    socket.on('close', quit);
    socket.end(data);
    return;
  }
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    answer += chunk;
    if (answer.length > MAX_ANSWER_BYTES) quit();
    const newline = answer.indexOf('\n');
    if (newline >= 0) decide(answer.slice(0, newline));
  });
  socket.on('close', quit);
  socket.write(data);
}

/** Prints Claude Code's decision for an answer line from the agent, then exits. */
function decide(answer: string): void {
  const { decision } = JSON.parse(answer) as { decision?: unknown };
  if (decision !== 'allow' && decision !== 'deny') quit();
  const choice = decision === 'allow' ? { behavior: 'allow' } : { behavior: 'deny', message: 'The person denied this from their phone (ccremote).' };
  process.stdout.write(JSON.stringify({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: choice } }), quit);
}

function main(): void {
  process.on('uncaughtException', quit);
  let limit = setTimeout(quit, TIME_LIMIT_MS);
  const channel = process.argv[2];
  if (!channel) quit();
  const chunks: Buffer[] = [];
  let size = 0;
  process.stdin.on('error', quit);
  process.stdin.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_INPUT_BYTES) quit();
    chunks.push(chunk);
  });
  process.stdin.on('end', () => {
    const event = line(Buffer.concat(chunks).toString('utf8'));
    if (event === undefined) quit();
    if (event.wait) {
      clearTimeout(limit);
      limit = setTimeout(quit, PERMISSION_WAIT_MS);
    }
    send(channel, event.line, event.wait);
  });
}

main();
