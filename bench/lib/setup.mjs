// Building blocks shared by the measurements: start a relay and agents as pinned child processes,
// make test files, wait for bytes.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChild } from './procs.mjs';

/**
 * Placement on the two CPUs: the user's computer (agent and the program in its PTY, and the no-relay
 * baselines) on CPU 1; the far side (relay, and the clients that stand in for browsers) on CPU 0. For the
 * capacity and memory figures the relay has CPU 0 alone and the load generators take CPU 1.
 */
export const RELAY_CPU = 0;
export const AGENT_CPU = 1;
export const CLIENT_CPU = 0;
export const LOAD_CPU = 1;

const dirs = [];

/** A temporary directory removed by `removeTemp()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'ccremote-bench-'));
  dirs.push(dir);
  return dir;
}

export function removeTemp() {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A relay child process; `execArgv`: Node options to start it with (as a person would in NODE_OPTIONS). */
export function startRelay(options = {}, { execArgv = [] } = {}) {
  // BENCH_RELAY_OPTIONS (JSON) adds relay options (createRelay's), for experiments: the hub's go under `hub`, as
  // '{"hub":{"flowWindow":1048576}}'; an option the relay does not know is ignored.
  const extra = JSON.parse(process.env.BENCH_RELAY_OPTIONS ?? '{}');
  return startChild('relay.mjs', { args: [JSON.stringify({ ...extra, ...options })], cpu: RELAY_CPU, execArgv: ['--expose-gc', ...execArgv, ...nodeFlags(), ...profileArgs('relay')] });
}

/** A private redis-server on a free port of 127.0.0.1, for a group of relays (`stop()` kills it). */
export async function startRedis() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise((resolve, reject) => {
    let said = '';
    child.on('error', reject);
    child.stdout.on('data', (chunk) => {
      said += chunk;
      if (said.includes('Ready to accept connections')) resolve();
    });
  });
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

/** The link `link`, through another relay of the group (at `relayUrl`). */
export const through = (link, relayUrl) => link.replace(/^https?:\/\/[^/]+/, relayUrl);

let profiled = 0;

/**
 * With BENCH_PROFILE=DIR, each child writes CPU profiles into a folder of its own there (`agent-…`,
 * `relay-…`), one file per thread (Node names them by process and thread: an agent's screen mirrors are
 * threads of it). Open them in Chrome DevTools.
 */
function profileArgs(name) {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', join(dir, `${name}-${Date.now()}-${++profiled}`)] : [];
}

/** BENCH_NODE_FLAGS: Node or V8 flags for the relays and agents (space-separated), for experiments. */
const nodeFlags = () => (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** An agent child process running `command args` against `relayUrl`. */
export function startAgent(relayUrl, command, args, extra = {}) {
  const home = tempDir();
  const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', ...(extra.env ?? {}) };
  return startChild('agent.mjs', {
    args: [JSON.stringify({ relayUrl, command, args, cwd: home, env, ...extra, env })],
    cpu: AGENT_CPU,
    execArgv: ['--expose-gc', ...nodeFlags(), ...profileArgs('agent')],
  });
}

/**
 * A file of `bytes` bytes of terminal-like text (base64 lines of `width` characters, some with colours), its
 * lines ended in CR LF as a terminal carries them (the PTY's output processing turns a program's LF into CR
 * LF; the benchmarks cat these files with `stty raw`, so the bytes stay exact); returns path and SHA-256.
 */
export function textFile(bytes, { colour = false, width = 76 } = {}) {
  const random = randomBytes(Math.ceil((Math.ceil(bytes / width) * width * 3) / 4) + width).toString('base64');
  const lines = [];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const body = random.slice(i * width, i * width + width);
    const line = colour ? `\x1b[3${i % 8}m${String(i).padStart(7)}\x1b[0m ${body}\r\n` : `${body}\r\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
    i++;
  }
  return fileOf(Buffer.from(lines.join('')).subarray(0, bytes), `text-${width}`);
}

/** A file of the first `bytes` bytes `seq 1 N` prints on a terminal (numbers, one per line, in CR LF); returns path and SHA-256. */
export function seqFile(bytes) {
  let data = Buffer.alloc(0);
  for (let n = Math.ceil(bytes / 8) + 10; data.length < bytes; n *= 2) data = Buffer.from(spawnSync('seq', ['1', String(n)], { maxBuffer: Infinity }).stdout.toString('latin1').replaceAll('\n', '\r\n'), 'latin1');
  return fileOf(data.subarray(0, bytes), 'seq');
}

function fileOf(data, name) {
  const path = join(tempDir(), `${name}-${data.length}.txt`);
  writeFileSync(path, data);
  return { path, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

/** Resolves when `check()` is true, checking whenever `poke` is called; rejects after `ms`. */
export function waiter(ms, what) {
  let resolve;
  let reject;
  let check = () => false;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  return {
    promise,
    until(fn) {
      check = fn;
      this.poke();
      return promise;
    },
    poke() {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    },
    fail(error) {
      clearTimeout(timer);
      reject(error);
    },
  };
}

/** Stops every handle given, in reverse order, ignoring failures. */
export async function stopAll(...handles) {
  for (const handle of handles.reverse()) {
    try {
      if (typeof handle === 'function') await handle();
      else await handle?.stop?.();
    } catch {
      // keep stopping the others
    }
  }
}
