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

import { plainRuns } from '../wasm/text-scan.js';

/** Bytes [from, to) of the data may be skipped, if the terminal is ready to at `from` (see above). */
export interface SkippableSpan {
  from: number;
  to: number;
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
  const runs = plainRuns(data, keepLineFeeds);
  let openRun = data.length;
  runs.forEach((run, r) => {
    const cut = cutOf(data, run.start, run.lastLine, run.lineFeeds, keepLineFeeds);
    if (cut > run.start) spans.push({ from: run.start, to: cut });
    if (r === runs.length - 1) openRun = Math.max(cut, run.start);
  });
  return { spans, openRun };
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
