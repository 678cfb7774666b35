// Runs the built `ccremote` command as a child process and reads what it prints.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventLog } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/ccremote.js', import.meta.url));

/** A running `ccremote` process. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** Parsed JSON lines from stdout (with --json). */
  events: EventLog<Record<string, unknown>>;
  stdout: () => Buffer;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Kills every process still running; call from afterEach. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * Starts `ccremote ARGS`: this checkout's, or the script `bin` (an installed package's), with the environment
 * `env` on top of this process's (or only `env` with `cleanEnv`).
 */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, { bin = BIN, cleanEnv = false }: { bin?: string; cleanEnv?: boolean } = {}): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], { env: cleanEnv ? env : { ...process.env, ...env } });
  running.add(child);
  const events = new EventLog<Record<string, unknown>>();
  const out: Buffer[] = [];
  let err = '';
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    partial += chunk.toString('utf8');
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a JSON line.
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, events, stdout: () => Buffer.concat(out), stderr: () => err, exited };
}
