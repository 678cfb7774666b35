// A hostile relay for security tests: a man in the middle in front of a real relay, at the WebSocket
// message level. It records every message that agents and clients exchange with the relay, in both
// directions, and lets a test alter, drop, hold back, replay or inject messages. HTTP requests (agent
// registration, the web client's pages) are passed through unchanged.

import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { atCleanup, startRelay, type TestRelay } from './system.js';
import { EventLog } from './wait.js';

/** Who a socket belongs to, and which way a message goes (`up`: towards the relay). */
export interface Tapped {
  side: 'agent' | 'client';
  way: 'up' | 'down';
  /** Which connection of that side, numbered from 1 in order of arrival. */
  connection: number;
  data: Buffer;
  binary: boolean;
}

/** What a tamper hook returns: the messages to pass on instead (none drops it), or undefined to pass it as is. */
export type Tamper = (message: Tapped) => Array<{ data: Buffer; binary: boolean }> | undefined;

export class HostileRelay {
  /** Every message seen, before any tampering. */
  readonly seen = new EventLog<Tapped>();
  /** Replaces messages in flight; set and cleared by tests. */
  tamper: Tamper | undefined;
  private readonly sockets = new Set<WebSocket>();
  private readonly links: Array<{ side: 'agent' | 'client'; connection: number; toRelay: WebSocket; toPeer: WebSocket }> = [];
  private counts = { agent: 0, client: 0 };

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
    readonly url: string,
  ) {}

  static async start(relayUrl: string): Promise<HostileRelay> {
    const target = new URL(relayUrl);
    let self: HostileRelay | undefined;
    const server = createServer((req, res) => {
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => self!.accept(ws, req)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    self = new HostileRelay(server, target, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  /** Sends a message to one side's connection as if the relay had sent it. */
  inject(side: 'agent' | 'client', connection: number, data: Uint8Array | string): void {
    const link = this.links.find((l) => l.side === side && l.connection === connection);
    if (!link) throw new Error(`no ${side} connection ${connection}`);
    link.toPeer.send(data);
  }

  /** Cuts one connection of a side at once, as a lost network would (the peer reconnects by itself). */
  cut(side: 'agent' | 'client', connection: number): void {
    const link = this.links.find((l) => l.side === side && l.connection === connection);
    if (!link) throw new Error(`no ${side} connection ${connection}`);
    link.toPeer.terminate();
    link.toRelay.terminate();
  }

  /** How many connections of a side it has seen (the latest is numbered so). */
  connections(side: 'agent' | 'client'): number {
    return this.counts[side];
  }

  /** Every message of one side and way, in order. */
  messages(side: 'agent' | 'client', way: 'up' | 'down'): Tapped[] {
    return this.seen.items.filter((m) => m.side === side && m.way === way);
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(peer: WebSocket, req: IncomingMessage): void {
    const side = req.url?.startsWith('/ws/agent/') ? 'agent' : 'client';
    const connection = ++this.counts[side];
    const headers: Record<string, string> = {};
    if (req.headers.authorization) headers.authorization = req.headers.authorization;
    // The relay checks the Origin against its own address: present the page's origin as the relay's.
    const upstream = new WebSocket(`ws://${this.target.host}${req.url}`, {
      headers,
      origin: req.headers.origin === undefined ? undefined : this.target.origin,
      perMessageDeflate: false,
    });
    this.sockets.add(peer);
    this.sockets.add(upstream);
    this.links.push({ side, connection, toRelay: upstream, toPeer: peer });
    const early: Array<[RawData, boolean]> = [];
    const pass = (to: WebSocket, way: 'up' | 'down', raw: RawData, binary: boolean): void => {
      const data = Buffer.isBuffer(raw) ? raw : Buffer.concat(raw as Buffer[]);
      const message: Tapped = { side, way, connection, data, binary };
      this.seen.push(message);
      const out = this.tamper?.(message) ?? [{ data, binary }];
      for (const m of out) if (to.readyState === WebSocket.OPEN) to.send(m.data, { binary: m.binary });
    };
    peer.on('message', (raw, binary) => {
      if (upstream.readyState === WebSocket.OPEN) pass(upstream, 'up', raw, binary);
      else early.push([raw, binary]);
    });
    upstream.on('open', () => {
      for (const [raw, binary] of early.splice(0)) pass(upstream, 'up', raw, binary);
    });
    upstream.on('message', (raw, binary) => pass(peer, 'down', raw, binary));
    const closeBoth = (code: number, reason: Buffer): void => {
      const usable = code >= 1000 && code !== 1005 && code !== 1006 && code !== 1015;
      for (const ws of [peer, upstream]) {
        if (ws.readyState === WebSocket.OPEN) usable ? ws.close(code, reason) : ws.terminate();
        else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      }
    };
    peer.on('close', closeBoth);
    upstream.on('close', closeBoth);
    peer.on('error', () => undefined);
    upstream.on('error', () => undefined);
  }
}

/** A relay with a man in the middle in front of it, both closed at cleanup; `through` rewrites a link to go via it. */
export async function relayBehindHostile(): Promise<{ relay: TestRelay; hostile: HostileRelay; through(url: string): string }> {
  const relay = await startRelay();
  const hostile = await HostileRelay.start(relay.url);
  atCleanup(() => hostile.close());
  return { relay, hostile, through: (url) => url.replace(relay.url, hostile.url) };
}
