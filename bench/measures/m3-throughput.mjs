// M3: output throughput, every byte checked by hash, on two streams: the output of `seq` and lines of 100
// characters. For one client, beside the same stream read straight from the PTY (node-pty) and served by the
// peer ttyd (bench/lib/ttyd.mjs) when there is one, the three taking turns at the file, and piped over a bare
// WebSocket, all in the same round; then 4 and 16 clients on the lines. M4: the relay's CPU time per MiB
// forwarded; the agent's per MiB (its screen mirrors included) beside ttyd's whole server.

import { checkAndClose, fileOnKeys, fileReader, openReader } from '../lib/reader.mjs';
import { cpuBusy, cpuTimes, startChild } from '../lib/procs.mjs';
import { median } from '../lib/stats.mjs';
import { takeTurns } from '../lib/turns.mjs';
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
/** `sh` arguments that print `file` in a raw-mode PTY, then stay. */
const catArgs = (file) => ['-c', `stty raw -echo; cat ${file.path}; exec sleep 3600`];

/** Turns each path of a round (raw PTY, ttyd, ccremote to one client) takes at the file (takeTurns). */
const TURNS = 3;

/** The average of each CPU's busy fraction over several turns (cpuBusy of each). */
const meanBusy = (turns) => turns[0].map((_, cpu) => turns.reduce((sum, one) => sum + one[cpu], 0) / turns.length);

/**
 * The PTY piped over a bare WebSocket, once before the turns: MiB/s. No ccremote code: the least any
 * WebSocket-based design pays.
 */
async function barePipe(file) {
  const pty = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const sink = await startChild('ws-sink.mjs', { cpu: CLIENT_CPU });
  try {
    const piped = await pty.request('pipe', { command: '/bin/sh', args: catArgs(file), bytes: file.bytes, sink: sink.info.url });
    return file.bytes / MiB / (piped.ms / 1000);
  } finally {
    await stopAll(pty, sink);
  }
}

/**
 * The PTY read directly with node-pty (and hashed), in a process of its own that reads the file from a fresh
 * PTY each turn, after the same warm-up as the agent's; and its CPU per MiB: the least any agent written in
 * Node pays.
 */
async function rawPath(file) {
  const pty = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const cat = (f) => ({ command: '/bin/sh', args: catArgs(f), bytes: f.bytes });
  await pty.request('read', cat(file.warmUp));
  let cpuMicros = 0;
  let turns = 0;
  return {
    async turn() {
      const read = await pty.request('read', cat(file));
      if (read.sha256 !== file.sha256) throw new Error('baseline PTY output does not match the file');
      cpuMicros += read.userMicros + read.systemMicros;
      turns++;
      return file.bytes / MiB / (read.ms / 1000);
    },
    figures: () => ({ readCpuMsPerMiB: cpuMicros / 1000 / ((turns * file.bytes) / MiB) }),
    stop: () => pty.stop(),
  };
}

/** ttyd serving the file to one client, a fresh command for each connection: each turn's MiB/s; ttyd's CPU per MiB. */
async function ttydPath(ttyd, file) {
  const server = await startTtyd(ttyd, '/bin/sh', ['-c', `stty raw -echo; printf '\\001'; head -c1 >/dev/null; cat ${file.path}; exec sleep 3600`]);
  let cpuMs = 0;
  const busy = [];
  return {
    async turn() {
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
      busy.push(cpuBusy(cpusBefore, cpuTimes()));
      cpuMs += (server.cpuMicros() - cpuBefore) / 1000;
      client.close();
      if (bytes !== file.bytes || hash.digest('hex') !== file.sha256) throw new Error('the ttyd client received different bytes');
      return file.bytes / MiB / (Number(last - first) / 1e9);
    },
    figures: () => ({ cpuMsPerMiB: cpuMs / ((busy.length * file.bytes) / MiB), cpuBusy: meanBusy(busy) }),
    stop: () => server.stop(),
  };
}

/**
 * ccremote to one client: a relay, and an agent that prints the warm-up on the first key and the file on
 * each further one. Each turn's MiB/s; relay's and agent's CPU per MiB (the agent's by thread, and the fresh
 * pages it touched), the reader's, and how busy each CPU was, over all turns.
 */
async function ccremotePath(file) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', fileOnKeys(file.warmUp, file));
  const reader = await fileReader(agent.info.url, file, file.warmUp, 'the client');
  await reader.warm();
  const total = { relayMicros: 0, agentMicros: 0, readerMicros: 0, faults: 0, threads: {} };
  const busy = [];
  return {
    async turn() {
      const [relayBefore, agentBefore] = await Promise.all([relay.request('stats'), agent.request('stats')]);
      const readerBefore = process.cpuUsage();
      const cpusBefore = cpuTimes();
      const rate = await reader.turn();
      busy.push(cpuBusy(cpusBefore, cpuTimes()));
      const readerCpu = process.cpuUsage(readerBefore);
      const [relayAfter, agentAfter] = await Promise.all([relay.request('stats'), agent.request('stats')]);
      total.relayMicros += relayAfter.cpuMicros - relayBefore.cpuMicros;
      total.agentMicros += agentAfter.cpuMicros - agentBefore.cpuMicros;
      total.readerMicros += readerCpu.user + readerCpu.system;
      total.faults += agentAfter.minorFaults - agentBefore.minorFaults;
      for (const [name, ms] of Object.entries(agentAfter.threadCpuMs)) total.threads[name] = (total.threads[name] ?? 0) + ms - (agentBefore.threadCpuMs[name] ?? 0);
      return rate;
    },
    figures: () => {
      const mib = (busy.length * file.bytes) / MiB;
      return {
        relayCpuMsPerMiB: total.relayMicros / 1000 / mib,
        agentCpuMsPerMiB: total.agentMicros / 1000 / mib,
        // Fresh pages the agent touched (a page fault each), per MiB.
        agentFaultsPerMiB: total.faults / mib,
        // The agent's CPU by thread (main, the mirrors' worker, V8's helpers), from the kernel's 10 ms ticks.
        agentThreadsMsPerMiB: Object.fromEntries(Object.entries(total.threads).map(([name, ms]) => [name, ms / mib])),
        readersCpuMsPerMiB: total.readerMicros / 1000 / mib,
        // How busy each CPU was while the file went through (the agent's is AGENT_CPU): which side held the stream back.
        cpuBusy: meanBusy(busy),
      };
    },
    stop: async () => {
      reader.close();
      await stopAll(relay, agent);
    },
  };
}

/** `clients` clients of one relay and agent reading the file at once (the slowest counts); the relay's CPU and the readers'. */
export async function throughRelay(file, clients) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', catOnKeys(file.warmUp, file));
  const w = waiter(120_000, `${clients} clients to receive ${file.bytes} bytes`);
  const warmed = waiter(120_000, `${clients} clients to receive the ${file.warmUp.bytes} bytes of the warm-up`);
  const readers = [];
  for (let i = 0; i < clients; i++) readers.push(await openReader(agent.info.url, file, w, `client ${i} of ${clients}`, { warmUp: file.warmUp.bytes, warmed }));
  readers[0].session.sendData('\r');
  await warmed.until(() => readers.every((r) => r.warm >= file.warmUp.bytes));
  const before = await relay.request('stats');
  const readersBefore = process.cpuUsage();
  readers[0].session.sendData('\r');
  await w.until(() => readers.every((r) => r.bytes >= file.bytes));
  const readersCpu = process.cpuUsage(readersBefore);
  const after = await relay.request('stats');
  const slowest = Math.max(...readers.map((r) => checkAndClose(r, file)));
  await stopAll(relay, agent);
  const relayCpuMs = (after.cpuMicros - before.cpuMicros) / 1000;
  return {
    mibPerSecond: file.bytes / MiB / slowest,
    relayCpuMsPerMiB: relayCpuMs / (file.bytes / MiB),
    relayCpuMsPerMiBDelivered: relayCpuMs / ((file.bytes * clients) / MiB),
    // The readers stand in for browsers in this process, on the relay's CPU: their CPU per MiB of the stream.
    readersCpuMsPerMiB: (readersCpu.user + readersCpu.system) / 1000 / (file.bytes / MiB),
  };
}

/**
 * One round on `file`: the bare pipe once, then the raw PTY, ttyd (when there is one) and ccremote, each to
 * one client, taking turns at the file (TURNS each, the order rotating); each path's figure is the median of
 * its turns. One after the other, the raw PTY alone read 62–104 MiB/s in six short runs on one machine.
 */
async function round(file, ttyd) {
  const pipe = await barePipe(file);
  const paths = { raw: await rawPath(file) };
  if (ttyd.path) paths.ttyd = await ttydPath(ttyd, file);
  paths.ccremote = await ccremotePath(file);
  const names = Object.keys(paths);
  const figures = await takeTurns(names.map((name) => () => paths[name].turn()), TURNS).finally(() => stopAll(...Object.values(paths)));
  const rates = Object.fromEntries(names.map((name, i) => [name, figures[i]]));
  return {
    base: { read: median(rates.raw), pipe, ...paths.raw.figures() },
    peer: paths.ttyd && { mibPerSecond: median(rates.ttyd), ...paths.ttyd.figures() },
    one: { mibPerSecond: median(rates.ccremote), ...paths.ccremote.figures() },
    turns: rates,
  };
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
    // Each turn's MiB/s, per stream and path (raw PTY, ttyd, ccremote).
    turns: { seq: onSeq.turns, lines: onLines.turns },
    mib,
  };
}
