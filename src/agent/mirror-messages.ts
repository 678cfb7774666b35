// The messages between the agent's main thread (screen-mirror.ts, mirror-worker.ts) and the screen mirror's
// worker thread (screen-worker.ts, mirror-terminal.ts, session-recorder.ts). They go both ways in lists, each
// message a list of these, handled in order. Times (`at`) are ms since the epoch, taken on the main thread
// when things happened.

import type { RecordedSession, RecordingSettings } from './session-recorder.js';

/** Settings a mirror's terminal starts with. */
export interface MirrorSettings {
  cols: number;
  rows: number;
  /** Lines of scrollback kept and included in snapshots. */
  scrollback: number;
}

/** Main thread → worker; `terminal` is the mirror's number in the worker. */
export type MirrorRequest = { terminal: number } & (
  /** `recording`: the session is recorded too (from `at`). */
  | { type: 'open'; settings: MirrorSettings; recording?: { settings: RecordingSettings; session: RecordedSession; at: number } }
  /**
   * Output up to stream position `end`, its first part read at `at`. `answer`: the worker says `parsed` once
   * it took it (the agent asks now and then, to know how far behind the worker is). `lent`: `data` fills the
   * start of a batch the agent reuses; the worker keeps a copy and hands the batch back in `parsed` (`answer`
   * is set too).
   */
  | { type: 'write'; data: Uint8Array<ArrayBuffer>; end: number; at: number; answer?: true; lent?: true }
  | { type: 'resize'; cols: number; rows: number; at: number }
  /** For the recording: what a client typed (`i`), or a marker (`m`). */
  | { type: 'record'; code: 'i' | 'm'; data: string; at: number }
  | { type: 'snapshot'; id: number; maxBytes: number }
  | { type: 'lines'; id: number; max: number }
  | { type: 'stats'; id: number }
  /** Answered by `closed` once the terminal and its recording are done with. */
  | { type: 'close' }
);

/** Worker → main thread. */
export type MirrorResponse = { terminal: number } & (
  /** The worker took the output up to `end` (a write's `answer`); `lent`: the batch lent with it (write's `lent`), given back. */
  | { type: 'parsed'; end: number; lent?: ArrayBuffer }
  | { type: 'snapshot'; id: number; offset: number; data: string }
  | { type: 'lines'; id: number; lines: string[] }
  | { type: 'stats'; id: number; stats: MirrorStats }
  | { type: 'closed' }
  /** Something of the terminal's does not work, and it goes on without it (its recording). */
  | { type: 'warning'; message: string }
);

/** How much output the mirror parsed, and how much it skipped because it scrolled out unseen. */
export interface MirrorStats {
  parsedBytes: number;
  skippedBytes: number;
}
