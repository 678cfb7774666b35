// Output the screen mirror may skip without parsing it: plain lines (printable text, tabs, backspaces,
// carriage returns; valid UTF-8 that encodes no control) that are followed, within the same run of plain
// lines, by enough line feeds to scroll them out of the screen and the scrollback.
//
// Why skipping them leaves the mirror exactly as parsing them would: such bytes change no mode, attribute,
// charset, tab stop or scroll region, and leave the parser in its ground state. Skipped whole lines that
// end in "\r\n" leave the cursor in column 0, as it must already be where skipping starts; the worker also
// checks there that the parser is in its ground state (output is held in pieces that may cut a sequence)
// and that the scroll region is the whole screen (else the cursor may be outside it, where line feeds do
// not scroll). What follows the skipped lines then starts from the same column and the same state, only
// on another row, with other rows above: after `rows` line feeds the cursor is on the last row either way,
// and after `rows + scrollback` more scrolls every row still kept (screen and scrollback) is one scrolled
// in blank and written by what follows. So a run keeps its last `2 × rows + scrollback + 1` line feeds
// (`keepLineFeeds`) and the rest may go. (A UTF-8 character cut where the output was held needs no check:
// its remaining bytes are not plain, so no run starts before the next line feed.)

import * as byteWords from '../byte-words.js';

// Bound here, not imported by name: the scan's loop reads an imported binding through the module each time
// (15–35 % slower in alternating runs), a module's own constant not.
const { LITTLE_ENDIAN, controlBytes, zeroBytes } = byteWords;

/** Bytes [from, to) of the data may be skipped, if the terminal is ready to at `from` (see above). */
export interface SkippableSpan {
  from: number;
  to: number;
}

// Byte classes: what a byte can be in a plain line.
const PLAIN = 0;
const LINE_FEED = 1;
const CONTROL = 2;
/** Lead bytes of UTF-8 sequences, with the bounds their second byte must lie in (no overlong forms, surrogates, C1). */
const LEAD2 = 3;
const LEAD3 = 4;
const LEAD4 = 5;
const CONTINUATION = 6;

const CLASS = new Uint8Array(256).fill(CONTROL);
for (let b = 0x20; b <= 0x7f; b++) CLASS[b] = PLAIN; // DEL (0x7f) is ignored by a terminal
CLASS[0x08] = PLAIN; // backspace
CLASS[0x09] = PLAIN; // tab
CLASS[0x0d] = PLAIN; // carriage return
CLASS[0x0a] = LINE_FEED;
for (let b = 0x80; b < 0xc0; b++) CLASS[b] = CONTINUATION;
for (let b = 0xc2; b < 0xe0; b++) CLASS[b] = LEAD2;
for (let b = 0xe0; b < 0xf0; b++) CLASS[b] = LEAD3;
for (let b = 0xf0; b < 0xf5; b++) CLASS[b] = LEAD4;

/** The smallest and largest second byte allowed after each lead byte (UTF-8, without C1 controls). */
function secondByteRange(lead: number): [number, number] {
  if (lead === 0xc2) return [0xa0, 0xbf]; // U+0080..U+009F are C1 controls to a terminal
  if (lead === 0xe0) return [0xa0, 0xbf];
  if (lead === 0xed) return [0x80, 0x9f];
  if (lead === 0xf0) return [0x90, 0xbf];
  if (lead === 0xf4) return [0x80, 0x8f];
  return [0x80, 0xbf];
}

/** What of some output the mirror may skip, and where a run of plain lines the output ends in starts. */
export interface Skippable {
  /** The spans that may be skipped, in order. */
  spans: SkippableSpan[];
  /**
   * Where the part of a run of plain lines that reaches the end of the data and was not skipped starts (its
   * start, or the end of its span); the data's length if the data ends in a line that is not plain. Output
   * that follows may continue the run, and skip this part too.
   */
  openRun: number;
}

/**
 * The spans of `data` the mirror may skip, in order: in every run of plain lines holding more than
 * `keepLineFeeds` line feeds, its start up to the end of a line ending in "\r\n" that leaves at least
 * `keepLineFeeds` line feeds in the run after it. A run starts at the data's start or after a line feed.
 */
export function skippableSpans(data: Uint8Array, keepLineFeeds: number): Skippable {
  const spans: SkippableSpan[] = [];
  const length = data.length;
  let runStart = 0;
  let lineStart = 0;
  let runLineFeeds = 0;
  // Four bytes at a time where they are aligned: a word with every byte in 0x20..0x7f is plain text, and so
  // is one that also holds carriage returns or line feeds (counted, the last one marking where a line starts).
  const head = (4 - (data.byteOffset & 3)) & 3;
  const words = length > head ? new Uint32Array(data.buffer, data.byteOffset + head, (length - head) >> 2) : NO_WORDS;
  const wordsEnd = head + words.length * 4;
  let i = 0;
  while (i < length) {
    if (i >= head && i < wordsEnd && ((i - head) & 3) === 0) {
      const word = words[(i - head) >> 2]!;
      if ((word & 0x80808080) === 0) {
        // Bytes below 0x80: those below 0x20.
        const controls = controlBytes(word);
        if (controls === 0) {
          i += 4;
          continue;
        }
        // Short lines: a word whose only controls are carriage returns and line feeds is taken whole.
        if (LITTLE_ENDIAN) {
          const lineFeeds = zeroBytes(word ^ 0x0a0a0a0a);
          if ((controls & ~(lineFeeds | zeroBytes(word ^ 0x0d0d0d0d))) === 0) {
            if (lineFeeds !== 0) {
              runLineFeeds += Math.imul(lineFeeds >>> 7, 0x01010101) >>> 24;
              lineStart = i + ((31 - Math.clz32(lineFeeds)) >> 3) + 1;
            }
            i += 4;
            continue;
          }
        }
      }
    }
    const kind = CLASS[data[i]!]!;
    if (kind === PLAIN) {
      i++;
      continue;
    }
    if (kind === LINE_FEED) {
      i++;
      lineStart = i;
      runLineFeeds++;
      continue;
    }
    const end = kind === LEAD2 || kind === LEAD3 || kind === LEAD4 ? validSequenceEnd(data, i, kind) : -1;
    if (end > 0) {
      i = end;
      continue;
    }
    // Not plain: the run ends before this line; the next may start after its line feed.
    const cut = cutOf(data, runStart, lineStart, runLineFeeds, keepLineFeeds);
    if (cut > runStart) spans.push({ from: runStart, to: cut });
    const next = data.indexOf(0x0a, i);
    if (next < 0) return { spans, openRun: length };
    i = next + 1;
    runStart = lineStart = i;
    runLineFeeds = 0;
  }
  const cut = cutOf(data, runStart, lineStart, runLineFeeds, keepLineFeeds);
  if (cut > runStart) spans.push({ from: runStart, to: cut });
  return { spans, openRun: Math.max(cut, runStart) };
}

const NO_WORDS = new Uint32Array(0);

/** Where a valid UTF-8 sequence led by the byte at `at` ends, or -1 if it is invalid or cut short. */
function validSequenceEnd(data: Uint8Array, at: number, kind: number): number {
  const size = kind === LEAD2 ? 2 : kind === LEAD3 ? 3 : 4;
  if (at + size > data.length) return -1;
  const [low, high] = secondByteRange(data[at]!);
  const second = data[at + 1]!;
  if (second < low || second > high) return -1;
  for (let k = 2; k < size; k++) if (CLASS[data[at + k]!] !== CONTINUATION) return -1;
  return at + size;
}

/**
 * In the run of whole plain lines [runStart, runEnd) with `lineFeeds` line feeds: the end of the last line
 * ending in "\r\n" that still has `keep` line feeds after it, or `runStart` if there is none.
 */
function cutOf(data: Uint8Array, runStart: number, runEnd: number, lineFeeds: number, keep: number): number {
  if (lineFeeds <= keep) return runStart;
  let seen = 0;
  for (let i = runEnd - 1; i >= runStart + 1; i--) {
    if (data[i] !== 0x0a) continue;
    if (seen >= keep && data[i - 1] === 0x0d) return i + 1;
    seen++;
  }
  return runStart;
}
