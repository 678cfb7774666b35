// The WebAssembly scans (src/text-scan.wat): the module the code loads is the one its source makes, and the
// runs of plain lines it finds are those a byte-by-byte reading finds. (What the recording's JSON strings hold
// is checked against JSON.stringify in recording.test.ts; what the mirror skips, against a terminal parsing
// every byte, in screen-mirror.test.ts.)

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { plainRuns, type PlainRun } from '../src/wasm/text-scan.js';

/** The runs, read one byte at a time: what plainRuns promises. */
function runsByteByByte(data: Uint8Array, keep: number): PlainRun[] {
  const text = Buffer.from(data).toString('latin1');
  const runs: PlainRun[] = [];
  let start = 0;
  for (;;) {
    let lineFeeds = 0;
    let lastLine = start;
    let at = start;
    let plain = true;
    while (at < text.length) {
      const code = text.charCodeAt(at);
      if (code === 0x0a) {
        lineFeeds++;
        lastLine = ++at;
      } else if ((code >= 0x20 && code < 0x80) || code === 0x0d || code === 0x09 || code === 0x08) at++;
      else {
        const size = code >= 0xc2 && code <= 0xdf ? 2 : code >= 0xe0 && code <= 0xef ? 3 : code >= 0xf0 && code <= 0xf4 ? 4 : 0;
        const sequence = data.subarray(at, at + size);
        const decoded = size > 0 && sequence.length === size ? new TextDecoder('utf-8', { fatal: false }).decode(sequence) : '\ufffd';
        // Valid, and not a C1 control (U+0080..U+009F).
        if (decoded.includes('\ufffd') || decoded.length === 0 || (decoded.charCodeAt(0) >= 0x80 && decoded.charCodeAt(0) < 0xa0)) {
          plain = false;
          break;
        }
        at += size;
      }
    }
    if (!plain) {
      if (lineFeeds > keep) runs.push({ start, lastLine, lineFeeds });
      const next = text.indexOf('\n', at);
      if (next < 0) {
        runs.push({ start: data.length, lastLine: data.length, lineFeeds: 0 });
        return runs;
      }
      start = next + 1;
      continue;
    }
    runs.push({ start, lastLine, lineFeeds });
    return runs;
  }
}

describe('the WebAssembly scans', () => {
  it('are the modules text-scan.wat and aead.wat compile to (run scripts/wasm-modules.mjs after changing them)', () => {
    const script = fileURLToPath(new URL('../scripts/wasm-modules.mjs', import.meta.url));
    // Exits with 1, saying so, when they differ.
    expect(execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' })).toBe('src/wasm/text-scan-wasm.ts matches src/wasm/text-scan.wat\nsrc/wasm/aead-wasm.ts matches src/wasm/aead.wat\n');
  });

  it('find the runs of plain lines a byte-by-byte reading finds, for controls and UTF-8 anywhere in a block of 16 bytes', () => {
    let seed = 11;
    const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const odd = [0x0a, 0x0d, 0x09, 0x08, 0x7f, 0x1b, 0x00, 0x07, 0xc2, 0x80, 0xa0, 0x9b, 0xe2, 0x94, 0x80, 0xed, 0xa0, 0xf0, 0x9f, 0x98, 0xf4, 0x90, 0xc0, 0xe0, 0xff];
    for (let round = 0; round < 600; round++) {
      const plainShare = next();
      const data = Uint8Array.from({ length: Math.floor(next() * 400) }, () => {
        const r = next();
        if (r < plainShare) return 0x20 + Math.floor(next() * 95);
        if (r < plainShare + (1 - plainShare) / 3) return next() < 0.5 ? 0x0a : 0x0d;
        return odd[Math.floor(next() * odd.length)]!;
      });
      const keep = Math.floor(next() * 8);
      expect(plainRuns(data, keep), Buffer.from(data).toString('hex')).toEqual(runsByteByByte(data, keep));
    }
  });
});
