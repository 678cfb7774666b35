// Child processes for the benchmark: each part (relay, agent, load generators) runs in its own
// process, optionally pinned to a CPU, and answers requests over Node's IPC channel.

import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

/** Pinning is on where taskset works, unless BENCH_PIN=0. */
export const pinning = process.env.BENCH_PIN !== '0' && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/** Path of a child script in bench/children/. */
export function childScript(name) {
  return fileURLToPath(new URL(`../children/${name}`, import.meta.url));
}

/**
 * Starts `node script args` (pinned to `cpu` when taskset exists) and waits for its first message,
 * which must be {type: 'ready', ...}. Returns the ready message and a `request` function.
 */
export async function startChild(name, { args = [], cpu, env = {}, execArgv = [] } = {}) {
  const argv = [...execArgv, childScript(name), ...args];
  const [command, ...rest] = cpu !== undefined && pinning ? ['taskset', '-c', String(cpu), process.execPath, ...argv] : [process.execPath, ...argv];
  const child = spawn(command, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env } });
  let nextId = 1;
  const pending = new Map();
  let onReady;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
  });
  child.on('message', (message) => {
    if (message.type === 'ready') return onReady(message);
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${name}: ${message.error}`));
    else waiter.resolve(message.result);
  });
  child.on('exit', () => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited`));
    pending.clear();
  });
  const info = await ready;
  return {
    info,
    pid: child.pid,
    request(command, params = {}) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, command, params });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A process's limit of open files (its soft limit), from /proc; undefined where /proc does not say. */
export function openFilesLimit(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    return soft === 'unlimited' ? Infinity : Number(soft) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Asks for `wanted` open files for a running process (`prlimit`, util-linux; raising the hard limit takes
 * root or CAP_SYS_RESOURCE) and returns the limit it has afterwards, raised or not.
 */
export function raiseOpenFiles(pid, wanted) {
  if ((openFilesLimit(pid) ?? 0) < wanted) spawnSync('prlimit', ['--pid', String(pid), `--nofile=${wanted}:${wanted}`], { stdio: 'ignore' });
  return openFilesLimit(pid);
}

/**
 * How late this process's event loop runs, sampled by a timer every 10 ms: only while a measurement asks
 * for it (`watchLoop`), since the timer's wake-ups are work the process would not do otherwise (every
 * millisecond, they added a third to the keystroke round trip's tail through a relay and an agent).
 */
const LOOP_SAMPLE_MS = 10;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
let watchingLoop = false;
/** Garbage-collection pauses since the last stats: how many, and the longest (ms) with its kind. */
let pauses = { count: 0, maxMs: 0, maxKind: '' };
const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weak callbacks' };

/** In a child: announce readiness and answer requests with `handlers[command](params)`. */
export function serve(handlers, readyInfo = {}) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      pauses.count++;
      if (entry.duration > pauses.maxMs) pauses = { ...pauses, maxMs: entry.duration, maxKind: GC_KINDS[entry.detail?.kind] ?? String(entry.detail?.kind) };
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (message) => {
    const handler = handlers[message.command] ?? builtIn[message.command];
    try {
      if (!handler) throw new Error(`unknown command ${message.command}`);
      process.send({ id: message.id, result: await handler(message.params ?? {}) });
    } catch (error) {
      process.send({ id: message.id, error: error?.stack ?? String(error) });
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', ...readyInfo });
}

const builtIn = {
  stats: processStats,
  /** Starts sampling the event loop's delay (reported by `stats` from then on). */
  watchLoop() {
    if (!watchingLoop) loopDelay.enable();
    watchingLoop = true;
    loopDelay.reset();
  },
};

/** CPU time (µs), resident and peak resident memory (bytes) of this process; `gc` first collects garbage. */
export function processStats({ gc = false } = {}) {
  if (gc) globalThis.gc?.();
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const cpu = process.cpuUsage();
  // The histogram holds the time between the timer's runs: its interval plus the delay.
  const late = (ns) => Math.max(0, ns / 1e6 - LOOP_SAMPLE_MS);
  const delay = watchingLoop ? { p50: late(loopDelay.percentile(50)), p99: late(loopDelay.percentile(99)), max: late(loopDelay.max) } : undefined;
  loopDelay.reset();
  const gcPauses = pauses;
  pauses = { count: 0, maxMs: 0, maxKind: '' };
  return {
    loopDelayMs: delay,
    gcPauses,
    memory: process.memoryUsage(), cpuMicros: cpu.user + cpu.system, userMicros: cpu.user, systemMicros: cpu.system, rss: kib('VmRSS'), peakRss: kib('VmHWM'), heapUsed: process.memoryUsage().heapUsed,
    threadCpuMs: threadCpu(),
    minorFaults: minorFaults() };
}

/** A /proc `stat` line: the name in its parentheses, and the fields after it (the state first). */
export function readStat(path) {
  const stat = readFileSync(path, 'utf8');
  return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') };
}

/** Page faults served without the disk (each a fresh page of memory, or one the kernel took back) so far (Linux; else 0). */
function minorFaults() {
  try {
    return Number(readStat('/proc/self/stat').fields[7]);
  } catch {
    return 0;
  }
}

/** CPU time of each of this process's threads (the main thread, workers, V8's helpers), in ms (Linux; else empty). */
function threadCpu() {
  const byName = {};
  let tasks = [];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return byName;
  }
  for (const task of tasks) {
    try {
      const stat = readStat(`/proc/self/task/${task}/stat`);
      // Node's threads all take the process's name: the main thread is told by its id, the others by name and id.
      const name = task === String(process.pid) ? 'main' : `${stat.name} ${task}`;
      const fields = stat.fields;
      // utime and stime, in clock ticks of 10 ms.
      byName[name] = (byName[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return byName;
}

/** Peak resident memory of another process, in bytes. */
export function peakRssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Resident memory of another process, in bytes. */
export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
}

/** Each CPU's busy and idle time so far (kernel ticks, from /proc/stat): `cpuBusy(before, after)` turns two into fractions. */
export function cpuTimes() {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const [, user, nice, system, idle, iowait, irq, softirq] = line.split(/\s+/).map(Number);
      return { busy: user + nice + system + irq + softirq, idle: idle + iowait };
    });
}

/** How busy each CPU was between two `cpuTimes()`: a fraction per CPU (stolen time apart). */
export function cpuBusy(before, after) {
  return after.map((cpu, i) => {
    const busy = cpu.busy - before[i].busy;
    const idle = cpu.idle - before[i].idle;
    return busy + idle === 0 ? 0 : busy / (busy + idle);
  });
}
