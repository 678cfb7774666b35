// A client session's input, exactly once: each record is sealed with the next sequence number and kept
// until the agent acknowledges that number (it applies each one once, whatever is sent again), so
// everything not yet acknowledged can be sent again on every new connection.

import { encodeInputRecord, sealInput, type InputRecord } from '../protocol/index.js';

export class InputQueue {
  private readonly items: Array<{ seq: number; frame: Uint8Array }> = [];
  private bytes = 0;
  private nextSeq = 1;
  /** Callers of `delivered()`, each waiting for the agent to acknowledge input `seq`. */
  private waiters: Array<{ seq: number; resolve: () => void }> = [];

  /** `key` seals the input; at most `maxBytes` of sealed input wait for acknowledgement. */
  constructor(
    private readonly key: Uint8Array,
    private readonly maxBytes: number,
  ) {}

  /** Seals `record` as the next input and keeps it; returns its frame, or undefined if the queue is full. */
  add(record: InputRecord): Uint8Array | undefined {
    const frame = sealInput(this.key, this.nextSeq, encodeInputRecord(record));
    if (this.bytes + frame.length > this.maxBytes) return undefined;
    this.items.push({ seq: this.nextSeq++, frame });
    this.bytes += frame.length;
    return frame;
  }

  /** The frames not yet acknowledged, oldest first. */
  *pending(): Iterable<Uint8Array> {
    for (const item of this.items) yield item.frame;
  }

  /** The agent has applied everything up to `seq`. */
  acknowledged(seq: number): void {
    let drop = 0;
    while (drop < this.items.length && this.items[drop]!.seq <= seq) {
      this.bytes -= this.items[drop]!.frame.length;
      drop++;
    }
    this.items.splice(0, drop);
    if (this.waiters.length === 0) return;
    const waiting = this.waiters;
    this.waiters = waiting.filter((w) => w.seq > seq);
    for (const waiter of waiting) if (waiter.seq <= seq) waiter.resolve();
  }

  /** Resolves once everything added so far is acknowledged. */
  delivered(): Promise<void> {
    const last = this.items.at(-1);
    if (!last) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq: last.seq, resolve }));
  }

  /** Lets every `delivered()` caller go (the session closed: nothing more will be acknowledged). */
  release(): void {
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }
}
