// createRelay: builds a relay from options and returns an object with `listen` and `close`. Argument
// parsing, environment and signals belong to the CLI, not here.

import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hashKey, MemoryAgentStore, type AgentStore } from './agent-store.js';
import { FileAgentStore } from './file-agent-store.js';
import type { HttpContext } from './http-context.js';
import { handleHttp } from './http-routes.js';
import { ConnectionCap, type ConnectionLimits } from './connection-cap.js';
import { DEFAULT_REPLY_HIGH_WATER, Hub, type HubOptions, type HubStats } from './hub.js';
import { PushRelay, loadVapidKeys, sharedVapidKeys, type VapidKeys } from './push-relay.js';
import { AnswerRelay } from './answer-relay.js';
import { RedisAgentStore } from './redis-agent-store.js';
import { PgAgentStore } from './pg-agent-store.js';
import { GroupBudget } from './group-budget.js';
import { RelayMetrics } from './metrics.js';
import { RedisLink } from './redis-link.js';
import { RelayGroup } from './relay-group.js';
import { ANSWER_ADDRESS_RATE } from './answer-route.js';
import { OriginPolicy, normaliseOrigin } from './origin.js';
import { ProxyTrust } from './proxy-trust.js';
import { RateLimiter } from '../net/rate-limit.js';
import { AuthGuard, type AuthLimits } from './auth-guard.js';
import { StaticFiles, defaultWebRoot } from './static-files.js';
import { WsGateway } from './ws-gateway.js';
import type { RateLimitOptions } from '../net/rate-limit.js';
import { CloseCode, trimSlash } from '../protocol/index.js';
import { VERSION } from '../version.js';

/** One structured log line from the relay. Never contains keys, tokens or secrets. */
export interface RelayLogEvent {
  event: string;
  [field: string]: unknown;
}

/** How long an agent may stay registered without ever connecting (24 h). */
export const DEFAULT_UNCONNECTED_AGENT_TTL_MS = 24 * 3_600_000;

/** Settings of a relay. */
export interface RelayOptions {
  /** TCP port; 0 picks a free one (default 8080). */
  port?: number;
  /** Address to listen on (default: all interfaces). */
  host?: string;
  /** Base URL that browsers use (behind a proxy, for example); printed in links and allowed as an Origin. */
  publicUrl?: string;
  /** Further origins whose pages may open browser sockets. */
  allowedOrigins?: string[];
  /** Where agent records are kept across restarts; without it (and without `store`) they live in memory. */
  dataDir?: string;
  /** A store to use instead of the built-in ones. */
  store?: AgentStore;
  /** Serve HTTPS/WSS directly with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** If set, `POST /api/agents` requires `Authorization: Bearer <token>`. */
  registrationToken?: string;
  /**
   * Reverse proxies (addresses, or prefixes such as `10.0.0.0/8`) whose X-Forwarded-For and
   * X-Forwarded-Proto are believed; from anyone else they are ignored (default: none).
   */
  trustProxy?: readonly string[];
  /** Directory of the built web client (default: the one shipped with ccremote). */
  webRoot?: string;
  /** Agents registered but never connected are forgotten after this long, in ms (default 24 h). */
  unconnectedAgentTtlMs?: number;
  /** Registrations allowed per address: burst and per minute (default 10 and 30). */
  registrationLimit?: { burst: number; perMinute: number };
  /** Limits on connection attempts and failed authentications (see AuthLimits for the defaults). */
  authLimits?: Partial<AuthLimits>;
  /** WebSocket connections open at once, in all and per address (default 10,000 and 64; IPv6 counted per /64). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** Control messages and WebSocket pings one socket may send (default 2,000 at once, then 2,000 a second). */
  controlRate?: RateLimitOptions;
  hub?: HubOptions;
  /** Time a WebSocket has from its upgrade to an accepted `hello` before it is cut (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Time an HTTP request has to send its headers (default 10 s), and to arrive whole (default 15 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** Receives structured log events (default: none). */
  log?: (event: RelayLogEvent) => void;
  /**
   * Web Push: endpoint prefixes allowed besides the major browsers' push services (`--push-service`), the
   * VAPID key pair (default: kept in `dataDir`, or new for each process), and the pushes each agent may send.
   */
  push?: { services?: string[]; keys?: VapidKeys; subject?: string; rate?: RateLimitOptions };
  /**
   * Join the relay group sharing this Redis (`redis://…`): agents registered at any relay of the group, and
   * browsers served through any of them (relay-group.ts). Without it, the relay stands alone.
   */
  redis?: string;
  /** Where the other relays of the group reach this one (default: the address it listens on). */
  advertiseUrl?: string;
  /**
   * Where browsers reach this relay of the group at an address of its own (`https://relay1.example.com`;
   * `true`: the address it listens on). Other relays then send the browsers of its agents here instead of
   * forwarding their traffic (close code Direct), and pages they serve may connect here.
   */
  directUrl?: string | true;
  /** How long this relay's records in Redis outlive it, in ms (default 15 s; renewed three times as often). */
  groupTtlMs?: number;
  /** Keep the agent registry in this PostgreSQL database (`postgres://…`; the table is made on start), and in `databaseSchema` if given. */
  database?: string;
  databaseSchema?: string;
  /** Serve `/metrics` (Prometheus text format) on this address of its own, e.g. { host: '127.0.0.1', port: 9100 }. */
  metrics?: { host: string; port: number };
}

/** A relay built by createRelay. */
export interface Relay {
  /** Starts listening; resolves with the URL it can be reached at from this machine, its port, and the address it is bound to (`::` or `0.0.0.0`: every interface). */
  listen(): Promise<{ url: string; port: number; address: string }>;
  /** Closes every connection (code 1001) and stops listening. */
  close(): Promise<void>;
  /** The base URL printed in links: `publicUrl`, or the listening URL. */
  readonly publicUrl: string | undefined;
  stats(): HubStats;
  /** WebSocket connections open now, and the bytes waiting to be written to them. */
  sockets(): { open: number; waiting: number };
}

/** Builds a relay. Nothing listens until `listen()`. */
export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  let metrics: RelayMetrics | undefined;
  const log = (event: string, fields: Record<string, unknown> = {}): void => {
    metrics?.observe(event);
    options.log?.({ event, ...fields });
  };
  const redis = options.redis ? new RedisLink(options.redis, log) : undefined;
  if (redis) {
    try {
      await redis.whenReady(10_000);
    } catch (error) {
      await redis.close();
      throw new Error(`cannot join the relay group: ${(error as Error).message} (${redactUrl(options.redis!)})`);
    }
  }
  // A member of a group moves what it holds of an agent to the relay that serves it now.
  let hub: Hub | undefined;
  let gatewayRef: WsGateway | undefined;
  const group = redis
    ? new RelayGroup(
        redis,
        {
          moved: (agentId) => hub?.moveAway(agentId),
          lost: (agentId) => hub?.moveAway(agentId),
          reclaimed: (agentId) => void gatewayRef?.restoreRecord(agentId).catch((error: Error) => log('agent_record_restore_failed', { agent: agentId, message: error.message })),
        },
        log,
        options.groupTtlMs,
      )
    : undefined;
  const openDatabase = async (url: string): Promise<AgentStore> => {
    try {
      return await PgAgentStore.open(url, { schema: options.databaseSchema });
    } catch (error) {
      await redis?.close();
      throw new Error(`cannot open the agent registry in PostgreSQL: ${(error as Error).message} (${redactUrl(url)})`);
    }
  };
  const store: AgentStore =
    options.store ??
    (options.database ? await openDatabase(options.database) : redis ? new RedisAgentStore(redis) : options.dataDir ? await FileAgentStore.open(options.dataDir) : new MemoryAgentStore());
  let files: StaticFiles;
  let vapidKeys: VapidKeys;
  try {
    files = await StaticFiles.load(options.webRoot ?? defaultWebRoot());
    vapidKeys = options.push?.keys ?? (redis ? await sharedVapidKeys(redis) : await loadVapidKeys(options.dataDir));
  } catch (error) {
    // The relay does not start: what it opened already (its registry, the group's Redis) is let go.
    if (!options.store) await store.close().catch(() => undefined);
    await redis?.close();
    throw error;
  }
  const replyHighWater = options.hub?.replyHighWater ?? DEFAULT_REPLY_HIGH_WATER;
  hub = new Hub({ ...options.hub, replyHighWater, ...(group ? { holding: (agentId, held) => (held ? group.follow(agentId) : group.unfollow(agentId)) } : {}) });
  const publicUrl = options.publicUrl === undefined ? undefined : trimSlash(options.publicUrl);
  const allowed = [...(options.allowedOrigins ?? []), ...(publicUrl ? [publicUrl] : [])].map(normaliseOrigin);
  const secure = options.tls !== undefined;
  const proxies = new ProxyTrust(options.trustProxy ?? []);
  const guard = new AuthGuard(options.authLimits, undefined, redis);

  const answers = new AnswerRelay((agentId, message) => hub.messageAgent(agentId, message));
  const context: HttpContext = {
    store,
    files,
    registrations: new GroupBudget('registrations', options.registrationLimit ?? { burst: 10, perMinute: 30 }, redis),
    registrationTokenHash: options.registrationToken !== undefined ? hashKey(options.registrationToken) : undefined,
    publicUrl,
    secure,
    proxies,
    stats: () => hub.stats(),
    guard,
    presence: async (agentId) => {
      const here = hub.presence(agentId);
      if (here.online || !group) return here;
      return { online: (await group.ownerOf(agentId).catch(() => undefined)) !== undefined, name: here.name };
    },
    redis: () => redis?.state,
    pushKey: () => pushRelay.publicKey,
    answers,
    answerAddresses: new RateLimiter(ANSWER_ADDRESS_RATE),
    group,
    startedAt: Date.now(),
    version: VERSION,
    log,
  };
  const pushRelay = new PushRelay({
    keys: vapidKeys,
    subject: options.push?.subject ?? publicUrl ?? 'https://github.com/ccremote',
    extraServices: options.push?.services,
    rate: options.push?.rate,
  });
  const gateway = new WsGateway({
    hub,
    group,
    push: pushRelay,
    answers,
    store,
    origins: new OriginPolicy(allowed),
    guard,
    connections: new ConnectionCap(options.connectionLimits),
    secure,
    proxies,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    controlRate: options.controlRate,
    replyHighWater,
    pingIntervalMs: options.pingIntervalMs,
    log,
  });

  gatewayRef = gateway;
  const onRequest = (req: Parameters<typeof handleHttp>[0], res: Parameters<typeof handleHttp>[1]): void => {
    void handleHttp(req, res, context);
  };
  // A request has headersTimeout to send its headers and requestTimeout to arrive whole, checked every
  // second (Node checks every 30 s by default, so a slow client would get up to 30 s more).
  const headersTimeout = options.headersTimeoutMs ?? 10_000;
  const timeouts = {
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, options.requestTimeoutMs ?? 15_000),
    connectionsCheckingInterval: Math.min(1000, headersTimeout),
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, ...timeouts }, onRequest)
    : createHttpServer(timeouts, onRequest);
  server.on('upgrade', (req, socket, head) => gateway.handleUpgrade(req, socket, head));
  server.on('clientError', (_error, socket) => socket.destroy());
  // Flow control looks for clients that stopped acknowledging a few times a second.
  const flowTimer = setInterval(() => hub.tick(), 250);
  flowTimer.unref();
  // Registrations that never led to a connection (abandoned, or made by someone filling the store) expire.
  const ttl = options.unconnectedAgentTtlMs ?? DEFAULT_UNCONNECTED_AGENT_TTL_MS;
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = (): void => {
    sweeping = sweeping.then(async () => {
      try {
        const expired = await store.expireUnconnected(Date.now() - ttl);
        if (expired.length > 0) log('agents_expired', { count: expired.length, reason: 'registered but never connected' });
      } catch (error) {
        log('store_error', { message: (error as Error).message });
      }
    });
  };
  const expiryTimer = setInterval(sweep, Math.min(Math.max(ttl / 4, 100), 3_600_000));
  expiryTimer.unref();

  let listening = false;
  return {
    publicUrl,
    stats: () => hub.stats(),
    sockets: () => gateway.sockets(),
    async listen() {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 8080, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      listening = true;
      // After start-up, server errors (out of file descriptors, say) are logged, never fatal.
      server.on('error', (error) => log('server_error', { message: error.message }));
      const { port, address } = server.address() as AddressInfo;
      const host = options.host && !['0.0.0.0', '::', ''].includes(options.host) ? options.host : '127.0.0.1';
      const url = `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (group) {
        const direct = options.directUrl === true ? url : options.directUrl === undefined ? undefined : trimSlash(options.directUrl);
        await group.start(options.advertiseUrl ? trimSlash(options.advertiseUrl) : url, direct);
        log('group_joined', { relay: group.id, url: group.url, ...(direct ? { direct } : {}) });
      }
      if (options.metrics) {
        metrics = new RelayMetrics({
          stats: () => hub.stats(),
          traffic: () => hub.traffic(),
          sockets: () => gateway.sockets(),
          redisUp: () => (redis ? Number(redis.ready) : undefined),
          databaseUp: async () => (store.check ? Number((await store.check()).ok) : undefined),
        });
        const served = await metrics.listen(options.metrics.host, options.metrics.port);
        log('metrics_listening', served);
      }
      log('listening', { url });
      return { url, port, address };
    },
    async close() {
      await metrics?.close();
      clearInterval(flowTimer);
      clearInterval(expiryTimer);
      answers.dispose();
      await sweeping;
      await gateway.close(CloseCode.GoingAway, 'relay shutting down');
      if (listening) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }
      await store.close();
      await group?.close();
      await redis?.close();
    },
  };
}

/** A service's URL (Redis, PostgreSQL) without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unreadable URL';
  }
}
