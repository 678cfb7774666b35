// Output events of a recording (asciicast.ts), written straight from the program's bytes: a JSON string
// built byte by byte, with UTF-8 passed through, controls escaped, and what is not UTF-8 replaced by U+FFFD
// exactly as a streaming TextDecoder would (the longest valid start of a broken sequence becomes one
// replacement character). It costs a fraction of decoding to a string, JSON.stringify and encoding back.

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

/** Turns output bytes into "o" event lines, carrying a UTF-8 character cut between two calls to the next. */
export class CastOutputEncoder {
  private carry = new Uint8Array(0);
  /** Where lines are built (a Uint8Array, not a Buffer: element stores on it are faster). */
  private scratch = new Uint8Array(1 << 16);

  /** The event line for `data` at `time` (with its line feed), as UTF-8; undefined if nothing can be written yet. */
  encode(time: number, data: Uint8Array): Buffer | undefined {
    const bytes = this.carry.length === 0 ? data : Buffer.concat([this.carry, data]);
    return this.line(time, bytes, false);
  }

  /** The event line for a character left cut at the end (a replacement character), if there is one. */
  finish(time: number): Buffer | undefined {
    return this.carry.length === 0 ? undefined : this.line(time, this.carry, true);
  }

  private line(time: number, bytes: Uint8Array, final: boolean): Buffer | undefined {
    const head = `[${time.toFixed(6)},"o","`;
    const need = head.length + bytes.length * 6 + 3;
    if (this.scratch.length < need) this.scratch = new Uint8Array(Math.max(need, this.scratch.length * 2));
    const out = this.scratch;
    let o = writeAscii(out, 0, head);
    const start = o;
    const length = bytes.length;
    let i = 0;
    this.carry = new Uint8Array(0);
    while (i < length) {
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
        const end = utf8End(bytes, i);
        if (end > 0) {
          while (i < end) out[o++] = bytes[i++]!;
        } else if (end === CUT && !final) {
          this.carry = new Uint8Array(bytes.subarray(i));
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
    return Buffer.from(out.subarray(0, o));
  }
}

/** Writes ASCII `text` into `out` at `at`; returns where it ends. */
function writeAscii(out: Uint8Array, at: number, text: string): number {
  for (let k = 0; k < text.length; k++) out[at + k] = text.charCodeAt(k);
  return at + text.length;
}

/** A UTF-8 sequence cut short by the end of the data. */
const CUT = 0;

/**
 * Where the UTF-8 sequence led by the byte at `at` ends; CUT if the data ends before it could; otherwise
 * minus where the bytes to replace end (the lead and the continuation bytes valid so far).
 */
function utf8End(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  const size = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (size === 0) return -(at + 1);
  const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
  const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
  for (let k = 1; k < size; k++) {
    if (at + k >= bytes.length) return CUT;
    const next = bytes[at + k]!;
    if (k === 1 ? next < low || next > high : next < 0x80 || next > 0xbf) return -(at + k);
  }
  return at + size;
}
