// One terminal's flow control at the relay: how far its agent may read the program's output. The agent may
// read up to what the slowest pacing client has processed, plus a window (drain-rate.ts: what the slowest of
// them processes in a few tens of ms, within bounds; the least while a departed client paces), so every client
// that keeps up receives every byte. A client paces while it keeps acknowledging; one that stalls (a phone in
// a tunnel) stops pacing after `stallMs`, so it never holds the program back for long, and catches up by sync
// later. A client whose connection dropped paces as departed for `stallMs`, so that one that reconnects at
// once finds everything it missed still in the agent's buffer. Which clients pace (watching the terminal's
// stream, acknowledging, neither behind nor read-only) is the hub's to say; this holds the rest.

import { flowWindow, type WindowBounds } from './drain-rate.js';

/** How long after a key into a flood the typing window holds (see `typed`), in ms. */
const TYPING_MS = 1000;

/** The hub's flow settings, the same for all its terminals. */
export interface FlowSettings {
  window: WindowBounds;
  /** The window while someone types into a flood (see `typed`). */
  typingWindow: number;
  /** A client that acknowledged nothing for this long while output waits for it stops pacing; a departed client paces this long. */
  stallMs: number;
}

/** A client that paces the terminal, as flow control sees it. */
export interface Pacer {
  /** Stream offset up to which it says it has processed output; null before its first acknowledgement (it does not pace yet). */
  readonly acked: number | null;
  /** Stream offset of the next byte it needs. */
  readonly position: number | null;
  /** When it last acknowledged, or (if later) when output began to wait for it after it had processed all it was sent, in ms. */
  readonly ackedAt: number;
  /** How fast it processes output. */
  readonly drain: { readonly perMs: number };
}

/** A pacing client whose connection dropped, or that does not watch the terminal again yet. */
interface Departed {
  acked: number;
  since: number;
}

/** One terminal's flow control, for one connection of its agent. */
export class TerminalFlow {
  /** The limit last given to the agent (null: none; undefined: none given on this connection yet). */
  private given: number | null | undefined;
  /** When a client last typed into the terminal while output flooded it, in ms. */
  private typedAt = -Infinity;

  /** `departed`: the departed clients of the same stream on the agent's connection before. */
  constructor(
    private readonly settings: FlowSettings,
    private readonly departed = new Map<string, Departed>(),
  ) {}

  /** The same stream on the agent's next connection: its departed clients go on pacing, and the limit is said again. */
  next(): TerminalFlow {
    return new TerminalFlow(this.settings, this.departed);
  }

  /** Whether time alone may change the limit: a limit in force (a pacing client may stall), or departed clients (they expire). */
  get changesWithTime(): boolean {
    return this.given !== null || this.departed.size > 0;
  }

  /** Whether a departed client still paces (the relay keeps the agent's record for it). */
  get awaitsDeparted(): boolean {
    return this.departed.size > 0;
  }

  /** The pacing client of `session` stopped watching (or its connection dropped), having processed `acked`. */
  depart(session: string, acked: number, now: number): void {
    this.departed.set(session, { acked, since: now });
  }

  /** The client of `session` watches again: it paces as itself. */
  returned(session: string): void {
    this.departed.delete(session);
  }

  /**
   * A client typed while it had `unprocessed` bytes of output it had not processed. More than the typing
   * window means the program is flooding it, and its key's echo will come after everything the agent may read
   * ahead (the window) and what the program already wrote: for TYPING_MS after the key the agent may read only
   * the typing window ahead, so that the echo waits behind less. A key into a quiet terminal (the Enter that
   * starts a long listing) changes nothing, and the window is whole again a TYPING_MS after the last key.
   * Returns true when the window narrows now (the limit is to be given again).
   */
  typed(unprocessed: number, now: number): boolean {
    if (unprocessed <= this.settings.typingWindow) return false;
    const already = this.typing(now);
    this.typedAt = now;
    return !already;
  }

  /**
   * The limit for the agent now, given the clients that pace the terminal: a new one to give it, or undefined
   * when the one given still holds. Every new connection hears a limit, "none" included. (An agent that lost
   * its relay keeps its old pace by itself for the clients it had until they are back: a relay that has just
   * started knows none.) Limits move in steps of an eighth of the window, so acknowledgements do not each cost
   * a message to the agent.
   */
  limit(pacers: Iterable<Pacer>, now: number): number | null | undefined {
    const { stallMs } = this.settings;
    let slowest: number | null = null;
    let slowestRate = Infinity;
    for (const c of pacers) {
      if (c.acked === null || this.stalled(c, now)) continue;
      if (slowest === null || c.acked < slowest) slowest = c.acked;
      slowestRate = Math.min(slowestRate, c.drain.perMs);
    }
    for (const [session, d] of this.departed) {
      if (now - d.since > stallMs) {
        this.departed.delete(session);
        continue;
      }
      if (slowest === null || d.acked < slowest) slowest = d.acked;
      slowestRate = 0; // how fast it will be back is not known: the least window
    }
    const window = this.typing(now) ? this.settings.typingWindow : flowWindow(slowestRate, this.settings.window);
    const limit = slowest === null ? null : slowest + window;
    const given = this.given;
    const moved = limit === null || given === null || given === undefined ? limit !== given : Math.abs(limit - given) >= window / 8;
    if (!moved) return undefined;
    this.given = limit;
    return limit;
  }

  /** Whether `c` has had output waiting and acknowledged nothing for `stallMs`: it does not pace (nor as departed). */
  stalled(c: Pacer, now: number): boolean {
    return c.position !== c.acked && now - c.ackedAt > this.settings.stallMs;
  }

  private typing(now: number): boolean {
    return now - this.typedAt < TYPING_MS;
  }
}
