// M10: through two relays of a group (`--redis`): the browser on relay B, the agent on relay A, B forwarding
// the browser's connection to A; beside the same figures through A alone, in the same run. Keystroke round
// trip (closed loop, `stty raw -echo; cat`) and throughput to one client (every byte hash-checked).
// Needs redis-server on PATH (a private instance on a free port).

import { checkAndClose, openReader } from '../lib/reader.mjs';
import { keystrokeLatencies } from '../lib/keystrokes.mjs';
import { startAgent, startRedis, startRelay, stopAll, textFile, through, waiter } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';

const MiB = 1 << 20;

async function keystrokes(link, n) {
  return summary(await keystrokeLatencies(link, n));
}

async function throughput(link, file, trigger) {
  const w = waiter(120_000, `one client to receive ${file.bytes} bytes`);
  const reader = await openReader(link, file, w, 'the client');
  reader.session.sendData(trigger);
  await w.until(() => reader.bytes >= file.bytes);
  return file.bytes / MiB / checkAndClose(reader, file);
}

export async function run({ keys = 3000, mib = 64 } = {}) {
  const redis = await startRedis();
  try {
    const a = await startRelay({ redis: redis.url });
    const b = await startRelay({ redis: redis.url });
    const echo = await startAgent(a.info.url, '/bin/sh', ['-c', 'stty raw -echo; exec cat']);
    const one = await keystrokes(echo.info.url, keys);
    const two = await keystrokes(through(echo.info.url, b.info.url), keys);
    await stopAll(echo);
    const file = textFile(mib * MiB);
    // Each run its own agent: the file is sent once per `\r`.
    const streamer = () => startAgent(a.info.url, '/bin/sh', ['-c', `stty raw -echo; while head -c1 >/dev/null; do cat ${file.path}; done`]);
    const s1 = await streamer();
    const oneMiB = await throughput(s1.info.url, file, '\r');
    await stopAll(s1);
    const s2 = await streamer();
    const twoMiB = await throughput(through(s2.info.url, b.info.url), file, '\r');
    await stopAll(s2, a, b);
    return {
      oneRelayP50: one.p50,
      oneRelayP99: one.p99,
      twoRelaysP50: two.p50,
      twoRelaysP99: two.p99,
      hopAddsP50: two.p50 - one.p50,
      oneRelayMiBps: oneMiB,
      twoRelaysMiBps: twoMiB,
      keys,
      mib,
    };
  } finally {
    redis.stop();
  }
}
