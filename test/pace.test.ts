// The agent's reading pace, on its own: the relay's flow limit, the pace held for the clients attached when
// the relay was lost until each is back (or the graces run out), and the screen mirror's backlog.

import { describe, expect, it } from 'vitest';
import { Pace, type PaceOptions } from '../src/agent/pace.js';
import { EventLog } from './helpers/wait.js';

function setup(options: PaceOptions = {}) {
  const inputs = { end: 0, mirrorBacklog: 0 };
  // Each change of pace, in order (objects: a bare `false` would read as "not found" to EventLog).
  const changes = new EventLog<{ paused: boolean; at: number }>();
  const pace = new Pace(inputs, (paused) => changes.push({ paused, at: Date.now() }), options);
  const isPaused = (): boolean => changes.items.at(-1)?.paused === true;
  /** The program printed up to `end`. */
  const read = (end: number): void => {
    inputs.end = end;
    pace.update();
  };
  return { pace, inputs, changes, isPaused, read };
}

describe('Pace', () => {
  it('reads up to the relay\'s limit, and stops while the screen mirror is far behind', () => {
    const { pace, inputs, isPaused, read } = setup();
    pace.relayLimitIs(100);
    read(99);
    expect(isPaused()).toBe(false);
    read(100);
    expect(isPaused()).toBe(true);
    pace.relayLimitIs(null);
    expect(isPaused()).toBe(false);
    inputs.mirrorBacklog = 600 * 1024;
    pace.update();
    expect(isPaused()).toBe(true);
    inputs.mirrorBacklog = 200 * 1024; // between the marks: still held
    pace.update();
    expect(isPaused()).toBe(true);
    inputs.mirrorBacklog = 100 * 1024;
    pace.update();
    expect(isPaused()).toBe(false);
    pace.dispose();
  });

  it('after losing the relay, keeps the limit it had until a relay has announced each client attached then', () => {
    const { pace, isPaused, read } = setup();
    pace.relayLimitIs(100);
    read(100);
    expect(isPaused()).toBe(true);
    pace.relayLost(['a', 'b']);
    // A relay that has just started knows no client: it says there is no limit.
    pace.relayBack();
    pace.relayLimitIs(null);
    expect(isPaused()).toBe(true);
    // The first client is back and acknowledges far ahead; the other is still missing, so the old limit holds.
    pace.relayLimitIs(10_000);
    pace.clientBack('a');
    expect(isPaused()).toBe(true);
    // Lost again before the second was back: it is still awaited.
    pace.relayLost(['a']);
    pace.relayBack();
    pace.relayLimitIs(10_000);
    pace.clientBack('a');
    expect(isPaused()).toBe(true);
    pace.clientBack('someone else');
    expect(isPaused()).toBe(true);
    pace.clientBack('b');
    expect(isPaused()).toBe(false);
    read(10_000);
    expect(isPaused()).toBe(true); // the relay's limit is all that counts now
    pace.dispose();
  });

  it('with the relay away longer than its grace, reads freely', async () => {
    const { pace, changes, isPaused, read } = setup({ relayGraceMs: 50 });
    pace.relayLimitIs(10);
    read(10);
    const lost = Date.now();
    pace.relayLost(['a']);
    expect(isPaused()).toBe(true);
    const resumed = await changes.next((c) => !c.paused, 5000, 'reading to resume after the grace', changes.items.length);
    expect(resumed.at - lost).toBeGreaterThanOrEqual(45);
    pace.dispose();
  });

  it('once a relay is back, the clients still missing get the return grace, however long the relay was away', async () => {
    const { pace, changes, isPaused, read } = setup({ relayGraceMs: 50, returnGraceMs: 300 });
    pace.relayLimitIs(10);
    read(10);
    pace.relayLost(['a']);
    const back = Date.now();
    pace.relayBack();
    pace.relayLimitIs(null);
    expect(isPaused()).toBe(true);
    const resumed = await changes.next((c) => !c.paused, 5000, 'reading to resume after the return grace', changes.items.length);
    // Not at the relay grace (50 ms): at the return grace.
    expect(resumed.at - back).toBeGreaterThanOrEqual(250);
    pace.dispose();
  });
});
