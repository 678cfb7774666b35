// M3: output throughput to 1, 4 and 16 clients, every byte checked by hash; baseline: the same command's
// output read straight from the PTY with node-pty. M4: the relay's CPU time per MiB forwarded.

import { checkAndClose, openReader } from '../lib/reader.mjs';
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
  for (let i = 0; i < clients; i++) readers.push(await openReader(agent.info.url, file, w, `client ${i} of ${clients}`));
  const before = await relay.request('stats');
  readers[0].session.sendData('\r');
  await w.until(() => readers.every((r) => r.bytes >= file.bytes));
  const after = await relay.request('stats');
  const slowest = Math.max(...readers.map((r) => checkAndClose(r, file)));
  await stopAll(relay, agent);
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
