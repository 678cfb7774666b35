// The hook command the agent registers with Claude Code for its Notification and Stop events
// (attention-channel.ts): `node attention-hook.js <channel>`. Claude Code writes the hook's JSON on
// stdin; this passes the event's name and message on to the agent as one JSON line over the local
// channel (a Unix socket or a Windows named pipe) and exits. It must never hold Claude Code up or make
// it report a failure: whatever goes wrong, it exits 0, silently, within about 2 s.

import { connect } from 'node:net';

/** Most of the hook's JSON read from stdin, in bytes; more and the event is dropped. */
const MAX_INPUT_BYTES = 64 * 1024;
/** The whole run, reading and sending, takes at most this long, in ms. */
const TIME_LIMIT_MS = 2000;
/** Longest message passed on, in characters. */
const MAX_MESSAGE = 500;

function quit(): never {
  process.exit(0);
}

/** The line for the agent, or undefined if the input is not a hook event. */
function line(input: string): string | undefined {
  const hook: unknown = JSON.parse(input);
  if (typeof hook !== 'object' || hook === null) return undefined;
  const { hook_event_name: event, message } = hook as Record<string, unknown>;
  if (typeof event !== 'string') return undefined;
  const text = typeof message === 'string' ? message.trim().slice(0, MAX_MESSAGE) : undefined;
  return `${JSON.stringify({ event, message: text })}\n`;
}

function send(channel: string, data: string): void {
  const socket = connect(channel);
  socket.on('error', quit);
  socket.on('close', quit);
  socket.end(data);
}

function main(): void {
  process.on('uncaughtException', quit);
  setTimeout(quit, TIME_LIMIT_MS).unref();
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
    const data = line(Buffer.concat(chunks).toString('utf8'));
    if (data === undefined) quit();
    send(channel, data);
  });
}

main();
