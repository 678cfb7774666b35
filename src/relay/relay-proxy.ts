// A browser's connection forwarded to the relay of the group that serves its agent: one WebSocket to that
// relay per browser, carrying the browser's messages both ways unchanged (the owner authenticates the
// browser and routes as for its own), so that ordering holds and back-pressure reaches end to end: when one
// side stops reading, the other side's socket stops being read too. Whichever side closes, the other is
// closed with the same code; a relay that goes away tells the browser to reconnect at once (Moved), and one
// that cannot be reached is reported so that the next attempt is not sent there again.

import { WebSocket, type RawData } from 'ws';
import { CloseCode, MAX_MESSAGE_BYTES, rateLimitReason } from '../protocol/index.js';
import { maskOptions } from '../net/ws-mask.js';
import { closeThenCut } from './connection.js';

/** Bytes waiting to be written to one side above which the other side is no longer read, and below which it is again. */
const HIGH_WATER = 64 * 1024;
const LOW_WATER = 16 * 1024;
/**
 * Messages from the browser held while the connection to the owner opens, and their bytes: a browser sends
 * its hello and the first handshake frames then (a few KiB), so these bound what a socket that sends more
 * costs this relay before anyone has authenticated it.
 */
const MAX_EARLY = 64;
const MAX_EARLY_BYTES = 256 * 1024;

/** What becomes of a forwarded connection. */
export interface ProxyEvents {
  /** The owner could not be reached at all (it is likely gone; its record has not expired yet). */
  unreachable(reason: string): void;
}

/** Forwards `browser` to `target` (the owner's ws URL for this agent), with `headers` authenticating this relay. */
export function forwardBrowser(browser: WebSocket, target: string, headers: Record<string, string>, events: ProxyEvents): void {
  const upstream = new WebSocket(target, { headers, perMessageDeflate: false, maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: 5000, ...maskOptions(target) });
  const early: Array<[RawData, boolean]> = [];
  /** Bytes the browser sent before the owner answered. */
  let earlyBytes = 0;
  let opened = false;

  const pipe = (from: WebSocket, to: WebSocket) => (data: RawData, isBinary: boolean): void => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (to.bufferedAmount < LOW_WATER) resume(from);
    });
    if (to.bufferedAmount > HIGH_WATER) pause(from);
  };

  browser.on('message', (data: RawData, isBinary: boolean) => {
    // (One cut for sending too much is closing already: what it still sent goes nowhere.)
    if (opened || browser.readyState !== WebSocket.OPEN) return;
    earlyBytes += rawLength(data);
    if (early.length >= MAX_EARLY || earlyBytes > MAX_EARLY_BYTES) {
      early.length = 0;
      return closeThenCut(browser, CloseCode.PolicyViolation, 'too much sent before the relay serving this agent answered');
    }
    early.push([data, isBinary]);
  });
  upstream.on('open', () => {
    opened = true;
    const toUpstream = pipe(browser, upstream);
    for (const [data, isBinary] of early.splice(0)) toUpstream(data, isBinary);
    browser.on('message', toUpstream);
    upstream.on('message', pipe(upstream, browser));
  });
  upstream.on('close', (code: number, reason: Buffer) => {
    if (browser.readyState !== WebSocket.OPEN) return;
    // 1005 (no code) and 1006 (cut): the relay serving the agent went away; elsewhere it is served again.
    if (code === 1005 || code === 1006 || code === CloseCode.GoingAway) closeThenCut(browser, CloseCode.Moved, 'the relay serving this agent went away; reconnect');
    else closeThenCut(browser, code, reason.toString().slice(0, 120));
  });
  // The owner answered, but refused the browser (its limits for the browser's address, or it is full):
  // the browser hears that, and the owner is not taken for gone.
  upstream.on('unexpected-response', (_req, res) => {
    const retryAfterMs = Number(res.headers['retry-after'] ?? 10) * 1000;
    if (res.statusCode === 429) closeThenCut(browser, CloseCode.RateLimited, rateLimitReason(retryAfterMs));
    else closeThenCut(browser, CloseCode.Unroutable, `the relay serving this agent refused the connection (HTTP ${res.statusCode}); try again later`);
    upstream.terminate();
  });
  upstream.on('error', (error: Error) => {
    if (!opened && browser.readyState === WebSocket.OPEN) events.unreachable(error.message);
  });
  browser.on('close', () => {
    if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
  });
  browser.on('error', () => upstream.terminate());
}

/** The bytes of a message as `ws` hands it over (one buffer, or several of a fragmented one). */
function rawLength(data: RawData): number {
  return Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength;
}

/** Stops reading `ws`'s socket (TCP then holds its sender back); what arrives waits, in order. */
export function pause(ws: WebSocket): void {
  (ws as unknown as { _socket?: { pause(): void } })._socket?.pause();
}

/** Reads `ws`'s socket again. */
export function resume(ws: WebSocket): void {
  (ws as unknown as { _socket?: { resume(): void } })._socket?.resume();
}
