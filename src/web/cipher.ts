// The page seals and opens its boxes in WebAssembly (wasm/aead.ts) where the browser allows it, else in
// JavaScript (@noble/ciphers, the protocol's default), which makes the same boxes more slowly; the console
// says why (a policy without 'wasm-unsafe-eval', a browser without WebAssembly SIMD such as Safari before 16.4).

import { setAead } from '../protocol/index.js';
import { wasmAead, wasmAeadProblem } from '../wasm/aead.js';

export type CipherImplementation = 'WebAssembly' | 'JavaScript';

export function chooseCipher(): CipherImplementation {
  const problem = wasmAeadProblem();
  if (problem === undefined) {
    setAead(wasmAead);
    return 'WebAssembly';
  }
  console.warn(`ccremote: boxes are sealed in JavaScript, more slowly, as WebAssembly does not work here: ${problem}`);
  return 'JavaScript';
}
