// A push service on 127.0.0.1 that speaks the real protocol, for tests (the browsers' services cannot be
// reached): it takes POSTs to its endpoints (RFC 8030), checks the VAPID signature (RFC 8292: an ES256 JWT
// for its own origin, not expired, with the key it came with), stores what it receives, and decrypts a
// message with the subscription's private key (RFC 8291, aes128gcm), as the browser would. A subscription
// is made here too: a P-256 key pair and an authentication secret, as a browser makes them.

import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventLog } from './wait.js';

/** One request the service received, and whether its VAPID signature held. */
export interface PushDelivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  vapid: { ok: true; publicKey: string; subject: string } | { ok: false; reason: string };
}

/** A subscription as a browser holds it: its endpoint, its public keys, and (here only) its private key. */
export interface TestSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  privateKey: Buffer;
}

export interface TestPushService {
  /** Its origin, e.g. http://127.0.0.1:PORT/ (give it to the relay with --push-service). */
  url: string;
  deliveries: EventLog<PushDelivery>;
  /** A new subscription at this service. */
  subscribe(): TestSubscription;
  /** Answer the next deliveries with this status (default 201). */
  status: number;
  close(): Promise<void>;
}

const b64u = (bytes: Buffer): string => bytes.toString('base64url');

export async function startPushService(): Promise<TestPushService> {
  const deliveries = new EventLog<PushDelivery>();
  const state = { status: 201 };
  let origin = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), vapid: checkVapid(req.headers.authorization, origin) });
      res.writeHead(state.status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  origin = url.slice(0, -1);
  return {
    url,
    deliveries,
    get status() {
      return state.status;
    },
    set status(value: number) {
      state.status = value;
    },
    subscribe() {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      return { endpoint: `${url}push/${b64u(randomBytes(12))}`, keys: { p256dh: b64u(ecdh.getPublicKey()), auth: b64u(randomBytes(16)) }, privateKey: ecdh.getPrivateKey() };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Checks `Authorization: vapid t=JWT, k=KEY`: an ES256 signature by KEY, for `audience`, not expired. */
function checkVapid(header: string | undefined, audience: string): PushDelivery['vapid'] {
  const match = /^vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)$/.exec(header ?? '');
  if (!match) return { ok: false, reason: `no VAPID authorization (${header ?? 'none'})` };
  const [token, publicKey] = [match[1]!, match[2]!];
  const [head, body, signature] = token.split('.') as [string, string, string];
  const point = Buffer.from(publicKey, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return { ok: false, reason: 'the key is not a P-256 point' };
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) }, format: 'jwk' });
  const valid = verify('sha256', Buffer.from(`${head}.${body}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) return { ok: false, reason: 'the signature does not verify' };
  const header64 = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as { aud?: string; exp?: number; sub?: string };
  if (header64.alg !== 'ES256') return { ok: false, reason: `alg ${header64.alg}` };
  if (claims.aud !== audience) return { ok: false, reason: `aud ${claims.aud}, not ${audience}` };
  if (!claims.exp || claims.exp * 1000 < Date.now() || claims.exp * 1000 > Date.now() + 25 * 3600_000) return { ok: false, reason: `exp ${claims.exp}` };
  return { ok: true, publicKey, subject: claims.sub ?? '' };
}

/** Decrypts an aes128gcm message (RFC 8188, RFC 8291) for `subscription`, as the browser does. */
export function decryptPush(subscription: TestSubscription, body: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20]!;
  const serverKey = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(subscription.privateKey);
  const shared = ecdh.computeSecret(serverKey);
  const clientKey = Buffer.from(subscription.keys.p256dh, 'base64url');
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), clientKey, serverKey]);
  const ikm = Buffer.from(hkdfSync('sha256', shared, Buffer.from(subscription.keys.auth, 'base64url'), keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const plain = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 2 and any padding zeros.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (plain[end] !== 2) throw new Error('no last-record delimiter');
  return plain.subarray(0, end).toString('utf8');
}
