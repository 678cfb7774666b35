// Many light agents in one process, for capacity and memory figures: each registers, connects and
// speaks the real agent protocol (the channel handshake with every client, through the agent's own
// ChannelHost, and everything end-to-end sealed, as a real agent), echoes every keystroke back as output at
// once, and optionally prints `outputBytesPerSecond` of filler. No PTY: the relay is what is measured.
import { WebSocket } from 'ws';
import { ChannelHost } from '../../dist/agent/channel-host.js';
import { protocol, useNativeCrypto } from '../../dist/index.js';
import { serve } from '../lib/procs.mjs';

const P = protocol;
useNativeCrypto(); // as a real agent does
const agents = [];
/** When each key ('K…') arrived, while `trace` is on (BENCH_DEBUG): the slowest keys' way split in two. */
let arrivals;

/**
 * `localAddress`: the loopback address the agents connect from (the relay sees the clients come from
 * 127.0.0.1; with tens of thousands of sessions, one address has too few ports for both kinds).
 */
async function start({ relayUrl, count, outputBytesPerSecond = 0, localAddress }) {
  const links = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { agent_id: id, agent_key: key } = await response.json();
    const secret = P.newSecret();
    const agent = { ws: undefined, end: 0, stream: P.randomId(), timer: undefined, clients: new Map(), waiting: new Map() };
    const view = P.viewSecret(secret, id);
    const streamKey = P.randomBytes(32);
    agent.ws = new WebSocket(P.socketUrl(relayUrl, `/ws/agent/${id}`), { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false, ...(localAddress ? { localAddress } : {}) });
    const ws = agent.ws;
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const answer = (client, sync) => {
      ws.send(P.encodeMessage({ type: 'sync_begin', client, sync }));
      ws.send(P.encodeToClient(client, P.sealOutput(streamKey, 1, agent.end, new Uint8Array(0))));
    };
    // One session, terminal 1: listed to every channel, and watched on request.
    const session = { terminal: 1, name: 'bench', cwd: '/', kind: 'command', command: 'bench', state: 'running', waiting: false, started_at: Date.now(), last_activity: Date.now() };
    const watch = (client, resume) => {
      channels.send(client, { type: 'stream', terminal: 1, stream: agent.stream, key: P.toBase64Url(streamKey), end: agent.end, run: 1 });
      ws.send(P.encodeMessage({ type: 'watch', client, terminal: 1, ...(resume ? { resume } : {}) }));
    };
    const channels = new ChannelHost(
      { send: (data) => ws.send(data) },
      {
        agentId: () => id,
        linkSecret: () => secret,
        linkUsable: () => true,
        devices: () => [],
        pin: undefined,
        welcome: () => ({ instance: agent.stream, name: 'bench' }),
      },
      {
        opened: (client, channel) => {
          agent.clients.set(client, channel);
          channels.send(client, { type: 'sessions', sessions: [session], max: 1 });
          if (channel.open.watch) watch(client, channel.open.watch.resume);
          const sync = agent.waiting.get(client);
          agent.waiting.delete(client);
          if (sync !== undefined) answer(client, sync);
        },
        request: async (client, _channel, message) => {
          if (message.type === 'watch' && message.terminal === 1) watch(client, message.resume);
        },
        refused: () => undefined,
        pair: async () => undefined,
        revoke: async () => false,
        bad: () => undefined,
      },
    );
    ws.send(P.encodeMessage({ type: 'hello', v: P.PROTOCOL_VERSION, terminals: [{ terminal: 1, stream: agent.stream }], access: P.tokenVerifier(P.accessToken(secret, id)), view: P.tokenVerifier(P.accessToken(view, id)), devices: [] }));
    const output = (bytes) => {
      ws.send(P.sealOutput(streamKey, 1, agent.end, bytes));
      agent.end += bytes.length;
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const message = P.parseRelayToAgent(data.toString());
        if (message.type === 'client_joined') channels.joined(message.client, message.address);
        if (message.type === 'client_left') {
          channels.left(message.client);
          agent.clients.delete(message.client);
          agent.waiting.delete(message.client);
        }
        if (message.type === 'sync') {
          if (agent.clients.has(message.client)) answer(message.client, message.sync);
          else agent.waiting.set(message.client, message.sync);
        }
        return;
      }
      const frame = P.decodeFrame(data);
      if (frame.type !== P.FrameType.FromClient) return;
      const inner = P.decodeFrame(frame.inner);
      if (inner.type === P.FrameType.Handshake) return channels.handshake(frame.client, inner);
      if (inner.type === P.FrameType.Channel) return channels.channel(frame.client, inner);
      const channel = agent.clients.get(frame.client);
      if (!channel) return;
      const record = P.decodeInputRecord(P.openFrame(channel.keys.receive, inner));
      if (record.kind === 'data') {
        if (arrivals && record.data[0] === 0x4b) arrivals.set(Buffer.from(record.data).toString(), String(process.hrtime.bigint()));
        output(record.data);
      }
      ws.send(P.encodeToClient(frame.client, P.sealInputAck(channel.keys.send, inner.seq)));
    });
    if (outputBytesPerSecond > 0) {
      const filler = Buffer.alloc(outputBytesPerSecond, '.');
      // Staggered so that the sessions do not all print in the same instant.
      setTimeout(() => {
        output(filler);
        agent.timer = setInterval(() => output(filler), 1000);
      }, Math.random() * 1000);
    }
    agents.push(agent);
    links.push(P.formatAccessLink({ relayUrl, agentId: id, secret }));
  }
  return links;
}

async function stopAll() {
  for (const agent of agents.splice(0)) {
    clearInterval(agent.timer);
    agent.ws.terminate();
  }
}

function trace() {
  arrivals = new Map();
  return true;
}

/** When the keys `keys` arrived (hrtime, ns, as a string), for those this process saw. */
function arrived({ keys }) {
  return keys.filter((key) => arrivals?.has(key)).map((key) => ({ key, at: arrivals.get(key) }));
}

serve({ start, stopAll, trace, arrived });
