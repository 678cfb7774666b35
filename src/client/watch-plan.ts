// Which of the agent's sessions a client watches when it watches none: the one it asked for, the most recently
// active, or none (WatchChoice). Until the agent has listed its sessions nothing is watched, and what the
// person types meanwhile is kept here for the session chosen then; typed for a session that turns out to be
// gone, it goes nowhere else.

import type { SessionInfo } from '../protocol/index.js';
import type { WatchChoice } from './session-options.js';

/** What to watch among the sessions listed, and what happened to the one asked for. */
export interface Pick {
  /** The session to watch (none: undefined). */
  terminal: number | undefined;
  /** The session asked for is not among them; `dropped` bytes typed for it were not sent. */
  missing?: { asked: number; dropped: number };
}

export class WatchPlan {
  private early: Uint8Array[] = [];
  private earlyBytes = 0;

  constructor(
    private choice: WatchChoice,
    private readonly maxEarlyBytes: number,
  ) {}

  /** What the person chose to watch now (null: nothing). */
  chose(terminal: number | null): void {
    this.choice = terminal ?? 'none';
  }

  /** Keeps input typed before any session is watched; false when none will be, or too much waits already. */
  keep(bytes: Uint8Array): boolean {
    if (this.choice === 'none' || this.earlyBytes + bytes.length > this.maxEarlyBytes) return false;
    this.early.push(bytes.slice());
    this.earlyBytes += bytes.length;
    return true;
  }

  /** The input kept, for the session watched from now on; it is kept no more. */
  takeKept(): Uint8Array[] {
    const kept = this.early;
    this.early = [];
    this.earlyBytes = 0;
    return kept;
  }

  /** The session to watch among `sessions`, when none is watched. */
  pick(sessions: readonly SessionInfo[]): Pick {
    const choice = this.choice;
    if (choice === 'none' || sessions.length === 0) return { terminal: undefined };
    if (typeof choice === 'number') {
      if (sessions.some((s) => s.terminal === choice)) return { terminal: choice };
      // What was typed meanwhile was meant for the session that is gone.
      const dropped = this.takeKept().reduce((sum, bytes) => sum + bytes.length, 0);
      this.choice = 'latest';
      return { terminal: latestSession(sessions), missing: { asked: choice, dropped } };
    }
    return { terminal: latestSession(sessions) };
  }
}

/** The session most recently active among those still running (or among all, if none runs). */
export function latestSession(sessions: readonly SessionInfo[]): number | undefined {
  const running = sessions.filter((s) => s.state === 'running');
  const pool = running.length > 0 ? running : sessions;
  let best: SessionInfo | undefined;
  for (const s of pool) if (!best || s.last_activity > best.last_activity) best = s;
  return best?.terminal;
}
