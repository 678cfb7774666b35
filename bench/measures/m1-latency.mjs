// M1: keystroke round trip, browser → relay → agent → PTY (`stty raw -echo; cat`) → back, closed loop.
// Baselines in the same run: a bare WebSocket echo on loopback and the peer ttyd (bench/lib/ttyd.mjs)
// serving the same command, when there is one, typed in turns with it; and the PTY echo with no relay.

import { WebSocket } from 'ws';
import { WARMUP, alternatingLoops, throughRelay } from '../lib/keystrokes.mjs';
import { startChild } from '../lib/procs.mjs';
import { AGENT_CPU, startAgent, startRelay, stopAll } from '../lib/setup.mjs';
import { summary } from '../lib/stats.mjs';
import { findTtyd, openTtyd, startTtyd } from '../lib/ttyd.mjs';

/** The closed loop's terminal for a bare WebSocket echo at `url`. */
const throughWsEcho = (url) => async (echoed) => {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  ws.on('message', echoed);
  const key = Buffer.from('x');
  return { send: () => ws.send(key), close: () => ws.terminate() };
};

/** The closed loop's terminal through ttyd at `url`, serving `stty raw -echo; echo go; exec cat`. */
const throughTtyd = (url) => async (echoed) => {
  let ready;
  const started = new Promise((resolve) => (ready = resolve));
  const client = await openTtyd(url, (data) => (data.includes(0x78) ? echoed() : data.includes('go') && ready()));
  await started;
  return client;
};

/** The PTY echo with no relay: its loop runs inside the baseline's own process, before the others. */
async function ptyEcho(n) {
  const baseline = await startChild('pty-baseline.mjs', { cpu: AGENT_CPU });
  const latencies = (await baseline.request('echo', { n: n + WARMUP })).slice(WARMUP);
  await baseline.stop();
  return latencies;
}

/**
 * The path through a relay and an agent running `cat` in a raw-mode PTY, the bare WebSocket echo and ttyd
 * (when there is one) type in turns (alternatingLoops), each after its own warm-up: measured one after the
 * other, ttyd read 71–107 µs and ccremote 107–147 µs in five runs on one machine, as the cores' idle
 * states came and went, and the ratio between them 1.07–1.89×.
 */
export async function run({ keys = 5000 } = {}) {
  const ttyd = findTtyd();
  const pty = summary(await ptyEcho(keys));
  const echo = await startChild('ws-echo.mjs', { cpu: AGENT_CPU });
  const relay = await startRelay();
  const agent = await startAgent(relay.info.url, '/bin/sh', ['-c', 'stty raw -echo; exec cat']);
  const server = ttyd.path ? await startTtyd(ttyd, '/bin/sh', ['-c', 'stty raw -echo; echo go; exec cat']) : undefined;
  let loops;
  try {
    loops = await alternatingLoops([throughRelay(agent.info.url), throughWsEcho(echo.info.url), ...(server ? [throughTtyd(server.url)] : [])], keys);
  } finally {
    await Promise.all([stopAll(relay, agent, echo), server?.stop()]);
  }
  const [relayed, ws, peer] = [loops[0], loops[1], loops[2]].map((loop) => loop && summary(loop.latencies));
  const fresh = summary(loops[0].warmUp);
  return {
    ttyd: ttyd.version ?? ttyd.missing,
    ttydP50: peer?.p50,
    ttydP99: peer?.p99,
    wsEchoP50: ws.p50,
    wsEchoP99: ws.p99,
    ptyEchoP50: pty.p50,
    ptyEchoP99: pty.p99,
    p50: relayed.p50,
    p99: relayed.p99,
    p999: relayed.p999,
    relayAddsP50: relayed.p50 - pty.p50 - ws.p50,
    freshP50: fresh.p50,
    freshP99: fresh.p99,
    keys,
    warmUpKeys: WARMUP,
  };
}
