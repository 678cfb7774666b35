// What the relay's HTTP routes share: reading a JSON body within a limit, and answering in JSON.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolError } from '../protocol/index.js';

/** Headers on every response. */
export const COMMON_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The request's JSON body, parsed and validated by `parse`; `empty` stands for an empty body if given.
 * On failure the answer (413 too large, 400 saying what is wrong) is sent, and undefined returned.
 */
export async function readJson<T>(req: IncomingMessage, res: ServerResponse, limit: number, parse: (value: unknown) => T, empty?: unknown): Promise<T | undefined> {
  const body = await readBody(req, limit);
  if (body === undefined) {
    sendJson(res, 413, { error: 'too_large', message: `body larger than ${limit} bytes` });
    return undefined;
  }
  try {
    return parse(body.length === 0 && empty !== undefined ? empty : JSON.parse(body.toString('utf8')));
  } catch (error) {
    sendJson(res, 400, { error: 'bad_request', message: error instanceof ProtocolError ? error.message : 'malformed JSON' });
    return undefined;
  }
}

/** Whether the request says its body is JSON (which browsers send cross-site only after a CORS preflight). */
export function isJson(req: IncomingMessage): boolean {
  return /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '');
}

export function unsupportedMediaType(res: ServerResponse): void {
  sendJson(res, 415, { error: 'unsupported_media_type', message: 'send application/json' });
}

/** 429 with Retry-After in whole seconds; `message` is given those seconds. */
export function rateLimited(res: ServerResponse, waitMs: number, message: (seconds: number) => string): void {
  const seconds = Math.ceil(waitMs / 1000);
  sendJson(res, 429, { error: 'rate_limited', message: message(seconds) }, { 'retry-after': String(seconds) });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra });
  res.end(text);
}

/** The request body, or undefined if it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
