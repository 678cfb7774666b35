// M10: through two relays of a group (`--redis`): the browser on relay B, the agent on relay A, B forwarding
// the browser's connection to A; beside the same figures through A alone, in the same run; and with a
// relay C that browsers reach at an address of its own (`--direct-url`), to which B sends the browser of
// C's agent instead of forwarding it. Keystroke round trip (closed loops, `stty raw -echo; cat`, each
// pair of paths taking turns) and throughput to one client (every byte hash-checked, after a warm-up as in
// M3).
// Needs redis-server on PATH (a private instance on a free port).

import { checkAndClose, openReader } from '../lib/reader.mjs';
import { alternatingKeystrokes } from '../lib/keystrokes.mjs';
import { startAgent, startRedis, startRelay, stopAll, textFile, through, waiter } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';

const MiB = 1 << 20;

/** MiB/s of `file` to one client on `link`, after the warm-up's output (see M3). */
async function throughput(link, file, warmUp) {
  const w = waiter(120_000, `one client to receive ${file.bytes} bytes`);
  const warmed = waiter(120_000, `one client to receive the ${warmUp.bytes} bytes of the warm-up`);
  const reader = await openReader(link, file, w, 'the client', { warmUp: warmUp.bytes, warmed });
  reader.session.sendData('\r');
  await warmed.until(() => reader.warm >= warmUp.bytes);
  reader.session.sendData('\r');
  await w.until(() => reader.bytes >= file.bytes);
  return file.bytes / MiB / checkAndClose(reader, file);
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
    const file = textFile(mib * MiB);
    const warmUp = textFile(16 * MiB);
    // Each run its own agent: the warm-up once a byte arrives, then the file once another does.
    const streamer = (relay = a) => startAgent(relay.info.url, '/bin/sh', ['-c', `stty raw -echo; head -c1 >/dev/null; cat ${warmUp.path}; head -c1 >/dev/null; cat ${file.path}; exec sleep 3600`]);
    const s1 = await streamer();
    const oneMiB = await throughput(s1.info.url, file, warmUp);
    await stopAll(s1);
    const s2 = await streamer();
    const twoMiB = await throughput(through(s2.info.url, b.info.url), file, warmUp);
    await stopAll(s2);
    const s3 = await streamer(c);
    const directMiB = await throughput(through(s3.info.url, b.info.url), file, warmUp);
    await stopAll(s3, a, b, c);
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
      oneRelayMiBps: oneMiB,
      twoRelaysMiBps: twoMiB,
      keys,
      mib,
    };
  } finally {
    redis.stop();
  }
}
