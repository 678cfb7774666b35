// A command in a pseudo-terminal on Linux and macOS: started by node-pty's native `fork` (as node-pty's
// own UnixTerminal starts it), its output read through one buffer of its own that every read reuses.
// node-pty's stream makes a fresh buffer for each read of at most 4 KiB and passes it through Node's
// stream machinery; reading into a reused buffer (the `onread` option of Node's sockets) costs the agent
// 1–2 ms less CPU per MiB of output (docs/benchmarks-history.md). The bytes handed to `onData` are therefore
// a view that the next read overwrites: whoever keeps them copies them before returning.

import { closeSync, constants, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { SocketConstructorOpts } from 'node:net';
import tty from 'node:tty';
import type { PtyExit, PtyHandle, PtyOptions } from './pty-handle.js';
import { PtyWriter } from './pty-writer.js';

/** node-pty's native binding, as its UnixTerminal calls it (the version is pinned in package.json). */
interface NativePty {
  fork(file: string, args: string[], env: string[], cwd: string, cols: number, rows: number, uid: number, gid: number, utf8: boolean, helperPath: string, onExit: (code: number, signal: number) => void): { fd: number; pid: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

const require = createRequire(import.meta.url);
// node-pty's own loader: it finds the prebuilt binary for this platform, or says why there is none.
const { requireBinary } = require('@lydell/node-pty/requireBinary.js') as { requireBinary(file: string): unknown };
let binding: NativePty | undefined;

function native(): NativePty {
  binding ??= requireBinary('pty.node') as NativePty;
  return binding;
}

/** On macOS the child is started through node-pty's spawn-helper (found from node-pty's own folder, as it finds it); Linux needs none. */
function helperPath(): string {
  if (process.platform !== 'darwin') return 'spawn-helper-unused';
  return createRequire(require.resolve('@lydell/node-pty')).resolve(`@lydell/node-pty-darwin-${process.arch}/spawn-helper`);
}

/**
 * Bytes one read may take. Linux's terminal hands out at most 4,095 bytes a read (its line discipline's
 * buffer), and the kernel refills that buffer from the program's output while the agent handles a read.
 * libuv reads again at once, up to 32 times, after a read that filled the buffer, and goes back to
 * waiting (`epoll_wait`) after one that did not: a buffer of exactly 4,095 bytes takes a flood in runs of
 * reads with one wait each, where a larger one waited once per read (docs/benchmarks-history.md, *Reads of
 * exactly the terminal's buffer*). Elsewhere (macOS hands out more) the buffer is larger.
 */
const READ_BUFFER_BYTES = process.platform === 'linux' ? 4095 : 64 * 1024;

/** How long output is still read after the command exited (what it wrote last, and what a process it left behind writes). */
const DRAIN_AFTER_EXIT_MS = 200;
/** At most this many reads take what the kernel still holds when reading ends (a process left behind may never stop writing). */
const LAST_READS = 64;

/** Where a Unix PTY stands: running, exited with output still to read, or done. */
type State = { kind: 'running' } | { kind: 'draining'; exit: PtyExit; timer: NodeJS.Timeout } | { kind: 'done' };

/** Starts `options.command` in a new PTY; `onData` gets each read (a view, valid during the call), `onExit` the exit once all output was read. */
export function startUnixPty(options: PtyOptions, onData: (data: Uint8Array) => void, onExit: (exit: PtyExit) => void): PtyHandle {
  const env = Object.entries({ ...options.env, PWD: options.cwd })
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `${name}=${value}`);
  let state: State = { kind: 'running' };
  let reader: tty.ReadStream | undefined;
  let readerClosed = false;
  let childSide: number | undefined;
  /** Whether output is to be read now (setReading; always after the exit). */
  let wanted = true;
  const buffer = new Uint8Array(READ_BUFFER_BYTES);

  /** Closes our descriptor of the terminal's child side (see below), if it is open. */
  const closeChildSide = (): void => {
    if (childSide !== undefined) closeSync(childSide);
    childSide = undefined;
  };

  const finish = (): void => {
    if (state.kind !== 'draining' || !readerClosed) return;
    clearTimeout(state.timer);
    closeChildSide();
    const { exit } = state;
    state = { kind: 'done' };
    onExit(exit);
  };

  // node-pty calls this from its thread that waits for the child, through the event loop.
  const exited = (exitCode: number, signal: number): void => {
    if (state.kind !== 'running') return;
    // What the command wrote before it exited is read now, whatever the pace asked: it will not write again.
    // The child side stays open meanwhile (below); reading ends DRAIN_AFTER_EXIT_MS later, as node-pty's own
    // terminal ends it, also when a process the command left behind holds the terminal open. What the
    // kernel still holds then (the event loop may have been busy) is read at once before the end.
    const timer = setTimeout(() => {
      readWhatWaits();
      closeChildSide();
      reader?.destroy();
    }, DRAIN_AFTER_EXIT_MS);
    state = { kind: 'draining', exit: { exitCode, signal: signal ? signal : undefined }, timer };
    writer.stop();
    wanted = true;
    reader?.resume();
    finish();
  };

  const term = native().fork(options.command, options.args, env, options.cwd, options.cols, options.rows, -1, -1, false, helperPath(), exited);
  // What is typed goes straight to the descriptor, never through the stream (pty-writer.ts).
  const writer = new PtyWriter(term.fd);
  const kill = (signal: string): void => {
    try {
      process.kill(term.pid, signal);
    } catch {
      // Already gone.
    }
  };

  /** Reads what the terminal holds right now, without waiting (its descriptor does not block). */
  const readWhatWaits = (): void => {
    try {
      for (let i = 0; i < LAST_READS; i++) {
        const length = readSync(term.fd, buffer);
        if (length <= 0) return;
        onData(buffer.subarray(0, length));
      }
    } catch {
      // EAGAIN: nothing more waits; EIO: every child side is closed.
    }
  };

  try {
    // On Linux the last output of a command that exits right after writing it is lost when the terminal's
    // child side closes with unread data (node-pty issues #85, #726). Holding the child side open ourselves
    // keeps that data readable until it is read; it is closed once reading ends (see `exited`).
    try {
      childSide = openSync(term.pty, constants.O_RDWR | constants.O_NOCTTY);
    } catch {
      // The command already exited; nothing to protect.
    }
    reader = new tty.ReadStream(term.fd, {
      onread: {
        buffer,
        // A full read (most of a flood's) is the buffer itself: no view to make for it.
        callback: (length: number) => {
          onData(length === buffer.length ? buffer : buffer.subarray(0, length));
        },
      },
      // Node's sockets take `onread` (a TTY's stream is one); the typings list it only for connecting ones.
    } as SocketConstructorOpts);
  } catch (error) {
    closeChildSide();
    closeSync(term.fd);
    kill('SIGKILL');
    throw error;
  }
  // The end of the output shows as EIO (every child side closed) or the end of the stream; either closes the reader.
  reader.on('error', () => undefined);
  reader.on('close', () => {
    readerClosed = true;
    finish();
  });
  // A resume schedules a read for the next tick, which starts reading again even if a pause came in
  // between (Node's sockets with `onread`); the pause asked for is put back as soon as that happens.
  reader.on('resume', () => {
    if (!wanted) reader?.pause();
  });
  reader.resume();

  return {
    pid: term.pid,
    write(data) {
      if (state.kind === 'running') writer.write(data);
    },
    resize(cols, rows) {
      if (state.kind === 'running') native().resize(term.fd, cols, rows);
    },
    setReading(on) {
      if (state.kind !== 'running') return;
      wanted = on;
      if (on) reader?.resume();
      else reader?.pause();
    },
    kill,
  };
}
