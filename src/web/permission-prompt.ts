// Claude Code's permission requests on the page: which session asks, the tool, what it wants (the
// command, the file), and Allow or Deny. The answer goes to the agent sealed in the channel and applies
// to that request only; nothing is typed into the screen. When the request is settled (answered here or
// elsewhere, at the terminal, or gone with its session) the prompt says how and goes. A read-only link
// sees the request without the buttons. Several requests wait in order: the oldest shows first.

import type { AnswerOutcome, PermissionAsk } from '../protocol/index.js';
import { byId } from './dom.js';
import type { Disposables } from './disposables.js';

/** A request as the page shows it. */
interface Shown extends PermissionAsk {
  terminal: number;
  session: string;
}

/** How long the word on a settled request stays, in ms. */
const SETTLED_NOTE_MS = 4000;

export class PermissionPrompt {
  private readonly panel = byId('permission');
  private readonly title = byId('permission-title');
  private readonly detail = byId('permission-detail');
  private readonly note = byId('permission-note');
  private readonly allow = byId('permission-allow') as HTMLButtonElement;
  private readonly deny = byId('permission-deny') as HTMLButtonElement;
  private readonly waiting: Shown[] = [];
  private noteTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly answer: (id: string, decision: 'allow' | 'deny') => void,
    /** Whether this connection may answer (a full link or device). */
    private readonly canAnswer: () => boolean,
    parts: Disposables,
  ) {
    parts.listen(this.allow, 'click', () => this.decide('allow'));
    parts.listen(this.deny, 'click', () => this.decide('deny'));
    parts.add(() => clearTimeout(this.noteTimer));
  }

  /** A request waits (again, for a reminder: it is not shown twice). */
  ask(terminal: number, session: string, ask: PermissionAsk): void {
    if (!this.waiting.some((w) => w.id === ask.id)) this.waiting.push({ ...ask, terminal, session });
    this.render();
  }

  /** A request was settled: its prompt goes, saying how. */
  settled(id: string, outcome: AnswerOutcome, message: string): void {
    const at = this.waiting.findIndex((w) => w.id === id);
    const wasShown = at === 0;
    if (at >= 0) this.waiting.splice(at, 1);
    if (wasShown || (at < 0 && outcome === 'gone' && !this.panel.hidden)) this.say(message);
    this.render();
  }

  /** A session ended or is gone: its requests went with it (the agent says so too; this tidies up at once). */
  sessionGone(terminal: number): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i]!.terminal === terminal) this.waiting.splice(i, 1);
    this.render();
  }

  private decide(decision: 'allow' | 'deny'): void {
    const shown = this.waiting[0];
    if (!shown) return;
    this.allow.disabled = true;
    this.deny.disabled = true;
    this.answer(shown.id, decision);
  }

  private say(message: string): void {
    clearTimeout(this.noteTimer);
    this.note.textContent = message;
    this.note.hidden = false;
    this.noteTimer = setTimeout(() => {
      this.note.hidden = true;
      this.render();
    }, SETTLED_NOTE_MS);
  }

  private render(): void {
    const shown = this.waiting[0];
    if (!shown) {
      // The last word on a settled request stays a moment, alone.
      this.panel.hidden = this.note.hidden;
      (this.allow.parentElement as HTMLElement).hidden = true;
      this.title.textContent = '';
      this.detail.textContent = '';
      this.detail.hidden = true;
      return;
    }
    const more = this.waiting.length > 1 ? ` (${this.waiting.length - 1} more waiting)` : '';
    this.title.textContent = `${shown.session}: Claude Code asks to use ${shown.tool}${more}`;
    this.detail.textContent = shown.detail;
    this.detail.hidden = shown.detail === '';
    const answerable = this.canAnswer();
    (this.allow.parentElement as HTMLElement).hidden = !answerable;
    this.allow.disabled = false;
    this.deny.disabled = false;
    if (!answerable && this.note.hidden) {
      this.note.textContent = 'This link can only watch: the request is answered in the terminal or on a device that can type.';
      this.note.hidden = false;
    }
    this.panel.hidden = false;
  }
}
