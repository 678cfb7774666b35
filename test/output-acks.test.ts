// The client's flow-control acknowledgements on their own: when they go, and that they start over with the
// stream. (End to end, a slow client paced across an agent restart: flow-control.test.ts.)

import { describe, expect, it } from 'vitest';
import { OutputAcks } from '../src/client/output-acks.js';

/** Acknowledgements told, and a way to wait for the next. */
function recorder(canTell: () => boolean = () => true) {
  const told: number[] = [];
  let waiting: ((offset: number) => void) | undefined;
  const acks = new OutputAcks((offset) => {
    if (!canTell()) return false;
    told.push(offset);
    waiting?.(offset);
    return true;
  });
  const next = (): Promise<number> => new Promise((resolve) => (waiting = resolve));
  return { acks, told, next };
}

describe('output acknowledgements', () => {
  it('go at once every 64 KiB processed, and soon after anything less; never the same position twice', async () => {
    const { acks, told, next } = recorder();
    acks.processedTo(1000);
    expect(told).toEqual([]); // less than 64 KiB: it waits for more, or for the timer
    acks.processedTo(70_000);
    expect(told).toEqual([70_000]);
    const soon = next();
    acks.processedTo(70_500);
    expect(await soon).toBe(70_500);
    acks.processedTo(70_500);
    acks.flush();
    expect(told).toEqual([70_000, 70_500]);
  });

  it('start over with a new stream, below where the old one was told', () => {
    const { acks, told } = recorder();
    acks.processedTo(5 << 20);
    acks.restart(); // the agent restarted: its new stream counts from 0 again
    acks.processedTo(100_000);
    acks.processedTo(200_000);
    expect(told).toEqual([5 << 20, 100_000, 200_000]);
  });

  it('of output drawn after its stream was given up count for nothing', () => {
    const { acks, told } = recorder();
    const old = acks.processedBy(5 << 20); // a screen still drawing the session watched before
    acks.restart();
    const current = acks.processedBy(100_000);
    old();
    expect(told).toEqual([]);
    current();
    expect(told).toEqual([100_000]);
  });

  it('count a snapshot as the start of what was processed', () => {
    const { acks, told } = recorder();
    acks.processedTo(100_000);
    acks.startsOver(90_000); // the screen starts over at 90,000: what comes after it is processed anew
    acks.processedTo(95_000);
    acks.flush();
    expect(told).toEqual([100_000]); // 95,000 was told already in effect
    acks.processedTo(180_000);
    expect(told).toEqual([100_000, 180_000]);
  });

  it('tell a new connection from its first acknowledgement on, and keep what could not be told for later', () => {
    let open = false;
    const { acks, told } = recorder(() => open);
    acks.processedTo(100_000); // not admitted yet: nothing goes
    expect(told).toEqual([]);
    open = true;
    acks.flush();
    expect(told).toEqual([100_000]);
    acks.connected(); // another connection: nothing was told on it
    acks.processedTo(110_000); // 110,000 more than told on this connection: at once
    expect(told).toEqual([100_000, 110_000]);
    acks.stop();
  });
});
