// Building blocks shared by the measurements: start a relay and agents as pinned child processes,
// make test files, wait for bytes.

import { createHash, randomBytes } from 'node:crypto';
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

/** A relay child process. */
export function startRelay(options = {}) {
  // BENCH_RELAY_OPTIONS (JSON) adds relay options, for experiments.
  const extra = JSON.parse(process.env.BENCH_RELAY_OPTIONS ?? '{}');
  return startChild('relay.mjs', { args: [JSON.stringify({ ...extra, ...options })], cpu: RELAY_CPU, execArgv: ['--expose-gc', ...profileArgs('relay')] });
}

/** With BENCH_PROFILE=DIR, children write CPU profiles there (open them in Chrome DevTools). */
function profileArgs(name) {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `${name}-${Date.now()}.cpuprofile`] : [];
}

/** An agent child process running `command args` against `relayUrl`. */
export function startAgent(relayUrl, command, args, extra = {}) {
  const home = tempDir();
  const env = { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8', ...(extra.env ?? {}) };
  return startChild('agent.mjs', {
    args: [JSON.stringify({ relayUrl, command, args, cwd: home, env, ...extra, env })],
    cpu: AGENT_CPU,
    execArgv: ['--expose-gc', ...profileArgs('agent')],
  });
}

/** A file of `bytes` bytes of terminal-like text (base64 lines, some with colours); returns path and SHA-256. */
export function textFile(bytes, { colour = false } = {}) {
  const dir = tempDir();
  const random = randomBytes(Math.ceil(bytes / 76) * 57 + 57).toString('base64');
  const lines = [];
  let size = 0;
  let i = 0;
  while (size < bytes) {
    const body = random.slice(i * 76, i * 76 + 76);
    const line = colour ? `\x1b[3${i % 8}m${String(i).padStart(7)}\x1b[0m ${body}\n` : `${body}\n`;
    lines.push(line);
    size += Buffer.byteLength(line);
    i++;
  }
  const data = Buffer.from(lines.join('')).subarray(0, bytes);
  const path = join(dir, `text-${bytes}.txt`);
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
