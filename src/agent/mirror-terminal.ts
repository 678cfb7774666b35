// One session's headless terminal inside the screen mirror's worker (screen-worker.ts): it applies output and
// resizes in stream order, and answers with the serialized screen (scrollback, modes, alternate buffer) and
// the stream position it reflects, or the screen's last lines as text.
//
// Output of a flood is not parsed as it arrives: it is held (up to HOLD_BYTES, or until HOLD_MS pass without
// more, or until output comes that is not a flood's) and parsed all at once, before anything that needs the
// screen. Other output is parsed as it comes, with what was held. Lines that scroll out of the screen and the
// scrollback within what is held are skipped instead of parsed (skippable-output.ts says why the screen ends
// up the same): the bulk of a long listing or log never costs parsing. The lines a run of plain lines keeps
// at the end of what is held (the screen and the scrollback: about a thousand) wait, unparsed, for the output
// after them while it keeps coming (up to CARRY_BYTES): if it continues the run, they scroll out too and are
// skipped with it, so a steady stream of plain lines is parsed only where it stops.

import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import type { MirrorSettings, MirrorStats } from './mirror-messages.js';
import { skippableSpans } from './skippable-output.js';
import { terminalInternals, type TerminalInternals } from './terminal-internals.js';

/** Output held before it is parsed: at most this many bytes, for at most HOLD_MS after the last of it. */
const HOLD_BYTES = 1 << 20;
const HOLD_MS = 20;
/** The end of a run of plain lines longer than this is parsed at once rather than wait for more output. */
const CARRY_BYTES = 512 * 1024;
const NOTHING = new Uint8Array(0);

export class MirrorTerminal {
  private readonly terminal: InstanceType<typeof headless.Terminal>;
  private readonly serializer: InstanceType<typeof serialize.SerializeAddon>;
  private readonly internals: TerminalInternals;
  /** Output taken but not parsed yet, and the stream position after it. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private heldEnd = 0;
  private lastWriteAt = 0;
  /** Parses what is held once HOLD_MS pass without more output. */
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** Everything the terminal does, in stream order (parsing is asynchronous). */
  private queue: Promise<void> = Promise.resolve();
  /** Output at the end of a run of plain lines, parsed or skipped with what follows (only the queue's tasks touch it). */
  private carried: Uint8Array = NOTHING;
  /** Where held output is gathered to be parsed (see gather); the carried end is in it. */
  private room: Uint8Array = NOTHING;
  private readonly counts: MirrorStats = { parsedBytes: 0, skippedBytes: 0 };

  constructor(private readonly settings: MirrorSettings) {
    this.terminal = new headless.Terminal({ cols: settings.cols, rows: settings.rows, scrollback: settings.scrollback, allowProposedApi: true });
    this.serializer = new serialize.SerializeAddon();
    this.terminal.loadAddon(this.serializer as never);
    this.internals = terminalInternals(this.terminal);
  }

  /**
   * Takes output up to stream position `end`: held while `next` says more is on its way (a flood's), else
   * parsed now with what was held (see above).
   */
  write(data: Uint8Array, end: number, next: 'more' | 'pause'): void {
    this.held.push(data);
    this.heldBytes += data.length;
    this.heldEnd = end;
    if (next === 'pause') return this.parseHeld();
    this.lastWriteAt = performance.now();
    // While output keeps coming, the end of a run of plain lines is carried; once it stops, everything is parsed.
    if (this.heldBytes >= HOLD_BYTES) this.parseHeld('carry');
    this.holdTimer ??= setTimeout(() => this.holdExpired(), HOLD_MS);
  }

  /** The new size, after the output taken so far. */
  resize(cols: number, rows: number): void {
    this.parseHeld();
    this.inOrder(() => this.terminal.resize(cols, rows));
  }

  /** The screen as of the output taken so far, with as much scrollback as fits in `maxBytes` of UTF-8. */
  snapshot(maxBytes: number): Promise<{ offset: number; data: string }> {
    this.parseHeld();
    const offset = this.heldEnd;
    return this.after(() => ({ offset, data: this.fitting(maxBytes) }));
  }

  /** The last `max` lines that are not blank, as of the output taken so far. */
  lines(max: number): Promise<string[]> {
    this.parseHeld();
    return this.after(() => this.lastLines(max));
  }

  /** What was parsed and skipped, as of the output taken so far. */
  stats(): Promise<MirrorStats> {
    this.parseHeld();
    return this.after(() => ({ ...this.counts }));
  }

  dispose(): void {
    clearTimeout(this.holdTimer);
    this.held = [];
    this.heldBytes = 0;
    this.inOrder(() => {
      this.carried = NOTHING;
      this.room = NOTHING;
      this.terminal.dispose();
    });
  }

  private inOrder(task: () => Promise<void> | void): void {
    this.queue = this.queue.then(task);
  }

  private after<T>(answer: () => T): Promise<T> {
    return new Promise((resolve) => this.inOrder(() => resolve(answer())));
  }

  /**
   * The hold timer may fire right after a long parse, before the output that arrived meanwhile is read
   * (timers run before messages in an event-loop turn): it looks again once messages are read.
   */
  private holdExpired(): void {
    setImmediate(() => {
      const quiet = performance.now() - this.lastWriteAt;
      if (quiet >= HOLD_MS) this.parseHeld();
      else this.holdTimer = setTimeout(() => this.holdExpired(), HOLD_MS - quiet);
    });
  }

  /**
   * Takes the output held, to be parsed after what is queued before it: all of it, and what was carried
   * before (the screen is needed, or output stopped), or all but the end of a run of plain lines (`carry`).
   */
  private parseHeld(end: 'all' | 'carry' = 'all'): void {
    if (end === 'all') {
      clearTimeout(this.holdTimer);
      this.holdTimer = undefined;
    } else if (this.heldBytes === 0) return;
    const taken = this.held;
    this.held = [];
    this.heldBytes = 0;
    this.inOrder(async () => {
      await this.parse(taken, end);
      // Quiet again, or the screen is needed (nothing is carried then): the memory goes until the next flood.
      if (end === 'all') this.room = NOTHING;
    });
  }

  /**
   * Parses what was carried and the output `taken`, skipping what scrolls out unseen where the terminal is ready to;
   * with `carry`, the end of a run of plain lines they end in waits for the next output instead.
   */
  private async parse(taken: Uint8Array[], end: 'all' | 'carry'): Promise<void> {
    // A single part with nothing carried before it is parsed where it lies (a trickle's: nothing is carried after it either).
    const data = end === 'all' && this.carried.length === 0 && taken.length === 1 ? taken[0]! : this.gather(taken);
    this.carried = NOTHING;
    if (data.length === 0) return;
    const keep = 2 * this.terminal.rows + this.settings.scrollback + 1;
    const { spans, openRun } = skippableSpans(data, keep);
    const stop = end === 'carry' && data.length - openRun <= CARRY_BYTES ? openRun : data.length;
    let at = 0;
    let skipped = 0;
    for (const span of spans) {
      await this.apply(data.subarray(at, span.from));
      let from = span.from;
      if (!this.internals.readyToSkip()) {
        // Held output starts where it was cut, often in the middle of a line: try from the next one.
        from = data.indexOf(0x0a, from) + 1;
        if (from <= 0 || from >= span.to) {
          at = span.from;
          continue;
        }
        await this.apply(data.subarray(span.from, from));
        if (!this.internals.readyToSkip()) {
          at = from;
          continue;
        }
      }
      skipped += span.to - from;
      at = span.to;
    }
    await this.apply(data.subarray(at, stop));
    this.carried = stop < data.length ? data.subarray(stop) : NOTHING;
    this.counts.skippedBytes += skipped;
    this.counts.parsedBytes += stop - skipped;
  }

  /**
   * What was carried, then the output `taken`, one after another in this terminal's own memory, kept from hold
   * to hold while output keeps coming (fresh memory costs a page fault per 4 KiB, more than copying into it).
   * The carried end is already in it: it moves to the front.
   */
  private gather(taken: Uint8Array[]): Uint8Array {
    let length = this.carried.length;
    for (const part of taken) length += part.length;
    if (this.room.length < length) {
      const room = new Uint8Array(Math.max(length, this.room.length * 2));
      room.set(this.carried);
      this.room = room;
    } else if (this.carried.length > 0) {
      this.room.copyWithin(0, this.carried.byteOffset - this.room.byteOffset, this.carried.byteOffset - this.room.byteOffset + this.carried.length);
    }
    let at = this.carried.length;
    for (const part of taken) {
      this.room.set(part, at);
      at += part.length;
    }
    return this.room.subarray(0, length);
  }

  /** Applies bytes to the terminal (parsing them at once: nothing else is parsed meanwhile); resolves once they are parsed. */
  private apply(data: Uint8Array): Promise<void> {
    return new Promise((resolve) => {
      this.internals.parseNextWriteAtOnce();
      this.terminal.write(data, resolve);
    });
  }

  /** The last `max` lines of the active buffer up to its last line that is not blank, as plain text (wrapped rows joined). */
  private lastLines(max: number): string[] {
    const buffer = this.terminal.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i);
      if (!line) continue;
      const text = line.translateToString(true);
      if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
    return lines.slice(-max);
  }

  /** The serialized screen with as much scrollback as fits in `maxBytes` of UTF-8. */
  private fitting(maxBytes: number): string {
    let lines = this.settings.scrollback;
    for (;;) {
      const data = this.serializer.serialize({ scrollback: lines });
      if (Buffer.byteLength(data) <= maxBytes || lines === 0) return data;
      lines = Math.floor(lines / 2);
    }
  }
}
