// The command the agent runs, in a real pseudo-terminal (node-pty, as @lydell/node-pty: the same code with
// prebuilt binaries, so installing needs no compiler; pty-unix.ts and pty-windows.ts start it). Output comes
// out as raw bytes, never decoded, so multi-byte UTF-8 split across reads stays intact for the terminals
// downstream.

import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { PtyExit, PtyHandle, PtyOptions } from './pty-handle.js';
import { startUnixPty } from './pty-unix.js';
import { startWindowsPty } from './pty-windows.js';

export type { PtyExit, PtyOptions } from './pty-handle.js';

/** A running command in a PTY. */
export class PtyProcess {
  private readonly pty: PtyHandle;
  private exited = false;
  /** Resolves once the command has exited and its output is drained. */
  readonly exit: Promise<PtyExit>;

  /** `onData` gets the output as it is read: a view that is valid only during the call (copy what is kept). */
  constructor(options: PtyOptions, onData: (data: Uint8Array) => void) {
    const start = process.platform === 'win32' ? startWindowsPty : startUnixPty;
    let exited!: (exit: PtyExit) => void;
    this.exit = new Promise((resolveExit) => (exited = resolveExit));
    const env = { ...options.env, TERM: 'xterm-256color', COLORTERM: options.env.COLORTERM ?? 'truecolor' };
    this.pty = start({ ...options, env }, onData, (exit) => {
      this.exited = true;
      exited(exit);
    });
  }

  get pid(): number {
    return this.pty.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  write(data: Uint8Array): void {
    this.pty.write(data);
  }

  resize(cols: number, rows: number): void {
    this.pty.resize(cols, rows);
  }

  /** Stops or restarts reading the command's output; while stopped, the command blocks when it writes. */
  pauseOutput(paused: boolean): void {
    this.pty.setReading(!paused);
  }

  /** Asks the command to end (SIGHUP, as when a terminal closes), then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<PtyExit> {
    if (!this.exited) {
      this.pty.kill('SIGHUP');
      const timer = setTimeout(() => this.pty.kill('SIGKILL'), graceMs);
      await this.exit;
      clearTimeout(timer);
    }
    return this.exit;
  }
}

/** Finds `command` as the shell would (PATH search unless it contains a slash); undefined if it is not an executable file. */
export function resolveCommand(command: string, cwd: string, path: string | undefined): string | undefined {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd, command)] : (path ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}
