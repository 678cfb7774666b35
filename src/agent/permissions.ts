// Claude Code's permission requests that wait for the person: each one's hook holds Claude Code's
// decision open (attention-channel.ts) while Claude Code shows its own prompt in the terminal. The
// request is answered once, by the first of: an answer from a client (the page's Allow or Deny, or a
// notification's), typing at the terminal (the person answers Claude Code's prompt there; the hook then
// lets go without a decision), the hook going (Claude Code stopped waiting for it), the tool call running
// or failing, the session ending, or the hook's time running out. Whatever comes later finds it settled
// and is told how. A request nobody answered within `remindAfterMs` is announced once more.

import { MAX_ATTENTION_MESSAGE, randomId, toBase64Url, randomBytes, type AnswerOutcome, type AttentionEvent, type PermissionAsk } from '../protocol/index.js';
import type { HookPermission } from './attention-channel.js';

/** Settled requests remembered, to tell a late answer what became of its request. */
const REMEMBERED = 64;

/** One device's way to answer a request from its notification: an opaque id and a key for it alone. */
export interface AnswerKey {
  answer: string;
  key: Uint8Array;
  device: string;
}

/** Where a request stands. */
type RequestState =
  | { kind: 'waiting'; reminder: ReturnType<typeof setTimeout> | undefined }
  | { kind: 'settled'; outcome: AnswerOutcome; message: string };

/** One permission request. */
export class PermissionRequest {
  state: RequestState = { kind: 'waiting', reminder: undefined };
  /** The answer keys handed to devices for it, by answer id. */
  readonly answers = new Map<string, AnswerKey>();
  readonly at = Date.now();

  constructor(
    readonly id: string,
    readonly terminal: number,
    readonly hook: HookPermission,
  ) {}

  /** What clients are shown. */
  get ask(): PermissionAsk {
    return { id: this.id, tool: this.hook.tool, detail: this.hook.detail };
  }

  get waiting(): boolean {
    return this.state.kind === 'waiting';
  }

  /** The attention event that tells clients and devices of it (`reminder`: the one repeat). */
  attention(reminder = false): AttentionEvent {
    const message = `${this.hook.tool}: ${this.hook.detail}`.slice(0, MAX_ATTENTION_MESSAGE);
    return { terminal: this.terminal, kind: 'permission', message, permission: this.ask, ...(reminder ? { reminder } : {}) };
  }
}

/** What the agent hears from the requests. */
export interface PermissionEvents {
  /** A request was settled: `message` says how, for people. */
  settled(request: PermissionRequest, outcome: AnswerOutcome, message: string): void;
  /** A request has waited `remindAfterMs`: tell the person once more. */
  remind(request: PermissionRequest): void;
}

export class Permissions {
  /** Every request still remembered, and those of them that wait (typing checks these on every key). */
  private readonly requests = new Map<string, PermissionRequest>();
  private readonly open = new Map<string, PermissionRequest>();
  private readonly byAnswer = new Map<string, PermissionRequest>();

  constructor(
    private readonly events: PermissionEvents,
    private readonly options: { remindAfterMs: number; waitMs: number },
  ) {}

  /** A hook holds a request for `terminal`: it waits from now on. */
  add(terminal: number, hook: HookPermission): PermissionRequest {
    const request = new PermissionRequest(randomId(), terminal, hook);
    this.requests.set(request.id, request);
    this.open.set(request.id, request);
    const reminder = this.options.remindAfterMs > 0 ? setTimeout(() => request.waiting && this.events.remind(request), this.options.remindAfterMs) : undefined;
    reminder?.unref();
    request.state = { kind: 'waiting', reminder };
    hook.onGone(() => {
      const timedOut = Date.now() - request.at >= this.options.waitMs - 1000;
      this.settle(request, 'gone', timedOut ? 'It waited too long; answer it in the terminal.' : 'Claude Code stopped waiting for it (it was answered at the terminal, or Claude Code ended).');
    });
    this.forgetOld();
    return request;
  }

  get(id: string): PermissionRequest | undefined {
    return this.requests.get(id);
  }

  /** The requests of `terminal` (every terminal: none given) that wait now, oldest first. */
  waiting(terminal?: number): PermissionRequest[] {
    const open = [...this.open.values()];
    return terminal === undefined ? open : open.filter((r) => r.terminal === terminal);
  }

  /** A key for `device` to answer `request` from its notification (one per device and request). */
  answerKey(request: PermissionRequest, device: string): { answer: string; key: string } {
    const existing = [...request.answers.values()].find((a) => a.device === device);
    const entry = existing ?? { answer: randomId(), key: randomBytes(32), device };
    request.answers.set(entry.answer, entry);
    this.byAnswer.set(entry.answer, request);
    return { answer: entry.answer, key: toBase64Url(entry.key) };
  }

  /** The request and key an answer id was given for. */
  answerFor(answer: string): { request: PermissionRequest; key: AnswerKey } | undefined {
    const request = this.byAnswer.get(answer);
    const key = request?.answers.get(answer);
    return request && key ? { request, key } : undefined;
  }

  /**
   * The person decided, from `where` (a device's name): Claude Code gets the decision if the request still
   * waits; otherwise nothing is done and the outcome says what became of it.
   */
  answer(request: PermissionRequest, decision: 'allow' | 'deny', where: string): { outcome: AnswerOutcome; message: string } {
    if (request.state.kind === 'settled') return { outcome: 'gone', message: `Nothing was done: this request is no longer waiting. ${request.state.message}` };
    if (!request.hook.decide(decision)) {
      this.settle(request, 'gone', 'It was answered at the terminal.');
      return { outcome: 'gone', message: 'Nothing was done: this request was answered at the terminal.' };
    }
    const outcome = decision === 'allow' ? 'allowed' : 'denied';
    const message = `${decision === 'allow' ? 'Allowed' : 'Denied'} from ${where}.`;
    this.settle(request, outcome, message);
    return { outcome, message };
  }

  /** Someone typed into `terminal`: its requests are answered there (the hooks let go without a decision). */
  typedInto(terminal: number): void {
    if (this.open.size > 0) this.letGo(this.waiting(terminal), 'It was answered at the terminal.');
  }

  /** A tool call of `terminal` ran or failed: a request for it was decided elsewhere. */
  toolDone(terminal: number, call: string): void {
    this.letGo(
      this.waiting(terminal).filter((r) => r.hook.call === call),
      'It was decided at the terminal.',
    );
  }

  /** `terminal`'s program ended: its requests went with it. */
  ended(terminal: number): void {
    this.letGo(this.waiting(terminal), 'Its session ended.');
  }

  /** Lets every hook go (the agent stops). */
  close(): void {
    this.letGo(this.waiting(), 'The agent stopped.');
  }

  /** These requests were settled elsewhere: their hooks let go without a decision (Claude Code's prompt decides). */
  private letGo(requests: PermissionRequest[], message: string): void {
    for (const request of requests) {
      request.hook.decide(undefined);
      this.settle(request, 'gone', message);
    }
  }

  private settle(request: PermissionRequest, outcome: AnswerOutcome, message: string): void {
    if (request.state.kind !== 'waiting') return;
    clearTimeout(request.state.reminder);
    this.open.delete(request.id);
    request.state = { kind: 'settled', outcome, message };
    this.events.settled(request, outcome, message);
  }

  /** Settled requests beyond the newest REMEMBERED go, with their answer keys. */
  private forgetOld(): void {
    const settled = [...this.requests.values()].filter((r) => !r.waiting);
    for (const request of settled.slice(0, Math.max(0, settled.length - REMEMBERED))) {
      this.requests.delete(request.id);
      for (const answer of request.answers.keys()) this.byAnswer.delete(answer);
    }
  }
}
