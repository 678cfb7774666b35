// A TCP proxy for fault injection: it forwards connections to a target and can cut them (abruptly,
// as a lost network would) at chosen or random moments, or refuse new ones for a while. Given a router, it
// is a load balancer that picks each connection's target from its first request line.

import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Picks a connection's target port from its request line. */
export type Router = (method: string, path: string) => number;

/** A proxy in front of `127.0.0.1:targetPort`. */
export class CutProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Connections whose request line has not arrived yet (a browser's speculative ones may never send one). */
  private readonly unrouted = new Set<Socket>();
  private refusing = false;
  private timer: NodeJS.Timeout | undefined;
  /** How many connections were cut so far. */
  cuts = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private targetPort: number,
    private readonly router: Router | undefined,
  ) {}

  /** A proxy to `targetPort`, or with `router` to the port it picks for each connection, listening on `port` (0: any free one). */
  static async start(targetPort: number, options: { router?: Router; port?: number } = {}): Promise<CutProxy> {
    let proxy: CutProxy | undefined;
    const server = createServer((socket) => (proxy!.router ? proxy!.routed(socket, proxy!.router) : proxy!.accept(socket, proxy!.targetPort)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', resolve);
    });
    proxy = new CutProxy(server, (server.address() as AddressInfo).port, targetPort, options.router);
    return proxy;
  }

  /** New connections go to `127.0.0.1:targetPort` from now on (a load balancer sending them elsewhere). */
  retarget(targetPort: number): void {
    this.targetPort = targetPort;
  }

  /** The proxy's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Cuts every open connection. */
  cutAll(): void {
    for (const pair of [...this.pairs]) this.cut(pair);
  }

  /** While true, new connections are cut as soon as they arrive. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Cuts one random open connection every `minMs`–`maxMs` until `stop()`. */
  cutRandomly(minMs: number, maxMs: number, random: () => number = Math.random): void {
    const next = (): void => {
      this.timer = setTimeout(() => {
        this.cutOne(random);
        next();
      }, minMs + random() * (maxMs - minMs));
    };
    next();
  }

  /** Cuts one random open connection; false if none was open. */
  cutOne(random: () => number = Math.random): boolean {
    const open = [...this.pairs];
    if (open.length === 0) return false;
    this.cut(open[Math.floor(random() * open.length)]!);
    return true;
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  async close(): Promise<void> {
    this.stop();
    this.cutAll();
    for (const socket of this.unrouted) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Reads up to the end of the request line, then forwards the connection (that line included) where the router says. */
  private routed(socket: Socket, router: Router): void {
    socket.on('error', () => undefined);
    this.unrouted.add(socket);
    socket.once('close', () => this.unrouted.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n');
      if (end < 0 && head.length < 8192) return;
      socket.off('data', onData);
      this.unrouted.delete(socket);
      socket.pause();
      const [method = '', path = ''] = head.subarray(0, end < 0 ? head.length : end).toString('latin1').split(' ');
      this.accept(socket, router(method, path), head);
    };
    socket.on('data', onData);
  }

  private accept(socket: Socket, targetPort: number, head?: Buffer): void {
    socket.on('error', () => undefined);
    if (this.refusing) {
      socket.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('error', () => undefined);
    const pair: [Socket, Socket] = [socket, upstream];
    this.pairs.add(pair);
    if (head) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
    const done = (): void => {
      this.pairs.delete(pair);
      socket.destroy();
      upstream.destroy();
    };
    socket.on('close', done);
    upstream.on('close', done);
  }

  private cut(pair: [Socket, Socket]): void {
    this.cuts++;
    this.pairs.delete(pair);
    // resetAndDestroy sends a TCP reset, as a network failure or a killed process would.
    for (const socket of pair) socket.resetAndDestroy();
  }
}
