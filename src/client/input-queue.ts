// A client session's input, exactly once: each record gets the next sequence number and is kept until the
// agent acknowledges that number (it applies each one once, whatever is sent again), so everything not yet
// acknowledged can be sent again on every new connection. Records are sealed when sent, with the key of the
// connection they go out on: a frame recorded on one connection opens on no other. When the agent comes back
// as a new process, what was sent to the old one but not acknowledged is dropped, not sent again: the old
// process may have run it, and the new one has no record of that (at most once, rather than twice).

import { encodeInputRecord, sealInput, type InputRecord } from '../protocol/index.js';

/** Bytes a kept record counts for: its encoding plus what sealing adds. */
const FRAME_OVERHEAD = 5 + 40;

export class InputQueue {
  private readonly items: Array<{ seq: number; record: Uint8Array; sent: boolean }> = [];
  private bytes = 0;
  private nextSeq = 1;
  /** Callers of `delivered()`, each waiting for the agent to acknowledge input `seq`. */
  private waiters: Array<{ seq: number; resolve: () => void }> = [];

  /** At most `maxBytes` of input wait for acknowledgement. */
  constructor(private readonly maxBytes: number) {}

  /**
   * Keeps `records` as the next inputs, all of them or none (the start of a paste without its end must not
   * reach the program); returns their sequence numbers, or undefined if they do not all fit.
   */
  add(records: readonly InputRecord[]): number[] | undefined {
    const encoded = records.map(encodeInputRecord);
    const bytes = encoded.reduce((sum, record) => sum + record.length + FRAME_OVERHEAD, 0);
    if (this.bytes + bytes > this.maxBytes) return undefined;
    this.bytes += bytes;
    return encoded.map((record) => {
      const seq = this.nextSeq++;
      this.items.push({ seq, record, sent: false });
      return seq;
    });
  }

  /** The frame of input `seq`, sealed with `key`; undefined if it is no longer kept. */
  frame(seq: number, key: Uint8Array): Uint8Array | undefined {
    const item = this.items.find((i) => i.seq === seq);
    if (!item) return undefined;
    item.sent = true;
    return sealInput(key, item.seq, item.record);
  }

  /** Every input not yet acknowledged, oldest first, sealed with `key`. */
  *pending(key: Uint8Array): Iterable<Uint8Array> {
    for (const item of this.items) {
      item.sent = true;
      yield sealInput(key, item.seq, item.record);
    }
  }

  /** Forgets input that was sent but not acknowledged (its receiver is gone); returns how many records. */
  dropSent(): number {
    const kept = this.items.filter((i) => !i.sent);
    const dropped = this.items.length - kept.length;
    for (const item of this.items) if (item.sent) this.bytes -= item.record.length + FRAME_OVERHEAD;
    this.items.splice(0, this.items.length, ...kept);
    if (dropped > 0 && this.waiters.length > 0) {
      // Those waiting for dropped input are let go: it will not be acknowledged.
      const last = kept.at(0)?.seq ?? this.nextSeq;
      const waiting = this.waiters;
      this.waiters = waiting.filter((w) => w.seq >= last);
      for (const waiter of waiting) if (waiter.seq < last) waiter.resolve();
    }
    return dropped;
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
