// M6: how many sessions one relay process carries, each typing 1 key per second and printing 1 KB
// per second, before the keystroke round trip's p99 passes 10 ms. Agents and clients are light
// protocol-speaking load generators in their own processes.

import { startChild } from '../lib/procs.mjs';
import { LOAD_CPU, startRelay, stopAll } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function run({ steps = [250, 500, 1000, 1250, 1500, 2000, 2500, 3000], windowMs = 10_000, limitMs = 10 } = {}) {
  const relay = await startRelay();
  const agents = await startChild('fake-agents.mjs', { cpu: LOAD_CPU });
  const clients = await startChild('typists.mjs', { cpu: LOAD_CPU });
  const table = [];
  let carried = 0;
  try {
    let have = 0;
    for (const target of steps) {
      const links = await agents.request('start', { relayUrl: relay.info.url, count: target - have, outputBytesPerSecond: 1024 });
      await clients.request('open', { links, keysPerSecond: 1 });
      have = target;
      await sleep(2000); // let the new sessions' timers spread out
      await Promise.all([relay, agents, clients].map((p) => p.request('stats'))); // resets the loop-delay histograms
      await clients.request('record');
      await sleep(windowMs); // the measurement window: keys are typed at 1/s per session meanwhile
      const stats = summary(await clients.request('collect'));
      if (process.env.BENCH_DEBUG) console.error(JSON.stringify(await clients.request('slowest')));
      const [r, a, c] = await Promise.all([relay, agents, clients].map((p) => p.request('stats')));
      table.push({
        sessions: target,
        p50: stats.p50,
        p99: stats.p99,
        keys: stats.n,
        relayRssMiB: r.rss / (1 << 20),
        loopDelayP99Ms: { relay: r.loopDelayMs.p99, agents: a.loopDelayMs.p99, clients: c.loopDelayMs.p99 },
        loopDelayMaxMs: { relay: r.loopDelayMs.max, agents: a.loopDelayMs.max, clients: c.loopDelayMs.max },
      });
      if (stats.p99 > limitMs) break;
      carried = target;
    }
  } finally {
    await clients.request('closeAll').catch(() => undefined);
    await agents.request('stopAll').catch(() => undefined);
    await stopAll(relay, agents, clients);
  }
  return { sessions: carried, steps: table };
}
