// M5: relay memory per idle session (an agent and a client connected, nothing happening), and the
// peak memory of relay and agent while one client has stopped reading during 256 MiB of output,
// with a second client receiving everything. Baseline: the same processes idle.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { WebSocket } from 'ws';
import { ChannelClient } from '../../dist/client/channel-client.js';
import { protocol } from '../../dist/index.js';
import { openClient } from '../lib/client.mjs';
import { peakRssOf, raiseOpenFiles, rssOf, startChild } from '../lib/procs.mjs';
import { LOAD_CPU, startAgent, startRelay, stopAll, waiter } from '../lib/setup.mjs';

const MiB = 1 << 20;

/** Files each process keeps open besides its sessions' sockets, and the sessions of the warm-up. */
const SPARE_FILES = 500;

/**
 * How many idle sessions this machine lets the benchmark open, asking for the open files `sessions` need
 * (two sockets each at the relay, one in each load process): a process's limit of open files (20,000 on
 * some machines, raised where the benchmark may), and the loopback ports to the relay (one address has a
 * few tens of thousands; the agents connect from 127.0.0.2 where it can be bound). Says what limits it.
 */
async function roomFor(sessions, relay, agents, clients) {
  const files = [
    ['the relay', Math.floor(((raiseOpenFiles(relay.pid, 2 * sessions + SPARE_FILES) ?? Infinity) - SPARE_FILES) / 2)],
    ['the simulated agents', (raiseOpenFiles(agents.pid, sessions + SPARE_FILES) ?? Infinity) - SPARE_FILES],
    ['the simulated browsers', (raiseOpenFiles(clients.pid, sessions + SPARE_FILES) ?? Infinity) - SPARE_FILES],
  ];
  const agentAddress = (await bindable('127.0.0.2')) ? '127.0.0.2' : undefined;
  const ports = localPorts() - SPARE_FILES;
  const limits = [...files.map(([who, n]) => [`open files of ${who}`, n]), ['loopback ports', agentAddress ? ports : Math.floor(ports / 2)]];
  const [limitedBy, room] = limits.reduce((least, limit) => (limit[1] < least[1] ? limit : least));
  return { sessions: room, limitedBy: `${limitedBy} (room for ${room} sessions)`, agentAddress };
}

/** Whether this machine has `address` (Linux answers on all of 127.0.0.0/8). */
function bindable(address) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, address, () => server.close(() => resolve(true)));
  });
}

/** How many local ports one address can connect from (Linux's ephemeral range; 28,000 if unknown). */
function localPorts() {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return high - low + 1;
  } catch {
    return 28_000;
  }
}

/**
 * The relay's resident memory with 20 sessions (the baseline), then with `counts[i]` idle sessions more,
 * step by step. The engine's young generation grows once, to its maximum, while the first hundreds of
 * sessions connect: a fixed cost (about 20 MiB here) that a small count would divide among few sessions.
 * So the figure is taken at the largest count, and the growth from step to step shows what one more
 * session costs beyond that.
 */
async function idleSessions(wanted) {
  const relay = await startRelay();
  const agents = await startChild('fake-agents.mjs', { cpu: LOAD_CPU });
  const clients = await startChild('typists.mjs', { cpu: LOAD_CPU });
  const most = Math.max(...wanted);
  const room = await roomFor(most, relay, agents, clients);
  // As far as the machine allows: the counts that fit, then the most that fits (in thousands) if more.
  const counts = wanted.filter((count) => count <= room.sessions);
  const fits = room.sessions >= 1000 ? Math.floor(room.sessions / 1000) * 1000 : room.sessions;
  if (counts.length < wanted.length && fits > (counts.at(-1) ?? 0)) counts.push(fits);
  try {
    const warm = await agents.request('start', { relayUrl: relay.info.url, count: 20, localAddress: room.agentAddress });
    await clients.request('open', { links: warm });
    const idle = await relay.request('stats', { gc: true });
    const steps = [];
    let have = 0;
    for (const count of counts) {
      const links = await agents.request('start', { relayUrl: relay.info.url, count: count - have, localAddress: room.agentAddress });
      await clients.request('open', { links });
      have = count;
      const loaded = await relay.request('stats', { gc: true });
      const open = await relay.request('counts');
      if (open.clients !== count + 20) throw new Error(`expected ${count + 20} clients, relay has ${open.clients}`);
      steps.push({ sessions: count, rss: loaded.rss, perSessionBytes: (loaded.rss - idle.rss) / count, heapPerSessionBytes: (loaded.heapUsed - idle.heapUsed) / count });
    }
    return { idleRelayRss: idle.rss, steps, limitedBy: counts.at(-1) < most ? room.limitedBy : undefined, wanted: most };
  } finally {
    await clients.request('closeAll').catch(() => undefined);
    await agents.request('stopAll').catch(() => undefined);
    await stopAll(relay, agents, clients);
  }
}

/** A client that opens its channel, watches the session, and then stops reading its socket. */
async function stalledClient(link) {
  const parsed = protocol.parseAccessLink(link);
  const ws = new WebSocket(protocol.socketUrl(parsed.relayUrl, `/ws/client/${parsed.agentId}`), { origin: parsed.relayUrl, perMessageDeflate: false });
  await new Promise((resolve) => ws.once('open', resolve));
  const session = protocol.randomId();
  const handshakes = [];
  let wake;
  ws.on('message', (data, isBinary) => {
    if (isBinary && data[0] === protocol.FrameType.Handshake) handshakes.push(protocol.decodeFrame(data));
    wake?.();
  });
  const next = () => new Promise((resolve) => (wake = resolve));
  ws.send(protocol.encodeMessage({ type: 'hello', v: protocol.PROTOCOL_VERSION, token: protocol.accessToken(parsed.secret, parsed.agentId), session }));
  const channel = new ChannelClient(parsed.agentId, { kind: 'link', secret: parsed.secret, readOnly: false }, undefined, () => ({ session, history: 'bytes', watch: { terminal: 1 } }));
  ws.send(await channel.start());
  for (;;) {
    while (handshakes.length === 0) await next();
    const outcome = await channel.receive(handshakes.shift());
    if (outcome.kind === 'open') break;
    if (outcome.kind !== 'send') throw new Error(`the stalled client's handshake failed: ${JSON.stringify(outcome)}`);
    ws.send(outcome.frame);
  }
  ws._socket.pause();
  return ws;
}

/**
 * One run of `mib` MiB of output to a client that reads everything, with or without a second client that
 * has stopped reading. Returns the peak memory of relay and agent, and what they used before.
 */
async function flood(mib, withStalled) {
  const relay = await startRelay();
  const total = mib * MiB;
  const agent = await startAgent(relay.info.url, '/bin/sh', ['-c', `stty raw -echo; head -c1 >/dev/null; yes | head -c ${total}; exec sleep 3600`]);
  const idleRelay = rssOf(relay.pid);
  const idleAgent = rssOf(agent.pid);
  const stalled = withStalled ? await stalledClient(agent.info.url) : undefined;
  let bytes = 0;
  const hash = createHash('sha256');
  const w = waiter(300_000, 'the reading client to get all output');
  const reader = await openClient(agent.info.url, {
    onOutput: (data) => {
      bytes += data.length;
      hash.update(data);
      w.poke();
    },
  });
  reader.sendData('\r');
  await w.until(() => bytes >= total);
  // `yes` prints "y\n" over and over.
  const exact = hash.digest('hex') === createHash('sha256').update(Buffer.alloc(total, 'y\n')).digest('hex');
  const result = { idleRelayRss: idleRelay, idleAgentRss: idleAgent, relayPeakRss: peakRssOf(relay.pid), agentPeakRss: peakRssOf(agent.pid) };
  reader.close();
  stalled?.terminate();
  await stopAll(relay, agent);
  if (!exact) throw new Error('the reading client did not receive the exact output');
  return result;
}

export async function run({ sessions = [1000, 5000, 20_000], mib = 256 } = {}) {
  const idle = await idleSessions(sessions);
  const alone = await flood(mib, false);
  const stall = await flood(mib, true);
  const [first, last] = [idle.steps[0], idle.steps.at(-1)];
  return {
    // Everything the relay grew by, divided among the sessions, at the largest count.
    perIdleSessionKiB: last.perSessionBytes / 1024,
    heapPerIdleSessionKiB: last.heapPerSessionBytes / 1024,
    // What each session after the first step cost (none when only one count was measured).
    marginalPerIdleSessionKiB: idle.steps.length > 1 ? (last.rss - first.rss) / (last.sessions - first.sessions) / 1024 : undefined,
    idleSteps: idle.steps.map((step) => ({ sessions: step.sessions, perSessionKiB: step.perSessionBytes / 1024 })),
    idleRelayMiB: idle.idleRelayRss / MiB,
    idleAgentMiB: stall.idleAgentRss / MiB,
    floodRelayPeakMiB: alone.relayPeakRss / MiB,
    floodAgentPeakMiB: alone.agentPeakRss / MiB,
    stalledRelayPeakMiB: stall.relayPeakRss / MiB,
    stalledAgentPeakMiB: stall.agentPeakRss / MiB,
    // What the stalled client costs: the peak with it minus the peak of the same flood without it.
    stalledRelayExtraMiB: (stall.relayPeakRss - alone.relayPeakRss) / MiB,
    stalledAgentExtraMiB: (stall.agentPeakRss - alone.agentPeakRss) / MiB,
    sessions: last.sessions,
    // The count the issue asks for, and what kept the run below it (open files, ports), if anything did.
    wantedSessions: idle.wanted,
    limitedBy: idle.limitedBy,
    mib,
  };
}
