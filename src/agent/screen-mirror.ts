// A copy of the terminal's screen kept by a headless terminal emulator (@xterm/headless) in a worker
// thread, fed with the same bytes as the browsers, so that a browser that lost more output than the
// agent's buffer holds (or connects for the first time) gets the exact current screen instead of a
// replay. The worker's backlog is reported so the agent can stop reading output while it catches up.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** Settings the worker starts with. */
export interface MirrorSettings {
  cols: number;
  rows: number;
  /** Lines of scrollback kept and included in snapshots. */
  scrollback: number;
}

/** Main thread → worker. */
export type MirrorRequest =
  | { type: 'write'; data: Uint8Array; end: number }
  | { type: 'resize'; cols: number; rows: number }
  | { type: 'snapshot'; id: number; maxBytes: number };

/** Worker → main thread. */
export type MirrorResponse = { type: 'parsed'; end: number } | { type: 'snapshot'; id: number; offset: number; data: string };

/** The screen as of stream position `offset`, as terminal bytes that redraw it. */
export interface Snapshot {
  offset: number;
  data: string;
}

/** Where the worker script is: beside this module once built, under dist/ when running from sources. */
function workerPath(): string {
  const beside = fileURLToPath(new URL('./screen-worker.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/agent/screen-worker.js', import.meta.url));
}

/** The headless terminal, seen from the agent's main thread. */
export class ScreenMirror {
  private readonly worker: Worker;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** Stream position after the last output given to `write`, and after the last the worker parsed. */
  private written = 0;
  private parsed = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, (snapshot: Snapshot) => void>();
  private closed = false;

  /** `onProgress` is called whenever the worker has parsed more output. */
  constructor(
    settings: MirrorSettings,
    private readonly onProgress: () => void = () => undefined,
  ) {
    this.worker = new Worker(workerPath(), { workerData: settings });
    this.worker.unref();
    this.worker.on('message', (message: MirrorResponse) => this.receive(message));
    this.worker.on('error', () => {
      // A broken mirror only means no snapshots: waiting requests get none.
      this.closed = true;
      for (const resolve of this.waiting.values()) resolve({ offset: -1, data: '' });
      this.waiting.clear();
    });
  }

  /** Output bytes not yet parsed by the worker. */
  get backlog(): number {
    return this.written - this.parsed;
  }

  /** Output at stream positions up to `end`; batched per event-loop turn. */
  write(data: Uint8Array, end: number): void {
    if (this.closed) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.written = end;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.post());
  }

  /** The terminal's new size, in stream order with the output. */
  resize(cols: number, rows: number): void {
    if (this.closed) return;
    this.post();
    this.worker.postMessage({ type: 'resize', cols, rows } satisfies MirrorRequest);
  }

  /** The current screen, as of everything written so far; offset −1 if the mirror failed. */
  snapshot(maxBytes: number): Promise<Snapshot> {
    if (this.closed) return Promise.resolve({ offset: -1, data: '' });
    this.post();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ type: 'snapshot', id, maxBytes } satisfies MirrorRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }

  private post(): void {
    this.scheduled = false;
    if (this.pendingBytes === 0 || this.closed) return;
    // One fresh buffer per batch, handed over to the worker without a second copy.
    const data = new Uint8Array(this.pendingBytes);
    let at = 0;
    for (const chunk of this.pending) {
      data.set(chunk, at);
      at += chunk.length;
    }
    this.pending = [];
    this.pendingBytes = 0;
    this.worker.postMessage({ type: 'write', data, end: this.written } satisfies MirrorRequest, [data.buffer]);
  }

  private receive(message: MirrorResponse): void {
    if (message.type === 'parsed') {
      this.parsed = message.end;
      this.onProgress();
      return;
    }
    const resolve = this.waiting.get(message.id);
    this.waiting.delete(message.id);
    resolve?.({ offset: message.offset, data: message.data });
  }
}
