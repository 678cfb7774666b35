// How far the agent may read the program's output, and so how fast the program may print: up to the flow
// limit the relay sends (what the slowest pacing client has processed, plus a window); after losing the
// relay, no further than the limit it had until the clients attached then are back; and not while the
// screen mirror is far behind. Independent of sockets and PTYs: it is told what happens, reads the stream
// position and the mirror's backlog, and says when to stop and resume reading.

/** While the relay is away, the agent holds the pace for its clients at most this long, in ms. */
export const RELAY_GRACE_MS = 30_000;
/**
 * Once a relay is back, the clients it does not know yet get this long to return, in ms: they retry at
 * least every 10 s (ClientSession's backoff), and a few seconds more cover the jitter.
 */
export const RETURN_GRACE_MS = 15_000;

/** Output the screen mirror may have unparsed before reading stops, and where reading resumes. */
const MIRROR_HIGH = 512 * 1024;
const MIRROR_LOW = 128 * 1024;

/** What the pace is computed from, read whenever it changes (getters: read on every PTY read, so nothing is made for it). */
export interface PaceInputs {
  /** Stream position after the last output read. */
  end: number;
  /** Output the screen mirror has not parsed yet. */
  mirrorBacklog: number;
}

/** Settings of a Pace (tests shorten the graces). */
export interface PaceOptions {
  relayGraceMs?: number;
  returnGraceMs?: number;
}

/** After losing the relay: the limit in force then, for the clients attached then that are not back yet. */
interface Hold {
  /** The flow limit when the relay was lost (null: none). */
  limit: number | null;
  /** Sessions of those clients. */
  awaiting: Set<string>;
  /** When the hold ends even if some are still missing (ms since the epoch). */
  until: number;
}

/** The agent's reading pace. */
export class Pace {
  /** The relay's latest flow limit (null: none). */
  private relayLimit: number | null = null;
  private relayAway = false;
  private hold: Hold | undefined;
  /** Ends the hold at its deadline, or lifts an absent relay's limit. */
  private timer: ReturnType<typeof setTimeout> | undefined;
  private mirrorHeld = false;
  private paused = false;

  constructor(
    private readonly inputs: PaceInputs,
    /** Stops (true) or resumes (false) reading; called only on a change. */
    private readonly setPaused: (paused: boolean) => void,
    private readonly options: PaceOptions = {},
  ) {}

  /** The relay's flow limit arrived. */
  relayLimitIs(limit: number | null): void {
    this.relayLimit = limit;
    this.update();
  }

  /** The relay connection was lost, with these client sessions attached. */
  relayLost(attached: Iterable<string>): void {
    this.relayAway = true;
    const awaiting = new Set([...(this.hold?.awaiting ?? []), ...attached]);
    const graceMs = this.options.relayGraceMs ?? RELAY_GRACE_MS;
    if (awaiting.size > 0) {
      // Lost again before everyone was back: those still missing are awaited too, at the lower limit.
      this.hold = { limit: this.limit(), awaiting, until: this.hold?.until ?? Date.now() + graceMs };
      this.schedule(this.hold.until);
    } else if (this.timer === undefined) {
      this.schedule(Date.now() + graceMs);
    }
  }

  /** A relay accepted the agent again; it will say its limit, and announce the clients it knows. */
  relayBack(): void {
    this.relayAway = false;
    if (!this.hold) {
      this.clearTimer();
      return;
    }
    this.hold.until = Math.max(this.hold.until, Date.now() + (this.options.returnGraceMs ?? RETURN_GRACE_MS));
    this.schedule(this.hold.until);
  }

  /** The relay announced a client (a relay sends the limit it implies before announcing it). */
  clientBack(session: string): void {
    if (!this.hold?.awaiting.delete(session)) return;
    if (this.hold.awaiting.size === 0) this.endHold();
    this.update();
  }

  /** Re-evaluates: call when output was read or the mirror made progress. */
  update(): void {
    const { end, mirrorBacklog } = this.inputs;
    if (mirrorBacklog > MIRROR_HIGH) this.mirrorHeld = true;
    else if (mirrorBacklog < MIRROR_LOW) this.mirrorHeld = false;
    const limit = this.limit();
    const paused = this.mirrorHeld || (limit !== null && end >= limit);
    if (paused === this.paused) return;
    this.paused = paused;
    this.setPaused(paused);
  }

  dispose(): void {
    this.clearTimer();
  }

  /** The stream position output may be read up to (null: no limit). */
  private limit(): number | null {
    const held = this.hold?.limit ?? null;
    if (held === null) return this.relayLimit;
    return this.relayLimit === null ? held : Math.min(held, this.relayLimit);
  }

  private endHold(): void {
    this.hold = undefined;
    this.clearTimer();
  }

  private schedule(at: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.hold = undefined;
      // Nobody is left to pace for: with the relay still away, its old limit goes too.
      if (this.relayAway) this.relayLimit = null;
      this.update();
    }, Math.max(0, at - Date.now()));
  }

  private clearTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
