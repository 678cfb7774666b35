// Writing what is typed into a Unix PTY without ever blocking the agent. The terminal takes a few KiB at a time
// (its input buffer), and a program that echoes what it reads (a shell, `cat`, Claude Code's prompt) cannot
// take more until its output is read, which only this same thread does. Node's stream over the terminal
// writes a master PTY with blocking writes (libuv cannot reopen one in non-blocking mode), so a paste of
// some 40 KB into such a program made the agent spin forever. Here each write goes straight to the
// descriptor (which does not block) for as much as the terminal takes now; the rest waits, in order, and is
// tried again shortly, while the event loop goes on reading the program's output.

import { writeSync } from 'node:fs';

/** How long to wait before trying again what the terminal did not take, in ms. */
const RETRY_MS = 2;

export class PtyWriter {
  /** What the terminal has not taken yet, in order. */
  private waiting: Uint8Array[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** `fd`: the terminal's descriptor (non-blocking, as node-pty opens it). */
  constructor(private readonly fd: number) {}

  /** Writes `data` after everything before it. */
  write(data: Uint8Array): void {
    if (this.waiting.length > 0) {
      this.waiting.push(data.slice());
      return;
    }
    const written = this.tryWrite(data);
    if (written === data.length) return;
    this.waiting.push(data.slice(written));
    this.schedule();
  }

  /** Forgets what waits (the program is gone). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting = [];
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, RETRY_MS);
  }

  private drain(): void {
    while (this.waiting.length > 0) {
      const chunk = this.waiting[0]!;
      const written = this.tryWrite(chunk);
      if (written < chunk.length) {
        this.waiting[0] = chunk.subarray(written);
        this.schedule();
        return;
      }
      this.waiting.shift();
    }
  }

  /** Writes what the terminal takes now; 0 when it takes nothing (EAGAIN) or is gone (its program exited). */
  private tryWrite(data: Uint8Array): number {
    let written = 0;
    try {
      while (written < data.length) written += writeSync(this.fd, data, written, data.length - written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') {
        // EIO and the like: the terminal is closing; what is left goes nowhere.
        this.waiting = [];
        return data.length;
      }
    }
    return written;
  }
}
