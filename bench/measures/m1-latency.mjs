// M1: keystroke round trip, browser → relay → agent → PTY (`stty raw -echo; cat`) → back, closed loop.
// Baselines in the same run: a bare WebSocket echo on loopback, the PTY echo with no relay, and the peer
// ttyd (bench/lib/ttyd.mjs) serving the same command, when there is one.

import { WebSocket } from 'ws';
import { WARMUP, closedLoop, keystrokeLatencies } from '../lib/keystrokes.mjs';
import { startChild } from '../lib/procs.mjs';
import { AGENT_CPU, startAgent, startRelay, stopAll } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';
import { findTtyd, openTtyd, startTtyd } from '../lib/ttyd.mjs';


async function wsEcho(n) {
  const server = await startChild('ws-echo.mjs', { cpu: AGENT_CPU });
  const ws = new WebSocket(server.info.url, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  let waiting;
  ws.on('message', () => waiting?.());
  const latencies = [];
  const key = Buffer.from('x');
  for (let i = 0; i < n + WARMUP; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => {
      waiting = resolve;
      ws.send(key);
    });
    if (i >= WARMUP) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ws.terminate();
  await server.stop();
  return latencies;
}

async function ptyEcho(n) {
  const baseline = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const latencies = (await baseline.request('echo', { n: n + WARMUP })).slice(WARMUP);
  await baseline.stop();
  return latencies;
}

/**
 * Closed-loop keystrokes through a relay and an agent running `cat` in a raw-mode PTY: the keys after the
 * warm-up, and the warm-up's own (a fresh agent's and relay's first keys).
 */
async function throughRelay(n) {
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', ['-c', 'stty raw -echo; exec cat']);
  const all = await keystrokeLatencies(agent.info.url, n + WARMUP, 0);
  await stopAll(relay, agent);
  return { fresh: all.slice(0, WARMUP), latencies: all.slice(WARMUP) };
}

/** The same closed loop through ttyd. */
async function throughTtyd(ttyd, n) {
  const server = await startTtyd(ttyd, '/bin/sh', ['-c', 'stty raw -echo; echo go; exec cat']);
  const latencies = await closedLoop(async (echoed) => {
    let ready;
    const started = new Promise((resolve) => (ready = resolve));
    const client = await openTtyd(server.url, (data) => (data.includes(0x78) ? echoed() : data.includes('go') && ready()));
    await started;
    return client;
  }, n);
  await server.stop();
  return latencies;
}

export async function run({ keys = 5000 } = {}) {
  const ttyd = findTtyd();
  const ws = summary(await wsEcho(keys));
  const pty = summary(await ptyEcho(keys));
  const peer = ttyd.path ? summary(await throughTtyd(ttyd, keys)) : undefined;
  const relayed = await throughRelay(keys);
  const full = summary(relayed.latencies);
  const fresh = summary(relayed.fresh);
  return {
    ttyd: ttyd.version ?? ttyd.missing,
    ttydP50: peer?.p50,
    ttydP99: peer?.p99,
    wsEchoP50: ws.p50,
    wsEchoP99: ws.p99,
    ptyEchoP50: pty.p50,
    ptyEchoP99: pty.p99,
    p50: full.p50,
    p99: full.p99,
    p999: full.p999,
    relayAddsP50: full.p50 - pty.p50 - ws.p50,
    freshP50: fresh.p50,
    freshP99: fresh.p99,
    keys,
    warmUpKeys: WARMUP,
  };
}
