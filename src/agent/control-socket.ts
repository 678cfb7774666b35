// A local door into a running agent, for `ccremote devices` on the same computer: a Unix socket beside
// the agent's identity file, in a directory only its user can open (a named pipe on Windows, named after
// that file). Each connection sends one JSON line and gets one back: the paired devices, or the result of
// revoking one. Anything malformed gets an error line; nothing from here reaches the relay unchecked.

import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ProtocolError, isId, oneOf, optional, str, validateShape } from '../protocol/index.js';

/** Longest request line, in bytes. */
const MAX_LINE_BYTES = 4096;

const requestShape = { type: oneOf(['devices', 'revoke'] as const), id: optional(str({ max: 64 })) };

/** A request to the agent. */
export type ControlRequest = { type: 'devices' } | { type: 'revoke'; id: string };

/** What the agent answers. */
export type ControlAnswer = { ok: true; devices?: unknown; url?: string; viewUrl?: string } | { ok: false; message: string };

/** What a control socket does with requests. */
export interface ControlHandler {
  handle(request: ControlRequest): Promise<ControlAnswer>;
}

/** The socket (or pipe) of the agent whose identity file is `identityPath`. */
export function controlPath(identityPath: string): string {
  if (process.platform === 'win32') return `\\\\.\\pipe\\ccremote-${createHash('sha256').update(identityPath).digest('hex').slice(0, 24)}`;
  return identityPath.replace(/\.json$/, '.sock');
}

/** A listening control socket. */
export class ControlSocket {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly path: string,
  ) {}

  /** Listens at `path` (replacing a stale socket left by an agent that died: the caller holds the lock). */
  static async open(path: string, handler: ControlHandler): Promise<ControlSocket> {
    if (process.platform !== 'win32') rmSync(path, { force: true });
    const server = createServer();
    const control = new ControlSocket(server, path);
    server.on('connection', (socket) => control.accept(socket, handler));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    return control;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (process.platform !== 'win32') rmSync(this.path, { force: true });
  }

  private accept(socket: Socket, handler: ControlHandler): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(5000, () => socket.destroy());
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      if (buffer.length > MAX_LINE_BYTES) return void socket.end(`${JSON.stringify({ ok: false, message: 'request too long' })}\n`);
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.pause();
      void answer(buffer.slice(0, end), handler).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
  }
}

async function answer(line: string, handler: ControlHandler): Promise<ControlAnswer> {
  let request: ControlRequest;
  try {
    const body = validateShape(requestShape, JSON.parse(line), 'request');
    if (body.type === 'revoke') {
      if (body.id === undefined || !isId(body.id)) throw new ProtocolError('request: revoke needs a device id');
      request = { type: 'revoke', id: body.id };
    } else request = { type: 'devices' };
  } catch (error) {
    return { ok: false, message: error instanceof ProtocolError ? error.message : 'request is not JSON' };
  }
  try {
    return await handler.handle(request);
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/** Asks the agent listening at `path`; rejects with ENOENT or ECONNREFUSED when none listens. */
export function askAgent(path: string, request: ControlRequest): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let reply = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('the agent did not answer')));
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('end', () => {
      try {
        resolve(JSON.parse(reply) as ControlAnswer);
      } catch {
        reject(new Error('the agent answered something that is not JSON'));
      }
    });
  });
}
