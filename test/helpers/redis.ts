// A private Redis for tests: redis-server on a free port of 127.0.0.1, with nothing kept on disk, stopped
// (and restartable on the same port) by the test. Where redis-server is missing the tests that need it skip,
// except under CI where that is a failure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe } from 'vitest';
import { atCleanup } from './system.js';
import { EventLog } from './wait.js';

const available = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
if (!available && process.env.CI) throw new Error('redis-server not found; CI must install it (apt-get install redis-server)');
if (!available) console.warn('redis-server not found: the relay group tests are skipped');

/** `describe` that skips when redis-server is missing (never under CI). */
export const describeRedis = available ? describe : describe.skip;

export interface TestRedis {
  url: string;
  port: number;
  /** Stops it (SIGKILL when `kill`), and starts it again on the same port. */
  stop(kill?: boolean): Promise<void>;
  start(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts a private redis-server; it is stopped at cleanup. */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const output = new EventLog<string>();
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    await output.until((items) => items.join('').includes('Ready to accept connections'), 10_000, 'redis-server ready');
  };
  const stop = async (kill = false): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  atCleanup(() => stop(true));
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
