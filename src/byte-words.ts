// Four bytes of text at a time, read as one 32-bit word: what the scans of terminal output over plain text
// (the screen mirror's skipping, the recording's encoder) test of each word without looking at its bytes
// one by one. Every test here is exact for words whose bytes are all below 0x80: no carry or borrow crosses
// from one byte into the next.

/** Whether a Uint32Array reads the byte at the lowest address into the lowest bits (it does on every platform Node runs on). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The top bit of each byte of `word` that is zero (bytes below 0x80 only). */
export function zeroBytes(word: number): number {
  return ~(((word & 0x7f7f7f7f) + 0x7f7f7f7f) | word) & 0x80808080;
}

/** The top bit of each byte of `word` below 0x20, a control character (bytes below 0x80 only: 0x7f + 0x60 < 0x100). */
export function controlBytes(word: number): number {
  return ~(word + 0x60606060) & 0x80808080;
}
