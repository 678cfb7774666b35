// A closed keystroke loop through a relay: one `x` at a time to a session running `stty raw -echo; cat`,
// timed from send to echo; the first `warmup` are not counted. Milliseconds, in order.

import { openClient } from './client.mjs';

export const WARMUP = 500;

export async function keystrokeLatencies(link, n, warmup = WARMUP) {
  let waiting;
  const session = await openClient(link, { onOutput: (data) => data.includes(0x78) && waiting?.() });
  const latencies = [];
  for (let i = 0; i < n + warmup; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      waiting = resolve;
      session.sendData('x');
    });
    if (i >= warmup) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  session.close();
  return latencies;
}
