// Which session a client watches when it watches none, and what is typed before the agent lists its
// sessions: on their own. (End to end, a client asking for a session: sessions.test.ts.)

import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../src/protocol/index.js';
import { latestSession, WatchPlan } from '../src/client/watch-plan.js';

const session = (terminal: number, last_activity: number, state: SessionInfo['state'] = 'running'): SessionInfo => ({
  terminal,
  name: `s${terminal}`,
  cwd: '/',
  kind: 'shell',
  command: 'sh',
  state,
  waiting: false,
  started_at: 0,
  last_activity,
});
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (chunks: Uint8Array[]): string => chunks.map((c) => new TextDecoder().decode(c)).join('');

describe('the session watched when none is', () => {
  it('is the most recently active running one, or the most recent of all when none runs', () => {
    expect(latestSession([session(1, 10), session(2, 30), session(3, 20)])).toBe(2);
    expect(latestSession([session(1, 10), session(2, 30, 'exited'), session(3, 20)])).toBe(3);
    expect(latestSession([session(1, 10, 'exited'), session(2, 30, 'exited')])).toBe(2);
    expect(latestSession([])).toBeUndefined();
  });

  it('is the one asked for while it is listed; when it is gone, the latest, and what was typed for it is not sent', () => {
    const plan = new WatchPlan(2, 1024);
    expect(plan.pick([session(1, 10), session(2, 5)])).toEqual({ terminal: 2 });
    expect(plan.keep(bytes('meant for two'))).toBe(true);
    expect(plan.pick([session(1, 10), session(3, 20)])).toEqual({ terminal: 3, missing: { asked: 2, dropped: 13 } });
    expect(plan.takeKept()).toEqual([]);
    // From then on the latest, without saying so again.
    expect(plan.pick([session(1, 40), session(3, 20)])).toEqual({ terminal: 1 });
  });

  it('is none when the person chose none; nothing typed is kept for it', () => {
    const plan = new WatchPlan('latest', 1024);
    plan.chose(null);
    expect(plan.pick([session(1, 10)])).toEqual({ terminal: undefined });
    expect(plan.keep(bytes('x'))).toBe(false);
    plan.chose(1);
    expect(plan.pick([session(1, 10), session(2, 20)])).toEqual({ terminal: 1 });
  });

  it('keeps what is typed before a session is watched, in order and within its bound, for the one chosen', () => {
    const plan = new WatchPlan('latest', 10);
    const typed = bytes('echo ');
    expect(plan.keep(typed)).toBe(true);
    typed.fill(0); // the caller's buffer may be reused: a copy was kept
    expect(plan.keep(bytes('hi!'))).toBe(true);
    expect(plan.keep(bytes('more'))).toBe(false); // 12 bytes would pass the bound of 10
    expect(plan.pick([])).toEqual({ terminal: undefined });
    expect(text(plan.takeKept())).toBe('echo hi!');
    expect(plan.takeKept()).toEqual([]);
    expect(plan.keep(bytes('0123456789'))).toBe(true); // the bound is free again
  });
});
