// How agents and clients keep a connection to the relay: what a close code means for the next attempt (one
// table for both; `describeClose` says it in words for a person), when to try again (jittered, capped
// backoff; a rate-limited close says how long to wait), and how a connection that went silent is noticed
// (keep-alive probes, a first one at a random point so that peers that connected together do not probe
// together forever after). Timers only: the socket is the caller's.

import { Backoff, type BackoffOptions } from './backoff.js';
import { CloseCode, retryAfterFromReason } from './codes.js';

/** Who holds the connection. */
export type ConnectionRole = 'agent' | 'client';

/** What a close means: connect again, register again first (an agent whose key the relay no longer takes), or stop. */
export type CloseAction = 'retry' | 'register' | 'fatal';

/**
 * Close codes after which the same credentials cannot succeed, for each role. An agent that is refused
 * registers again (the relay lost its record); a client refused with its link or device stops and says so.
 * A bad message from the relay is fatal for a client (the relay and the page disagree on the protocol); an
 * agent retries, since its own bad messages would repeat only with a broken agent.
 */
const FATAL: Record<ConnectionRole, ReadonlySet<number>> = {
  agent: new Set([CloseCode.UnsupportedVersion, CloseCode.ForbiddenOrigin, CloseCode.Replaced]),
  client: new Set([CloseCode.BadMessage, CloseCode.UnsupportedVersion, CloseCode.Unauthorized, CloseCode.ForbiddenOrigin, CloseCode.Replaced]),
};

/** What `code`, said by the relay, means for `role`'s next attempt. */
export function closeAction(role: ConnectionRole, code: number): CloseAction {
  if (FATAL[role].has(code)) return 'fatal';
  if (role === 'agent' && code === CloseCode.Unauthorized) return 'register';
  return 'retry';
}

/** When to try again after a connection ended; `succeeded()` once one worked. */
export class RetrySchedule {
  private readonly backoff: Backoff;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: BackoffOptions) {
    this.backoff = new Backoff(options);
  }

  /** The wait before the next attempt after a close: the backoff's, or longer when the relay said how long (rate limited). */
  delayAfter(code: number, reason: string): number {
    // Moved to another relay of the group: the way there is open now (a little jitter spreads a crowd). Moved
    // again before a connection worked, the group's records are still catching up (one names a relay that
    // no longer serves the agent, until it expires): the backoff applies, not ten attempts a second.
    if (code === CloseCode.Moved && this.backoff.attempts === 0) {
      this.backoff.next();
      return Math.random() * 100;
    }
    // (A Direct close that the client follows goes at once without asking here, client/relay-route.ts; one
    // it does not follow, a bad URL or one relay too many, waits like any other.)
    const wait = this.backoff.next();
    return code === CloseCode.RateLimited ? Math.max(wait, retryAfterFromReason(reason) ?? 0) : wait;
  }

  /** Attempts since the last success. */
  get attempts(): number {
    return this.backoff.attempts;
  }

  /** Runs `attempt` after `delayMs` (replacing one scheduled before). */
  schedule(delayMs: number, attempt: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      attempt();
    }, delayMs);
  }

  /** Whether an attempt is scheduled. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** A connection worked: the next failure starts the backoff over. */
  succeeded(): void {
    this.backoff.reset();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** Settings of a Liveness. */
export interface LivenessOptions {
  /** Interval of keep-alive probes, in ms. */
  everyMs: number;
  /** Silence after which the connection is presumed dead, in ms. */
  deadAfterMs: number;
  /** Sends one probe (a ping, a heartbeat). */
  probe(): void;
  /** The connection went silent: replace it. */
  dead(): void;
}

/** Keep-alive for one connection: probes it, and says when nothing was heard for too long. `stop()` when it ends. */
export class Liveness {
  private lastHeard = Date.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly options: LivenessOptions) {
    // The first probe comes at a random point of the interval.
    this.timer = setTimeout(() => this.tick(), Math.random() * options.everyMs);
  }

  /** Something arrived on the connection. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private tick(): void {
    if (this.stopped) return;
    if (Date.now() - this.lastHeard > this.options.deadAfterMs) {
      this.stop();
      this.options.dead();
      return;
    }
    this.options.probe();
    this.timer = setTimeout(() => this.tick(), this.options.everyMs);
  }
}

/** What a close code means, in words for a person. */
const CLOSE_WORDS: Partial<Record<number, string>> = {
  [CloseCode.Unauthorized]: 'This link is not valid (wrong secret, or the agent now has a new link).',
  [CloseCode.ForbiddenOrigin]: 'This page is not allowed to connect to the relay (origin refused).',
  [CloseCode.UnsupportedVersion]: 'The relay speaks another protocol version.',
  [CloseCode.BadMessage]: 'A message was rejected.',
  [CloseCode.TooMany]: 'Too many connections; retrying.',
  [CloseCode.RateLimited]: 'Too many failed attempts; waiting before trying again.',
  [CloseCode.GoingAway]: 'The relay is restarting.',
  [CloseCode.Direct]: 'Connecting to the relay that serves this computer.',
  [CloseCode.Idle]: 'The connection went quiet.',
  [CloseCode.TooBig]: 'A message was too large.',
  [CloseCode.PolicyViolation]: 'The relay cut the connection: too many messages.',
};

/** A short human explanation of a close code, if it has one. */
export function describeClose(code: number): string | undefined {
  return CLOSE_WORDS[code];
}
