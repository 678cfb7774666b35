// A client session's input, exactly once: each record gets the next sequence number and is kept until the
// agent acknowledges that number (it applies each one once, whatever is sent again), so everything not yet
// acknowledged can be sent again on every new connection. Records are sealed when sent, with the key of the
// connection they go out on: a frame recorded on one connection opens on no other.

import { encodeInputRecord, sealInput, type InputRecord } from '../protocol/index.js';

/** Bytes a kept record counts for: its encoding plus what sealing adds. */
const FRAME_OVERHEAD = 5 + 40;

export class InputQueue {
  private readonly items: Array<{ seq: number; record: Uint8Array }> = [];
  private bytes = 0;
  private nextSeq = 1;
  /** Callers of `delivered()`, each waiting for the agent to acknowledge input `seq`. */
  private waiters: Array<{ seq: number; resolve: () => void }> = [];

  /** At most `maxBytes` of input wait for acknowledgement. */
  constructor(private readonly maxBytes: number) {}

  /** Keeps `record` as the next input; returns its sequence number, or undefined if the queue is full. */
  add(record: InputRecord): number | undefined {
    const encoded = encodeInputRecord(record);
    if (this.bytes + encoded.length + FRAME_OVERHEAD > this.maxBytes) return undefined;
    const seq = this.nextSeq++;
    this.items.push({ seq, record: encoded });
    this.bytes += encoded.length + FRAME_OVERHEAD;
    return seq;
  }

  /** The frame of input `seq`, sealed with `key`; undefined if it is no longer kept. */
  frame(seq: number, key: Uint8Array): Uint8Array | undefined {
    const item = this.items.find((i) => i.seq === seq);
    return item && sealInput(key, item.seq, item.record);
  }

  /** Every input not yet acknowledged, oldest first, sealed with `key`. */
  *pending(key: Uint8Array): Iterable<Uint8Array> {
    for (const item of this.items) yield sealInput(key, item.seq, item.record);
  }

  /** The agent has applied everything up to `seq`. */
  acknowledged(seq: number): void {
    let drop = 0;
    while (drop < this.items.length && this.items[drop]!.seq <= seq) {
      this.bytes -= this.items[drop]!.record.length + FRAME_OVERHEAD;
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
