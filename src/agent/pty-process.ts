// The command the agent runs, in a real pseudo-terminal (node-pty, as @lydell/node-pty: the same code with
// prebuilt binaries, so installing needs no compiler). Output comes out as raw bytes, never decoded, so
// multi-byte UTF-8 split across reads stays intact for the terminals downstream.

import { accessSync, closeSync, constants, openSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import pty from '@lydell/node-pty';

/** How to start the command. */
export interface PtyOptions {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  cols: number;
  rows: number;
}

/** How the command ended: its exit code, or the signal that killed it. */
export interface PtyExit {
  exitCode: number;
  signal: number | undefined;
}

/** A running command in a PTY. */
export class PtyProcess {
  private readonly pty: pty.IPty;
  private exited = false;
  /** Our own descriptor of the terminal's child side; see the constructor. */
  private childSide: number | undefined;
  private exitWatch: ReturnType<typeof setInterval> | undefined;
  /** Resolves once the command has exited and its output is drained. */
  readonly exit: Promise<PtyExit>;

  constructor(options: PtyOptions, onData: (data: Buffer) => void) {
    this.pty = pty.spawn(options.command, options.args, {
      name: 'xterm-256color',
      cols: options.cols,
      rows: options.rows,
      cwd: options.cwd,
      env: { ...options.env, TERM: 'xterm-256color', COLORTERM: options.env.COLORTERM ?? 'truecolor' } as Record<string, string>,
      encoding: null,
    });
    // On Linux the last output of a command that exits right after writing it is lost when the
    // terminal's child side closes with unread data (node-pty issues #85, #726). Holding the child side
    // open ourselves keeps that data readable until node-pty has read it; we close it after the exit.
    const childPath = (this.pty as unknown as { _pty?: unknown })._pty;
    if (typeof childPath === 'string' && process.platform !== 'win32') {
      try {
        this.childSide = openSync(childPath, constants.O_RDWR | constants.O_NOCTTY);
      } catch {
        // The command already exited; nothing to protect.
      }
    }
    // With `encoding: null` node-pty hands out Buffers; its typings still say string.
    this.pty.onData((data) => onData(data as unknown as Buffer));
    this.exit = new Promise((resolveExit) => {
      this.pty.onExit(({ exitCode, signal }) => {
        this.exited = true;
        clearInterval(this.exitWatch);
        if (this.childSide !== undefined) closeSync(this.childSide);
        this.childSide = undefined;
        resolveExit({ exitCode, signal: signal ? signal : undefined });
      });
    });
  }

  get pid(): number {
    return this.pty.pid;
  }

  get running(): boolean {
    return !this.exited;
  }

  write(data: Uint8Array): void {
    // Bytes go to the terminal's socket as they are; the typings only mention strings.
    if (!this.exited) this.pty.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as string);
  }

  resize(cols: number, rows: number): void {
    if (!this.exited) this.pty.resize(cols, rows);
  }

  /** Stops or restarts reading the command's output; while stopped, the command blocks when it writes. */
  pauseOutput(paused: boolean): void {
    if (this.exited) return;
    clearInterval(this.exitWatch);
    this.exitWatch = undefined;
    if (!paused) {
      this.pty.resume();
      return;
    }
    this.pty.pause();
    // node-pty discards unread output 200 ms after the command exits. While paused, check every 50 ms
    // whether it still runs, and read again as soon as it does not, so its last output is kept.
    this.exitWatch = setInterval(() => {
      if (isRunning(this.pty.pid)) return;
      clearInterval(this.exitWatch);
      this.exitWatch = undefined;
      this.pty.resume();
    }, 50);
  }

  /** Asks the command to end (SIGHUP, as when a terminal closes), then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<PtyExit> {
    if (!this.exited) {
      this.signal('SIGHUP');
      const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
      await this.exit;
      clearTimeout(timer);
    }
    return this.exit;
  }

  private signal(name: string): void {
    try {
      this.pty.kill(name);
    } catch {
      // Already gone.
    }
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

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
