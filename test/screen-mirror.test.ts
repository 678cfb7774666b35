// The screen mirror on its own: what it may skip of the output (lines that scroll out unseen), and that its
// snapshots stay exactly what a terminal parsing every byte shows, on random streams that mix plain lines
// with everything that changes a terminal's state (escape sequences, scroll regions, the alternate screen,
// insert mode, strings that hold line feeds, UTF-8 cut between writes, resizes).

import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ScreenMirror } from '../src/agent/screen-mirror.js';
import { skippableSpans, type SkippableSpan } from '../src/agent/skippable-output.js';
import { terminalInternals } from '../src/agent/terminal-internals.js';

const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
const lines = (count: number, make = (i: number) => `line ${i}`): string => Array.from({ length: count }, (_, i) => `${make(i)}\r\n`).join('');

describe('skippableSpans', () => {
  const spansOf = (data: Uint8Array, keep: number): SkippableSpan[] => skippableSpans(data, keep).spans;

  it('leaves the last lines of a run of plain lines, and skips the rest up to a line that ends in CR LF', () => {
    const data = bytes(lines(10));
    const spans = spansOf(data, 3);
    expect(spans).toEqual([{ from: 0, to: bytes(lines(7)).length }]);
    expect(spansOf(data, 10)).toEqual([]);
    expect(spansOf(data, 9)).toEqual([{ from: 0, to: bytes(lines(1)).length }]);
    // A cut only after CR LF: lines ending in a bare LF are kept with the next one.
    const bare = bytes('a\r\nb\nc\r\nd\r\ne\r\n');
    expect(spansOf(bare, 2)).toEqual([{ from: 0, to: 'a\r\nb\nc\r\n'.length }]);
    expect(spansOf(bytes('a\nb\nc\nd\n'), 1)).toEqual([]);
    // What the run keeps may be skipped with output that continues it: it says where that part starts.
    expect(skippableSpans(data, 3).openRun).toBe(bytes(lines(7)).length);
    expect(skippableSpans(data, 10).openRun).toBe(0);
  });

  it('finds the same spans wherever the data starts in memory, and wherever a control falls in a block of 16 bytes it reads at once', () => {
    const text = `${lines(40)}x\x1b[1mbold\x1b[0m\r\n${lines(40, (i) => `${'w'.repeat(i)}\x7f`)}`;
    const expected = spansOf(bytes(text), 5);
    expect(expected).toHaveLength(2);
    const memory = new Uint8Array(text.length + 16);
    for (let offset = 0; offset < 16; offset++) {
      memory.set(bytes(text), offset);
      expect(spansOf(memory.subarray(offset, offset + text.length), 5)).toEqual(expected);
    }
    // A control byte anywhere in a block ends the run.
    for (let at = 0; at < 32; at++) {
      const line = `${'a'.repeat(at)}\x1b${'b'.repeat(31 - at)}`;
      expect(spansOf(bytes(`${lines(8)}${line}\r\n${lines(8)}`), 2)).toHaveLength(2);
    }
  });

  it('counts short lines, many to a block of 16 bytes, as it counts them one by one', () => {
    // ASCII lines only, so that the spans follow from the lines: runs of plain lines between those holding an
    // escape, each cut after the last CR LF that leaves `keep` line feeds of the run after it.
    const next = random(7);
    const keep = 3;
    for (let round = 0; round < 200; round++) {
      const lineList = Array.from({ length: 1 + Math.floor(next() * 40) }, () => {
        const text = 'x'.repeat(Math.floor(next() * 7)) + (next() < 0.1 ? '\x1b' : '') + (next() < 0.3 ? '\r' : '');
        return text + (next() < 0.15 ? '\n' : '\r\n');
      });
      const expected: Array<{ from: number; to: number }> = [];
      let at = 0;
      let run: Array<{ end: number; crlf: boolean }> = [];
      let runStart = 0;
      const close = (): void => {
        const cut = run.findLastIndex((line, k) => line.crlf && run.length - 1 - k >= keep);
        if (cut >= 0) expected.push({ from: runStart, to: run[cut]!.end });
      };
      for (const line of lineList) {
        at += line.length;
        if (line.includes('\x1b')) {
          close();
          run = [];
          runStart = at;
        } else {
          run.push({ end: at, crlf: line.endsWith('\r\n') });
        }
      }
      close();
      const text = lineList.join('');
      const memory = new Uint8Array(text.length + 16);
      for (let offset = 0; offset < 16; offset++) {
        memory.set(bytes(text), offset);
        expect(spansOf(memory.subarray(offset, offset + text.length), keep), JSON.stringify(text)).toEqual(expected);
      }
    }
  });

  it('ends a run at anything that is not plain text, and starts the next after its line', () => {
    const head = lines(6);
    const middle = 'x\x1b[31my\r\n';
    const data = bytes(head + middle + lines(6));
    expect(spansOf(data, 2)).toEqual([
      { from: 0, to: bytes(lines(4)).length },
      { from: bytes(head + middle).length, to: bytes(head + middle + lines(4)).length },
    ]);
    // An unfinished last line is not part of a run.
    expect(spansOf(bytes(`${lines(5)}partial`), 2)).toEqual([{ from: 0, to: bytes(lines(3)).length }]);
    // …but one the output after it may finish: the open run holds it. Data that ends in a line that is not plain has none.
    expect(skippableSpans(bytes(`${lines(5)}partial`), 2).openRun).toBe(bytes(lines(3)).length);
    expect(skippableSpans(bytes(`${lines(5)}x\x1b[1m`), 2).openRun).toBe(bytes(`${lines(5)}x\x1b[1m`).length);
    expect(skippableSpans(bytes(`${lines(5)}x\x1b[1m\r\n`), 2).openRun).toBe(bytes(`${lines(5)}x\x1b[1m\r\n`).length);
  });

  it('takes UTF-8 text as plain, but not what encodes a control, overlong forms or broken sequences', () => {
    const run = (line: string): number => spansOf(Buffer.from(`${lines(3)}${line}\r\n${lines(3)}`, 'latin1'), 1).length;
    const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
    expect(run(utf8('héllo ✓ 漢字 🙂'))).toBe(1);
    expect(run('\xc2\x9b31m')).toBe(2); // U+009B, a C1 CSI
    expect(run('\xe0\x80\x9b')).toBe(2); // an overlong ESC
    expect(run('\xc0\x9b')).toBe(2);
    expect(run('\xed\xa0\x80')).toBe(2); // a surrogate
    expect(run('\xe2\x9c')).toBe(2); // cut short before CR
    expect(run('\x80')).toBe(2);
    expect(run('\x07')).toBe(2);
    expect(run('\x0e')).toBe(2); // shift out: another charset
    expect(run('tab\there, back\bspace, return\rover')).toBe(1);
  });
});

describe('the terminal internals the mirror reads', () => {
  it('are found in the @xterm/headless this package depends on, follow the state, and parse a write at once when asked', async () => {
    const terminal = new headless.Terminal({ cols: 20, rows: 5, allowProposedApi: true });
    const internals = terminalInternals(terminal);
    expect(internals.available).toBe(true);
    const after = (data: string | Uint8Array): Promise<boolean> => new Promise((resolve) => terminal.write(data, () => resolve(internals.readyToSkip())));
    expect(await after('')).toBe(true);
    expect(await after('abc')).toBe(false); // column 3
    expect(await after('\r\n\x1b]0;title')).toBe(false); // inside a string
    expect(await after('\x07')).toBe(true);
    expect(await after('\x1b[2;4r\x1b[H')).toBe(false); // a scroll region
    expect(await after('\x1b[r\x1b[H')).toBe(true);
    // A write is parsed on a timer, unless asked for at once (what the mirror does: no timer wakes its thread).
    const parsed: string[] = [];
    terminal.write('later', () => parsed.push('later'));
    expect(parsed).toEqual([]);
    await expect.poll(() => parsed).toEqual(['later']);
    internals.parseNextWriteAtOnce();
    terminal.write('now', () => parsed.push('now'));
    expect(parsed).toEqual(['later', 'now']);
    expect(terminal.buffer.active.getLine(0)?.translateToString(true)).toBe('laternow');
    terminal.dispose();
  });
});

/** A seeded generator, so that a failing stream can be made again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream mixing long runs of plain lines with what changes a terminal's state, in parts. */
function stream(next: () => number): Uint8Array[][] {
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
  const utf8 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
  const plainLine = (): string =>
    pick([
      () => `${Math.floor(next() * 1e7)}`,
      () => 'x'.repeat(Math.floor(next() * 130)),
      () => utf8(`wide 漢字 ${'🙂'.repeat(Math.floor(next() * 30))} é`),
      () => 'col\tumns\tand back\b\bspaces',
      () => `progress 10%\rprogress 50%\rprogress ${Math.floor(next() * 100)}%`,
      () => 'bare\nline feed inside',
      () => '',
    ])();
  const states = [
    '\x1b[1;31m', '\x1b[0m', '\x1b[44m', '\x1b[3;8r', '\x1b[r', '\x1b[5;1H', '\x1b[2A', '\x1b[?1049h', '\x1b[?1049l',
    '\x1b[4h', '\x1b[4l', '\x1b(0', '\x1b(B', '\x1b[20h', '\x1b[20l', '\x1b[?6h', '\x1b[?6l', '\x1b[?7l', '\x1b[?7h',
    'A\x1b[5b', '\x1b]0;a title\r\nwith lines\r\n', '\x07', '\x1bP$q"p\r\nmore\r\n\x1b\\', '\x1b[2J', '\x1b[3J', '\x1bc',
    '\x1b7', '\x1b8', '\x1bM', '\x1b[10;20H', '\x1b[K', utf8('\xe2\x9c'), '\x93\r\n', '\x0e', '\x0f', 'no line end ',
  ];
  // Each part: a few of the state changes, then a run of lines, now and then a long one; some runs end
  // their lines in a bare line feed (a program that turned output processing off), so the column carries over.
  const combos = ['\x1b[3;8r\x1b[12;5H', '\x1b[1;8r\x1b[12;5H', '\x1b[5;24r', '\x1b[3;8r\x1b[5;1H', 'abc\n', '\x1b[?1049h\x1b[2;20r'];
  const parts: Uint8Array[][] = [];
  for (let part = 0; part < 30; part++) {
    let text = '';
    for (let k = Math.floor(next() * 4) - 1; k >= 0; k--) text += next() < 0.3 ? pick(combos) : pick(states);
    const count = Math.floor(next() < 0.3 ? 600 + next() * 2500 : next() * 60);
    const end = next() < 0.2 ? '\n' : '\r\n';
    for (let i = 0; i < count; i++) text += `${plainLine()}${end}`;
    if (next() < 0.1) text += '\x1b7\x1b[0m\x1b'; // the next part starts with an escape sequence's last byte
    // Written in pieces of random sizes, cutting sequences and characters anywhere.
    const data = Buffer.from(text, 'latin1');
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < data.length; ) {
      const size = 1 + Math.floor(next() * (next() < 0.5 ? 64 : 200_000));
      chunks.push(new Uint8Array(data.subarray(at, at + size)));
      at += size;
    }
    parts.push(chunks);
  }
  return parts;
}

describe('the screen mirror', () => {
  const mirrors: ScreenMirror[] = [];
  afterEach(async () => {
    for (const mirror of mirrors.splice(0)) await mirror.close();
  });

  /** A mirror beside a reference terminal that parses every byte; `screen()`: the reference's, serialized as a snapshot is. */
  function besideReference(settings: { cols: number; rows: number; scrollback: number }) {
    const mirror = new ScreenMirror(settings, { progress: () => undefined, failed: (reason) => expect.fail(reason) });
    mirrors.push(mirror);
    const reference = new headless.Terminal({ ...settings, allowProposedApi: true });
    const serializer = new serialize.SerializeAddon();
    reference.loadAddon(serializer as never);
    const screen = (): Promise<string> => new Promise((resolve) => reference.write('', () => resolve(serializer.serialize({ scrollback: settings.scrollback }))));
    return { mirror, reference, screen };
  }

  it('skips lines that scroll out unseen, and its snapshot stays what a terminal parsing every byte shows', async () => {
    let skipped = 0;
    for (let seed = 1; seed <= 16; seed++) {
      const next = random(seed);
      const { mirror, reference, screen } = besideReference({ cols: 80, rows: 24, scrollback: 200 });
      let end = 0;
      // Compared after each part: what a skip got wrong may be wiped out by what comes later.
      for (const part of stream(next)) {
        for (const chunk of part) {
          end += chunk.length;
          reference.write(chunk);
          mirror.write(chunk, end);
        }
        if (next() < 0.1) {
          const [cols, rows] = [40 + Math.floor(next() * 80), 10 + Math.floor(next() * 30)];
          reference.write('', () => reference.resize(cols, rows));
          mirror.resize(cols, rows);
        }
        const expected = await screen();
        const snapshot = await mirror.snapshot(64 << 20);
        expect({ seed, offset: snapshot?.offset }).toEqual({ seed, offset: end });
        expect({ seed, screen: snapshot?.data }).toEqual({ seed, screen: expected });
      }
      const stats = await mirror.stats();
      expect(stats!.parsedBytes + stats!.skippedBytes).toBe(end);
      skipped += stats!.skippedBytes;
      reference.dispose();
    }
    // The streams hold long runs of plain lines: most of them went unparsed.
    expect(skipped).toBeGreaterThan(0);
  });

  it('skips nothing where the terminal is not ready to (inside a sequence, a scroll region, the cursor not in column 0): the screen stays exact', async () => {
    const run = lines(1000, (i) => `L${i}`);
    const cases: Record<string, string[]> = {
      'an escape sequence cut between two holds, ended by the first byte of the lines (ESC 8: restore the cursor, red)': ['\x1b[31m\x1b7\x1b[0m\x1b', `8${run}`],
      'a scroll region below the cursor': ['\x1b[5;24r', run],
      'a scroll region above the cursor': ['\x1b[1;8r\x1b[12;5H\r\n', run],
      'the cursor not in column 0, and lines in bare line feeds after the last that ends in CR LF': ['abc\n', `${run}${'bare\n'.repeat(300)}`],
    };
    for (const [name, parts] of Object.entries(cases)) {
      const { mirror, reference, screen } = besideReference({ cols: 80, rows: 24, scrollback: 100 });
      let end = 0;
      for (const part of parts) {
        const data = bytes(part);
        end += data.length;
        reference.write(data);
        mirror.write(data, end);
        await mirror.stats(); // parsed before the next part is held
      }
      const expected = await screen();
      expect({ name, screen: (await mirror.snapshot(64 << 20))?.data }).toEqual({ name, screen: expected });
      reference.dispose();
    }
  });

  it('keeps each session\'s screen apart on one worker; a worker that dies fails every mirror on it, and the next gets a new one', async () => {
    const dying = fileURLToPath(new URL('./fixtures/dying-mirror.mjs', import.meta.url));
    const failures: string[] = [];
    const open = (): ScreenMirror => {
      const mirror = new ScreenMirror({ cols: 40, rows: 5, scrollback: 10 }, { progress: () => undefined, failed: (reason) => failures.push(reason) }, dying);
      mirrors.push(mirror);
      return mirror;
    };
    const [a, b] = [open(), open()];
    a.write(bytes('first session\r\n'), 15);
    b.write(bytes('second\r\n'), 8);
    expect(await a.lines(5)).toEqual(['first session']);
    expect(await b.lines(5)).toEqual(['second']);
    a.resize(13, 5); // the fixture's cue to die
    await expect.poll(() => failures.length, { timeout: 10_000 }).toBe(2);
    expect(failures.every((reason) => /exit code 3/.test(reason))).toBe(true);
    expect([a.failure, b.failure].every((reason) => reason !== undefined)).toBe(true);
    expect(await b.lines(5)).toBeUndefined();
    const c = open();
    c.write(bytes('third\r\n'), 7);
    expect(await c.lines(5)).toEqual(['third']);
  });

  it('hands the worker what every session printed meanwhile in one message, and each screen stays its own', async () => {
    const counting = fileURLToPath(new URL('./fixtures/counting-mirror.mjs', import.meta.url));
    let progressed = 0;
    const lists: string[][] = [];
    const sessions = Array.from({ length: 16 }, () => {
      const events = { progress: () => void progressed++, failed: (reason: string) => expect.fail(reason), warning: (message: string) => void lists.push(JSON.parse(message) as string[]) };
      const mirror = new ScreenMirror({ cols: 40, rows: 5, scrollback: 10 }, events, counting);
      mirrors.push(mirror);
      return mirror;
    });
    // A line each, as sixteen programs print now and then: none of them is sent on its own.
    for (const [i, mirror] of sessions.entries()) mirror.write(bytes(`session ${i}\r\n`), `session ${i}\r\n`.length);
    await expect.poll(() => lists.length, { timeout: 10_000 }).toBe(1);
    expect(lists).toEqual([Array(16).fill('write')]);
    // A trickle costs the worker no answer (it would wake the agent's thread): the agent has not asked.
    expect(progressed).toBe(0);
    for (const [i, mirror] of sessions.entries()) expect(await mirror.lines(5)).toEqual([`session ${i}`]);
  });

  it('is told how far the worker took the output once more than a trickle was handed over, and never sees it behind by more', async () => {
    let progressed = 0;
    const mirror = new ScreenMirror({ cols: 80, rows: 24, scrollback: 100 }, { progress: () => void progressed++, failed: (reason) => expect.fail(reason) });
    mirrors.push(mirror);
    const line = bytes(`${'x'.repeat(98)}\r\n`);
    let end = 0;
    const write = (): void => {
      end += line.length;
      mirror.write(line, end);
    };
    // A few lines: the batch being filled is not the worker's yet; handed over (as a request for the screen
    // does), they are taken unasked, so they count as not taken yet.
    for (let i = 0; i < 10; i++) write();
    expect(mirror.backlog).toBe(0);
    await mirror.stats();
    expect(progressed).toBe(0);
    expect(mirror.backlog).toBe(1000);
    // 64 KiB more in the next batch: once the batch time passed, the worker is asked, and answers that it took all of it.
    for (let i = 0; i < 660; i++) write();
    expect(mirror.backlog).toBe(1000);
    await expect.poll(() => progressed, { timeout: 10_000 }).toBe(1);
    expect(mirror.backlog).toBe(0);
    expect(await mirror.lines(1)).toEqual(['x'.repeat(98)]);
  });

  it('carries the end of a run of plain lines into the next hold while output keeps coming: a long stream is parsed only where it stops, and the screen stays exact', async () => {
    const settings = { cols: 80, rows: 24, scrollback: 100 };
    const keep = 2 * settings.rows + settings.scrollback + 1;
    const { mirror, reference, screen } = besideReference(settings);
    // 12 MiB of lines of 100 characters (twelve holds of 1 MiB), a coloured line now and then (where runs
    // end, at places that fall anywhere in a hold), and an unfinished line at the end.
    const line = (i: number): string => (i % 40_000 === 39_999 ? `\x1b[3${i % 8}m${String(i).padStart(97)}\x1b[0m\r\n` : `${String(i).padStart(98, '.')}\r\n`);
    const data = bytes(`${Array.from({ length: 12 * 10_486 }, (_, i) => line(i)).join('')}unfinished`);
    for (let at = 0; at < data.length; at += 4096) {
      const chunk = data.subarray(at, at + 4096);
      reference.write(chunk);
      mirror.write(chunk, at + chunk.length);
    }
    const expected = await screen();
    expect((await mirror.snapshot(64 << 20))?.data).toBe(expected);
    const stats = await mirror.stats();
    expect(stats!.parsedBytes + stats!.skippedBytes).toBe(data.length);
    // Parsed: the lines before each of the three coloured ones and what the stream ends in, `keep` lines each
    // (without carrying, the end of each of the twelve holds too); room for three more if the worker paused.
    expect(stats!.parsedBytes).toBeLessThan(7 * keep * 100);
    reference.dispose();
  });

  it('lends full batches to its worker and fills the ones it gives back: a flood read 4 KiB at a time stays exact on screen', async () => {
    const settings = { cols: 80, rows: 24, scrollback: 100 };
    const { mirror, reference, screen } = besideReference(settings);
    // 4 MiB of coloured lines (parsed, none skipped), batch after batch lent; every 64 reads the worker is asked
    // something, so the batches lent before are back and the next are filled in memory the worker had.
    const line = (i: number): string => `\x1b[3${i % 8}m${String(i).padStart(90, '-')}\x1b[0m\r\n`;
    const data = bytes(Array.from({ length: 42_000 }, (_, i) => line(i)).join(''));
    for (let at = 0, reads = 1; at < data.length; at += 4096, reads++) {
      const chunk = data.subarray(at, at + 4096);
      reference.write(chunk);
      mirror.write(chunk, at + chunk.length);
      if (reads % 64 === 0) await mirror.stats();
    }
    expect((await mirror.snapshot(64 << 20))?.data).toBe(await screen());
    const stats = await mirror.stats();
    expect(stats!.parsedBytes + stats!.skippedBytes).toBe(data.length);
    reference.dispose();
  });

  it('skips most of a long listing, and shows its end exactly', async () => {
    const settings = { cols: 80, rows: 24, scrollback: 1000 };
    const mirror = new ScreenMirror(settings, { progress: () => undefined, failed: (reason) => expect.fail(reason) });
    mirrors.push(mirror);
    const data = bytes(lines(100_000, (i) => `${i + 1}`));
    for (let at = 0; at < data.length; at += 4096) mirror.write(data.subarray(at, at + 4096), Math.min(at + 4096, data.length));
    const last = await mirror.lines(3);
    expect(last).toEqual(['99998', '99999', '100000']);
    const stats = await mirror.stats();
    expect(stats!.skippedBytes / data.length).toBeGreaterThan(0.9);
  });
});
