// The relay's plain HTTP surface: agent registration, health, and the web client's files.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROTOCOL_VERSION, agentIdOfPath, parsePresenceRequest, parseRegistrationRequest } from '../protocol/index.js';
import { addressKey } from './address.js';
import { sameDigest, hashKey } from './agent-store.js';
import { validHost } from './host-header.js';
import { answerPresence } from './presence-route.js';
import { answer } from './answer-route.js';
import type { HttpContext } from './http-context.js';
import { COMMON_HEADERS, isJson, rateLimited, readJson, sendJson, unsupportedMediaType } from './http-replies.js';

const MAX_BODY = 4096;
const MAX_PRESENCE_BODY = 8192;

/**
 * Headers on the web client's page: nothing but its own scripts (and its own WebAssembly: the cipher), no
 * framing, connections only to this relay and to the relays of its group that browsers reach directly
 * (`directOrigins`: where this relay may send the page's socket).
 */
function pageHeaders(directOrigins: ReadonlySet<string>): Record<string, string> {
  if (pageHeadersCache?.origins === directOrigins) return pageHeadersCache.headers;
  const others = [...directOrigins].flatMap((origin) => [origin, origin.replace(/^http/, 'ws')]);
  const headers = {
    ...COMMON_HEADERS,
    'content-security-policy':
      "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; " +
      `connect-src ${["'self'", ...others].join(' ')}; manifest-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
  };
  pageHeadersCache = { origins: directOrigins, headers };
  return headers;
}
let pageHeadersCache: { origins: ReadonlySet<string>; headers: Record<string, string> } | undefined;
const NO_ORIGINS: ReadonlySet<string> = new Set();

/** Handles one HTTP request. Never throws: failures become JSON errors. */
export async function handleHttp(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  try {
    // The Host header is the client's word: checked before anything can use it.
    if (validHost(req.headers.host) === undefined) return sendJson(res, 400, { error: 'bad_request', message: 'missing or invalid Host header' });
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api/agents') return await register(req, res, ctx);
    if (path === '/api/presence') return await presence(req, res, ctx);
    if (path === '/health') return await health(req, res, ctx);
    if (path === '/api/push/key') return sendJson(res, 200, { public_key: ctx.pushKey() });
    if (path === '/api/answer') return await answer(req, res, ctx);
    return serveFile(req, res, ctx, path);
  } catch (error) {
    ctx.log('http_error', { message: (error as Error).message });
    if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: 'internal error' });
    else res.destroy();
  }
}

/** The base URL browsers use for this relay, as seen in this request (whose Host header handleHttp checked). */
function baseUrl(req: IncomingMessage, ctx: Pick<HttpContext, 'publicUrl' | 'secure' | 'proxies'>): string {
  if (ctx.publicUrl) return ctx.publicUrl;
  const secure = ctx.secure || ctx.proxies.client(req).forwardedSecure;
  return `${secure ? 'https' : 'http'}://${validHost(req.headers.host)}`;
}

async function register(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
  // JSON only, as presence: a page elsewhere cannot send that without the browser asking first (CORS), so
  // it can neither register agents from a visitor's address nor spend that address's budget.
  if (!isJson(req)) return unsupportedMediaType(res);
  const { address } = ctx.proxies.client(req);
  const counted = addressKey(address);
  const wait = await ctx.registrations.take(counted);
  if (wait > 0) return rateLimited(res, wait, () => 'too many registrations from this address');
  if (ctx.registrationTokenHash !== undefined) {
    const presented = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (presented === undefined || !sameDigest(hashKey(presented), ctx.registrationTokenHash)) {
      return sendJson(res, 401, { error: 'unauthorized', message: 'this relay requires a valid registration token' });
    }
  }
  // An empty body registers without a name.
  const fields = await readJson(req, res, MAX_BODY, parseRegistrationRequest, {});
  if (fields === undefined) return;
  const { id, key } = await ctx.store.register(fields.name);
  ctx.log('agent_registered', { agent: id, address });
  const clientUrl = `${baseUrl(req, ctx)}/a/${id}`;
  sendJson(res, 201, { agent_id: id, agent_key: key, client_url: clientUrl });
}

async function presence(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use POST' }, { allow: 'POST' });
  // JSON only: a page elsewhere cannot send that without the browser asking first (CORS), so it cannot
  // spend this address's budget of failed attempts with made-up tokens.
  if (!isJson(req)) return unsupportedMediaType(res);
  const { address } = ctx.proxies.client(req);
  const request = await readJson(req, res, MAX_PRESENCE_BODY, parsePresenceRequest);
  if (request === undefined) return;
  const answer = await answerPresence(ctx, address, request);
  if ('blockedMs' in answer) {
    ctx.log('presence_refused', { address, reason: 'rate limited' });
    return rateLimited(res, answer.blockedMs, (seconds) => `too many failed attempts; try again in ${seconds} s`);
  }
  sendJson(res, 200, answer);
}

async function health(req: IncomingMessage, res: ServerResponse, ctx: HttpContext): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use GET' });
  const stats = ctx.stats();
  const redis = ctx.redis();
  const database = await ctx.store.check?.();
  // A relay of a group that cannot reach its Redis, or a relay whose database does not answer, serves what
  // it holds but cannot admit or route new connections: a load balancer should send them elsewhere (503).
  const healthy = (redis === undefined || redis.kind === 'ready') && database?.ok !== false;
  sendJson(res, healthy ? 200 : 503, {
    status: healthy ? 'ok' : 'degraded',
    version: ctx.version,
    protocol: PROTOCOL_VERSION,
    uptime_s: Math.round((Date.now() - ctx.startedAt) / 1000),
    agents_online: stats.agentsOnline,
    clients: stats.clients,
    ...(redis ? { redis: redis.kind === 'down' ? { state: 'down', reason: redis.reason, since: new Date(redis.since).toISOString() } : { state: redis.kind } } : {}),
    ...(database ? { database: database.ok ? { state: 'ready' } : { state: 'down', reason: database.reason } } : {}),
  });
}

function serveFile(req: IncomingMessage, res: ServerResponse, ctx: HttpContext, path: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method_not_allowed', message: 'use GET' });
  // The terminal page is /a/AGENT_ID; it loads its assets relative to itself, so /a/app.js is /app.js.
  const asset = /^\/a\/([^/]+)$/.exec(path)?.[1];
  let name = path;
  if (path === '/' || agentIdOfPath(path) !== undefined) name = '/index.html';
  else if (asset !== undefined) name = `/${asset}`;
  const file = ctx.files.get(name);
  if (!file) return sendJson(res, 404, { error: 'not_found', message: 'no such page' });
  const headers: Record<string, string> = {
    ...(file.type.startsWith('text/html') ? pageHeaders(ctx.group?.directOrigins ?? NO_ORIGINS) : COMMON_HEADERS),
    // Served over TLS directly: browsers should never try plain HTTP for this host again.
    ...(ctx.secure ? { 'strict-transport-security': 'max-age=31536000' } : {}),
    'content-type': file.type,
    etag: file.etag,
    'cache-control': 'no-cache',
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === file.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? file.gzip! : file.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
