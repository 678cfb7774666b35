// Baselines without any relay: keystroke echo through a PTY, and output read straight from a PTY,
// with node-pty exactly as the agent uses it.
import { createHash } from 'node:crypto';
import pty from '@lydell/node-pty';
import { WebSocket } from 'ws';
import { serve } from '../lib/procs.mjs';

/** Closed-loop echo: write one byte, wait for it to come back, n times. Returns latencies in ms. */
async function echo({ n }) {
  const term = pty.spawn('/bin/sh', ['-c', 'stty raw -echo; echo go; exec cat'], { cols: 80, rows: 24, encoding: null });
  await new Promise((resolve) => {
    const d = term.onData((data) => data.includes('go') && (d.dispose(), resolve()));
  });
  const latencies = [];
  let waiting;
  term.onData(() => waiting?.());
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      waiting = resolve;
      term.write('x');
    });
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  term.kill();
  return latencies;
}

/** Runs a command in a PTY and reads `bytes` bytes of its output. Returns ms (first to last byte) and the SHA-256. */
async function read({ command, args, bytes: expected }) {
  const term = pty.spawn(command, args, { cols: 80, rows: 24, encoding: null });
  const hash = createHash('sha256');
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  let first;
  let last;
  await new Promise((resolve) => {
    term.onData((data) => {
      first ??= process.hrtime.bigint();
      bytes += data.length;
      hash.update(data);
      if (bytes >= expected) {
        last = process.hrtime.bigint();
        resolve();
      }
    });
  });
  term.kill('SIGKILL');
  const cpu = process.cpuUsage(cpu0);
  return { bytes, ms: Number(last - first) / 1e6, sha256: hash.digest('hex'), userMicros: cpu.user, systemMicros: cpu.system };
}

/**
 * The least any WebSocket-based design pays: the command's output read with node-pty and sent, batched as
 * the agent batches it, over a bare WebSocket to a sink in another process. No ccremote code.
 */
async function pipe({ command, args, bytes: expected, sink }) {
  const ws = new WebSocket(`${sink}/?bytes=${expected}`, { perMessageDeflate: false, generateMask: (mask) => mask.fill(0) });
  await new Promise((resolve) => ws.once('open', resolve));
  const done = new Promise((resolve) => ws.once('message', resolve));
  const term = pty.spawn(command, args, { cols: 80, rows: 24, encoding: null });
  let first;
  let pending = [];
  let size = 0;
  let timer;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    ws.send(Buffer.concat(pending, size));
    pending = [];
    size = 0;
  };
  term.onData((data) => {
    first ??= process.hrtime.bigint();
    pending.push(data);
    size += data.length;
    if (data.length >= 4095 && size < 256 * 1024) timer ??= setTimeout(flush, 2);
    else flush();
  });
  await done;
  const ms = Number(process.hrtime.bigint() - first) / 1e6;
  term.kill('SIGKILL');
  ws.terminate();
  return { ms };
}

serve({ echo, read, pipe });
