// Output events of a recording (asciicast.ts), written straight from the program's bytes: a JSON string
// built byte by byte, with UTF-8 passed through, controls escaped, and what is not UTF-8 replaced by U+FFFD
// exactly as a streaming TextDecoder would (the longest valid start of a broken sequence becomes one
// replacement character). It costs a fraction of decoding to a string, JSON.stringify and encoding back.
// Four bytes of plain text (printable ASCII but for the quote and the backslash) are copied as one word;
// the input is gathered, and the line built, in buffers kept from call to call and shared by the thread's
// encoders (fresh memory costs a page fault per 4 KiB, more than copying it).

import * as byteWords from '../byte-words.js';

// Bound here, not imported by name: the scan's loop reads an imported binding through the module each time
// (15–35 % slower in alternating runs), a module's own constant not.
const { LITTLE_ENDIAN, controlBytes, zeroBytes } = byteWords;

/** Per byte: 0 copied, 1 escaped with a backslash and a letter, 2 escaped as \u00XX, 3 starts UTF-8. */
const ESCAPE = new Uint8Array(256);
const LETTER = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) ESCAPE[b] = 2;
for (const [b, letter] of [[0x08, 'b'], [0x09, 't'], [0x0a, 'n'], [0x0c, 'f'], [0x0d, 'r'], [0x22, '"'], [0x5c, '\\']] as const) {
  ESCAPE[b] = 1;
  LETTER[b] = letter.charCodeAt(0);
}
for (let b = 0x80; b < 0x100; b++) ESCAPE[b] = 3;
const HEX = new TextEncoder().encode('0123456789abcdef');

/** Whether all four bytes of `word` are copied as they are: 0x20..0x7f, but not '"' or '\'. */
function plainWord(word: number): boolean {
  // No byte at 0x80 or above, none below 0x20, no quote, no backslash.
  return (word & 0x80808080) === 0 && controlBytes(word) === 0 && (zeroBytes(word ^ 0x22222222) | zeroBytes(word ^ 0x5c5c5c5c)) === 0;
}

/**
 * Where the input is gathered (the carry and the parts, one after another, aligned for reading words) and
 * where lines are built (a Uint8Array, not a Buffer: element stores on it are faster): shared by every
 * encoder of the thread, as one line is built at a time.
 */
const buffers = { input: new Uint8Array(0), inputWords: new Uint32Array(0), line: new Uint8Array(0), lineView: new DataView(new ArrayBuffer(0)) };

/** Turns output bytes into "o" event lines, carrying a UTF-8 character cut between two calls to the next. */
export class CastOutputEncoder {
  /** The start of a UTF-8 character the last call's output ended in. */
  private carry = new Uint8Array(0);

  /**
   * The event line for the output `parts` (in order) at `time`, with its line feed, as UTF-8; undefined if
   * nothing can be written yet. The line is a view of a buffer the next call of any encoder of this thread
   * reuses: write it before then.
   */
  encode(time: number, parts: readonly Uint8Array[]): Buffer | undefined {
    let length = this.carry.length;
    for (const part of parts) length += part.length;
    const input = inputOf(length);
    input.set(this.carry, 0);
    let at = this.carry.length;
    for (const part of parts) {
      input.set(part, at);
      at += part.length;
    }
    return this.line(time, length, false);
  }

  /** The event line for a character left cut at the end (a replacement character), if there is one; a view, as `encode`'s. */
  finish(time: number): Buffer | undefined {
    if (this.carry.length === 0) return undefined;
    inputOf(this.carry.length).set(this.carry, 0);
    return this.line(time, this.carry.length, true);
  }

  /** The line for the first `length` bytes of `input`. */
  private line(time: number, length: number, final: boolean): Buffer | undefined {
    const head = `[${time.toFixed(6)},"o","`;
    const need = head.length + length * 6 + 3;
    if (buffers.line.length < need) {
      buffers.line = new Uint8Array(Math.max(need, buffers.line.length * 2, 1 << 16));
      buffers.lineView = new DataView(buffers.line.buffer);
    }
    const { line: out, lineView: view, input: bytes, inputWords: words } = buffers;
    let o = writeAscii(out, 0, head);
    const start = o;
    let i = 0;
    this.carry = new Uint8Array(0);
    while (i < length) {
      if ((i & 3) === 0 && i + 4 <= length && LITTLE_ENDIAN) {
        const word = words[i >> 2]!;
        if (plainWord(word)) {
          view.setUint32(o, word, true);
          o += 4;
          i += 4;
          continue;
        }
      }
      const b = bytes[i]!;
      const kind = ESCAPE[b]!;
      if (kind === 0) {
        out[o++] = b;
        i++;
      } else if (kind === 1) {
        out[o++] = 0x5c;
        out[o++] = LETTER[b]!;
        i++;
      } else if (kind === 2) {
        out[o++] = 0x5c;
        out[o++] = 0x75; // u
        out[o++] = 0x30;
        out[o++] = 0x30;
        out[o++] = HEX[b >> 4]!;
        out[o++] = HEX[b & 15]!;
        i++;
      } else {
        const end = utf8End(bytes, i, length);
        if (end > 0) {
          while (i < end) out[o++] = bytes[i++]!;
        } else if (end === CUT && !final) {
          this.carry = bytes.slice(i, length);
          break;
        } else {
          // U+FFFD for the longest valid start (or the lone byte), then on from the byte that broke it.
          out[o++] = 0xef;
          out[o++] = 0xbf;
          out[o++] = 0xbd;
          i = end === CUT ? length : -end;
        }
      }
    }
    if (o === start) return undefined;
    o = writeAscii(out, o, '"]\n');
    return Buffer.from(out.buffer, out.byteOffset, o);
  }
}

/** The shared input buffer, made to hold at least `length` bytes. */
function inputOf(length: number): Uint8Array {
  if (buffers.input.length < length) {
    buffers.input = new Uint8Array(Math.max(length, buffers.input.length * 2, 1 << 16));
    buffers.inputWords = new Uint32Array(buffers.input.buffer, 0, buffers.input.length >> 2);
  }
  return buffers.input;
}

/** Writes ASCII `text` into `out` at `at`; returns where it ends. */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
  return at + text.length;
}

/** A UTF-8 sequence cut short by the end of the data. */
const CUT = 0;

/**
 * Where the UTF-8 sequence led by the byte at `at` ends, in the first `length` bytes of `bytes`; CUT if they
 * end before it could; otherwise minus where the bytes to replace end (the lead and the continuation bytes
 * valid so far).
 */
function utf8End(bytes: Uint8Array, at: number, length: number): number {
  const lead = bytes[at]!;
  const size = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (size === 0) return -(at + 1);
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  for (let k = 1; k < size; k++) {
    if (at + k >= length) return CUT;
    const next = bytes[at + k]!;
    if (k === 1 ? next < low || next > high : next < 0x80 || next > 0xbf) return -(at + k);
  }
  return at + size;
}
