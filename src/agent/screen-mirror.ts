// A copy of the terminal's screen kept by a headless terminal emulator (@xterm/headless) in a worker
// thread, fed with the same bytes as the browsers, so that a browser that lost more output than the
// agent's buffer holds (or connects for the first time) gets the exact current screen instead of a
// replay. The worker's backlog is reported so the agent can stop reading output while it catches up.
// A worker that cannot start or dies is reported (`failed`), never hidden: the agent then says so, and
// clients learn that the screen cannot be restored.

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
  | { type: 'snapshot'; id: number; maxBytes: number }
  | { type: 'lines'; id: number; max: number };

/** Worker → main thread. */
export type MirrorResponse =
  | { type: 'parsed'; end: number }
  | { type: 'snapshot'; id: number; offset: number; data: string }
  | { type: 'lines'; id: number; lines: string[] };

/** The screen as of stream position `offset`, as terminal bytes that redraw it. */
export interface Snapshot {
  offset: number;
  data: string;
}

/** What the mirror tells its owner. */
export interface MirrorEvents {
  /** The worker parsed more output. */
  progress(): void;
  /** The worker could not start, or stopped: no more snapshots. */
  failed(reason: string): void;
}

/** Where the mirror stands. */
export type MirrorState = { kind: 'running' } | { kind: 'failed'; reason: string } | { kind: 'closed' };

/** Where the worker script is: beside this module once built, under dist/ when running from sources. */
export function defaultWorkerPath(): string {
  const beside = fileURLToPath(new URL('./screen-worker.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/agent/screen-worker.js', import.meta.url));
}

/** The headless terminal, seen from the agent's main thread. */
export class ScreenMirror {
  private readonly worker: Worker;
  private state: MirrorState = { kind: 'running' };
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** Stream position after the last output given to `write`, and after the last the worker parsed. */
  private written = 0;
  private parsed = 0;
  private nextId = 1;
  /** Requests waiting for the worker's answer; each gets undefined if the worker fails first. */
  private readonly waiting = new Map<number, (answer: MirrorResponse | undefined) => void>();

  /** `workerPath`: the worker script (default: the one shipped beside this module). */
  constructor(
    settings: MirrorSettings,
    private readonly events: MirrorEvents,
    workerPath: string = defaultWorkerPath(),
  ) {
    this.worker = new Worker(workerPath, { workerData: settings });
    this.worker.unref();
    this.worker.on('message', (message: MirrorResponse) => this.receive(message));
    this.worker.on('error', (error) => this.fail(error.message));
    this.worker.on('messageerror', (error) => this.fail(`a message from the screen mirror could not be read: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`the screen mirror's worker stopped (exit code ${code})`));
  }

  /** Why the mirror no longer works, if it does not. */
  get failure(): string | undefined {
    return this.state.kind === 'failed' ? this.state.reason : undefined;
  }

  /** Output bytes not yet parsed by the worker (none once it stopped: nothing waits for it then). */
  get backlog(): number {
    return this.state.kind === 'running' ? this.written - this.parsed : 0;
  }

  /** Output at stream positions up to `end`; batched per event-loop turn. */
  write(data: Uint8Array, end: number): void {
    if (this.state.kind !== 'running') return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.written = end;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.post());
  }

  /** The terminal's new size, in stream order with the output. */
  resize(cols: number, rows: number): void {
    if (this.state.kind !== 'running') return;
    this.post();
    this.worker.postMessage({ type: 'resize', cols, rows } satisfies MirrorRequest);
  }

  /** The current screen, as of everything written so far; undefined if the mirror does not work. */
  async snapshot(maxBytes: number): Promise<Snapshot | undefined> {
    const answer = await this.ask((id) => ({ type: 'snapshot', id, maxBytes }));
    return answer?.type === 'snapshot' ? { offset: answer.offset, data: answer.data } : undefined;
  }

  /** The last `max` lines of the screen that are not blank, as plain text; undefined if the mirror does not work. */
  async lines(max: number): Promise<string[] | undefined> {
    const answer = await this.ask((id) => ({ type: 'lines', id, max }));
    return answer?.type === 'lines' ? answer.lines : undefined;
  }

  async close(): Promise<void> {
    if (this.state.kind === 'running') this.state = { kind: 'closed' };
    this.settleWaiting();
    await this.worker.terminate();
  }

  /** Sends a request after the output written so far, and resolves with its answer. */
  private ask(request: (id: number) => MirrorRequest): Promise<MirrorResponse | undefined> {
    if (this.state.kind !== 'running') return Promise.resolve(undefined);
    this.post();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage(request(id));
    });
  }

  private fail(reason: string): void {
    if (this.state.kind !== 'running') return;
    this.state = { kind: 'failed', reason };
    this.pending = [];
    this.pendingBytes = 0;
    this.settleWaiting();
    this.events.failed(reason);
  }

  private settleWaiting(): void {
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }

  private post(): void {
    this.scheduled = false;
    if (this.pendingBytes === 0 || this.state.kind !== 'running') return;
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
      this.events.progress();
      return;
    }
    const resolve = this.waiting.get(message.id);
    this.waiting.delete(message.id);
    resolve?.(message);
  }
}
