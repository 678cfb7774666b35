// The local channel through which Claude Code's hooks tell the agent that it waits for the person: a
// Unix socket in a private temporary directory (a named pipe on Windows), and the `--settings` JSON that
// registers attention-hook.js for Claude Code's Notification, Stop, PermissionRequest, PostToolUse and
// PostToolUseFailure events. Each connection carries one JSON line from the hook; a permission request's
// connection then stays open until the agent answers it (or gives it up). Anything malformed is dropped,
// and events that alert the person beyond a rate limit too.

import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_ATTENTION_MESSAGE, MAX_NAME_LENGTH, randomId } from '../protocol/index.js';
import { PERMISSION_WAIT_MS } from './hook-limits.js';

/** What a Notification or Stop hook reports: Claude Code waits for the person (`type`: Claude Code's notification type). */
export interface HookEvent {
  kind: 'notification' | 'stop';
  message?: string;
  type?: string;
}

/** A permission request a hook holds open: the tool, what it wants, and the fingerprint of the tool call. */
export interface HookPermission {
  tool: string;
  detail: string;
  call: string;
  /** Hands Claude Code a decision (none: its own prompt decides) and lets the hook go; false if the hook was gone. */
  decide(decision: 'allow' | 'deny' | undefined): boolean;
  /** Called once if the hook goes before a decision (Claude Code stopped waiting for it: the person answered at the terminal). */
  onGone(callback: () => void): void;
}

/** What the hooks report. */
export interface HookHandlers {
  attention(event: HookEvent): void;
  permission(request: HookPermission): void;
  /** A tool call ran (or failed): a permission request for it, if one is held, was decided elsewhere. */
  toolDone(call: string): void;
}

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
    private readonly handlers: HookHandlers,
    private readonly options: AttentionChannelOptions,
  ) {
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => this.accept(socket));
    server.on('error', () => undefined); // after listening, nothing the server reports concerns the agent
  }

  /** Creates the private directory and starts listening; `handlers` receive every valid event. */
  static async open(handlers: HookHandlers, options: AttentionChannelOptions = {}): Promise<AttentionChannel> {
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
      return new AttentionChannel(server, path, dir, handlers, options);
    } catch (error) {
      if (dir) await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The hook command: this Node.js running the hook script with the channel, each quoted for the shell. */
  get hookCommand(): string {
    return [process.execPath, hookScriptPath(), this.path].map(shellQuote).join(' ');
  }

  /**
   * Claude Code's `--settings` value registering the hook command: for Notification and Stop; for
   * PermissionRequest, with a time limit a minute past the hook's own; and, in the background (they need
   * not hold Claude Code up), for PostToolUse and PostToolUseFailure.
   */
  settingsJson(): string {
    const hook = { type: 'command', command: this.hookCommand };
    const background = [{ matcher: '', hooks: [{ ...hook, async: true }] }];
    return JSON.stringify({
      hooks: {
        Notification: [{ matcher: '', hooks: [hook] }],
        Stop: [{ hooks: [hook] }],
        PermissionRequest: [{ matcher: '', hooks: [{ ...hook, timeout: PERMISSION_WAIT_MS / 1000 + 60 }] }],
        PostToolUse: background,
        PostToolUseFailure: background,
      },
    });
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
      const data = Buffer.concat(chunks);
      const newline = data.indexOf(0x0a);
      this.receive((newline < 0 ? data : data.subarray(0, newline)).toString('utf8'), socket);
    };
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (chunk.includes(0x0a)) finish();
      else if (size > MAX_LINE_BYTES) socket.destroy();
    });
    socket.on('end', finish);
  }

  /** One line from a hook; the socket stays open only for a permission request. */
  private receive(line: string, socket: Socket): void {
    const report = this.closed || Buffer.byteLength(line) > MAX_LINE_BYTES ? undefined : parseHookLine(line);
    if (report?.kind !== 'permission' || socket.destroyed || !this.admit()) {
      socket.destroy();
      if (report?.kind === 'tool_done') this.handlers.toolDone(report.call);
      else if (report?.kind === 'attention' && this.admit()) this.handlers.attention(report.event);
      return;
    }
    // The hook waits for the answer: no time limit here but its own (and Claude Code's).
    socket.setTimeout(0);
    let gone: (() => void) | undefined;
    let decided = false;
    socket.on('close', () => {
      if (!decided) gone?.();
      gone = undefined;
    });
    const { tool, detail, call } = report;
    this.handlers.permission({
      tool,
      detail,
      call,
      decide: (decision) => {
        if (decided || socket.destroyed) return false;
        decided = true;
        if (decision) socket.end(`${JSON.stringify({ decision })}\n`);
        else socket.end();
        return true;
      },
      onGone: (callback) => {
        gone = callback;
        if (socket.destroyed && !decided) callback();
      },
    });
  }

  /** Whether one more alerting event fits in the rate limit. */
  private admit(): boolean {
    const now = (this.options.now ?? Date.now)();
    const windowMs = this.options.windowMs ?? 10_000;
    this.recent = this.recent.filter((at) => now - at < windowMs);
    if (this.recent.length >= (this.options.maxEvents ?? 10)) return false;
    this.recent.push(now);
    return true;
  }
}

/** What a hook's line reports. */
export type HookReport =
  | { kind: 'attention'; event: HookEvent }
  | { kind: 'permission'; tool: string; detail: string; call: string }
  | { kind: 'tool_done'; call: string };

/** What a hook's line reports, or undefined if it is not one of them. */
export function parseHookLine(line: string): HookReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { event, message, type, tool, detail, call } = value as Record<string, unknown>;
  const text = (field: unknown, max: number): string | undefined => (typeof field === 'string' ? cleanMessage(field, max) : field === undefined || field === null ? '' : undefined);
  const validCall = typeof call === 'string' && /^[A-Za-z0-9_-]{22}$/.test(call) ? call : undefined;
  if (event === 'PermissionRequest') {
    const name = text(tool, MAX_NAME_LENGTH);
    const what = text(detail, MAX_ATTENTION_MESSAGE);
    if (!name || what === undefined || !validCall) return undefined;
    return { kind: 'permission', tool: name, detail: what, call: validCall };
  }
  if (event === 'PostToolUse' || event === 'PostToolUseFailure') return validCall ? { kind: 'tool_done', call: validCall } : undefined;
  const kind = event === 'Notification' ? 'notification' : event === 'Stop' ? 'stop' : undefined;
  const said = text(message, MAX_ATTENTION_MESSAGE);
  if (!kind || said === undefined) return undefined;
  const notificationType = typeof type === 'string' && /^[a-z_]{1,64}$/.test(type) ? type : undefined;
  return { kind: 'attention', event: { kind, ...(said ? { message: said } : {}), ...(notificationType ? { type: notificationType } : {}) } };
}

/**
 * A message as text for a person: control characters become spaces (a terminal or a notification must
 * not interpret them), unpaired surrogates go, and it is cut to `max` characters.
 */
function cleanMessage(message: string, max: number): string {
  const text = message
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
    .trim()
    .slice(0, max);
  // The cut may have split a surrogate pair.
  return /[\ud800-\udbff]$/.test(text) ? text.slice(0, -1) : text;
}
