// `/metrics` in the Prometheus text format (version 0.0.4), served on an address of its own
// (`--metrics HOST:PORT`) so that it never sits on the public one: connections, agents, bytes relayed,
// refusals by kind, and the relay group's Redis and database state. Counters only grow while the relay runs.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HubStats, HubTraffic } from './hub.js';

/** What the metrics read from the relay. */
export interface MetricsSource {
  stats(): HubStats;
  traffic(): HubTraffic;
  sockets(): { open: number; waiting: number };
  /** 1 when the group's Redis (or the database) answers, 0 when not; undefined when there is none. */
  redisUp(): number | undefined;
  databaseUp(): Promise<number | undefined>;
}

/** Log events that count as refusals, by the kind of refusal they are. */
const REFUSALS: Record<string, string> = {
  agent_refused: 'agent',
  client_refused: 'client',
  connection_refused: 'connection',
  presence_refused: 'presence',
  socket_refused: 'socket',
};

export class RelayMetrics {
  private readonly refusals = new Map<string, number>();
  private forwarded = 0;
  private directed = 0;
  private server: Server | undefined;

  constructor(private readonly source: MetricsSource) {}

  /** Counts what a log event says (refusals, browsers forwarded or sent to another relay). */
  observe(event: string): void {
    const kind = REFUSALS[event];
    if (kind) this.refusals.set(kind, (this.refusals.get(kind) ?? 0) + 1);
    if (event === 'client_forwarded') this.forwarded++;
    if (event === 'client_directed') this.directed++;
  }

  /** The metrics, as Prometheus reads them. */
  async text(): Promise<string> {
    const stats = this.source.stats();
    const traffic = this.source.traffic();
    const sockets = this.source.sockets();
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[string, number]>): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    metric('ccremote_agents_online', 'gauge', 'Agents connected to this relay.', [['', stats.agentsOnline]]);
    metric('ccremote_clients', 'gauge', 'Browsers and attach clients connected to this relay (forwarded ones at their agent\'s relay).', [['', stats.clients]]);
    metric('ccremote_websockets', 'gauge', 'WebSocket connections open on this relay.', [['', sockets.open]]);
    metric('ccremote_websocket_waiting_bytes', 'gauge', 'Bytes waiting to be written to this relay\'s WebSockets.', [['', sockets.waiting]]);
    metric('ccremote_received_bytes_total', 'counter', 'Bytes of frames received, by who sent them.', [
      ['{from="agent"}', traffic.bytesFromAgents],
      ['{from="client"}', traffic.bytesFromClients],
    ]);
    metric('ccremote_forwarded_clients_total', 'counter', 'Browsers forwarded to the relay of the group that serves their agent.', [['', this.forwarded]]);
    metric('ccremote_directed_clients_total', 'counter', 'Browsers sent to the direct address of the relay of the group that serves their agent (--direct-url).', [['', this.directed]]);
    metric(
      'ccremote_refusals_total',
      'counter',
      'Connections and requests refused, by kind.',
      Object.values(REFUSALS).map((kind) => [`{kind="${kind}"}`, this.refusals.get(kind) ?? 0]),
    );
    const redis = this.source.redisUp();
    if (redis !== undefined) metric('ccremote_redis_up', 'gauge', 'Whether the relay group\'s Redis answers.', [['', redis]]);
    const database = await this.source.databaseUp();
    if (database !== undefined) metric('ccremote_database_up', 'gauge', 'Whether the registry\'s database answers.', [['', database]]);
    return `${lines.join('\n')}\n`;
  }

  /** Serves GET /metrics on `host`:`port`; resolves with the address. */
  async listen(host: string, port: number): Promise<{ url: string }> {
    const server = createServer((req, res) => {
      if ((req.url ?? '/').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
        return;
      }
      void this.text().then(
        (text) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
        () => res.writeHead(500).end(),
      );
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined);
    const address = server.address() as AddressInfo;
    return { url: `http://${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}/metrics` };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
