// Access secrets and what is derived from them. The secret lives only in the access link's fragment
// (never sent to the relay); browsers present a token derived from it, and the relay stores only a
// verifier derived from the token, which cannot be turned back into a token or the secret.
//
// Two levels: the full secret (type and watch) and the view secret derived from it (watch only). A
// read-only link carries only the view secret; encryption keys for input derive from the full secret
// alone (seal.ts), so a read-only link cannot type, whatever the relay forwards.

import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64Url, randomBytes, toBase64Url, utf8 } from './encoding.js';

const SALT = utf8('ccremote/v1');

/** A new access secret: 32 random bytes, base64url (43 characters). */
export function newSecret(): string {
  return toBase64Url(randomBytes(32));
}

/** Whether a string has the form of an access secret. */
export function isSecret(value: string): boolean {
  if (!/^[A-Za-z0-9_-]{43}$/.test(value)) return false;
  return fromBase64Url(value).length === 32;
}

/** The view secret of a full secret: HKDF-SHA256(secret, salt "ccremote/v1", info "view-secret:" + agentId). */
export function viewSecret(secret: string, agentId: string): string {
  return toBase64Url(hkdf(sha256, fromBase64Url(secret), SALT, utf8(`view-secret:${agentId}`), 32));
}

/** The token a client holding `secret` (full or view) presents to the relay for `agentId`: HKDF-SHA256(secret, salt "ccremote/v1", info "access-token:" + agentId). */
export function accessToken(secret: string, agentId: string): string {
  return toBase64Url(hkdf(sha256, fromBase64Url(secret), SALT, utf8(`access-token:${agentId}`), 32));
}

/** What the relay keeps to check tokens: SHA-256 of "ccremote/v1 verifier:" and the token's bytes. */
export function tokenVerifier(token: string): string {
  const prefix = utf8('ccremote/v1 verifier:');
  const tokenBytes = fromBase64Url(token);
  const input = new Uint8Array(prefix.length + tokenBytes.length);
  input.set(prefix);
  input.set(tokenBytes, prefix.length);
  return toBase64Url(sha256(input));
}
