// Answers to permission requests given from a notification (`POST /api/answer`, protocol/answer.ts): the
// relay hands the sealed decision to the agent it is for, as an `answer` message with a number of its
// own, and returns the agent's sealed result to the device. It cannot read either. An agent gets a bounded
// number of answers per minute; an answer that finds its agent off line, or gets no result in time, is
// answered so at once.

import type { Peer } from '../net/peer.js';
import { RateLimiter, type RateLimitOptions } from '../net/rate-limit.js';
import type { RelayToAgent } from '../protocol/index.js';

/** What became of a forwarded answer. */
export type AnswerForwarded =
  | { kind: 'answered'; sealed: string }
  /** The agent has no such answer (it restarted, or the box was not sealed for it). */
  | { kind: 'unknown' }
  | { kind: 'offline' }
  | { kind: 'timeout' }
  | { kind: 'rate_limited'; retryAfterMs: number };

/** Answers an agent takes: 20 at once, then one every 2 s (a person taps far fewer). */
export const ANSWER_RATE: RateLimitOptions = { burst: 20, perMinute: 30 };
/** An agent that has not answered after this long will not, in ms. */
const ANSWER_TIMEOUT_MS = 15_000;

interface Pending {
  agentId: string;
  peer: Peer;
  timer: ReturnType<typeof setTimeout>;
  resolve(result: AnswerForwarded): void;
}

export class AnswerRelay {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly rate: RateLimiter;
  private readonly timeoutMs: number;

  constructor(
    /** Sends a message to the agent's current connection; the connection, or undefined if the agent is off line. */
    private readonly toAgent: (agentId: string, message: RelayToAgent) => Peer | undefined,
    options: { rate?: RateLimitOptions; timeoutMs?: number } = {},
  ) {
    this.rate = new RateLimiter(options.rate ?? ANSWER_RATE);
    this.timeoutMs = options.timeoutMs ?? ANSWER_TIMEOUT_MS;
  }

  /** Hands `sealed` to the agent for its answer id `answer`; resolves with what the agent said (or why it did not). */
  forward(agentId: string, answer: string, sealed: string): Promise<AnswerForwarded> {
    if (!this.rate.take(agentId)) return Promise.resolve({ kind: 'rate_limited', retryAfterMs: this.rate.retryAfterMs(agentId) });
    const ref = this.next;
    this.next = this.next >= 0xffffffff ? 1 : this.next + 1;
    const peer = this.toAgent(agentId, { type: 'answer', ref, answer, sealed });
    if (!peer) return Promise.resolve({ kind: 'offline' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.finish(ref, { kind: 'timeout' }), this.timeoutMs);
      this.pending.set(ref, { agentId, peer, timer, resolve });
    });
  }

  /** The agent's `answer_result`: taken only from the connection the answer went to. */
  result(agentId: string, peer: Peer, ref: number, sealed: string | undefined): void {
    const pending = this.pending.get(ref);
    if (!pending || pending.agentId !== agentId || pending.peer !== peer) return;
    this.finish(ref, sealed === undefined ? { kind: 'unknown' } : { kind: 'answered', sealed });
  }

  /** An agent connection closed: what it was asked and did not answer will not be. */
  closed(peer: Peer): void {
    for (const [ref, pending] of this.pending) if (pending.peer === peer) this.finish(ref, { kind: 'offline' });
  }

  /** Answers every pending request as timed out (the relay stops). */
  dispose(): void {
    for (const ref of [...this.pending.keys()]) this.finish(ref, { kind: 'timeout' });
  }

  private finish(ref: number, result: AnswerForwarded): void {
    const pending = this.pending.get(ref);
    if (!pending) return;
    this.pending.delete(ref);
    clearTimeout(pending.timer);
    pending.resolve(result);
  }
}
