// A command in a pseudo-terminal on Windows: node-pty's ConPTY terminal, through its public interface.

import { createRequire } from 'node:module';
import { isAlive } from './lock-file.js';
import type { PtyExit, PtyHandle, PtyOptions } from './pty-handle.js';

const require = createRequire(import.meta.url);

/** Starts `options.command` in a new ConPTY; `onData` gets its output, `onExit` its exit. */
export function startWindowsPty(options: PtyOptions, onData: (data: Uint8Array) => void, onExit: (exit: PtyExit) => void): PtyHandle {
  // Loaded when first used: other platforms never load it (pty-unix.ts uses its native part only).
  const pty = require('@lydell/node-pty') as typeof import('@lydell/node-pty');
  const term = pty.spawn(options.command, options.args, {
    name: 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
    cwd: options.cwd,
    env: options.env as Record<string, string>,
    encoding: null,
  });
  let exited = false;
  let watch: NodeJS.Timeout | undefined;
  // With `encoding: null` node-pty hands out Buffers; its typings still say string.
  term.onData((data) => onData(data as unknown as Buffer));
  term.onExit(({ exitCode, signal }) => {
    exited = true;
    clearInterval(watch);
    onExit({ exitCode, signal: signal ? signal : undefined });
  });
  return {
    pid: term.pid,
    write(data) {
      // Bytes go to the terminal as they are; the typings only mention strings.
      if (!exited) term.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as string);
    },
    resize(cols, rows) {
      if (!exited) term.resize(cols, rows);
    },
    setReading(on) {
      if (exited) return;
      clearInterval(watch);
      watch = undefined;
      if (on) return term.resume();
      term.pause();
      // node-pty discards unread output shortly after the command exits. While paused, check every 50 ms
      // whether it still runs, and read again as soon as it does not, so its last output is kept.
      watch = setInterval(() => {
        if (isAlive(term.pid)) return;
        clearInterval(watch);
        watch = undefined;
        term.resume();
      }, 50);
    },
    kill(signal) {
      try {
        term.kill(signal);
      } catch {
        // Already gone.
      }
    },
  };
}
