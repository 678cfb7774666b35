// End-to-end encryption of terminal traffic. Agent and clients derive their keys from the link's
// secret, which the relay never sees; the relay routes sealed boxes by their cleartext headers and can
// neither read nor alter them unnoticed.
//
// Cipher: XChaCha20-Poly1305. The default is @noble/ciphers, pure JavaScript, so it works on plain-HTTP
// LAN pages where browsers offer no WebCrypto; Node.js sides install a native implementation of the same
// cipher with setAead (see net/native-aead.ts). Every box has a fresh random 24-byte nonce, so no nonce repeats
// whatever is re-sent or replayed. The frame header (type and stream position or sequence number) is
// the associated data, and each key is bound to one agent, one direction and one output stream or
// client session, so a box moved to another position, stream, session or agent fails to open.
//
//   box = nonce (24) | ciphertext | tag (16)

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CloseCode, ProtocolError } from './codes.js';
import { fromBase64Url, randomBytes, utf8 } from './encoding.js';

export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Bytes a box adds to what it seals. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

const SALT = utf8('ccremote/v1');

/** A box that does not open: altered, moved, replayed from elsewhere, or sealed with another key. */
export class IntegrityError extends ProtocolError {
  constructor(message: string) {
    super(message, CloseCode.BadMessage);
    this.name = 'IntegrityError';
  }
}

/** An XChaCha20-Poly1305 implementation. `sealed` is ciphertext followed by the 16-byte tag. */
export interface Aead {
  /** Seals `plaintext` into `out`, which is exactly plaintext.length + TAG_BYTES long. */
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /** Opens `sealed`; throws if it does not authenticate. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array;
}

/** The pure-JavaScript implementation (@noble/ciphers), the default. */
export const nobleAead: Aead = {
  seal: (key, nonce, aad, plaintext, out) => void xchacha20poly1305(key, nonce, aad).encrypt(plaintext, out),
  open: (key, nonce, aad, sealed) => xchacha20poly1305(key, nonce, aad).decrypt(sealed),
};

let aead: Aead = nobleAead;

/** Replaces the cipher implementation (same cipher, same boxes); `undefined` restores the default. */
export function setAead(implementation: Aead | undefined): void {
  aead = implementation ?? nobleAead;
}

function derive(secret: string, info: string): Uint8Array {
  return hkdf(sha256, fromBase64Url(secret), SALT, utf8(info), 32);
}

/**
 * Output keys (agent → every client) of one output stream. Derived from the view secret, so that
 * read-only links can read output too.
 */
export function outputKey(viewSecret: string, agentId: string, stream: string): Uint8Array {
  return derive(viewSecret, `output:${agentId}:${stream}`);
}

/**
 * Key of the attention events (agent → every client, see attention.ts) of one output stream. Derived
 * from the view secret, like output: whoever may watch the terminal may know it waits for them.
 */
export function attentionKey(viewSecret: string, agentId: string, stream: string): Uint8Array {
  return derive(viewSecret, `attention:${agentId}:${stream}`);
}

/** Input key (one client session → agent). Derived from the full secret only: read-only links cannot type. */
export function inputKey(secret: string, agentId: string, session: string): Uint8Array {
  return derive(secret, `input:${agentId}:${session}`);
}

/** Key of the agent's input acknowledgements to one client session. */
export function inputAckKey(secret: string, agentId: string, session: string): Uint8Array {
  return derive(secret, `input-ack:${agentId}:${session}`);
}

/** The keys of one client session's input, both ways: its input and the agent's acknowledgements of it. */
export interface SessionKeys {
  input: Uint8Array;
  ack: Uint8Array;
}

/** The session keys of `session`, derived from the full secret (so never available to a read-only link). */
export function sessionKeys(secret: string, agentId: string, session: string): SessionKeys {
  return { input: inputKey(secret, agentId, session), ack: inputAckKey(secret, agentId, session) };
}

/**
 * Seals `plaintext` into `out` at `at` (which must have room for plaintext.length + SEAL_OVERHEAD),
 * with `header` as associated data.
 */
export function sealInto(key: Uint8Array, header: Uint8Array, plaintext: Uint8Array, out: Uint8Array, at: number): void {
  const nonce = randomBytes(NONCE_BYTES);
  out.set(nonce, at);
  aead.seal(key, nonce, header, plaintext, out.subarray(at + NONCE_BYTES, at + SEAL_OVERHEAD + plaintext.length));
}

/** Opens a box sealed with `key` and `header`; throws IntegrityError if it does not open. */
export function open(key: Uint8Array, header: Uint8Array, box: Uint8Array, what: string): Uint8Array {
  if (box.length < SEAL_OVERHEAD) throw new IntegrityError(`${what}: box too short`);
  try {
    return aead.open(key, box.subarray(0, NONCE_BYTES), header, box.subarray(NONCE_BYTES));
  } catch {
    throw new IntegrityError(`${what} failed authentication: it was altered, replayed or sealed with another key`);
  }
}
