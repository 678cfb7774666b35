// The relay's routing core over fake peers: fan-out, sync requests and their answers, back-pressure
// and membership, without any socket.

import { describe, expect, it } from 'vitest';
import {
  PROTOCOL_VERSION,
  CloseCode,
  FrameType,
  decodeFrame,
  encodeInputRecord,
  encodeToClient,
  openFrame,
  sealInput,
  sealInputAck,
  sealOutput,
  sealSnapshot,
  randomId,
  utf8,
  type OutputFrame,
} from '../src/protocol/index.js';
import type { Peer } from '../src/net/peer.js';
import { Hub, type ClientHandle } from '../src/relay/hub.js';

/** The hub never opens boxes: any key will do. */
const KEY = new Uint8Array(32).fill(7);

class FakePeer implements Peer {
  sent: Array<string | Uint8Array> = [];
  closed: { code: number; reason: string } | undefined;
  waiting = 0;
  private drained: Array<{ bytes: number; callback: () => void }> = [];

  send(data: string | Uint8Array): number {
    this.sent.push(data);
    return this.waiting;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  onceBelow(bytes: number, callback: () => void): void {
    this.drained.push({ bytes, callback });
  }
  drain(): void {
    this.waiting = 0;
    const ready = this.drained;
    this.drained = [];
    for (const w of ready) w.callback();
  }
  messages(): Array<Record<string, unknown>> {
    return this.sent.filter((m): m is string => typeof m === 'string').map((m) => JSON.parse(m) as Record<string, unknown>);
  }
  frames(): Uint8Array[] {
    return this.sent.filter((m): m is Uint8Array => typeof m !== 'string');
  }
  /** The text of every OUTPUT frame received, in order. */
  outputs(): string[] {
    return this.frames()
      .map((f) => decodeFrame(f))
      .filter((f) => f.type === FrameType.Output)
      .map((f) => Buffer.from(openFrame(KEY, f as OutputFrame)).toString());
  }
  take(): Array<string | Uint8Array> {
    const out = this.sent;
    this.sent = [];
    return out;
  }
}

const agentId = randomId();
const stream = randomId();
const agentHello = (s = stream) => ({ type: 'hello' as const, v: PROTOCOL_VERSION, stream: s, end: 0, access: 'x'.repeat(43), view: 'z'.repeat(43), devices: [] });
const clientHello = (options: { resume?: { stream: string; offset: number }; history?: 'screen' | 'bytes' } = {}) => ({
  type: 'hello' as const,
  v: PROTOCOL_VERSION,
  token: 'y'.repeat(43),
  session: randomId(),
  ...options,
});

function setup(options = {}) {
  const hub = new Hub(options);
  const agent = new FakePeer();
  hub.connectAgent(agentId, agent, agentHello(), 'laptop');
  /** Answers the latest sync requested for `client` with `frames` (client-bound frames). */
  const answer = (client: ClientHandle, frames: Uint8Array[], peer = agent): void => {
    const sync = peer.messages().filter((m) => m.type === 'sync' && m.client === client.number).at(-1)!.sync as number;
    hub.agentMessage(agentId, peer, { type: 'sync_begin', client: client.number, sync });
    for (const frame of frames) hub.agentFrame(agentId, peer, encodeToClient(client.number, frame));
  };
  const live = (offset: number, text: string, peer = agent): Uint8Array => {
    const frame = sealOutput(KEY, offset, utf8(text));
    hub.agentFrame(agentId, peer, frame);
    return frame;
  };
  return { hub, agent, answer, live };
}

describe('Hub', () => {
  it('admits a client, announces it to the agent and asks the agent to sync it', () => {
    const { hub, agent } = setup();
    agent.take();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello({ resume: { stream, offset: 5 } }))!;
    expect(peer.messages()[0]).toMatchObject({ type: 'connected', agent_id: agentId, agent_online: true, name: 'laptop', stream });
    expect(agent.messages()).toEqual([
      // It resumes from 5, so it paces the agent from there at once (said first: see connectClient).
      { type: 'flow', limit: 5 + 512 * 1024 },
      { type: 'client_joined', client: client.number, session: expect.any(String), read_only: false },
      { type: 'sync', client: client.number, sync: 1, resume: { stream, offset: 5 }, history: 'screen' },
    ]);
  });

  it('fans live output out to every synced client without copying it', () => {
    const { hub, answer, live } = setup();
    const peers = [new FakePeer(), new FakePeer(), new FakePeer()];
    const clients = peers.map((p) => hub.connectClient(agentId, p, clientHello())!);
    for (const c of clients) answer(c, [sealOutput(KEY, 0, new Uint8Array(0))]);
    for (const p of peers) p.take();
    const frame = live(0, 'hello');
    for (const p of peers) expect(p.sent).toEqual([frame]);
    for (const p of peers) expect(p.sent[0]).toBe(frame);
  });

  it('holds live output from a client until its sync answer, then continues from there', () => {
    const { hub, agent, answer, live } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    peer.take();
    live(0, 'early');
    expect(peer.sent).toEqual([]);
    answer(client, [sealSnapshot(KEY, 0, new Uint8Array(0)), sealOutput(KEY, 0, utf8('early'))]);
    live(5, 'late');
    expect(peer.sent.map((f) => decodeFrame(f as Uint8Array).type)).toEqual([FrameType.Snapshot, FrameType.Output, FrameType.Output]);
    expect(peer.outputs()).toEqual(['early', 'late']);
    expect(agent.messages().filter((m) => m.type === 'sync')).toHaveLength(1);
  });

  it('asks for one sync when a client misses part of the stream', () => {
    const { hub, agent, answer, live } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    answer(client, [sealOutput(KEY, 0, utf8('abc'))]);
    agent.take();
    live(10, 'gap');
    live(13, 'more');
    expect(agent.messages()).toEqual([{ type: 'sync', client: client.number, sync: 2, resume: { stream, offset: 3 }, history: 'screen' }]);
  });

  it('stops feeding a client whose socket backs up and syncs it once it drains', () => {
    const { hub, agent, answer, live } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const slow = new FakePeer();
    const fast = new FakePeer();
    const slowClient = hub.connectClient(agentId, slow, clientHello())!;
    const fastClient = hub.connectClient(agentId, fast, clientHello())!;
    for (const c of [slowClient, fastClient]) answer(c, [sealOutput(KEY, 0, new Uint8Array(0))]);
    slow.take();
    fast.take();
    agent.take();
    slow.waiting = 1000;
    live(0, 'aaaa');
    live(4, 'bbbb');
    live(8, 'cccc');
    expect(slow.sent).toHaveLength(1);
    expect(fast.sent).toHaveLength(3);
    expect(agent.messages()).toEqual([]);
    slow.drain();
    expect(agent.messages()).toEqual([{ type: 'sync', client: slowClient.number, sync: 2, resume: { stream, offset: 4 }, history: 'screen' }]);
  });

  it('drops what is left of an older sync answer once a newer sync was requested', () => {
    const { hub, agent, answer } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello({ history: 'bytes' }))!;
    // The first answer begins; the client backs up after its first frame and misses the second.
    hub.agentMessage(agentId, agent, { type: 'sync_begin', client: client.number, sync: 1 });
    peer.waiting = 1000;
    hub.agentFrame(agentId, agent, encodeToClient(client.number, sealOutput(KEY, 0, utf8('AAAA'))));
    hub.agentFrame(agentId, agent, encodeToClient(client.number, sealOutput(KEY, 4, utf8('BBBB'))));
    peer.drain(); // a new sync (number 2) is requested from offset 4
    hub.agentFrame(agentId, agent, encodeToClient(client.number, sealOutput(KEY, 8, utf8('CCCC')))); // rest of answer 1: dropped
    answer(client, [sealOutput(KEY, 4, utf8('BBBB')), sealOutput(KEY, 8, utf8('CCCC'))]);
    expect(agent.messages().filter((m) => m.type === 'sync').map((m) => m.sync)).toEqual([1, 2]);
    expect(peer.outputs()).toEqual(['AAAA', 'BBBB', 'CCCC']);
  });

  it('after the agent restarts with a new stream, a bytes client follows the new stream from its start', () => {
    const { hub, agent, answer, live } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello({ history: 'bytes' }))!;
    answer(client, [sealOutput(KEY, 0, utf8('old stream, long enough'))]);
    hub.disconnectAgent(agentId, agent);
    const again = new FakePeer();
    const newStream = randomId();
    hub.connectAgent(agentId, again, agentHello(newStream));
    expect(again.messages().filter((m) => m.type === 'sync').at(-1)).toMatchObject({ type: 'sync', resume: { stream, offset: 23 } });
    answer(client, [sealOutput(KEY, 0, utf8('new'))], again);
    live(3, ' stream', again);
    live(10, ' goes on', again);
    expect(peer.outputs()).toEqual(['old stream, long enough', 'new', ' stream', ' goes on']);
  });

  it('an agent cut off between sync_begin and its answer is asked to resume from what the client has', () => {
    const { hub, agent, answer } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello({ history: 'bytes' }))!;
    answer(client, [sealOutput(KEY, 0, utf8('0123456789'))]);
    // The client backs up and drains: sync 2 is requested; the agent begins answering and is cut off.
    peer.waiting = 1000;
    const frame = sealOutput(KEY, 10, utf8('abc'));
    hub.agentFrame(agentId, agent, frame);
    peer.drain();
    hub.agentMessage(agentId, agent, { type: 'sync_begin', client: client.number, sync: 2 });
    hub.disconnectAgent(agentId, agent);
    const again = new FakePeer();
    hub.connectAgent(agentId, again, agentHello());
    expect(again.messages().filter((m) => m.type === 'sync').at(-1)).toEqual({ type: 'sync', client: client.number, sync: 3, resume: { stream, offset: 13 }, history: 'bytes' });
    answer(client, [sealOutput(KEY, 13, utf8('def'))], again);
    expect(peer.outputs()).toEqual(['0123456789', 'abc', 'def']);
  });

  it('tells clients when the agent goes offline and comes back, and re-syncs them', () => {
    const { hub, agent, answer } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    answer(client, [sealOutput(KEY, 0, utf8('abc'))]);
    peer.take();
    hub.disconnectAgent(agentId, agent);
    expect(peer.messages()).toEqual([{ type: 'agent_offline', agent_id: agentId }]);
    const input = sealInput(KEY, 1, encodeInputRecord({ kind: 'data', data: utf8('x') }));
    hub.clientFrame(client, input);
    expect(peer.messages()[1]).toEqual({ type: 'error', code: 'agent_offline', message: 'Agent is offline' });
    const again = new FakePeer();
    const newStream = randomId();
    hub.connectAgent(agentId, again, agentHello(newStream));
    expect(peer.messages()[2]).toMatchObject({ type: 'agent_online', agent_id: agentId, stream: newStream });
    expect(again.messages()).toEqual([
      { type: 'connected', agent_id: agentId },
      // The client acknowledged nothing: nobody paces, and the new connection hears so before the clients.
      { type: 'flow', limit: null },
      { type: 'client_joined', client: client.number, session: expect.any(String), read_only: false },
      { type: 'sync', client: client.number, sync: 2, resume: { stream, offset: 3 }, history: 'screen' },
    ]);
  });

  it('routes input to the agent with the client number, and acks back to that client only', () => {
    const { hub, agent } = setup();
    const a = new FakePeer();
    const b = new FakePeer();
    const ca = hub.connectClient(agentId, a, clientHello())!;
    hub.connectClient(agentId, b, clientHello());
    agent.take();
    a.take();
    b.take();
    const input = sealInput(KEY, 1, encodeInputRecord({ kind: 'data', data: utf8('ls\r') }));
    hub.clientFrame(ca, input);
    expect(decodeFrame(agent.frames()[0]!)).toEqual({ type: FrameType.FromClient, client: ca.number, inner: input });
    const ack = sealInputAck(KEY, 1);
    hub.agentFrame(agentId, agent, encodeToClient(ca.number, ack));
    expect(a.frames()).toEqual([ack]);
    expect(b.sent).toEqual([]);
  });

  it('passes an attention message on unchanged to every client of the agent (read-only and not yet synced too), and to no one else', () => {
    const { hub, agent, answer } = setup();
    const peers = [new FakePeer(), new FakePeer(), new FakePeer()];
    const [synced] = peers.map((p, i) => hub.connectClient(agentId, p, clientHello(), undefined, i === 1)!) as [ClientHandle];
    answer(synced, [sealOutput(KEY, 0, new Uint8Array(0))]);
    const otherAgentId = randomId();
    hub.connectAgent(otherAgentId, new FakePeer(), agentHello(randomId()));
    const stranger = new FakePeer();
    hub.connectClient(otherAgentId, stranger, clientHello());
    for (const p of [...peers, stranger]) p.take();
    agent.take();
    const box = 'sealed-box_' + 'A'.repeat(100);
    hub.agentMessage(agentId, agent, { type: 'attention', box });
    for (const p of peers) expect(p.sent).toEqual([JSON.stringify({ type: 'attention', box })]);
    expect(stranger.sent).toEqual([]);
    expect(agent.sent).toEqual([]);
  });

  it('closes an older connection of the same agent as replaced, and ignores what it still sends', () => {
    const { hub, agent, answer } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    const newer = new FakePeer();
    hub.connectAgent(agentId, newer, agentHello());
    expect(agent.closed?.code).toBe(CloseCode.Replaced);
    answer(client, [sealOutput(KEY, 0, utf8('from the new one'))], newer);
    hub.agentFrame(agentId, agent, sealOutput(KEY, 16, utf8('from the old one')));
    hub.agentMessage(agentId, agent, { type: 'status', box: 'old' });
    hub.disconnectAgent(agentId, agent); // the old socket's close must not take the new one offline
    expect(hub.presence(agentId).online).toBe(true);
    expect(peer.outputs()).toEqual(['from the new one']);
    expect(peer.messages().filter((m) => m.type === 'status' || m.type === 'agent_offline')).toEqual([]);
  });

  it('flow control: the agent may read up to the slowest acknowledging client plus the window', () => {
    let now = 0;
    const { hub, agent, answer, live } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const peers = [new FakePeer(), new FakePeer()];
    const [a, b] = peers.map((p) => hub.connectClient(agentId, p, clientHello())!) as [ClientHandle, ClientHandle];
    for (const c of [a, b]) answer(c, [sealOutput(KEY, 0, new Uint8Array(0))]);
    live(0, 'x'.repeat(3000));
    const flows = (): unknown[] => agent.messages().filter((m) => m.type === 'flow').map((m) => m.limit);
    expect(flows()).toEqual([null]); // nobody acknowledged anything yet: no limit, said once on connecting
    hub.clientMessage(a, { type: 'ack', offset: 3000 });
    expect(flows()).toEqual([null, 4000]);
    hub.clientMessage(b, { type: 'ack', offset: 500 });
    expect(flows()).toEqual([null, 4000, 1500]); // the slower client paces
    hub.clientMessage(b, { type: 'ack', offset: 550 });
    expect(flows()).toEqual([null, 4000, 1500]); // moves below an eighth of the window cost no message
    hub.clientMessage(b, { type: 'ack', offset: 9999 }); // more than it was sent: counts as all of it
    expect(flows()).toEqual([null, 4000, 1500, 4000]);
    live(3000, 'y'.repeat(500));
    hub.clientMessage(a, { type: 'ack', offset: 3500 });
    // b has 500 bytes it has not acknowledged; after stallMs it stops pacing and a alone decides.
    now = 2500;
    hub.tick();
    expect(flows()).toEqual([null, 4000, 1500, 4000, 4500]);
    hub.disconnectClient(a);
    expect(flows()).toEqual([null, 4000, 1500, 4000, 4500]); // a dropped: it still paces for a while, as it may be back at once
    now = 5000;
    hub.tick();
    expect(flows()).toEqual([null, 4000, 1500, 4000, 4500, null]); // it did not come back: nobody paces, no limit
  });

  it('flow control: a client that reconnects paces from where it resumes; a new agent connection hears the limit at once', () => {
    let now = 0;
    const { hub, agent, answer } = setup({ flowWindow: 1000, now: () => now });
    const session = randomId();
    const first = hub.connectClient(agentId, new FakePeer(), { ...clientHello(), session })!;
    answer(first, [sealOutput(KEY, 0, utf8('x'.repeat(300)))]);
    hub.clientMessage(first, { type: 'ack', offset: 300 });
    hub.disconnectClient(first);
    now = 100;
    const again = hub.connectClient(agentId, new FakePeer(), { ...clientHello({ resume: { stream, offset: 300 } }), session })!;
    void again;
    const flows = (peer: FakePeer): unknown[] => peer.messages().filter((m) => m.type === 'flow').map((m) => m.limit);
    expect(flows(agent)).toEqual([null, 1300]);
    hub.disconnectAgent(agentId, agent);
    const next = new FakePeer();
    hub.connectAgent(agentId, next, agentHello());
    expect(flows(next)).toEqual([1300]);
    // A relay that knows no client says so too: the agent itself keeps pacing for the clients it had.
    const lonely = new Hub({ flowWindow: 1000 });
    const peer = new FakePeer();
    lonely.connectAgent(agentId, peer, agentHello());
    expect(flows(peer)).toEqual([null]);
  });

  it('flow control: a client brought back by a snapshot paces from the snapshot, not from where it was', () => {
    const { hub, agent, answer } = setup({ flowWindow: 1000 });
    const client = hub.connectClient(agentId, new FakePeer(), clientHello({ resume: { stream, offset: 5 } }))!;
    const flows = (): unknown[] => agent.messages().filter((m) => m.type === 'flow').map((m) => m.limit);
    expect(flows()).toEqual([null, 1005]);
    // Its place is long gone from the agent's buffer: the answer is a snapshot at 50,000.
    answer(client, [sealSnapshot(KEY, 50_000, utf8('the screen'))]);
    hub.tick();
    expect(flows()).toEqual([null, 1005, 51_000]);
  });

  it('refuses clients beyond the per-agent cap', () => {
    const { hub } = setup({ maxClientsPerAgent: 2 });
    hub.connectClient(agentId, new FakePeer(), clientHello());
    hub.connectClient(agentId, new FakePeer(), clientHello());
    const third = new FakePeer();
    expect(hub.connectClient(agentId, third, clientHello())).toBeNull();
    expect(third.closed?.code).toBe(CloseCode.TooMany);
    expect(hub.stats()).toEqual({ agentsOnline: 1, clients: 2 });
  });

  it('forgets agents with no connection and no clients', () => {
    const { hub, agent } = setup();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    hub.disconnectAgent(agentId, agent);
    hub.disconnectClient(client);
    expect(hub.stats()).toEqual({ agentsOnline: 0, clients: 0 });
    expect(hub.presence(agentId).online).toBe(false);
  });
});
