// M3: output throughput to 1, 4 and 16 clients, every byte checked by hash; baseline: the same command's
// output read straight from the PTY with node-pty. M4: the relay's CPU time per MiB forwarded.

import { createHash } from 'node:crypto';
import { openClient } from '../lib/client.mjs';
import { startChild } from '../lib/procs.mjs';
import { AGENT_CPU, CLIENT_CPU, startAgent, startRelay, stopAll, textFile, waiter } from '../lib/setup.mjs';

const MiB = 1 << 20;

/** The PTY read directly, and the PTY piped over a bare WebSocket: MiB/s each. */
async function baselines(file) {
  const pty = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const sink = await startChild('ws-sink.mjs', { cpu: CLIENT_CPU });
  const args = ['-c', `stty raw -echo; cat ${file.path}; exec sleep 3600`];
  const read = await pty.request('read', { command: '/bin/sh', args, bytes: file.bytes });
  if (read.sha256 !== file.sha256) throw new Error('baseline PTY output does not match the file');
  const piped = await pty.request('pipe', { command: '/bin/sh', args, bytes: file.bytes, sink: sink.info.url });
  await stopAll(pty, sink);
  return { read: file.bytes / MiB / (read.ms / 1000), pipe: file.bytes / MiB / (piped.ms / 1000) };
}

async function throughRelay(file, clients) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', ['-c', `stty raw -echo; head -c1 >/dev/null; cat ${file.path}; exec sleep 3600`]);
  const w = waiter(120_000, `${clients} clients to receive ${file.bytes} bytes`);
  const readers = [];
  for (let i = 0; i < clients; i++) {
    const reader = { bytes: 0, first: 0n, last: 0n, hash: createHash('sha256'), lost: 0 };
    reader.session = await openClient(agent.info.url, {
      onGap: (missing) => {
        reader.lost += missing;
        w.fail(new Error(`client ${i} of ${clients} lost ${missing} bytes: it fell more than the agent's buffer behind`));
      },
      onOutput: (data) => {
        if (reader.bytes === 0) reader.first = process.hrtime.bigint();
        reader.bytes += data.length;
        reader.hash.update(data);
        if (reader.bytes >= file.bytes) {
          reader.last = process.hrtime.bigint();
          w.poke();
        }
      },
    });
    readers.push(reader);
  }
  const before = await relay.request('stats');
  readers[0].session.sendData('\r');
  await w.until(() => readers.every((r) => r.bytes >= file.bytes));
  const after = await relay.request('stats');
  for (const reader of readers) {
    if (reader.bytes !== file.bytes || reader.hash.digest('hex') !== file.sha256) throw new Error('a client received different bytes');
    reader.session.close();
  }
  await stopAll(relay, agent);
  const slowest = Math.max(...readers.map((r) => Number(r.last - r.first) / 1e9));
  const relayCpuMs = (after.cpuMicros - before.cpuMicros) / 1000;
  return { mibPerSecond: file.bytes / MiB / slowest, relayCpuMsPerMiB: relayCpuMs / (file.bytes / MiB), relayCpuMsPerMiBDelivered: relayCpuMs / ((file.bytes * clients) / MiB) };
}

export async function run({ mib = 64 } = {}) {
  const file = textFile(mib * MiB);
  const base = await baselines(file);
  const raw = base.read;
  const one = await throughRelay(file, 1);
  const four = await throughRelay(file, 4);
  const sixteen = await throughRelay(file, 16);
  return {
    ptyMiBps: raw,
    pipeMiBps: base.pipe,
    ratioToPipe: one.mibPerSecond / base.pipe,
    clients1MiBps: one.mibPerSecond,
    clients4MiBps: four.mibPerSecond,
    clients16MiBps: sixteen.mibPerSecond,
    ratio1: one.mibPerSecond / raw,
    relayCpuMsPerMiB: one.relayCpuMsPerMiB,
    relayCpuMsPerMiB16: sixteen.relayCpuMsPerMiBDelivered,
    mib,
  };
}
