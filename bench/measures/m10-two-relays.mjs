// M10: through two relays of a group (`--redis`): the browser on relay B, the agent on relay A, B forwarding
// the browser's connection to A; beside the same figures through A alone, in the same run; and with a
// relay C that browsers reach at an address of its own (`--direct-url`), to which B sends the browser of
// C's agent instead of forwarding it. Keystroke round trip (closed loops, `stty raw -echo; cat`, each
// pair of paths taking turns) and throughput to one client (every byte hash-checked, after a warm-up as in
// M3; the four paths taking turns at a file of a quarter of `mib`, four times, the median of each).
// Needs redis-server on PATH (a private instance on a free port).

import { fileOnKeys, fileReader } from '../lib/reader.mjs';
import { alternatingKeystrokes } from '../lib/keystrokes.mjs';
import { startAgent, startRedis, startRelay, stopAll, textFile, through } from '../lib/setup.mjs';
import { median, summary } from '../lib/stats.mjs';
import { takeTurns } from '../lib/turns.mjs';

const MiB = 1 << 20;
/** Turns each path takes at the throughput file. */
const TURNS = 4;

/** MiB/s to one client on each of `links`, which take turns (takeTurns) at a file each, `turns` times: every turn's, per link. */
async function alternatingThroughput(links, file, warmUp, turns) {
  const readers = [];
  for (const [i, link] of links.entries()) readers.push(await fileReader(link, file, warmUp, `the client of path ${i + 1}`));
  try {
    for (const reader of readers) await reader.warm();
    return await takeTurns(readers.map((reader) => () => reader.turn()), turns);
  } finally {
    for (const reader of readers) reader.close();
  }
}

export async function run({ keys = 3000, mib = 64 } = {}) {
  const redis = await startRedis();
  try {
    const a = await startRelay({ redis: redis.url });
    // B's own address is recorded too: C accepts pages from it (relays behind one name share --public-url).
    const b = await startRelay({ redis: redis.url, directUrl: true });
    const c = await startRelay({ redis: redis.url, directUrl: true });
    // Each pair of paths types in turns, each into an agent of its own on the same relay: the route is all
    // that differs. A and B forwarding to A; C alone, and B sending the client to C.
    const echo = () => ['/bin/sh', ['-c', 'stty raw -echo; exec cat']];
    const [onA, viaB, onC, sentToC] = await Promise.all([a, a, c, c].map((relay) => startAgent(relay.info.url, ...echo())));
    const [oneLatencies, twoLatencies] = await alternatingKeystrokes([onA.info.url, through(viaB.info.url, b.info.url)], keys);
    const [oneCLatencies, directLatencies] = await alternatingKeystrokes([onC.info.url, through(sentToC.info.url, b.info.url)], keys);
    await stopAll(onA, viaB, onC, sentToC);
    const [one, two, oneC, direct] = [oneLatencies, twoLatencies, oneCLatencies, directLatencies].map(summary);
    // Throughput in turns too: each path a file of mib / TURNS at a time, after its own warm-up.
    const file = textFile((mib / TURNS) * MiB);
    const warmUp = textFile(16 * MiB);
    // Each path its own agent: the warm-up once a byte arrives, then the file whenever another does.
    const streamer = (relay) => startAgent(relay.info.url, '/bin/sh', fileOnKeys(warmUp, file));
    const streamers = await Promise.all([a, a, c, c].map((relay) => streamer(relay)));
    const [s1, s2, s3, s4] = streamers;
    const turns = await alternatingThroughput(
      [s1.info.url, through(s2.info.url, b.info.url), s3.info.url, through(s4.info.url, b.info.url)],
      file,
      warmUp,
      TURNS,
    );
    const [oneMiB, twoMiB, directBaseMiB, directMiB] = turns.map(median);
    await stopAll(...streamers, a, b, c);
    return {
      oneRelayP50: one.p50,
      oneRelayP99: one.p99,
      twoRelaysP50: two.p50,
      twoRelaysP99: two.p99,
      hopAddsP50: two.p50 - one.p50,
      directP50: direct.p50,
      directP99: direct.p99,
      directBaseP50: oneC.p50,
      directBaseP99: oneC.p99,
      directMiBps: directMiB,
      directBaseMiBps: directBaseMiB,
      oneRelayMiBps: oneMiB,
      twoRelaysMiBps: twoMiB,
      /** Each turn's MiB/s: A alone, B forwarding to A, C alone, B sending the client to C. */
      throughputTurns: turns,
      keys,
      mib,
    };
  } finally {
    redis.stop();
  }
}
