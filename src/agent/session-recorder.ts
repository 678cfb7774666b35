// One session's recording, an asciicast v2 file (recording/asciicast.ts) in the agent's recordings folder,
// kept in the screen mirror's worker thread (screen-worker.ts), which gets every byte of output anyway: so
// encoding and writing it never hold up the agent's main thread. It records the program's output (an event
// for each message of the agent's that holds some: what the agent read within its batch time, mirror-worker.ts,
// at the time it read the first of it), its size changes, markers where Claude Code waited for the person and
// where the program ended, and what clients typed only when asked to (--record-input). Times come with each
// event, taken on the main thread as things happened. Output is written when the worker says (`writeOut`,
// after each message it handled): no timer of its own wakes the thread. Writes are synchronous: the worker may
// wait for the disk, and a file is complete once `close` returns.
// Starting one first removes, in the background, the recordings past their days or beyond the cap. A
// recording that grows past its share of the cap, or cannot be written, stops with a warning; the session
// goes on.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { eventLine, headerLine, type CastCode } from '../recording/asciicast.js';
import { CastOutputEncoder } from '../recording/cast-output.js';
import { pruneRecordings, recordingName } from '../recording/recording-store.js';
// Not the protocol's index: this runs in the mirror's worker, which loads only what it uses.
import { sizeText } from '../protocol/human-text.js';

/** How an agent records its sessions. */
export interface RecordingSettings {
  dir: string;
  /** Recordings last written longer ago than this many days are removed. */
  days: number;
  /** All recordings together at most this many bytes; one at most a quarter of it. */
  maxBytes: number;
  /** Record what clients type too. */
  input: boolean;
}

/** What is recorded about the session. */
export interface RecordedSession {
  name: string;
  command: string;
  cols: number;
  rows: number;
  shell: string | undefined;
}

/** Output waiting is written once this much of it waits, without waiting for `writeOut`. */
const EVENT_BYTES = 256 * 1024;

/** Files being recorded in this thread: never removed by retention. */
const recording = new Set<string>();

type RecorderState = { kind: 'recording'; fd: number; written: number } | { kind: 'stopped' };

export class SessionRecorder {
  private state: RecorderState;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** When the output waiting came (its first part), in ms since the epoch. */
  private pendingAt = 0;
  /** The time of the last event written, in seconds: events never go back. */
  private last = 0;
  private readonly output = new CastOutputEncoder();

  /**
   * Starts a recording of `session`, begun at `at` (ms since the epoch), and removes old recordings in the
   * background. Throws if the folder or file cannot be made; `warn` hears of what fails later.
   */
  static start(settings: RecordingSettings, session: RecordedSession, at: number, warn: (message: string) => void): SessionRecorder {
    mkdirSync(settings.dir, { recursive: true, mode: 0o700 });
    pruneRecordings(settings.dir, { maxAgeMs: settings.days * 86_400_000, maxBytes: settings.maxBytes, inUse: recording }).catch((error: Error) =>
      warn(`old recordings could not be removed: ${error.message}`),
    );
    const file = join(settings.dir, recordingName(session.name, at, randomBytes(3).toString('hex')));
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    return new SessionRecorder(file, fd, settings, session, at, warn);
  }

  private constructor(
    readonly file: string,
    fd: number,
    private readonly settings: RecordingSettings,
    session: RecordedSession,
    private readonly startedAt: number,
    private readonly warn: (message: string) => void,
  ) {
    recording.add(file);
    this.state = { kind: 'recording', fd, written: 0 };
    this.write(
      headerLine({
        version: 2,
        width: session.cols,
        height: session.rows,
        timestamp: Math.floor(startedAt / 1000),
        title: session.name,
        command: session.command,
        env: { TERM: 'xterm-256color', ...(session.shell ? { SHELL: session.shell } : {}) },
      }),
    );
  }

  /** The program printed `data`, read at `at` (ms since the epoch); kept for `writeOut` (or an event of another kind) unless much waits. */
  out(data: Uint8Array, at: number): void {
    if (this.state.kind !== 'recording') return;
    if (this.pendingBytes === 0) this.pendingAt = at;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= EVENT_BYTES) this.writeOut();
  }

  /** Writes the output that waits, as one event at the time of its first part. */
  writeOut(): void {
    if (this.pendingBytes === 0 || this.state.kind !== 'recording') return;
    const line = this.output.encode(this.time(this.pendingAt), this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    if (line) this.write(line);
  }

  /** A client typed `text` (recorded only with `input`). */
  in(text: string, at: number): void {
    if (this.settings.input) this.event(at, 'i', text);
  }

  /** The terminal took a new size. */
  resize(cols: number, rows: number, at: number): void {
    this.event(at, 'r', `${cols}x${rows}`);
  }

  /** A moment worth finding again (Claude Code waits for the person; the program ended). */
  marker(label: string, at: number): void {
    this.event(at, 'm', label);
  }

  /** Writes what waits and closes the file. */
  close(): void {
    if (this.state.kind !== 'recording') return;
    this.writeOut();
    const rest = this.output.finish(this.last);
    if (rest) this.write(rest);
    this.finish();
  }

  /** Seconds from the start to `at`, never before the last event. */
  private time(at: number): number {
    this.last = Math.max(this.last, (at - this.startedAt) / 1000);
    return this.last;
  }

  private event(at: number, code: CastCode, data: string): void {
    if (this.state.kind !== 'recording') return;
    this.writeOut();
    this.write(eventLine(this.time(at), code, data));
  }

  private write(line: string | Buffer): void {
    const state = this.state;
    if (state.kind !== 'recording') return;
    const bytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    // A line that would take the file past its share of the cap is not written: the recording ends before it.
    const cap = Math.floor(this.settings.maxBytes / 4);
    if (state.written + bytes.length > cap) {
      this.stop(`the recording ${this.file} reached its limit of ${sizeText(cap)} (a quarter of --record-max); it stops here`);
      return;
    }
    try {
      for (let at = 0; at < bytes.length; ) at += writeSync(state.fd, bytes, at, bytes.length - at);
    } catch (error) {
      this.finish();
      this.warn(`the recording ${this.file} could not be written (${(error as Error).message}); it stops here`);
      return;
    }
    state.written += bytes.length;
  }

  /** Ends the recording early, saying why in the file and to the agent. */
  private stop(why: string): void {
    const state = this.state;
    if (state.kind !== 'recording') return;
    try {
      writeSync(state.fd, eventLine(this.last, 'm', why));
    } catch {
      // It could not be written: the agent still hears why.
    }
    this.finish();
    this.warn(why);
  }

  private finish(): void {
    const state = this.state;
    if (state.kind !== 'recording') return;
    this.state = { kind: 'stopped' };
    this.pending = [];
    this.pendingBytes = 0;
    recording.delete(this.file);
    try {
      closeSync(state.fd);
    } catch {
      // Already gone.
    }
  }
}
