// A private Redis for tests: redis-server on a free port of 127.0.0.1, with nothing kept on disk, stopped
// (and restartable on the same port) by the test. Where redis-server is missing the tests that need it skip,
// except under CI where that is a failure.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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

/**
 * Ports are taken below the kernel's ephemeral range (where port 0 lands): a relay restarted on its old
 * port must never find a Redis there that took the port while it was free.
 */
const PORTS = { from: 20_000, count: 10_000 };

/** Starts a private redis-server; it is stopped at cleanup. */
export async function startRedis(): Promise<TestRedis> {
  let port = 0;
  let child: ChildProcess | undefined;
  /** Starts redis-server on `port`; false if it could not take the port. */
  const launch = async (): Promise<boolean> => {
    const output = new EventLog<string>();
    const running = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = running;
    running.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    running.once('exit', () => output.push('\n<exited>'));
    const said = await output.until((items) => (items.join('').includes('Ready to accept connections') || items.join('').includes('<exited>')) && items.join(''), 10_000, 'redis-server ready');
    return said.includes('Ready to accept connections');
  };
  for (let attempt = 0; ; attempt++) {
    port = PORTS.from + Math.floor(Math.random() * PORTS.count);
    if (await launch()) break;
    if (attempt >= 20) throw new Error('redis-server could not take a port');
  }
  const start = async (): Promise<void> => {
    if (!(await launch())) throw new Error(`redis-server could not take its port ${port} again`);
  };
  const stop = async (kill = false): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  atCleanup(() => stop(true));
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
