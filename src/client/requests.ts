// A client's numbered requests to the agent: each gets a number of its own, and the agent's answer (or its
// refusal) carries it back. A request with no answer within the timeout fails, as agents older than the
// page may say nothing to a request they do not know; every request waiting fails when the channel closes.
// Questions (`ask`) resolve with their answer here; file transfers number their announcements here and read
// the answers themselves (file-transfers.ts).

import type { AgentChannelMessage } from '../protocol/index.js';

/** What a request that got no answer fails with. */
export const NO_ANSWER = 'The agent did not answer. It may be older than this page: update ccremote on the computer.';

/** A question waiting for its answer of one kind. */
interface Question {
  kind: AgentChannelMessage['type'];
  resolve(message: AgentChannelMessage): void;
  reject(error: Error): void;
}

interface Waiting {
  /** Fails the request when no answer came in time. */
  timer: ReturnType<typeof setTimeout>;
  question?: Question;
}

/** The requests of one client session, across its connections. */
export class Requests {
  private next = 1;
  private readonly waiting = new Map<number, Waiting>();

  /** `timeoutMs`: how long a request waits for its answer. */
  constructor(private readonly timeoutMs: number) {}

  /** A fresh request number for a request answered elsewhere; `unanswered` runs if no answer comes in time. */
  number(unanswered: () => void): number {
    return this.add(unanswered);
  }

  /** Sends a question (`send` with its number); resolves with the answer of type `kind`, rejects with a refusal, no answer, or a closed channel. */
  ask<K extends AgentChannelMessage['type']>(kind: K, send: (request: number) => void): Promise<Extract<AgentChannelMessage, { type: K }>> {
    return new Promise((resolve, reject) => {
      send(this.add(() => reject(new Error(NO_ANSWER)), { kind, resolve: resolve as Question['resolve'], reject }));
    });
  }

  private add(unanswered: () => void, question?: Question): number {
    const request = this.next++;
    const timer = setTimeout(() => {
      this.waiting.delete(request);
      unanswered();
    }, this.timeoutMs);
    this.waiting.set(request, { timer, question });
    return request;
  }

  /**
   * A message from the agent: if it answers a request waiting here, the request stops waiting. Returns true
   * when the message was the answer (or refusal) of a question, which is then settled.
   */
  settle(message: AgentChannelMessage): boolean {
    const request = (message as { request?: number }).request;
    const waiting = request === undefined ? undefined : this.waiting.get(request);
    if (!waiting) return false;
    clearTimeout(waiting.timer);
    this.waiting.delete(request!);
    const question = waiting.question;
    if (!question) return false;
    if (message.type === 'refused') question.reject(new Error(message.message));
    else if (message.type === question.kind) question.resolve(message);
    else question.reject(new Error(`unexpected answer ${message.type}`));
    return true;
  }

  /** The channel closed: no request waiting gets an answer now; questions fail with `error` (transfers ask again on the next channel). */
  closed(error: Error): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const { timer, question } of waiting) {
      clearTimeout(timer);
      question?.reject(error);
    }
  }
}
