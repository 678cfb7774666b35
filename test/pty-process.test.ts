// The agent's pseudo-terminal (pty-process.ts): every byte a command prints arrives, in order, though each
// read is handed out in a buffer the next read reuses; the exit comes once the output is read, even when a
// process the command left behind still holds the terminal open; output held back is not lost.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PtyProcess } from '../src/agent/pty-process.js';
import { EventLog, waitFor } from './helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'ccremote-pty-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `script` with sh in a raw-mode PTY; `reads` has a copy of every read, `text()` all of them. */
function run(script: string): { pty: PtyProcess; reads: EventLog<Uint8Array>; text: () => string } {
  const reads = new EventLog<Uint8Array>();
  const pty = new PtyProcess({ command: '/bin/sh', args: ['-c', `stty raw -echo; ${script}`], cwd: dir, env: { PATH: process.env.PATH }, cols: 80, rows: 24 }, (data) => reads.push(data.slice()));
  return { pty, reads, text: () => Buffer.concat(reads.items).toString('latin1') };
}

describe.skipIf(process.platform === 'win32')('PTY process', () => {
  it('hands out every byte of 8 MiB in order, each read in a buffer the next one reuses', async () => {
    const file = join(dir, 'bytes');
    const bytes = Buffer.alloc(8 << 20);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 12)) & 0xff;
    writeFileSync(file, bytes);
    const views = new Set<ArrayBufferLike>();
    const chunks: Uint8Array[] = [];
    const pty = new PtyProcess({ command: '/bin/sh', args: ['-c', `stty raw -echo; cat ${file}`], cwd: dir, env: { PATH: process.env.PATH }, cols: 80, rows: 24 }, (data) => {
      views.add(data.buffer);
      chunks.push(data.slice());
    });
    const exit = await pty.exit;
    expect(exit).toEqual({ exitCode: 0, signal: undefined });
    const received = Buffer.concat(chunks);
    expect(received.length).toBe(bytes.length);
    expect(createHash('sha256').update(received).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
    // Thousands of reads, one buffer.
    expect(chunks.length).toBeGreaterThan(100);
    expect(views.size).toBe(1);
  });

  it('reports the exit of a command whose background process keeps the terminal open, with the output before it', async () => {
    const { pty, text } = run('sleep 60 & echo "left $!"; exit 3');
    const exit = await pty.exit;
    expect(exit).toEqual({ exitCode: 3, signal: undefined });
    const left = /left (\d+)/.exec(text());
    expect(left).not.toBeNull();
    const sleeper = Number(left![1]);
    // The process it left behind still runs (and holds the terminal): the exit did not wait for it.
    expect(() => process.kill(sleeper, 0)).not.toThrow();
    process.kill(sleeper, 'SIGKILL');
  });

  it('reads nothing while paused, from the start, and delivers what was held back once the command exits', async () => {
    const marker = join(dir, 'printed');
    const { pty, reads, text } = run(`printf 'held back'; touch ${marker}; read x; printf ' and the last'`);
    // In the same tick as the start: nothing is read from here on until the command exits.
    pty.pauseOutput(true);
    await waitFor(() => existsSync(marker), 10_000, 'the command to print');
    // The command has printed and waits for a line: none of it was read.
    expect(reads.items).toHaveLength(0);
    pty.write(new TextEncoder().encode('\n'));
    expect(await pty.exit).toEqual({ exitCode: 0, signal: undefined });
    expect(text()).toBe('held back and the last');
  });

  it('loses nothing when reading stops and starts again and again while a command prints and exits', async () => {
    for (let round = 0; round < 3; round++) {
      const chunks: Uint8Array[] = [];
      let reads = 0;
      const pty: PtyProcess = new PtyProcess({ command: '/bin/sh', args: ['-c', 'seq 1 100000; exit 4'], cwd: dir, env: { PATH: process.env.PATH }, cols: 80, rows: 24 }, (data) => {
        chunks.push(data.slice());
        if (++reads % 7 === 0) {
          pty.pauseOutput(true);
          setTimeout(() => pty.pauseOutput(false), 2);
        }
      });
      expect(await pty.exit).toEqual({ exitCode: 4, signal: undefined });
      const numbers = Buffer.concat(chunks).toString('latin1').split('\r\n').filter(Boolean).map(Number);
      expect(numbers.length, `round ${round}`).toBe(100000);
      expect(numbers.every((n, i) => n === i + 1)).toBe(true);
    }
  });

  it('stops reading at once when paused from inside a read, in the middle of a flood', async () => {
    // A flood is read in runs of full reads with no wait between them (pty-unix.ts): a pause asked by the
    // reader of one read must still end the run before the next.
    const chunks: Uint8Array[] = [];
    let reads = 0;
    let paused = false;
    let readWhilePaused = 0;
    let pauses = 0;
    const pty: PtyProcess = new PtyProcess({ command: '/bin/sh', args: ['-c', 'seq 1 200000; exec sleep 60'], cwd: dir, env: { PATH: process.env.PATH }, cols: 80, rows: 24 }, (data) => {
      if (paused) readWhilePaused++;
      chunks.push(data.slice());
      if (++reads % 5 === 0) {
        paused = true;
        pauses++;
        pty.pauseOutput(true);
        setTimeout(() => {
          paused = false;
          pty.pauseOutput(false);
        }, 1);
      }
    });
    const text = (): string => Buffer.concat(chunks).toString('latin1');
    try {
      await waitFor(() => text().endsWith('\r\n200000\r\n'), 30_000, 'the whole of seq');
      expect(pauses).toBeGreaterThan(10); // about 60 on Linux (4,095 bytes a read)
      expect(readWhilePaused).toBe(0);
      const numbers = text().split('\r\n').filter(Boolean).map(Number);
      expect(numbers.length).toBe(200000);
      expect(numbers.every((n, i) => n === i + 1)).toBe(true);
    } finally {
      // The command stays (it sleeps): it goes whether the checks passed or not.
      await pty.stop(5000);
    }
  });

  it('says which signal ended a command', async () => {
    const { pty, reads, text } = run('echo ready; exec sleep 60');
    await reads.until(() => text().includes('ready'), 10_000, 'ready');
    const exit = await pty.stop(5000);
    expect(exit).toEqual({ exitCode: 0, signal: 1 });
  });
});
