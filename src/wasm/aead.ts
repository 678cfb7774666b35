// XChaCha20-Poly1305 in WebAssembly (aead.wat; its bytes in aead-wasm.ts, made by scripts/wasm-modules.mjs):
// the same boxes as @noble/ciphers and Node's OpenSSL, without an object per box. A keystroke-sized box
// seals in about half a microsecond where OpenSSL takes several (making its cipher object, which also
// leaves a handle for the garbage collector), so Node.js sides seal and open small boxes with it
// (net/native-aead.ts), and the web page all of them (in Chromium a tenth of @noble/ciphers' time for a
// keystroke's box, a third for large ones).
//
// Key, nonce and text are copied into its memory; the key, what was derived from it and the text are wiped
// after each call, whatever happened in it.

import { AEAD_WASM } from './aead-wasm.js';
import { wasmModule } from './module.js';
import { TAG_BYTES, type Aead } from '../protocol/seal.js';

interface Exports {
  memory: WebAssembly.Memory;
  seal(aad: number, aadLength: number, at: number, length: number): void;
  open(aad: number, aadLength: number, at: number, length: number): number;
  poly1305(at: number, length: number): void;
  forget(): void;
}

/** The module's own memory (aead.wat says what is where); the callers' bytes start at DATA. */
const KEY = 0;
const NONCE = 32;
const TAG = 64;
const EXPECTED = 80;
const POLY_KEY = 256;
/** The key, the nonce and everything derived from them end before this. */
const SECRETS_END = 320;
const DATA = 1024;
const MAX_BYTES = 1 << 30;

const aead = wasmModule<Exports>(AEAD_WASM);
const exports = aead.exports;

/** Puts the key, the nonce and the associated data in place, with room for `length` bytes of text after them; returns the memory and where the text goes. */
function place(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, length: number): { memory: Uint8Array; at: number } {
  if (key.length !== 32 || nonce.length !== 24) throw new Error('XChaCha20-Poly1305 needs a 32-byte key and a 24-byte nonce');
  // The module counts in 32 bits: far below where an end would wrap (boxes are at most a few MiB).
  if (aad.length + length > MAX_BYTES) throw new Error(`a box holds at most ${MAX_BYTES} bytes here`);
  const at = (DATA + aad.length + 15) & ~15;
  const bytes = aead.memoryFor(at + length);
  bytes.set(key, KEY);
  bytes.set(nonce, NONCE);
  bytes.set(aad, DATA);
  return { memory: bytes, at };
}

/** Whether this WebAssembly works here; if not (a page whose policy forbids WebAssembly), why not. */
export function wasmAeadProblem(): string | undefined {
  try {
    exports();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export const wasmAead: Aead = {
  seal(key, nonce, aad, plaintext, out) {
    if (out.length !== plaintext.length + TAG_BYTES) throw new Error('a sealed box takes the text and its tag');
    const { memory, at } = place(key, nonce, aad, plaintext.length);
    try {
      memory.set(plaintext, at);
      exports().seal(DATA, aad.length, at, plaintext.length);
      out.set(memory.subarray(at, at + plaintext.length), 0);
      out.set(memory.subarray(TAG, TAG + TAG_BYTES), plaintext.length);
    } finally {
      wipe(memory, at, plaintext.length);
    }
  },
  open(key, nonce, aad, sealed) {
    if (sealed.length < TAG_BYTES) throw new Error('box too short');
    const length = sealed.length - TAG_BYTES;
    const { memory, at } = place(key, nonce, aad, length);
    try {
      memory.set(sealed.subarray(0, length), at);
      memory.set(sealed.subarray(length), EXPECTED);
      if (exports().open(DATA, aad.length, at, length) !== 1) throw new Error('the box does not authenticate');
      return memory.slice(at, at + length);
    } finally {
      wipe(memory, at, length);
    }
  },
};

/** The key, what was derived from it (the module's Poly1305 state included) and the text leave the module's memory. */
function wipe(memory: Uint8Array, at: number, length: number): void {
  memory.fill(0, 0, SECRETS_END);
  memory.fill(0, at, at + length);
  exports().forget();
}

/** Poly1305 alone, over a message of whole 16-byte blocks: the tests hold it against @noble/ciphers' on the edge cases of its arithmetic. */
export function wasmPoly1305(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== 32 || message.length % 16 !== 0) throw new Error('Poly1305 here needs a 32-byte key and whole 16-byte blocks');
  const memory = aead.memoryFor(DATA + message.length);
  memory.set(key, POLY_KEY);
  memory.set(message, DATA);
  exports().poly1305(DATA, message.length);
  const tag = memory.slice(TAG, TAG + TAG_BYTES);
  wipe(memory, DATA, message.length);
  return tag;
}
