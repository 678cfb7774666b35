// M3: output throughput, every byte checked by hash, on two streams: the output of `seq` and lines of 100
// characters. For one client, beside the same stream read straight from the PTY (node-pty), piped over a bare
// WebSocket, and served by the peer ttyd (bench/lib/ttyd.mjs) when there is one, all in the same round; then
// 4 and 16 clients on the lines. M4: the relay's CPU time per MiB forwarded; the agent's per MiB (its screen
// mirrors included) beside ttyd's whole server.

import { checkAndClose, openReader } from '../lib/reader.mjs';
import { cpuBusy, cpuTimes, startChild } from '../lib/procs.mjs';
import { AGENT_CPU, CLIENT_CPU, seqFile, startAgent, startRelay, stopAll, textFile, waiter } from '../lib/setup.mjs';
import { findTtyd, openTtyd, startTtyd } from '../lib/ttyd.mjs';
import { createHash } from 'node:crypto';

const MiB = 1 << 20;
/**
 * Prints the warm-up file once a byte arrives, then the measured file once another does, then stays. The
 * warm-up (WARM_UP_MIB of the same kind of output) lets the engine compile the agent's hot paths before the
 * clock runs, as M1's warm-up keys do: a fresh agent spends about a third more CPU per MiB over its first
 * 64 MiB than over 256 (the engine compiling, the mirror's thread starting).
 */
const catOnKeys = (warm, file) => ['-c', `stty raw -echo; head -c1 >/dev/null; cat ${warm.path}; head -c1 >/dev/null; cat ${file.path}; exec sleep 3600`];
const WARM_UP_MIB = 16;

/**
 * The PTY read directly, and the PTY piped over a bare WebSocket: MiB/s each; and the CPU per MiB of reading
 * it directly with node-pty (and hashing it): the least any agent written in Node pays.
 */
async function baselines(file) {
  const pty = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const sink = await startChild('ws-sink.mjs', { cpu: CLIENT_CPU });
  const args = ['-c', `stty raw -echo; cat ${file.path}; exec sleep 3600`];
  // The same warm-up as the agent's, in the same process, before the measured read.
  await pty.request('read', { command: '/bin/sh', args: ['-c', `stty raw -echo; cat ${file.warmUp.path}; exec sleep 3600`], bytes: file.warmUp.bytes });
  const read = await pty.request('read', { command: '/bin/sh', args, bytes: file.bytes });
  if (read.sha256 !== file.sha256) throw new Error('baseline PTY output does not match the file');
  const piped = await pty.request('pipe', { command: '/bin/sh', args, bytes: file.bytes, sink: sink.info.url });
  await stopAll(pty, sink);
  return {
    read: file.bytes / MiB / (read.ms / 1000),
    pipe: file.bytes / MiB / (piped.ms / 1000),
    readCpuMsPerMiB: (read.userMicros + read.systemMicros) / 1000 / (file.bytes / MiB),
  };
}

export async function throughRelay(file, clients) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', catOnKeys(file.warmUp, file));
  const w = waiter(120_000, `${clients} clients to receive ${file.bytes} bytes`);
  const warmed = waiter(120_000, `${clients} clients to receive the ${file.warmUp.bytes} bytes of the warm-up`);
  const readers = [];
  for (let i = 0; i < clients; i++) readers.push(await openReader(agent.info.url, file, w, `client ${i} of ${clients}`, { warmUp: file.warmUp.bytes, warmed }));
  readers[0].session.sendData('\r');
  await warmed.until(() => readers.every((r) => r.warm >= file.warmUp.bytes));
  const [before, agentBefore] = await Promise.all([relay.request('stats'), agent.request('stats')]);
  const readersBefore = process.cpuUsage();
  const cpusBefore = cpuTimes();
  readers[0].session.sendData('\r');
  await w.until(() => readers.every((r) => r.bytes >= file.bytes));
  const cpus = cpuBusy(cpusBefore, cpuTimes());
  const readersCpu = process.cpuUsage(readersBefore);
  const [after, agentAfter] = await Promise.all([relay.request('stats'), agent.request('stats')]);
  const slowest = Math.max(...readers.map((r) => checkAndClose(r, file)));
  await stopAll(relay, agent);
  const relayCpuMs = (after.cpuMicros - before.cpuMicros) / 1000;
  return {
    mibPerSecond: file.bytes / MiB / slowest,
    relayCpuMsPerMiB: relayCpuMs / (file.bytes / MiB),
    relayCpuMsPerMiBDelivered: relayCpuMs / ((file.bytes * clients) / MiB),
    agentCpuMsPerMiB: (agentAfter.cpuMicros - agentBefore.cpuMicros) / 1000 / (file.bytes / MiB),
    // Fresh pages the agent touched (a page fault each), per MiB.
    agentFaultsPerMiB: (agentAfter.minorFaults - agentBefore.minorFaults) / (file.bytes / MiB),
    // The agent's CPU by thread (main, the mirrors' worker, V8's helpers), from the kernel's 10 ms ticks.
    agentThreadsMsPerMiB: Object.fromEntries(
      Object.entries(agentAfter.threadCpuMs).map(([name, ms]) => [name, (ms - (agentBefore.threadCpuMs[name] ?? 0)) / (file.bytes / MiB)]),
    ),
    // The readers stand in for browsers in this process, on the relay's CPU: their CPU per MiB of the stream.
    readersCpuMsPerMiB: (readersCpu.user + readersCpu.system) / 1000 / (file.bytes / MiB),
    // How busy each CPU was while the file went through (the agent's is AGENT_CPU): which side held the stream back.
    cpuBusy: cpus,
  };
}

/** One client of ttyd serving the same command: MiB/s, and ttyd's CPU per MiB. */
async function throughTtyd(ttyd, file) {
  const server = await startTtyd(ttyd, '/bin/sh', ['-c', `stty raw -echo; printf '\\001'; head -c1 >/dev/null; cat ${file.path}; exec sleep 3600`]);
  const w = waiter(120_000, `the ttyd client to receive ${file.bytes} bytes`);
  const hash = createHash('sha256');
  let bytes = 0;
  let first;
  let last;
  // The command says it is ready with one byte (0x01) before it waits for the key; what comes before is not the file's.
  let ready;
  const started = new Promise((resolve) => (ready = resolve));
  let armed = false;
  const client = await openTtyd(server.url, (chunk) => {
    let data = chunk;
    if (!armed) {
      const at = data.indexOf(1);
      if (at < 0) return;
      armed = true;
      ready();
      data = data.subarray(at + 1);
      if (data.length === 0) return;
    }
    first ??= process.hrtime.bigint();
    bytes += data.length;
    hash.update(data);
    if (bytes >= file.bytes) {
      last = process.hrtime.bigint();
      w.poke();
    }
  });
  await started;
  const cpuBefore = server.cpuMicros();
  const cpusBefore = cpuTimes();
  client.send('\r');
  await w.until(() => bytes >= file.bytes);
  const cpus = cpuBusy(cpusBefore, cpuTimes());
  const cpuMs = (server.cpuMicros() - cpuBefore) / 1000;
  client.close();
  await server.stop();
  if (bytes !== file.bytes || hash.digest('hex') !== file.sha256) throw new Error('the ttyd client received different bytes');
  return { mibPerSecond: file.bytes / MiB / (Number(last - first) / 1e9), cpuMsPerMiB: cpuMs / (file.bytes / MiB), cpuBusy: cpus };
}

/** One round on `file`: raw PTY, bare pipe, ttyd and ccremote to one client. */
async function round(file, ttyd) {
  const base = await baselines(file);
  const peer = ttyd.path ? await throughTtyd(ttyd, file) : undefined;
  const one = await throughRelay(file, 1);
  return { base, peer, one };
}

export async function run({ mib = 64 } = {}) {
  const ttyd = findTtyd();
  const lines = { ...textFile(mib * MiB, { width: 100 }), warmUp: textFile(WARM_UP_MIB * MiB, { width: 100 }) };
  const seq = { ...seqFile(mib * MiB), warmUp: seqFile(WARM_UP_MIB * MiB) };
  const onSeq = await round(seq, ttyd);
  const onLines = await round(lines, ttyd);
  const four = await throughRelay(lines, 4);
  const sixteen = await throughRelay(lines, 16);
  const raw = onLines.base.read;
  const one = onLines.one;
  return {
    ttyd: ttyd.version ?? ttyd.missing,
    ptyMiBps: raw,
    pipeMiBps: onLines.base.pipe,
    ratioToPipe: one.mibPerSecond / onLines.base.pipe,
    clients1MiBps: one.mibPerSecond,
    clients4MiBps: four.mibPerSecond,
    clients16MiBps: sixteen.mibPerSecond,
    ratio1: one.mibPerSecond / raw,
    ratio16: sixteen.mibPerSecond / raw,
    ttydMiBps: onLines.peer?.mibPerSecond,
    ttydRatio: onLines.peer && onLines.peer.mibPerSecond / raw,
    seqPtyMiBps: onSeq.base.read,
    seqMiBps: onSeq.one.mibPerSecond,
    seqRatio: onSeq.one.mibPerSecond / onSeq.base.read,
    seqTtydMiBps: onSeq.peer?.mibPerSecond,
    seqTtydRatio: onSeq.peer && onSeq.peer.mibPerSecond / onSeq.base.read,
    relayCpuMsPerMiB: one.relayCpuMsPerMiB,
    relayCpuMsPerMiB16: sixteen.relayCpuMsPerMiBDelivered,
    readersCpuMsPerMiB16: sixteen.readersCpuMsPerMiB,
    relayCpuMsPerMiBOfStream16: sixteen.relayCpuMsPerMiB,
    agentCpuMsPerMiB: (one.agentCpuMsPerMiB + onSeq.one.agentCpuMsPerMiB) / 2,
    // Where it goes (in the results file, for analysis): by thread, and the page faults, per stream.
    agentThreadsMsPerMiB: { lines: one.agentThreadsMsPerMiB, seq: onSeq.one.agentThreadsMsPerMiB },
    agentFaultsPerMiB: { lines: one.agentFaultsPerMiB, seq: onSeq.one.agentFaultsPerMiB },
    // Each CPU's busy fraction while one client read, ccremote's and ttyd's, per stream.
    cpuBusy: { lines: { ccremote: one.cpuBusy, ttyd: onLines.peer?.cpuBusy }, seq: { ccremote: onSeq.one.cpuBusy, ttyd: onSeq.peer?.cpuBusy } },
    ptyReadCpuMsPerMiB: (onLines.base.readCpuMsPerMiB + onSeq.base.readCpuMsPerMiB) / 2,
    ttydCpuMsPerMiB: onLines.peer && onSeq.peer ? (onLines.peer.cpuMsPerMiB + onSeq.peer.cpuMsPerMiB) / 2 : undefined,
    mib,
  };
}
