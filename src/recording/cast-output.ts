// Output events of a recording (asciicast.ts), written straight from the program's bytes: a JSON string
// built from the bytes (text-scan.ts, 16 bytes at a time), with UTF-8 passed through, controls escaped, and
// what is not UTF-8 replaced by U+FFFD exactly as a streaming TextDecoder would (the longest valid start of a
// broken sequence becomes one replacement character). It costs a fraction of decoding to a string,
// JSON.stringify and encoding back.

import { jsonString } from '../wasm/text-scan.js';

const NOTHING = new Uint8Array(0);

/** Turns output bytes into "o" event lines, carrying a UTF-8 character cut between two calls to the next. */
export class CastOutputEncoder {
  /** The start of a UTF-8 character the last call's output ended in. */
  private carry: Uint8Array = NOTHING;

  /**
   * The event line for the output `parts` (in order) at `time`, with its line feed, as UTF-8; undefined if
   * nothing can be written yet. The line is a view of memory the next call of any encoder of this thread (or
   * of the screen mirror's scan) reuses: write it before then.
   */
  encode(time: number, parts: readonly Uint8Array[]): Buffer | undefined {
    return this.line(time, this.carry.length === 0 ? parts : [this.carry, ...parts], false);
  }

  /** The event line for a character left cut at the end (a replacement character), if there is one; a view, as `encode`'s. */
  finish(time: number): Buffer | undefined {
    return this.carry.length === 0 ? undefined : this.line(time, [this.carry], true);
  }

  private line(time: number, parts: readonly Uint8Array[], final: boolean): Buffer | undefined {
    const { text, empty, carry } = jsonString(`[${time.toFixed(6)},"o","`, parts, '"]\n', final);
    this.carry = carry.length === 0 ? NOTHING : carry;
    return empty ? undefined : Buffer.from(text.buffer, text.byteOffset, text.length);
  }
}
