// A copy of the terminal's screen kept by a headless terminal emulator (@xterm/headless) in a worker
// thread (shared by the agent's sessions: mirror-worker.ts), fed with the same bytes as the browsers, so
// that a browser that lost more output than the agent's buffer holds (or connects for the first time)
// gets the exact current screen instead of a replay. The worker's backlog is reported so the agent can
// stop reading output while it catches up. A worker that cannot start or dies is reported (`failed`),
// never hidden: the agent then says so, and clients learn that the screen cannot be restored.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MirrorRequest, MirrorResponse, MirrorSettings, MirrorStats } from './mirror-messages.js';
import { MirrorWorker } from './mirror-worker.js';
import type { RecordedSession, RecordingSettings } from './session-recorder.js';

export type { MirrorSettings, MirrorStats } from './mirror-messages.js';

/**
 * Output is handed to the worker in batches of at least this many bytes, or what arrived within the
 * worker's batch time (mirror-worker.ts, with every other session's): a PTY is read 4 KiB at a time, and
 * each message to the worker (and its answer) has a cost of its own, while the worker holds output before
 * parsing it anyway (mirror-terminal.ts). Snapshots and line requests take what waits first, so they stay exact.
 */
const BATCH_BYTES = 256 * 1024;
/**
 * A batch at least this full is lent to the worker as it lies, which copies what it keeps and gives the
 * batch back (the spare); meanwhile the next batch is the spare from before, or a new one. A smaller batch,
 * a trickle of output, is copied out and its buffer filled again. During a flood, new batches for every
 * 256 KiB were off-heap memory the engine counts, and that started full collections every few dozen MiB.
 */
const HAND_OVER_BYTES = BATCH_BYTES / 2;
/**
 * The worker is asked to say how far it took the output (`parsed`) at least once per this many bytes, and for
 * every lent batch: the agent stops reading while the worker is far behind (pace.ts), and below this much it
 * never is, so a trickle of output costs the worker no answer (each would wake this thread). Below the
 * pace's low mark, so that a worker that caught up is always seen to have.
 */
const ANSWER_BYTES = 64 * 1024;

/** The screen as of stream position `offset`, as terminal bytes that redraw it. */
export interface Snapshot {
  offset: number;
  data: string;
}

/** What the mirror tells its owner. */
export interface MirrorEvents {
  /** The worker took more output. */
  progress(): void;
  /** The worker could not start, or stopped: no more snapshots (and no more recording). */
  failed(reason: string): void;
  /** Something of the terminal's in the worker does not work, and it goes on without it (its recording). */
  warning?(message: string): void;
}

/** Now, in ms since the epoch, as precisely as this thread can tell (the times the recording keeps). */
const now = (): number => performance.timeOrigin + performance.now();

/** Where the mirror stands. */
export type MirrorState = { kind: 'running' } | { kind: 'failed'; reason: string } | { kind: 'closed' };

/** Where the worker script is: beside this module once built, under dist/ when running from sources. */
export function defaultWorkerPath(): string {
  const beside = fileURLToPath(new URL('./screen-worker.js', import.meta.url));
  return existsSync(beside) ? beside : fileURLToPath(new URL('../../dist/agent/screen-worker.js', import.meta.url));
}

/** The headless terminal, seen from the agent's main thread. */
export class ScreenMirror {
  private readonly worker: MirrorWorker;
  /** This mirror's number in the worker. */
  private readonly terminal: number;
  private state: MirrorState = { kind: 'running' };
  /** Output waiting to be posted, copied in as it comes (what `write` is given is only lent); made when needed. */
  private batch: Uint8Array<ArrayBuffer> | undefined;
  /** A batch the worker gave back, to fill next. */
  private spare: Uint8Array<ArrayBuffer> | undefined;
  private pendingBytes = 0;
  /**
   * Stream positions: after the last output given to `write`, after the last handed to the worker, after the
   * last the worker said it took, and up to which it was last asked to say so.
   */
  private written = 0;
  private posted = 0;
  private parsed = 0;
  private asked = 0;
  private nextId = 1;
  /** Requests waiting for the worker's answer; each gets undefined if the worker fails first. */
  private readonly waiting = new Map<number, (answer: MirrorResponse | undefined) => void>();

  /** When the output waiting came (its first part). */
  private pendingAt = 0;

  /** `workerPath`: the worker script (default: the one shipped beside this module); `recording`: record the session too (session-recorder.ts). */
  constructor(
    settings: MirrorSettings,
    private readonly events: MirrorEvents,
    workerPath: string = defaultWorkerPath(),
    recording?: { settings: RecordingSettings; session: RecordedSession },
  ) {
    const client = { receive: (message: MirrorResponse) => this.receive(message), fail: (reason: string) => this.fail(reason), postPending: () => this.post() };
    const opened = MirrorWorker.open(workerPath, client, { settings, ...(recording ? { recording: { ...recording, at: now() } } : {}) });
    this.worker = opened.worker;
    this.terminal = opened.terminal;
  }

  /** Why the mirror no longer works, if it does not. */
  get failure(): string | undefined {
    return this.state.kind === 'failed' ? this.state.reason : undefined;
  }

  /**
   * Output bytes handed to the worker that it has not said it took: what it has not taken yet, and up to
   * ANSWER_BYTES it took unasked (none once it stopped: nothing waits for it then). Not the batch being filled:
   * it goes once full or once the batch time passes, whether or not the agent reads on meanwhile.
   */
  get backlog(): number {
    return this.state.kind === 'running' ? this.posted - this.parsed : 0;
  }

  /**
   * Output at stream positions up to `end`; handed to the worker in batches (BATCH_BYTES, or the worker's
   * batch time). `data` is copied before this returns: the caller may reuse its buffer.
   */
  write(data: Uint8Array, end: number): void {
    if (this.state.kind !== 'running') return;
    if (this.pendingBytes + data.length > BATCH_BYTES) this.postNow();
    if (this.pendingBytes === 0) {
      this.pendingAt = now();
      this.worker.soon(this.terminal);
    }
    if (!this.batch) {
      this.batch = this.spare;
      this.spare = undefined;
    }
    if (!this.batch || this.batch.length < data.length) this.batch = new Uint8Array(Math.max(BATCH_BYTES, data.length));
    this.batch.set(data, this.pendingBytes);
    this.pendingBytes += data.length;
    this.written = end;
    if (this.pendingBytes >= BATCH_BYTES) this.postNow();
  }

  /** The terminal's new size, in stream order with the output. */
  resize(cols: number, rows: number): void {
    if (this.state.kind !== 'running') return;
    this.post();
    this.worker.post({ type: 'resize', terminal: this.terminal, cols, rows, at: now() });
  }

  /** For the recording, in stream order with the output: what a client typed (`i`), or a marker (`m`). */
  record(code: 'i' | 'm', data: string): void {
    if (this.state.kind !== 'running') return;
    this.post();
    this.worker.post({ type: 'record', terminal: this.terminal, code, data, at: now() });
  }

  /** The current screen, as of everything written so far; undefined if the mirror does not work. */
  async snapshot(maxBytes: number): Promise<Snapshot | undefined> {
    const answer = await this.ask((id) => ({ type: 'snapshot', terminal: this.terminal, id, maxBytes }));
    return answer?.type === 'snapshot' ? { offset: answer.offset, data: answer.data } : undefined;
  }

  /** The last `max` lines of the screen that are not blank, as plain text; undefined if the mirror does not work. */
  async lines(max: number): Promise<string[] | undefined> {
    const answer = await this.ask((id) => ({ type: 'lines', terminal: this.terminal, id, max }));
    return answer?.type === 'lines' ? answer.lines : undefined;
  }

  /** What the worker parsed and skipped, as of everything written so far; undefined if the mirror does not work. */
  async stats(): Promise<MirrorStats | undefined> {
    const answer = await this.ask((id) => ({ type: 'stats', terminal: this.terminal, id }));
    return answer?.type === 'stats' ? answer.stats : undefined;
  }

  /** Hands the worker what waits, then closes the terminal and its recording there. */
  async close(): Promise<void> {
    this.post();
    this.batch = undefined;
    this.spare = undefined;
    if (this.state.kind === 'running') this.state = { kind: 'closed' };
    this.settleWaiting();
    await this.worker.close(this.terminal);
  }

  /** Sends a request after the output written so far, and resolves with its answer. */
  private ask(request: (id: number) => MirrorRequest): Promise<MirrorResponse | undefined> {
    if (this.state.kind !== 'running') return Promise.resolve(undefined);
    this.post();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.post(request(id));
    });
  }

  private fail(reason: string): void {
    if (this.state.kind !== 'running') return;
    this.state = { kind: 'failed', reason };
    this.batch = undefined;
    this.spare = undefined;
    this.pendingBytes = 0;
    this.settleWaiting();
    this.events.failed(reason);
  }

  private settleWaiting(): void {
    for (const resolve of this.waiting.values()) resolve(undefined);
    this.waiting.clear();
  }

  /** Hands the worker what waits, at once. */
  private postNow(): void {
    this.post();
    this.worker.flush();
  }

  /** Queues what waits for the worker's next message (the requests that follow send it). */
  private post(): void {
    if (this.pendingBytes === 0 || this.state.kind !== 'running') return;
    // Lent to the worker without a copy when full enough (HAND_OVER_BYTES); a trickle is copied out (a small
    // buffer) so that the batch's own is filled again, not made afresh for each.
    const filled = this.batch!.subarray(0, this.pendingBytes);
    const lend = this.pendingBytes >= HAND_OVER_BYTES;
    const data = lend ? filled : filled.slice();
    if (lend) this.batch = undefined;
    this.pendingBytes = 0;
    this.posted = this.written;
    const answer = lend || this.written - this.asked >= ANSWER_BYTES;
    if (answer) this.asked = this.written;
    const write = { type: 'write' as const, terminal: this.terminal, data, end: this.written, at: this.pendingAt };
    this.worker.queue(lend ? { ...write, answer: true, lent: true } : answer ? { ...write, answer: true } : write, data.buffer);
  }

  private receive(message: MirrorResponse): void {
    if (message.type === 'warning') return this.events.warning?.(message.message);
    if (message.type === 'closed') return;
    if (message.type === 'parsed') {
      if (message.lent?.byteLength === BATCH_BYTES && this.state.kind === 'running') this.spare = new Uint8Array(message.lent);
      this.parsed = message.end;
      this.events.progress();
      return;
    }
    const resolve = this.waiting.get(message.id);
    this.waiting.delete(message.id);
    resolve?.(message);
  }
}
