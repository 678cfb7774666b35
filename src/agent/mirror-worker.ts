// The screen mirrors' worker thread, seen from the agent's main thread: one per worker script, shared by
// every session's mirror (screen-mirror.ts), started with the first and stopped with the last. It routes the
// worker's answers to the mirror each is for; a worker that cannot start or dies fails every mirror on it,
// and the next mirror opened gets a new one.

import { Worker } from 'node:worker_threads';
import type { MirrorRequest, MirrorResponse } from './mirror-messages.js';

/** What a mirror on the worker hears from it. */
export interface WorkerClient {
  receive(message: MirrorResponse): void;
  fail(reason: string): void;
}

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
    this.worker.on('message', (message: MirrorResponse) => {
      if (message.type === 'closed') return this.closing.get(message.terminal)?.();
      this.clients.get(message.terminal)?.receive(message);
    });
    this.worker.on('error', (error) => this.fail(error.message));
    this.worker.on('messageerror', (error) => this.fail(`a message from the screen mirror could not be read: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`the screen mirror's worker stopped (exit code ${code})`));
  }

  post(request: MirrorRequest, transfer?: ArrayBuffer[]): void {
    if (this.failure === undefined) this.worker.postMessage(request, transfer);
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
    await this.worker.terminate();
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    if (running.get(this.path) === this) running.delete(this.path);
    void this.worker.terminate(); // one that could not be read from may still run
    const clients = [...this.clients.values()];
    this.clients.clear();
    for (const client of clients) client.fail(reason);
    // Nothing will confirm a close any more.
    for (const closed of this.closing.values()) closed();
  }
}
