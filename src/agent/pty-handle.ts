// What the agent needs of a command running in a pseudo-terminal, whichever way the platform starts it
// (pty-unix.ts on Linux and macOS, pty-windows.ts on Windows); pty-process.ts builds on it.

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

/**
 * A started command: its output goes to the `onData` it was started with, its exit (once its output is read)
 * to `onExit`. Once the command has exited, writes, sizes and pauses are ignored.
 */
export interface PtyHandle {
  readonly pid: number;
  /** Bytes for the command, as typed. */
  write(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Stops or restarts reading output (while stopped, the command blocks when it writes). After the exit, what is left is read regardless. */
  setReading(on: boolean): void;
  /** Sends `signal` (a name such as 'SIGHUP') to the command; nothing if it is gone. */
  kill(signal: string): void;
}
