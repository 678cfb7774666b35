// Closed keystroke loops: one `x` at a time to a session running `stty raw -echo; cat`, timed from send to
// echo; the first `warmup` are kept apart. Milliseconds, in order. Through a relay (a link), or through any
// terminal a `connect` function opens; several loops take turns, so that paths are compared alike.

import { openClient } from './client.mjs';
import { turnOrder } from './turns.mjs';

/**
 * Keys typed before the clock runs, on every path alike. A fresh agent and relay take thousands of keys to
 * settle on two pinned cores: their engines compile the key's path on the same core as the loop (the
 * agent's CPU was fully busy over its first seconds of typing: its main thread, V8's compiler threads and
 * the screen mirror's thread), and p99 over each thousand keys fell from 4–6 ms to 0.5–0.9 ms by the
 * fifth thousand. M1 reports those first keys separately.
 */
export const WARMUP = 5000;

/** Keys typed on one loop before the next takes its turn (alternatingLoops). */
const TURN = 250;

/**
 * Closed loops on several terminals, each warmed up with `warmup` keys, then typed into in turns of a few
 * hundred keys (in turnOrder) until each had `n`: what drifts over a run (the machine's other load, the
 * collectors, how deeply an idle core sleeps) falls on every path alike, where loops run one after the
 * other differed by ±30 % between runs on a noisy machine. `connects[i](echoed)` opens a terminal whose
 * output calls `echoed()` when an `x` comes back, and resolves with `{ send(key), close() }` once it is
 * ready to type into. Per loop, in milliseconds and in order: `latencies` (the keys after the warm-up) and
 * `warmUp`.
 */
export async function alternatingLoops(connects, n, warmup = WARMUP) {
  const loops = [];
  for (const connect of connects) {
    const loop = { waiting: undefined, latencies: [], warmUp: [] };
    loop.terminal = await connect(() => loop.waiting?.());
    loops.push(loop);
  }
  const type = async (loop, count, into) => {
    for (let i = 0; i < count; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise((resolve) => {
        loop.waiting = resolve;
        loop.terminal.send('x');
      });
      into.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  };
  for (const loop of loops) await type(loop, warmup, loop.warmUp);
  for (let done = 0, round = 0; done < n; done += TURN, round++) {
    for (const loop of turnOrder(loops, round)) await type(loop, Math.min(TURN, n - done), loop.latencies);
  }
  for (const loop of loops) loop.terminal.close();
  return loops.map(({ latencies, warmUp }) => ({ latencies, warmUp }));
}

/** Opens the closed loop's terminal through the relay of `link`. */
export const throughRelay = (link) => async (echoed) => {
  const session = await openClient(link, { onOutput: (data) => data.includes(0x78) && echoed() });
  return { send: (key) => session.sendData(key), close: () => session.close() };
};

/** Closed loops through the relays of `links`, taking turns (alternatingLoops): the latencies after the warm-up, per link. */
export async function alternatingKeystrokes(links, n, warmup = WARMUP) {
  return (await alternatingLoops(links.map(throughRelay), n, warmup)).map((loop) => loop.latencies);
}
