// XChaCha20-Poly1305 on Node.js's native ChaCha20-Poly1305 (OpenSSL). XChaCha20 is ChaCha20 under a
// subkey: HChaCha20(key, first 16 nonce bytes) gives the subkey, and the last 8 nonce bytes, after four
// zero bytes, are the 12-byte nonce. Boxes are identical to @noble/ciphers' xchacha20poly1305 and to the
// WebAssembly implementation the web page uses (wasm/aead.ts); only the speed differs. Small boxes go to
// the WebAssembly implementation here too (see SMALL_BOX).

import { createCipheriv, createDecipheriv, getCiphers } from 'node:crypto';
import { endianness } from 'node:os';
import { hchacha } from '@noble/ciphers/chacha.js';
import { type Aead, TAG_BYTES, setAead } from '../protocol/seal.js';
import { wasmAead } from '../wasm/aead.js';

const CIPHER = 'chacha20-poly1305';
// "expand 32-byte k"
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

// One subkey, nonce and IV at a time, reused: OpenSSL copies them when a cipher is made, and fresh
// small arrays would each need a buffer of their own to cross into native code.
const subkey = new Uint32Array(8);
const subkeyBytes = new Uint8Array(subkey.buffer);
const keyWords = new Uint32Array(8);
const nonceWords = new Uint32Array(4);
const iv = new Uint8Array(12);

/** `count` words of `bytes` (a view when aligned, else copied into `into`). */
function words(bytes: Uint8Array, count: number, into: Uint32Array): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, count);
  new Uint8Array(into.buffer).set(bytes.subarray(0, count * 4)); // not bytes.slice(): on a Buffer that is a view, not a copy
  return into;
}

/** The XChaCha20 subkey and the ChaCha20 IV for `key` and the 24-byte `nonce`, in the shared arrays above. */
function subkeyAndNonce(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  hchacha(SIGMA, words(key, 8, keyWords), words(nonce, 4, nonceWords), subkey);
  iv.set(nonce.subarray(16, 24), 4);
  return { subkey: subkeyBytes, iv };
}

export const nativeAead: Aead = {
  seal(key, nonce, aad, plaintext, out) {
    const { subkey, iv } = subkeyAndNonce(key, nonce);
    const cipher = createCipheriv(CIPHER, subkey, iv, { authTagLength: TAG_BYTES });
    subkey.fill(0); // OpenSSL has its copy
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
    out.set(cipher.update(plaintext), 0);
    cipher.final();
    out.set(cipher.getAuthTag(), plaintext.length);
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < TAG_BYTES) throw new Error('box too short');
    const { subkey, iv } = subkeyAndNonce(key, nonce);
    const length = sealed.length - TAG_BYTES;
    const decipher = createDecipheriv(CIPHER, subkey, iv, { authTagLength: TAG_BYTES });
    subkey.fill(0);
    decipher.setAAD(aad, { plaintextLength: length });
    decipher.setAuthTag(sealed.subarray(length));
    const plaintext = decipher.update(sealed.subarray(0, length));
    decipher.final(); // throws if the tag does not match
    return plaintext;
  },
};

/** Whether this Node.js can run the native implementation (OpenSSL with ChaCha20-Poly1305, little-endian). */
export function nativeAeadAvailable(): boolean {
  return endianness() === 'LE' && getCiphers().includes(CIPHER);
}

/**
 * Below this many bytes of text a box is sealed and opened in WebAssembly (wasm/aead.ts): making OpenSSL's
 * cipher object costs more than the work (a keystroke's box: 0.6 µs against 3.6–5.4), and above it OpenSSL's
 * vector code is faster (4 KiB: 4.9 µs against 6.9).
 */
export const SMALL_BOX = 2048;

/** OpenSSL for large boxes, WebAssembly for small ones. */
export const nodeAead: Aead = {
  seal: (key, nonce, aad, plaintext, out) => (plaintext.length < SMALL_BOX ? wasmAead : nativeAead).seal(key, nonce, aad, plaintext, out),
  open: (key, nonce, aad, sealed) => (sealed.length - TAG_BYTES < SMALL_BOX ? wasmAead : nativeAead).open(key, nonce, aad, sealed),
};

/** Makes every seal and open in this process use the fastest implementation it has (WebAssembly alone where OpenSSL lacks the cipher). */
export function useNativeAead(): void {
  setAead(nativeAeadAvailable() ? nodeAead : wasmAead);
}
