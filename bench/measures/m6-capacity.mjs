// M6: how many sessions one relay process carries, each typing 1 key per second and printing 1 KB
// per second, before the keystroke round trip's p99 passes 10 ms; then the same through two relays of a
// group (agents on relay A, clients on relay B, B forwarding each client to A), both relays sharing the
// CPU the single relay had; and one relay started as it advises on so few CPUs (NODE_OPTIONS=--v8-pool-size=0).
// Agents and clients are light protocol-speaking load generators in their own processes.

import { startChild } from '../lib/procs.mjs';
import { LOAD_CPU, startRedis, startRelay, stopAll, through } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many processes simulate the agents, and how many the browsers: one event loop for a thousand sessions stalls. */
const LOAD_PROCESSES = Number(process.env.BENCH_LOAD_PROCESSES ?? 3);

/**
 * The load generators' engine option: without the memory reducer, which takes a process this lightly loaded
 * for idle and collects its heap to give memory back, pausing it 5–16 ms with marking steps of up to 18 ms
 * (BENCHMARKS, M6): the keys they time would wait on them, not on the relay. The relays start as a person
 * starts them.
 */
const LOAD_NODE_FLAGS = ['--no-memory-reducer'];

/** `count` children of `script`, asked together; a request with `split` spreads that array over them. */
async function pool(script, count) {
  const children = [];
  for (let i = 0; i < count; i++) children.push(await startChild(script, { cpu: LOAD_CPU, execArgv: LOAD_NODE_FLAGS }));
  return {
    children,
    /** Asks every child; `spread` (an array field of `args`) is dealt out among them. */
    async request(command, args = {}, spread) {
      const parts = children.map((_, i) => (spread ? { ...args, [spread]: args[spread].filter((__, k) => k % count === i) } : args));
      return Promise.all(children.map((child, i) => child.request(command, parts[i])));
    },
  };
}

/** Adds sessions step by step until p99 passes `limitMs`: agents on `agentRelay`, clients on `clientRelay`. */
async function capacity(agentRelay, clientRelay, relays, { steps, windowMs, limitMs }) {
  const agents = await pool('fake-agents.mjs', LOAD_PROCESSES);
  const clients = await pool('typists.mjs', LOAD_PROCESSES);
  const table = [];
  let carried = 0;
  // The event loops' delays are part of the table (where a stall came from when p99 fails).
  await Promise.all([...relays.map((r) => r.request('watchLoop')), agents.request('watchLoop'), clients.request('watchLoop')]);
  try {
    let have = 0;
    for (const target of steps) {
      const added = target - have;
      const links = (await Promise.all(agents.children.map((child, i) => child.request('start', { relayUrl: agentRelay.info.url, count: Math.floor(added / LOAD_PROCESSES) + (i < added % LOAD_PROCESSES ? 1 : 0), outputBytesPerSecond: 1024 })))).flat();
      await clients.request('open', { links: links.map((link) => through(link, clientRelay.info.url)), keysPerSecond: 1 }, 'links');
      await sleep(2000); // let the new sessions' timers spread out
      if (have === 0) {
        // The load processes' first seconds of keys (their code still compiling, their heaps growing: event
        // loops stalled up to 47 ms) are not the relay's capacity: a first window is typed and thrown away.
        await clients.request('record');
        await sleep(windowMs);
        await clients.request('collect');
      }
      have = target;
      await Promise.all([...relays.map((r) => r.request('stats')), agents.request('stats'), clients.request('stats')]); // resets the loop-delay histograms
      if (process.env.BENCH_DEBUG) await agents.request('trace');
      await clients.request('record');
      await sleep(windowMs); // the measurement window: keys are typed at 1/s per session meanwhile
      const collected = await clients.request('collect');
      const stats = summary(collected.flatMap((one) => one.latencies));
      // What each session printed, as its browser received it: the load the step claims, measured.
      const outputKiBps = collected.reduce((sum, one) => sum + one.received / one.seconds, 0) / target / 1024;
      if (process.env.BENCH_DEBUG) {
        // The slowest keys, each split into its way to the agent and the echo's way back.
        const slow = (await clients.request('slowest')).flat().sort((a, b) => b.ms - a.ms).slice(0, 30);
        const arrived = new Map((await agents.request('arrived', { keys: slow.map((k) => k.key) })).flat().map((a) => [a.key, BigInt(a.at)]));
        const split = slow.map((k) => {
          const at = arrived.get(k.key);
          const there = at === undefined ? null : Number(at - BigInt(k.sent)) / 1e6;
          return { at: Math.round(k.at), ms: +k.ms.toFixed(1), there: there === null ? null : +there.toFixed(1), back: there === null ? null : +(k.ms - there).toFixed(1) };
        });
        console.error(`${target} sessions, slowest keys:`, JSON.stringify(split));
      }
      const [a, c, r] = await Promise.all([agents.request('stats'), clients.request('stats'), Promise.all(relays.map((p) => p.request('stats')))]);
      const worst = (list, field) => Math.max(...list.map((one) => one.loopDelayMs[field]));
      table.push({
        sessions: target,
        p50: stats.p50,
        p99: stats.p99,
        keys: stats.n,
        outputKiBps,
        relayRssMiB: r.reduce((sum, one) => sum + one.rss, 0) / (1 << 20),
        loopDelayP99Ms: { relay: worst(r, 'p99'), agents: worst(a, 'p99'), clients: worst(c, 'p99') },
        loopDelayMaxMs: { relay: worst(r, 'max'), agents: worst(a, 'max'), clients: worst(c, 'max') },
        relayGcPauseMaxMs: Math.max(...r.map((one) => one.gcPauses.maxMs)),
        relayGcPauseKind: r.reduce((worstOne, one) => (one.gcPauses.maxMs > worstOne.gcPauses.maxMs ? one : worstOne)).gcPauses.maxKind,
      });
      if (stats.p99 > limitMs) break;
      carried = target;
    }
  } finally {
    await clients.request('closeAll').catch(() => undefined);
    await agents.request('stopAll').catch(() => undefined);
    await stopAll(...agents.children, ...clients.children);
  }
  return { sessions: carried, steps: table, loadProcesses: LOAD_PROCESSES };
}

export async function run({ steps = [100, 250, 500, 1000, 1250, 1500, 2000, 2500, 3000], windowMs = 10_000, limitMs = 10 } = {}) {
  const options = { steps, windowMs, limitMs };
  const relay = await startRelay();
  const one = await capacity(relay, relay, [relay], options).finally(() => stopAll(relay));
  // The relay as it advises starting it where it may use fewer CPUs than V8's four helper threads (here one):
  // with one helper thread, which no longer takes turns with its event loop (cli/v8-pool.ts).
  const advisedRelay = await startRelay({}, { execArgv: ['--v8-pool-size=0'] });
  const asAdvised = await capacity(advisedRelay, advisedRelay, [advisedRelay], options).finally(() => stopAll(advisedRelay));
  const redis = await startRedis();
  try {
    const a = await startRelay({ redis: redis.url });
    const b = await startRelay({ redis: redis.url });
    const two = await capacity(a, b, [a, b], options).finally(() => stopAll(a, b));
    return { ...one, asAdvised, twoRelays: two };
  } finally {
    redis.stop();
  }
}
