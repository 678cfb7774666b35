// ttyd (a C web terminal: one process, no relay hop, no encryption) as a peer measured in the same run as
// ccremote: the binary given as TTYD=PATH, or `ttyd` on PATH. Without one the figures say so and compare
// with the raw PTY only. It builds from its 1.7.7 source with CMake and Debian's libwebsockets-dev,
// libjson-c-dev and libuv1-dev (bench/peers/build-ttyd.sh).
//
// Its protocol (WebSocket subprotocol `tty` at /ws): the client's first message is JSON with the terminal
// size, which starts the command; then input is '0' + bytes, and output arrives as '0' + bytes.

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { pinning } from './procs.mjs';
import { AGENT_CPU } from './setup.mjs';

/** The ttyd binary to measure: { path, version }, or undefined (and why) when there is none. */
export function findTtyd() {
  const path = process.env.TTYD || spawnSync('sh', ['-c', 'command -v ttyd'], { encoding: 'utf8' }).stdout.trim();
  if (!path) return { missing: 'no ttyd on PATH and TTYD not set: compared with the raw PTY only' };
  const version = spawnSync(path, ['--version'], { encoding: 'utf8' });
  if (version.status !== 0) return { missing: `${path} --version failed` };
  return { path, version: version.stdout.trim().replace(/^ttyd version /, '') };
}

/** Starts ttyd serving `command args` (started afresh for each connection) on a free port, on the agent's CPU. */
export async function startTtyd(ttyd, command, args) {
  const argv = ['-p', '0', '-i', '127.0.0.1', '-W', command, ...args];
  const [program, ...rest] = pinning ? ['taskset', '-c', String(AGENT_CPU), ttyd.path, ...argv] : [ttyd.path, ...argv];
  const child = spawn(program, rest, { stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', TERM: 'xterm-256color' } });
  const port = await new Promise((resolve, reject) => {
    let said = '';
    child.once('exit', (code) => reject(new Error(`ttyd exited with ${code}: ${said.slice(-400)}`)));
    child.stderr.on('data', (chunk) => {
      said += chunk;
      const match = /Listening on port: (\d+)/.exec(said);
      if (match) resolve(Number(match[1]));
    });
  });
  child.stderr.resume();
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    /** CPU time (user + system) of ttyd and everything it started, in µs: its own, and its children's that ended. */
    cpuMicros: () => cpuOf(child.pid),
    stop: () => new Promise((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', resolve), child.kill('SIGKILL')))),
  };
}

/** Opens a client: `onOutput(bytes)` gets the terminal's output; `send(text)` types. */
export async function openTtyd(url, onOutput) {
  const ws = new WebSocket(url, ['tty'], { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (data) => {
    if (data[0] === 0x30) onOutput(data.subarray(1));
  });
  ws.send(Buffer.from(JSON.stringify({ AuthToken: '', columns: 80, rows: 24 })));
  return {
    send: (text) => ws.send(Buffer.concat([Buffer.from('0'), Buffer.from(text)])),
    close: () => ws.close(),
  };
}

/** User + system CPU of process `pid`, in µs (clock ticks of 10 ms on Linux). */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks * 10_000;
}
