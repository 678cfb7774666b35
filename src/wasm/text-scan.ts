// The scans of terminal output over plain text, 16 bytes at a time: what the screen mirror may skip
// (skippable-output.ts) and the recording's JSON strings (recording/cast-output.ts). They run in WebAssembly
// with its 128-bit SIMD (text-scan.wat; its bytes in text-scan-wasm.ts, made by scripts/wasm-modules.mjs),
// which tests 16 bytes in a few instructions where JavaScript tests them one by one or four at a time: the
// scans cost a fifth to a half of what they did, and they run over every byte of a flood.
//
// One instance per thread, made when first used, with one memory: the bytes to scan are copied in (a copy
// costs little beside a scan), and what is returned lives there until the next call of either scan.

import { TEXT_SCAN_WASM } from './text-scan-wasm.js';
import { wasmModule } from './module.js';

interface Exports {
  memory: WebAssembly.Memory;
  plain_runs(from: number, end: number, keep: number, out: number): number;
  escape(from: number, end: number, out: number, final: number): number;
  carry: WebAssembly.Global;
}

/** Where the callers' bytes start in the memory: below are the module's tables. */
const BASE = 1024;
/** How far past its end a scan may read or write in 16-byte steps. */
const SLACK = 16;

const scan = wasmModule<Exports>(TEXT_SCAN_WASM);
const exports = scan.exports;

/** The memory, made to hold at least `bytes` from BASE; a view of all of it (growing it detaches older views). */
function memoryFor(bytes: number): Uint8Array {
  return scan.memoryFor(BASE + bytes);
}

/** Where output may start after `length` bytes of input at BASE: past the slack, on a 16-byte boundary. */
function outputStart(length: number): number {
  return (BASE + length + SLACK + 15) & ~15;
}

/** A run of plain lines, as `plainRuns` finds it. */
export interface PlainRun {
  /** Where it starts: the data's start, or after a line feed. */
  start: number;
  /** Where its last line starts (after its last line feed). */
  lastLine: number;
  /** How many line feeds it holds. */
  lineFeeds: number;
}

/**
 * The runs of plain lines in `data` (printable text, tab, backspace, carriage return and line feed; valid UTF-8
 * that encodes no C1 control) that hold more than `keep` line feeds, each ending before the line of a byte that
 * is not plain; then, always last, the run that reaches the end of the data (starting at the end, with no line
 * feeds, if the last line is not plain).
 */
export function plainRuns(data: Uint8Array, keep: number): PlainRun[] {
  const out = outputStart(data.length);
  const most = Math.floor(data.length / (keep + 1)) + 2;
  const memory = memoryFor(out - BASE + most * 12);
  memory.set(data, BASE);
  const count = exports().plain_runs(BASE, BASE + data.length, keep, out);
  const numbers = new Int32Array(memory.buffer, out, count * 3);
  const runs: PlainRun[] = [];
  for (let r = 0; r < count; r++) runs.push({ start: numbers[3 * r]! - BASE, lastLine: numbers[3 * r + 1]! - BASE, lineFeeds: numbers[3 * r + 2]! });
  return runs;
}

/** A JSON string's inside, as `jsonString` writes it. */
export interface JsonText {
  /** The whole text: `before`, the string's inside, `after`. A view of the scans' memory: use it before the next call. */
  text: Uint8Array;
  /** Whether anything was written between `before` and `after`. */
  empty: boolean;
  /** The start of a UTF-8 character cut by the end of the input, for the next call (a copy). */
  carry: Uint8Array;
}

/**
 * The bytes of `parts` (in order) as the inside of a JSON string, between the ASCII texts `before` and `after`:
 * printable ASCII as it is; controls, the quote and the backslash escaped; valid UTF-8 as it is; what is not
 * valid UTF-8 as U+FFFD, as a streaming TextDecoder replaces it (the longest valid start of a broken sequence,
 * or a lone byte, as one). A character cut by the end is carried (not written) unless `final`, when it is one
 * U+FFFD.
 */
export function jsonString(before: string, parts: readonly Uint8Array[], after: string, final: boolean): JsonText {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = outputStart(length);
  const memory = memoryFor(out - BASE + before.length + length * 6 + after.length + SLACK);
  let at = BASE;
  for (const part of parts) {
    memory.set(part, at);
    at += part.length;
  }
  const start = writeAscii(memory, out, before);
  const { escape, carry } = exports();
  const end = escape(BASE, BASE + length, start, final ? 1 : 0);
  const cut = carry.value as number;
  const stop = writeAscii(memory, end, after);
  return { text: memory.subarray(out, stop), empty: end === start, carry: memory.slice(cut, BASE + length) };
}

/** Writes ASCII `text` into `memory` at `at`; returns where it ends. */
function writeAscii(memory: Uint8Array, at: number, text: string): number {
  for (let k = 0; k < text.length; k++) memory[at + k] = text.charCodeAt(k);
  return at + text.length;
}
