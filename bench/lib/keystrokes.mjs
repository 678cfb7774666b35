// A closed keystroke loop: one `x` at a time to a session running `stty raw -echo; cat`, timed from send to
// echo; the first `warmup` are not counted. Milliseconds, in order. Through a relay (a link), or through any
// terminal a `connect` function opens.

import { openClient } from './client.mjs';

/**
 * Keys typed before the clock runs, on every path alike. A fresh agent and relay take thousands of keys to
 * settle on two pinned cores: their engines compile the key's path on the same core as the loop (the
 * agent's CPU was fully busy over its first seconds of typing: its main thread, V8's compiler threads and
 * the screen mirror's thread), and p99 over each thousand keys fell from 4–6 ms to 0.5–0.9 ms by the
 * fifth thousand. M1 reports those first keys separately.
 */
export const WARMUP = 5000;

/**
 * `connect(echoed)` opens a terminal whose output calls `echoed()` when an `x` comes back, and resolves
 * with `{ send(key), close() }` once it is ready to type into.
 */
export async function closedLoop(connect, n, warmup = WARMUP) {
  let waiting;
  const terminal = await connect(() => waiting?.());
  const latencies = [];
  for (let i = 0; i < n + warmup; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      waiting = resolve;
      terminal.send('x');
    });
    if (i >= warmup) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  terminal.close();
  return latencies;
}

/** The closed loop through the relay of `link`. */
export function keystrokeLatencies(link, n, warmup = WARMUP) {
  return closedLoop(async (echoed) => {
    const session = await openClient(link, { onOutput: (data) => data.includes(0x78) && echoed() });
    return { send: (key) => session.sendData(key), close: () => session.close() };
  }, n, warmup);
}
