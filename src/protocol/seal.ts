// End-to-end encryption of terminal traffic: sealed boxes. The keys come from each connection's channel
// handshake with the agent (channel.ts) and from the stream key the agent hands every open channel; the
// relay routes sealed boxes by their cleartext headers and can neither read nor alter them unnoticed.
//
// Cipher: XChaCha20-Poly1305. The default is @noble/ciphers, pure JavaScript, which works everywhere (no
// WebCrypto needed: plain-HTTP LAN pages have none); faster implementations of the same cipher are installed
// with setAead: WebAssembly on the web page (web/cipher.ts), OpenSSL and WebAssembly on Node.js sides (see
// net/native-aead.ts). Every box has a fresh random 24-byte nonce, so no nonce repeats
// whatever is re-sent or replayed. The frame header (type and stream position or sequence number) is
// the associated data, and each key belongs to one connection and direction, or to one output stream, so
// a box moved to another position, stream or connection fails to open.
//
//   box = nonce (24) | ciphertext | tag (16)

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { CloseCode, ProtocolError } from './codes.js';
import { randomBytes } from './encoding.js';

export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Bytes a box adds to what it seals. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

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

/**
 * Nonces are drawn from random bytes fetched in bulk: one call to the platform's source per 170 boxes
 * instead of one per box (each call crosses into native code, and in Node.js checks the process id, a
 * system call). Every nonce is still 24 fresh bytes from the cryptographic source, handed out once: a
 * used pool is never refilled, a new one replaces it. Nonces are public (each box carries its own), so
 * holding them in memory before use reveals nothing.
 */
const NONCE_POOL_BYTES = NONCE_BYTES * 170;
let noncePool = new Uint8Array(0);
let nonceAt = 0;

/** A fresh 24-byte nonce (a view into the pool: copy it before keeping it). */
function nextNonce(): Uint8Array {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceAt = 0;
  }
  nonceAt += NONCE_BYTES;
  return noncePool.subarray(nonceAt - NONCE_BYTES, nonceAt);
}

/**
 * Seals `plaintext` into `out` at `at` (which must have room for plaintext.length + SEAL_OVERHEAD),
 * with `header` as associated data.
 */
export function sealInto(key: Uint8Array, header: Uint8Array, plaintext: Uint8Array, out: Uint8Array, at: number): void {
  const nonce = nextNonce();
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
