// Many light agents in one process, for capacity and memory figures: each registers, connects and
// speaks the real agent protocol (end-to-end sealed, as a real agent), echoes every keystroke back as
// output at once, and optionally prints `outputBytesPerSecond` of filler. No PTY: the relay is what is
// measured.
import { WebSocket } from 'ws';
import { protocol, useNativeAead } from '../../dist/index.js';
import { serve } from '../lib/procs.mjs';

const P = protocol;
useNativeAead(); // as a real agent does
const agents = [];

async function start({ relayUrl, count, outputBytesPerSecond = 0 }) {
  const links = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${relayUrl}/api/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { agent_id: id, agent_key: key } = await response.json();
    const secret = P.newSecret();
    const agent = { ws: undefined, end: 0, stream: P.randomId(), timer: undefined, clients: new Map() };
    const view = P.viewSecret(secret, id);
    const outKey = P.outputKey(view, id, agent.stream);
    agent.ws = new WebSocket(P.socketUrl(relayUrl, `/ws/agent/${id}`), { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
    const ws = agent.ws;
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.send(P.encodeMessage({ type: 'hello', v: P.PROTOCOL_VERSION, stream: agent.stream, end: 0, access: P.tokenVerifier(P.accessToken(secret, id)), view: P.tokenVerifier(P.accessToken(view, id)) }));
    const output = (bytes) => {
      ws.send(P.sealOutput(outKey, agent.end, bytes));
      agent.end += bytes.length;
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const message = P.parseRelayToAgent(data.toString());
        if (message.type === 'client_joined') {
          agent.clients.set(message.client, P.sessionKeys(secret, id, message.session));
        }
        if (message.type === 'client_left') agent.clients.delete(message.client);
        if (message.type === 'sync') {
          ws.send(P.encodeMessage({ type: 'sync_begin', client: message.client, sync: message.sync }));
          ws.send(P.encodeToClient(message.client, P.sealOutput(outKey, agent.end, new Uint8Array(0))));
        }
        return;
      }
      const frame = P.decodeFrame(data);
      if (frame.type !== P.FrameType.FromClient) return;
      const keys = agent.clients.get(frame.client);
      if (!keys) return;
      const input = P.decodeFrame(frame.inner);
      const record = P.decodeInputRecord(P.openFrame(keys.input, input));
      if (record.kind === 'data') output(record.data);
      ws.send(P.encodeToClient(frame.client, P.sealInputAck(keys.ack, input.seq)));
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

serve({ start, stopAll });
