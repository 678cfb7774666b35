// The screen mirrors' worker thread, seen from the agent's main thread: one per worker script, shared by
// every session's mirror (screen-mirror.ts), started with the first and stopped with the last. Requests go
// to the worker in messages of several (a list, in order), and every session's output that waits goes in
// one message (BATCH_MS): each message wakes the worker and its answer wakes this thread. It routes the
// worker's answers to the mirror each is for; a worker that cannot start or dies fails every mirror on it,
// and the next mirror opened gets a new one.

import { Worker } from 'node:worker_threads';
import type { MirrorRequest, MirrorResponse } from './mirror-messages.js';

/** A mirror on the worker: what it hears from it, and how it hands over the output it has waiting. */
export interface WorkerClient {
  receive(message: MirrorResponse): void;
  fail(reason: string): void;
  /** Queues the output it has waiting, if any (`queue`): the batch time passed, and the message goes now. */
  postPending(): void;
}

/**
 * Output waits at most this long before it goes to the worker, together with what every other session
 * printed meanwhile: with sixteen sessions printing a line each now and then, a message per line and
 * session (and an answer to each) cost the agent more than the lines did (docs/benchmarks-history.md,
 * *One message for every session's output*), and each message wakes the worker's thread. Nothing waits on
 * the worker meanwhile: what needs the screen sends what waits first (screen-mirror.ts). A recording's
 * events are this long at most, each at the time its first output was read (session-recorder.ts). Full
 * batches go at once.
 */
const BATCH_MS = 50;

/**
 * The worker's young generation, in MB. Parsing output allocates short-lived objects at the pace of the
 * output, and V8 lets the young generation grow with that pace: with 16 sessions printing, the default
 * kept about 1 MiB more per session resident (M9: 2.6 against 1.5 MiB per session), and a smaller one
 * costs no throughput (M3's `seq` stream, measured alternately).
 */
const YOUNG_GENERATION_MB = 8;

/** The workers running, by script. */
const running = new Map<string, MirrorWorker>();

export class MirrorWorker {
  private readonly worker: Worker;
  private readonly clients = new Map<number, WorkerClient>();
  /** Terminals whose close the worker has not confirmed yet. */
  private readonly closing = new Map<number, () => void>();
  private nextTerminal = 1;
  private failure: string | undefined;
  /** Requests for the next message, in order, and the memory they hand over. */
  private queued: MirrorRequest[] = [];
  private transfers: ArrayBuffer[] = [];
  /** Terminals with output waiting, asked for it once BATCH_MS pass (`soon`). */
  private readonly due = new Set<number>();
  private dueTimer: ReturnType<typeof setTimeout> | undefined;

  /** The worker for `path` (started if none runs), with a terminal opened on it for `client`; returns the terminal's number. */
  static open(path: string, client: WorkerClient, open: Omit<Extract<MirrorRequest, { type: 'open' }>, 'type' | 'terminal'>): { worker: MirrorWorker; terminal: number } {
    let worker = running.get(path);
    if (!worker) {
      worker = new MirrorWorker(path);
      running.set(path, worker);
    }
    const terminal = worker.nextTerminal++;
    worker.clients.set(terminal, client);
    worker.post({ type: 'open', terminal, ...open });
    return { worker, terminal };
  }

  private constructor(private readonly path: string) {
    this.worker = new Worker(path, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    this.worker.unref();
    this.worker.on('message', (messages: MirrorResponse[]) => {
      for (const message of messages) {
        if (message.type === 'closed') this.closing.get(message.terminal)?.();
        else this.clients.get(message.terminal)?.receive(message);
      }
    });
    this.worker.on('error', (error) => this.fail(error.message));
    this.worker.on('messageerror', (error) => this.fail(`a message from the screen mirror could not be read: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`the screen mirror's worker stopped (exit code ${code})`));
  }

  /** Sends `request` now, after everything queued. */
  post(request: MirrorRequest): void {
    this.queue(request);
    this.flush();
  }

  /** Adds `request` to the next message, handing `transfer` over with it. */
  queue(request: MirrorRequest, transfer?: ArrayBuffer): void {
    if (this.failure !== undefined) return;
    this.queued.push(request);
    if (transfer) this.transfers.push(transfer);
  }

  /** Sends what is queued, in one message (nothing is, once the worker failed: `queue` takes nothing then). */
  flush(): void {
    if (this.queued.length === 0) return;
    const requests = this.queued;
    const transfers = this.transfers;
    this.queued = [];
    this.transfers = [];
    this.worker.postMessage(requests, transfers);
  }

  /** `terminal` has output waiting: it is asked for it (`postPending`) within BATCH_MS, with every other terminal asked meanwhile, in one message. */
  soon(terminal: number): void {
    this.due.add(terminal);
    this.dueTimer ??= setTimeout(() => this.postDue(), BATCH_MS);
  }

  private postDue(): void {
    this.dueTimer = undefined;
    for (const terminal of this.due) this.clients.get(terminal)?.postPending();
    this.due.clear();
    this.flush();
  }

  private stopBatching(): void {
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.due.clear();
    this.queued = [];
    this.transfers = [];
  }

  /** A mirror is done with the worker (once the worker has closed its terminal and recording); the last one stops it. */
  async close(terminal: number): Promise<void> {
    if (!this.clients.has(terminal) || this.closing.has(terminal)) return;
    if (this.failure === undefined) {
      await new Promise<void>((resolve) => {
        this.closing.set(terminal, resolve);
        this.post({ type: 'close', terminal });
      });
    }
    this.closing.delete(terminal);
    this.clients.delete(terminal);
    if (this.clients.size > 0) return;
    if (running.get(this.path) === this) running.delete(this.path);
    this.stopBatching();
    await this.worker.terminate();
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.stopBatching();
    if (running.get(this.path) === this) running.delete(this.path);
    void this.worker.terminate(); // one that could not be read from may still run
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const client of clients) client.fail(reason);
    // Nothing will confirm a close any more.
    for (const closed of this.closing.values()) closed();
  }
}
