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

/** Whether redis-server is here (always under CI). */
export const redisAvailable = available;

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

/** Every redis-server started here and still running: whatever a test left behind, none outlives the test process. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/**
 * redis-server under a watchdog: the shell prints its pid, then waits for it; a subshell kills it once the
 * shell's standard input closes, which happens when this process ends however it ends (a test process
 * killed by a signal runs no exit handler). The watchdog's exit is redis-server's.
 */
const WATCHED = 'exec 3<&0; redis-server "$@" & r=$!; echo "pid $r"; (read _ <&3; kill -9 $r 2>/dev/null) & wait $r';

/** Starts a private redis-server; it is stopped at cleanup. */
export async function startRedis(): Promise<TestRedis> {
  let port = 0;
  /** The watchdog shell, and the redis-server under it. */
  let child: ChildProcess | undefined;
  let serverPid = 0;
  /** Starts redis-server on `port`; false if it could not take the port. */
  const launch = async (): Promise<boolean> => {
    const output = new EventLog<string>();
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const running = spawn('sh', ['-c', WATCHED, 'sh', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = running;
    running.once('exit', () => running.stdin!.destroy());
    running.once('exit', () => alive.delete(running));
    alive.add(running);
    running.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    running.once('exit', () => output.push('\n<exited>'));
    const said = await output.until((items) => (items.join('').includes('Ready to accept connections') || items.join('').includes('<exited>')) && items.join(''), 10_000, 'redis-server ready');
    serverPid = Number(/^pid (\d+)$/m.exec(said)?.[1]);
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
    process.kill(serverPid, kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  atCleanup(() => stop(true));
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}
