// The local channel through which Claude Code's hooks tell the agent that it waits for the person: a
// Unix socket in a private temporary directory (a named pipe on Windows), and the `--settings` JSON that
// registers attention-hook.js for Claude Code's Notification and Stop events. Each connection carries
// one JSON line from the hook; anything malformed is dropped, and events beyond a rate limit too.

import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_ATTENTION_MESSAGE, randomId, type AttentionEvent } from '../protocol/index.js';

/** What a hook reports: an attention event, before the agent names its session. */
export type HookEvent = Omit<AttentionEvent, 'terminal'>;

/** Longest line a hook may send, in bytes; a longer one is dropped. */
const MAX_LINE_BYTES = 16 * 1024;
/** A connection that has not sent its line within this long is dropped, in ms. */
const LINE_TIMEOUT_MS = 2000;
/** Connections open at once. */
const MAX_CONNECTIONS = 16;

/** Settings of an AttentionChannel. */
export interface AttentionChannelOptions {
  /** At most this many events are passed on per `windowMs` (default 10 per 10 s); the rest are dropped. */
  maxEvents?: number;
  windowMs?: number;
  /** Clock, in ms (tests may pass their own). */
  now?: () => number;
}

/** Where the hook script is: beside this module once built, under dist/ when running from sources. */
export function hookScriptPath(): string {
  const beside = fileURLToPath(new URL('./attention-hook.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/agent/attention-hook.js', import.meta.url));
}

/** One argument for a POSIX shell, in single quotes (hooks run through a shell). */
export function shellQuote(argument: string): string {
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** A listening channel; `open` starts one, `close` removes it. */
export class AttentionChannel {
  private readonly sockets = new Set<Socket>();
  /** When the events passed on within the current window arrived. */
  private recent: number[] = [];
  private closed = false;

  private constructor(
    private readonly server: Server,
    /** The socket's path, or the pipe's name. */
    readonly path: string,
    /** The private directory holding the socket (none on Windows). */
    readonly dir: string | undefined,
    private readonly onAttention: (event: HookEvent) => void,
    private readonly options: AttentionChannelOptions,
  ) {
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => undefined); // after listening, nothing the server reports concerns the agent
  }

  /** Creates the private directory and starts listening; `onAttention` receives every valid event. */
  static async open(onAttention: (event: HookEvent) => void, options: AttentionChannelOptions = {}): Promise<AttentionChannel> {
    const windows = process.platform === 'win32';
    const dir = windows ? undefined : await mkdtemp(join(tmpdir(), 'ccremote-'));
    try {
      if (dir) await chmod(dir, 0o700);
      const path = dir ? join(dir, 'attention.sock') : `\\\\.\\pipe\\ccremote-${randomId()}`;
      const server = createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return new AttentionChannel(server, path, dir, onAttention, options);
    } catch (error) {
      if (dir) await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The hook command: this Node.js running the hook script with the channel, each quoted for the shell. */
  get hookCommand(): string {
    return [process.execPath, hookScriptPath(), this.path].map(shellQuote).join(' ');
  }

  /** Claude Code's `--settings` value registering the hook command for its Notification and Stop events. */
  settingsJson(): string {
    const hooks = [{ type: 'command', command: this.hookCommand }];
    return JSON.stringify({ hooks: { Notification: [{ matcher: '', hooks }], Stop: [{ hooks }] } });
  }

  /** Stops listening, drops open connections and removes the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(LINE_TIMEOUT_MS, () => socket.destroy());
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (): void => {
      socket.removeAllListeners('data');
      socket.removeAllListeners('end');
      socket.destroy();
      const data = Buffer.concat(chunks);
      const newline = data.indexOf(0x0a);
      this.receive((newline < 0 ? data : data.subarray(0, newline)).toString('utf8'));
    };
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (chunk.includes(0x0a)) finish();
      else if (size > MAX_LINE_BYTES) socket.destroy();
    });
    socket.on('end', finish);
  }

  private receive(line: string): void {
    if (this.closed || Buffer.byteLength(line) > MAX_LINE_BYTES) return;
    const event = parseHookLine(line);
    if (!event || !this.admit()) return;
    this.onAttention(event);
  }

  /** Whether one more event fits in the rate limit. */
  private admit(): boolean {
    const now = (this.options.now ?? Date.now)();
    const windowMs = this.options.windowMs ?? 10_000;
    this.recent = this.recent.filter((at) => now - at < windowMs);
    if (this.recent.length >= (this.options.maxEvents ?? 10)) return false;
    this.recent.push(now);
    return true;
  }
}

/** The event a hook's line describes, or undefined if it is not one. */
export function parseHookLine(line: string): HookEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { event, message } = value as Record<string, unknown>;
  const kind = event === 'Notification' ? 'notification' : event === 'Stop' ? 'stop' : undefined;
  if (!kind) return undefined;
  if (message !== undefined && message !== null && typeof message !== 'string') return undefined;
  const text = typeof message === 'string' ? cleanMessage(message) : '';
  return text ? { kind, message: text } : { kind };
}

/**
 * A message as text for a person: control characters become spaces (a terminal or a notification must
 * not interpret them), unpaired surrogates go, and it is cut to MAX_ATTENTION_MESSAGE characters.
 */
function cleanMessage(message: string): string {
  const text = message
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .trim()
    .slice(0, MAX_ATTENTION_MESSAGE);
  // The cut may have split a surrogate pair.
  return /[\ud800-\udbff]$/.test(text) ? text.slice(0, -1) : text;
}
