// The computer's sessions, from the bar's session button: each with its name, folder, program, whether it
// runs, ended (with its code) or waits for the person, and when it was last active. A tap switches to it
// (same connection, no page load); a full link also ends a running session (asked first), dismisses an
// ended one, and starts a new one (new-session.ts). The button shows the session watched and how many
// others wait for the person. Text only (textContent): every name comes from elsewhere.

import type { ClientSession } from '../client/session.js';
import { agoText, type SessionInfo } from '../protocol/index.js';
import { NewSessionSheet } from './new-session.js';
import { byId, listNote } from './dom.js';

export class SessionsPanel {
  private readonly panel = byId('sessions');
  private readonly list = byId('session-list');
  private readonly toggle = byId('sessions-toggle') as HTMLButtonElement;
  private readonly label = byId('session-name');
  private readonly badge = byId('sessions-waiting');
  private readonly create = byId('new-session') as HTMLButtonElement;
  private readonly past = byId('past-sessions') as HTMLButtonElement;
  private readonly sheet: NewSessionSheet;
  private sessions: SessionInfo[] = [];
  private watching: number | null = null;
  private canManage = false;
  /** Whether this device gets push alerts, and the sessions it muted. */
  private push: { subscribed: boolean; muted: Set<number> } = { subscribed: false, muted: new Set() };

  constructor(
    private readonly session: () => ClientSession | undefined,
    /** The person picked a session (or a new one started): show it. */
    private readonly switchTo: (terminal: number) => void,
    /** The person asked for past sessions (recordings). */
    openPast: () => void,
  ) {
    this.sheet = new NewSessionSheet(session, (terminal) => {
      this.close();
      switchTo(terminal);
    });
    this.toggle.addEventListener('click', () => (this.panel.hidden ? this.open() : this.close()));
    byId('sessions-close').addEventListener('click', () => this.close());
    this.create.addEventListener('click', () => {
      this.panel.hidden = true;
      this.sheet.open();
    });
    this.past.addEventListener('click', () => {
      this.close();
      openPast();
    });
  }

  /** What this connection may do: a full link manages sessions; a read-only one only watches. */
  access(full: boolean): void {
    this.canManage = full;
    this.create.hidden = !full;
    this.past.hidden = !full;
    this.render();
  }

  /** Whether this device gets push alerts, and which sessions it muted: each running session offers Mute or Unmute. */
  alerts(subscribed: boolean, muted: number[]): void {
    this.push = { subscribed, muted: new Set(muted) };
    this.render();
  }

  /** The agent's sessions, as it listed them. */
  show(sessions: SessionInfo[]): void {
    this.sessions = sessions;
    this.toggle.hidden = false;
    this.render();
  }

  /** The session watched now. */
  watched(terminal: number | null): void {
    this.watching = terminal;
    this.render();
  }

  /** The name of a session, for notices and notifications. */
  nameOf(terminal: number): string | undefined {
    return this.sessions.find((s) => s.terminal === terminal)?.name;
  }

  open(): void {
    this.panel.hidden = false;
    this.toggle.setAttribute('aria-expanded', 'true');
    this.render();
  }

  close(): void {
    this.panel.hidden = true;
    this.toggle.setAttribute('aria-expanded', 'false');
  }

  private render(): void {
    const current = this.sessions.find((s) => s.terminal === this.watching);
    this.label.textContent = current ? current.name : this.sessions.length === 0 ? 'No session' : 'Sessions';
    document.body.dataset.session = current ? current.state : 'none';
    const waiting = this.sessions.filter((s) => s.waiting && s.terminal !== this.watching).length;
    this.badge.textContent = waiting > 0 ? String(waiting) : '';
    this.badge.hidden = waiting === 0;
    this.toggle.setAttribute('aria-label', `Sessions: ${current ? current.name : 'none open'}${waiting > 0 ? `, ${waiting} waiting for you` : ''}`);
    if (this.panel.hidden) return;
    if (this.sessions.length === 0) {
      this.list.replaceChildren(listNote(this.canManage ? 'No session runs on this computer. Start one below.' : 'No session runs on this computer.', 'session-note'));
      return;
    }
    this.list.replaceChildren(...this.sessions.map((s) => this.row(s)));
  }

  private row(info: SessionInfo): HTMLElement {
    const row = document.createElement('li');
    row.className = 'session';
    row.dataset.terminal = String(info.terminal);
    row.dataset.state = info.waiting ? 'waiting' : info.state;
    if (info.terminal === this.watching) row.setAttribute('aria-current', 'true');
    const open = document.createElement('button');
    open.type = 'button';
    open.className = 'session-open';
    const name = document.createElement('span');
    name.className = 'session-name';
    name.textContent = info.name;
    const state = document.createElement('span');
    state.className = 'session-state';
    state.textContent = stateText(info);
    const detail = document.createElement('span');
    detail.className = 'session-detail';
    detail.textContent = `${info.command} · ${shortPath(info.cwd)}${info.worktree ? ` · branch ${info.worktree}` : ''} · ${agoText(info.last_activity)}`;
    open.append(name, state, detail);
    open.addEventListener('click', () => {
      this.close();
      this.switchTo(info.terminal);
    });
    row.append(open);
    if (this.push.subscribed && info.state === 'running') {
      const muted = this.push.muted.has(info.terminal);
      const mute = document.createElement('button');
      mute.type = 'button';
      mute.className = 'session-action session-mute';
      mute.textContent = muted ? 'Unmute' : 'Mute';
      mute.setAttribute('aria-pressed', String(muted));
      mute.setAttribute('aria-label', `${muted ? 'Unmute' : 'Mute'} alerts from ${info.name} on this device`);
      mute.addEventListener('click', () => {
        mute.disabled = true;
        this.session()?.mutePush(info.terminal, !muted);
      });
      row.append(mute);
    }
    if (this.canManage) {
      const action = document.createElement('button');
      action.type = 'button';
      action.className = 'session-action';
      if (info.state === 'running') {
        action.textContent = 'End';
        action.setAttribute('aria-label', `End ${info.name}`);
        action.addEventListener('click', () => {
          if (!window.confirm(`End "${info.name}"? Its program is stopped; its last screen stays readable until you dismiss it.`)) return;
          action.disabled = true;
          this.session()?.endSession(info.terminal);
        });
      } else {
        action.textContent = 'Dismiss';
        action.setAttribute('aria-label', `Dismiss ${info.name}`);
        action.addEventListener('click', () => {
          action.disabled = true;
          this.session()?.dismissSession(info.terminal);
        });
      }
      row.append(action);
    }
    return row;
  }
}

/** Running, waiting for the person, or ended and how. */
export function stateText(info: SessionInfo): string {
  if (info.state === 'exited') return info.signal ? `Ended (signal ${info.signal})` : `Ended (code ${info.exit_code ?? 0})`;
  if (info.waiting) return info.waiting_for ? `Waiting for you: ${info.waiting_for}` : 'Waiting for you';
  return 'Running';
}

/** The last two parts of a path, which is what tells folders apart on a narrow screen. */
function shortPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length <= 2 ? path : `…/${parts.slice(-2).join('/')}`;
}

