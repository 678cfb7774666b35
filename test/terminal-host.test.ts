// The agent's session core over a fake uplink and terminal: how it paces the program when the relay goes
// away and comes back, without any socket or PTY.

import { describe, expect, it } from 'vitest';
import { newSecret, randomId, type RelayToAgent } from '../src/protocol/index.js';
import { TerminalHost, type TerminalControl, type Uplink } from '../src/agent/terminal-host.js';
import { EventLog } from './helpers/wait.js';

class FakeUplink implements Uplink {
  isOnline = true;
  send(): number {
    return 0;
  }
  onceBelow(): void {}
}

function setup(relayGraceMs?: number) {
  const uplink = new FakeUplink();
  // Each call to pauseOutput, in order (objects: a bare `false` would read as "not found" to EventLog).
  const paused = new EventLog<{ paused: boolean }>();
  const terminal: TerminalControl = { write: () => undefined, resize: () => undefined, pauseOutput: (p) => paused.push({ paused: p }) };
  const access = { agentId: randomId(), full: newSecret(), view: newSecret() };
  const host = new TerminalHost(uplink, terminal, () => access, { relayGraceMs });
  const say = (message: RelayToAgent): void => host.message(message);
  const join = (client: number, session: string): void => say({ type: 'client_joined', client, session, read_only: false });
  /** Whether reading the program's output is paused now. */
  const isPaused = (): boolean => paused.items.at(-1)?.paused === true;
  const lose = (): void => {
    uplink.isOnline = false;
    host.offline();
  };
  const regain = (): void => {
    uplink.isOnline = true;
    host.online();
  };
  return { host, say, join, isPaused, paused, lose, regain };
}

describe('TerminalHost pacing when the relay goes away', () => {
  it('keeps the pace the clients set until a relay has announced each of them again', () => {
    const { host, say, join, isPaused, lose, regain } = setup();
    const [a, b] = [randomId(), randomId()];
    host.online();
    join(1, a);
    join(2, b);
    say({ type: 'flow', limit: 100 });
    host.output(new Uint8Array(100));
    expect(isPaused()).toBe(true);
    lose();
    expect(isPaused()).toBe(true);
    // A relay that has just started knows no client: it says there is no limit.
    regain();
    say({ type: 'flow', limit: null });
    expect(isPaused()).toBe(true);
    // The first client is back and acknowledges far ahead; the other is still missing, so the old pace holds.
    join(7, a);
    say({ type: 'flow', limit: 10_000 });
    expect(isPaused()).toBe(true);
    // Lost again before the second was back: it is still awaited.
    lose();
    regain();
    join(8, a);
    say({ type: 'flow', limit: 10_000 });
    expect(isPaused()).toBe(true);
    join(9, b);
    expect(isPaused()).toBe(false);
    host.output(new Uint8Array(9_900));
    expect(isPaused()).toBe(true); // the relay's limit is all that counts now
    host.dispose();
  });

  it('stops holding the program back after the grace when clients do not come back', async () => {
    const { host, say, join, isPaused, paused, lose, regain } = setup(50);
    host.online();
    join(1, randomId());
    say({ type: 'flow', limit: 10 });
    host.output(new Uint8Array(10));
    expect(isPaused()).toBe(true);
    lose();
    regain();
    say({ type: 'flow', limit: null });
    expect(isPaused()).toBe(true);
    const from = paused.items.length;
    await paused.next((p) => !p.paused, 5000, 'reading to resume after the grace', from);
    expect(isPaused()).toBe(false);
    host.dispose();
  });

  it('reads freely after the grace when the relay stays away', async () => {
    const { host, say, join, isPaused, paused, lose } = setup(50);
    host.online();
    join(1, randomId());
    say({ type: 'flow', limit: 10 });
    host.output(new Uint8Array(10));
    lose();
    expect(isPaused()).toBe(true);
    await paused.next((p) => !p.paused, 5000, 'reading to resume after the grace', paused.items.length);
    host.dispose();
  });
});
