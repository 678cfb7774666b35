// A WebAssembly module of ours (its bytes as base64, made by scripts/wasm-modules.mjs): one instance per
// thread, made when first used, whose memory grows to what a call needs. Node.js and browsers alike (a
// page's policy must allow WebAssembly, 'wasm-unsafe-eval'; the modules use 128-bit SIMD, which browsers
// have had since 2021, Safari since 16.4).

export interface WasmModule<E> {
  exports(): E;
  /** A view of the whole memory, made to reach at least `end` bytes (growing it detaches older views). */
  memoryFor(end: number): Uint8Array;
}

export function wasmModule<E extends { memory: WebAssembly.Memory }>(base64: string): WasmModule<E> {
  let instance: E | undefined;
  const exports = (): E => (instance ??= new WebAssembly.Instance(new WebAssembly.Module(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)))).exports as unknown as E);
  return {
    exports,
    memoryFor(end) {
      const { memory } = exports();
      if (memory.buffer.byteLength < end) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65_536));
      return new Uint8Array(memory.buffer);
    },
  };
}
