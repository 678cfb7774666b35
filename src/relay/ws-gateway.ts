// Accepts WebSocket upgrades within the relay's connection caps, authenticates agents (key) and clients
// (token in `hello`), decodes and validates every frame with the protocol module, and hands the results
// to the hub. A frame that fails validation closes only its own socket, with the close code the protocol
// assigns.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, ProtocolError, closeReason, directUrlOfReason, encodeMessage, fromBase64Url, isId, rateLimitReason, parseAgentToRelay, parseClientToRelay, type AgentToRelay } from '../protocol/index.js';
import { keyMatches, tokenAccess, type AgentCredentialSet, type AgentRecord, type AgentStore } from './agent-store.js';
import type { AuthGuard } from './auth-guard.js';
import type { ConnectionCap } from './connection-cap.js';
import { Connection } from './connection.js';
import { validHost } from './host-header.js';
import type { ClientHandle, Hub } from './hub.js';
import type { OriginPolicy } from './origin.js';
import type { ProxyTrust } from './proxy-trust.js';
import { PushRefused, type PushRelay } from './push-relay.js';
import type { AnswerRelay } from './answer-relay.js';
import { forwardBrowser, pause, resume } from './relay-proxy.js';
import type { RelayGroup } from './relay-group.js';
import type { Peer } from '../net/peer.js';
import type { RateLimitOptions } from '../net/rate-limit.js';
import { SocketPeer } from '../net/socket-peer.js';

/** What the gateway needs from the relay. */
export interface GatewayOptions {
  hub: Hub;
  /** Web Push for the agents (push-relay.ts). */
  push: PushRelay;
  /** Answers to permission requests from notifications, on their way to agents (answer-relay.ts). */
  answers: AnswerRelay;
  store: AgentStore;
  origins: OriginPolicy;
  guard: AuthGuard;
  connections: ConnectionCap;
  secure: boolean;
  /** The reverse proxies whose X-Forwarded-* headers are believed. */
  proxies: ProxyTrust;
  /** Time allowed between the upgrade and an accepted `hello` (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Control messages and pings one socket may send (default 2,000 at once, then 2,000 a second). */
  controlRate?: RateLimitOptions;
  /** Bytes waiting for a socket above which its pings go unanswered (the hub's replyHighWater). */
  replyHighWater: number;
  /** Interval of WebSocket pings; a socket that missed the previous one is dropped (default 30 s). */
  pingIntervalMs?: number;
  /** The relay group this relay is part of (`--redis`), if any. */
  group?: RelayGroup;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** Control messages and pings one socket may send by default: 2,000 at once, then 2,000 a second. */
export const DEFAULT_CONTROL_RATE: RateLimitOptions = { burst: 2000, perMinute: 120_000 };

/** The ping sweep's slices (see the constructor). */
const PING_SLICES = 10;

/** Accepts and serves the relay's WebSocket endpoints. */
export class WsGateway {
  // Pings are answered by Connection, within its limits, not by the library whatever the backlog.
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, perMessageDeflate: false, autoPong: false });
  /** Per socket: whether it answered since its last ping, and which slice of the ping sweep it is in. */
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly slice = new WeakMap<WebSocket, number>();
  private readonly pinger: NodeJS.Timeout;
  private tick = 0;
  private nextSlice = 0;
  /** Relays of the group that could not be reached for an agent, until their records expire. */
  private readonly unreachable = new Map<string, { relay: string; until: number }>();
  /** The records of the agents connected here, as they stand (to put back in a store that lost them). */
  private readonly served = new Map<string, AgentRecord>();

  constructor(private readonly options: GatewayOptions) {
    // Sockets are pinged in PING_SLICES slices, one slice per tick, so that each is pinged once per
    // interval and thousands of sockets never all answer at the same instant.
    this.pinger = setInterval(() => this.pingSlice(), (options.pingIntervalMs ?? 30_000) / PING_SLICES);
    this.pinger.unref();
  }

  /** Routes an HTTP upgrade to the agent or client endpoint, or refuses it (before any WebSocket is opened). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Not a closure here: it would keep this function's context (the request, its URL) for the socket's life.
    socket.on('error', destroySocket);
    // A request target that is no URL (`//[`, `http://[`) is a bad request, never an exception here.
    const url = URL.canParse(req.url ?? '/', 'http://relay.invalid') ? new URL(req.url ?? '/', 'http://relay.invalid') : undefined;
    if (!url) return refuseUpgrade(socket, 400, 'Bad Request', 'invalid request target');
    const route = /^\/ws\/(agent|client)\/([^/]+)$/.exec(url.pathname);
    if (!route) return refuseUpgrade(socket, 404, 'Not Found');
    if (validHost(req.headers.host) === undefined) return refuseUpgrade(socket, 400, 'Bad Request', 'missing or invalid Host header');
    const [, kind, agentId] = route as unknown as [string, 'agent' | 'client', string];
    // A browser another relay of the group forwards: that relay checked its origin and counted it.
    const relayed = kind === 'client' ? this.options.group?.forwarded(req.headers) : undefined;
    const client = relayed ? { address: relayed.address, forwardedSecure: relayed.secure } : this.options.proxies.client(req);
    const address = client.address;
    const admitted = this.options.connections.admit(address);
    if ('refused' in admitted) {
      const full = admitted.refused === 'relay_full';
      this.options.log('connection_refused', { address, reason: full ? 'too many connections' : 'too many connections from this address' });
      return full
        ? refuseUpgrade(socket, 503, 'Service Unavailable', 'too many connections; try again later', 10)
        : refuseUpgrade(socket, 429, 'Too Many Requests', 'too many connections from this address', 10);
    }
    // The connection counts until its socket closes, however it ends.
    socket.once('close', admitted.release);
    const wait = relayed ? 0 : this.options.guard.connectionAttempt(address);
    if (wait > 0) {
      this.options.log('connection_refused', { address, reason: 'rate limited' });
      return refuseUpgrade(socket, 429, 'Too Many Requests', 'too many connection attempts from this address', Math.ceil(wait / 1000));
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.track(ws);
      if (kind === 'agent') this.acceptAgent(ws, req, address, agentId, agentKey(req), url.searchParams.has('key'));
      else void this.routeClient(ws, req, address, agentId, client.forwardedSecure, relayed !== undefined, url.searchParams.has('forward'));
    });
  }

  /**
   * A browser for `agentId`: served here when this relay serves the agent, or no relay does (it waits here
   * for the agent); forwarded to the relay of the group that serves it otherwise. A browser another relay
   * forwarded is served here only while the agent is: otherwise it is told to reconnect (Moved). When the
   * relay serving the agent has an address browsers reach (`--direct-url`), the browser is sent there
   * (Direct) instead of being forwarded, unless it asks to be forwarded (`?forward`: it could not reach it).
   */
  private async routeClient(ws: WebSocket, req: IncomingMessage, address: string, agentId: string, forwardedSecure: boolean, relayed: boolean, forwardAsked: boolean): Promise<void> {
    const group = this.options.group;
    if (!group) return this.acceptClient(ws, req, address, agentId, forwardedSecure, false);
    // Nothing the browser sends is read until it is decided who serves it.
    pause(ws);
    try {
      await this.decideClient(group, ws, req, address, agentId, forwardedSecure, relayed, forwardAsked);
    } finally {
      resume(ws);
    }
  }

  private async decideClient(group: RelayGroup, ws: WebSocket, req: IncomingMessage, address: string, agentId: string, forwardedSecure: boolean, relayed: boolean, forwardAsked: boolean): Promise<void> {
    const { hub, log, secure } = this.options;
    // A page of a relay that joined the group since the last renewal: its origin is looked up now.
    if (!relayed && !this.checkOrigin(req, forwardedSecure).ok) await group.refreshDirectOrigins();
    if (relayed) {
      if (!hub.presence(agentId).online) return ws.close(CloseCode.Moved, 'the agent is not served by this relay any more; reconnect');
      return this.acceptClient(ws, req, address, agentId, forwardedSecure, true);
    }
    let owner;
    try {
      owner = hub.presence(agentId).online ? undefined : await group.ownerOf(agentId);
    } catch (error) {
      log('client_refused', { address, reason: `cannot route: ${(error as Error).message}` });
      return ws.close(CloseCode.Unroutable, 'this relay cannot reach its group’s Redis to find the agent; try again shortly');
    }
    if (!owner || owner.id === group.id || this.isUnreachable(agentId, owner.id)) {
      return this.acceptClient(ws, req, address, agentId, forwardedSecure, false);
    }
    const origin = this.checkOrigin(req, forwardedSecure);
    if (!origin.ok) {
      log('client_refused', { address, reason: origin.reason });
      return ws.close(CloseCode.ForbiddenOrigin, origin.reason);
    }
    if (owner.direct !== undefined && directUrlOfReason(owner.direct) !== undefined && !forwardAsked) {
      log('client_directed', { agent: agentId, address, relay: owner.id });
      return ws.close(CloseCode.Direct, owner.direct);
    }
    const target = `${owner.url.replace(/^http/, 'ws')}/ws/client/${agentId}`;
    log('client_forwarded', { agent: agentId, address, relay: owner.id });
    forwardBrowser(ws, target, group.forwardHeaders(address, secure || forwardedSecure), {
      unreachable: (reason) => {
        log('relay_unreachable', { relay: owner.id, reason });
        this.unreachable.set(agentId, { relay: owner.id, until: Date.now() + group.ttlMs });
      },
    });
  }

  /** Whether `relay` could not be reached for `agentId` lately (its records have not expired yet). */
  private isUnreachable(agentId: string, relay: string): boolean {
    const suspect = this.unreachable.get(agentId);
    if (suspect && suspect.until <= Date.now()) this.unreachable.delete(agentId);
    return suspect !== undefined && suspect.relay === relay && suspect.until > Date.now();
  }

  /** Whether a browser's Origin may open a socket to this relay, as reached in `req`. */
  private checkOrigin(req: IncomingMessage, forwardedSecure: boolean): ReturnType<OriginPolicy['check']> {
    return this.options.origins.check(req.headers.origin, validHost(req.headers.host), this.options.secure || forwardedSecure, this.options.group?.directOrigins);
  }

  /** WebSocket connections open now, and the bytes waiting to be written to them. */
  sockets(): { open: number; waiting: number } {
    let waiting = 0;
    for (const ws of this.wss.clients) waiting += ws.bufferedAmount;
    return { open: this.options.connections.open, waiting };
  }

  /** Closes every socket with `code`, waiting up to `graceMs` for peers to answer, then cuts the rest. */
  async close(code: number, reason: string, graceMs = 1000): Promise<void> {
    clearInterval(this.pinger);
    const sockets = [...this.wss.clients];
    const closed = sockets.map((ws) => new Promise<void>((resolve) => ws.once('close', () => resolve())));
    for (const ws of sockets) ws.close(code, closeReason(reason));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(closed), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private track(ws: WebSocket): void {
    this.alive.set(ws, true);
    this.slice.set(ws, this.nextSlice++ % PING_SLICES);
    ws.on('pong', () => this.alive.set(ws, true));
    ws.on('error', (error) => this.options.log('socket_error', { message: error.message }));
  }

  private pingSlice(): void {
    const slice = this.tick++ % PING_SLICES;
    for (const ws of this.wss.clients) {
      if (this.slice.get(ws) !== slice) continue;
      if (!this.alive.get(ws)) {
        this.options.log('socket_dropped', { reason: 'no answer to ping' });
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  private acceptAgent(ws: WebSocket, req: IncomingMessage, address: string, agentId: string, key: string | undefined, keyInUrl: boolean): void {
    const { hub, store, log, guard } = this.options;
    const peer = new SocketPeer(ws);
    let online = false;
    const conn = this.connection(ws, address);
    if (req.headers.origin !== undefined) return conn.refuse(CloseCode.ForbiddenOrigin, 'agents do not connect from web pages');
    // Keys in URLs end up in proxy and access logs; the original design's `?key=` is refused.
    if (keyInUrl) return conn.refuse(CloseCode.Unauthorized, 'send the agent key in the Authorization header, never in the URL');
    ws.on('close', () => {
      this.options.answers.closed(peer);
      if (online) {
        if (hub.disconnectAgent(agentId, peer)) {
          this.served.delete(agentId);
          void this.options.group?.release(agentId);
        }
        log('agent_disconnected', { agent: agentId });
      }
    });
    conn.step(async () => {
      if (await this.refusedAsBlocked(conn, 'agent_refused', address)) return;
      const record = isId(agentId) ? await store.get(agentId) : undefined;
      if (!keyMatches(record, key ?? '') || !record) {
        guard.failed(address);
        log('agent_refused', { address });
        return conn.refuse(CloseCode.Unauthorized, 'unknown agent or wrong key');
      }
      conn.onText = (raw) => {
        const hello = parseAgentToRelay(raw);
        if (hello.type !== 'hello') throw new ProtocolError('expected hello');
        if (hello.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${hello.v} not supported`, CloseCode.UnsupportedVersion);
        conn.step(async () => {
          await this.updateCredentials(agentId, hello);
          if (conn.isClosed) return;
          conn.handshakeDone();
          online = true;
          hub.connectAgent(agentId, peer, hello, record.name);
          this.served.set(agentId, { ...record, accessVerifier: hello.access, viewVerifier: hello.view, devices: hello.devices });
          this.unreachable.delete(agentId);
          this.options.group?.claim(agentId).catch((error: Error) => log('group_claim_failed', { agent: agentId, message: error.message }));
          log('agent_connected', { agent: agentId, address });
          conn.onText = (text) => {
            const message = parseAgentToRelay(text);
            if (message.type === 'hello') throw new ProtocolError('hello sent twice');
            if (message.type === 'credentials') return conn.step(() => this.updateCredentials(agentId, message));
            if (message.type === 'push_register' || message.type === 'push_unregister' || message.type === 'push') return this.push(agentId, peer, message);
            if (message.type === 'answer_result') return this.options.answers.result(agentId, peer, message.ref, message.sealed);
            hub.agentMessage(agentId, peer, message);
          };
          conn.onBinary = (bytes) => hub.agentFrame(agentId, peer, bytes);
        });
      };
    });
  }

  /** An agent's Web Push request: done (or refused) and answered with `push_result`; never throws. */
  private push(agentId: string, peer: Peer, message: Extract<AgentToRelay, { type: 'push_register' | 'push_unregister' | 'push' }>): void {
    const { push, log } = this.options;
    const answer = (status: number, text?: string): void => void peer.send(encodeMessage({ type: 'push_result', subscription: message.subscription, status, ...(text ? { message: text } : {}) }));
    try {
      if (message.type === 'push_unregister') return push.unregister(agentId, message.subscription);
      if (message.type === 'push_register') {
        push.register(agentId, message.subscription, message.endpoint);
        return answer(201);
      }
      const body = fromBase64Url(message.payload);
      push
        .send(agentId, message.subscription, body, { ttl: message.ttl, urgency: message.urgency, ...(message.topic ? { topic: message.topic } : {}) })
        .then(
          (status) => answer(status),
          (error: unknown) => {
            if (!(error instanceof PushRefused)) log('push_failed', { agent: agentId, message: (error as Error).message });
            answer(0, (error as Error).message);
          },
        );
    } catch (error) {
      if (!(error instanceof PushRefused) && !(error instanceof ProtocolError) && !(error instanceof TypeError)) throw error;
      answer(0, (error as Error).message);
    }
  }

  private acceptClient(ws: WebSocket, req: IncomingMessage, address: string, agentId: string, forwardedSecure: boolean, relayed: boolean): void {
    const { hub, store, log, guard } = this.options;
    const conn = this.connection(ws, address);
    // A browser forwarded by a relay of the group: that relay checked its origin against its own address.
    const origin = relayed ? { ok: true as const } : this.checkOrigin(req, forwardedSecure);
    if (!origin.ok) {
      log('client_refused', { address, reason: origin.reason });
      return conn.refuse(CloseCode.ForbiddenOrigin, origin.reason);
    }
    let handle: ClientHandle | null = null;
    ws.on('close', (code) => {
      if (!handle) return;
      hub.disconnectClient(handle);
      log('client_disconnected', { agent: agentId, client: handle.number, code });
    });
    conn.onText = (raw) => {
      const hello = parseClientToRelay(raw);
      if (hello.type !== 'hello') throw new ProtocolError('expected hello');
      if (hello.v !== PROTOCOL_VERSION) throw new ProtocolError(`protocol version ${hello.v} not supported`, CloseCode.UnsupportedVersion);
      conn.step(async () => {
        if (await this.refusedAsBlocked(conn, 'client_refused', address)) return;
        const record = isId(agentId) ? await store.get(agentId) : undefined;
        // The same work and the same answer whether the id is unknown or the token wrong.
        const access = tokenAccess(record, hello.token, hello.device);
        if (!record || !access) {
          guard.failed(address);
          log('client_refused', { address, reason: record ? 'bad token' : 'unknown agent' });
          return conn.refuse(CloseCode.Unauthorized, 'invalid link');
        }
        if (conn.isClosed) return;
        conn.handshakeDone();
        handle = hub.connectClient(agentId, new SocketPeer(ws), hello, record.name, access === 'view', { device: hello.device, address });
        if (!handle) return;
        // Waiting here for an agent that may have come online at another relay meanwhile.
        if (this.options.group && !hub.presence(agentId).online) void this.options.group.recheck(agentId);
        log('client_connected', { agent: agentId, client: handle.number, address });
        const admitted = handle;
        conn.onText = (text) => {
          const message = parseClientToRelay(text);
          if (message.type === 'hello') throw new ProtocolError('hello sent twice');
          hub.clientMessage(admitted, message);
        };
        conn.onBinary = (bytes) => hub.clientFrame(admitted, bytes);
      });
    };
  }

  /** Records an agent's credentials; browsers admitted with credentials it took back are cut. */
  /** Puts back the record of an agent connected here, if the store lost it. */
  async restoreRecord(agentId: string): Promise<void> {
    const record = this.served.get(agentId);
    if (!record || !this.options.store.restore) return;
    await this.options.store.restore(record);
    this.options.log('agent_record_restored', { agent: agentId });
  }

  private async updateCredentials(agentId: string, credentials: AgentCredentialSet): Promise<void> {
    const served = this.served.get(agentId);
    if (served) this.served.set(agentId, { ...served, accessVerifier: credentials.access, viewVerifier: credentials.view, devices: credentials.devices });
    const change = await this.options.store.setCredentials(agentId, { access: credentials.access, view: credentials.view, devices: credentials.devices });
    if (!change.linkReplaced && change.removedDevices.length === 0) return;
    this.options.hub.revokeClients(agentId, change);
    this.options.log('agent_credentials_replaced', { agent: agentId, link: change.linkReplaced, devices: change.removedDevices.length });
  }

  private connection(ws: WebSocket, address: string): Connection {
    const { handshakeTimeoutMs, controlRate, replyHighWater, log } = this.options;
    return new Connection(ws, { handshakeTimeoutMs: handshakeTimeoutMs ?? 10_000, controlRate: controlRate ?? DEFAULT_CONTROL_RATE, replyHighWater, address, log });
  }

  /** Refuses `conn` (4430, with the wait) if `address` failed to authenticate too often lately. */
  private async refusedAsBlocked(conn: Connection, event: string, address: string): Promise<boolean> {
    const blocked = await this.options.guard.blockedFor(address);
    if (blocked === 0) return false;
    this.options.log(event, { address, reason: 'rate limited' });
    conn.refuse(CloseCode.RateLimited, rateLimitReason(blocked));
    return true;
  }
}

/** A socket's error listener: a socket that failed is let go. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Refuses an upgrade with an HTTP status, then closes the socket once the answer is written. */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, body = '', retryAfterS?: number): void {
  const text = body ? `${body}\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\n${retryAfterS !== undefined ? `Retry-After: ${retryAfterS}\r\n` : ''}` +
      `Content-Type: text/plain\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    () => socket.destroy(),
  );
}

/** The agent key from `Authorization: Bearer KEY` (a key in the URL is refused by acceptAgent). */
function agentKey(req: IncomingMessage): string | undefined {
  return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
}
