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
const agentHello = (s = stream, more: Array<{ terminal: number; stream: string }> = []) => ({
  type: 'hello' as const,
  v: PROTOCOL_VERSION,
  terminals: [{ terminal: 1, stream: s }, ...more],
  access: 'x'.repeat(43),
  view: 'z'.repeat(43),
  devices: [],
});
const clientHello = (session = randomId()) => ({ type: 'hello' as const, v: PROTOCOL_VERSION, token: 'y'.repeat(43), session });
/** Output of terminal 1 (or another) at `offset`. */
const out = (offset: number, text: string, terminal = 1): Uint8Array => sealOutput(KEY, terminal, offset, utf8(text));
const empty = (offset = 0, terminal = 1): Uint8Array => sealOutput(KEY, terminal, offset, new Uint8Array(0));

function setup(options = {}) {
  const hub = new Hub(options);
  const agent = new FakePeer();
  hub.connectAgent(agentId, agent, agentHello(), 'laptop');
  /** The agent says the client watches `terminal` (it asked, through its channel), resuming from `resume`. */
  const watch = (client: ClientHandle, terminal: number | null = 1, resume?: { stream: string; offset: number }, peer = agent): void =>
    hub.agentMessage(agentId, peer, { type: 'watch', client: client.number, terminal, ...(resume ? { resume } : {}) });
  /** A client admitted and watching terminal 1 (read-only with `readOnly`). */
  const join = (peer: FakePeer, options: { resume?: { stream: string; offset: number }; session?: string; readOnly?: boolean; terminal?: number } = {}): ClientHandle => {
    const client = hub.connectClient(agentId, peer, clientHello(options.session), undefined, options.readOnly === true)!;
    watch(client, options.terminal ?? 1, options.resume);
    return client;
  };
  /** Answers the latest sync requested for `client` with `frames` (client-bound frames). */
  const answer = (client: ClientHandle, frames: Uint8Array[], peer = agent): void => {
    const sync = peer.messages().filter((m) => m.type === 'sync' && m.client === client.number).at(-1)!.sync as number;
    hub.agentMessage(agentId, peer, { type: 'sync_begin', client: client.number, sync });
    for (const frame of frames) hub.agentFrame(agentId, peer, encodeToClient(client.number, frame));
  };
  const live = (offset: number, text: string, peer = agent, terminal = 1): Uint8Array => {
    const frame = out(offset, text, terminal);
    hub.agentFrame(agentId, peer, frame);
    return frame;
  };
  /** The flow limits the agent was given, in order. */
  const flows = (): unknown[] => agent.messages().filter((m) => m.type === 'flow').map((m) => m.limit);
  return { hub, agent, answer, live, join, watch, flows };
}

describe('Hub', () => {
  it('admits a client and announces it; once the agent says what it watches, asks the agent to sync it', () => {
    const { hub, agent, watch } = setup();
    agent.take();
    const peer = new FakePeer();
    const client = hub.connectClient(agentId, peer, clientHello())!;
    expect(peer.messages()[0]).toEqual({ type: 'connected', client_id: String(client.number), agent_id: agentId, agent_online: true, name: 'laptop', read_only: false });
    expect(agent.messages()).toEqual([{ type: 'client_joined', client: client.number, session: expect.any(String), read_only: false }]);
    agent.take();
    watch(client, 1, { stream, offset: 5 });
    expect(agent.messages()).toEqual([
      // It resumes from 5, so it paces terminal 1 from there at once (said before the sync).
      { type: 'flow', terminal: 1, limit: 5 + 512 * 1024 },
      { type: 'sync', client: client.number, terminal: 1, sync: 2, resume: { stream, offset: 5 } },
    ]);
  });

  it('fans live output out to every synced client without copying it', () => {
    const { answer, live, join } = setup();
    const peers = [new FakePeer(), new FakePeer(), new FakePeer()];
    const clients = peers.map((p) => join(p));
    for (const c of clients) answer(c, [empty()]);
    for (const p of peers) p.take();
    const frame = live(0, 'hello');
    for (const p of peers) expect(p.sent).toEqual([frame]);
    for (const p of peers) expect(p.sent[0]).toBe(frame);
  });

  it('routes each terminal to its watchers only, with flow control of its own; a switch is a new sync', () => {
    const { hub, agent, answer, live, join, watch } = setup({ flowWindow: 1000 });
    hub.agentMessage(agentId, agent, { type: 'terminal_opened', terminal: 2, stream: 'T'.repeat(22) });
    const [one, two] = [new FakePeer(), new FakePeer()];
    const a = join(one);
    const b = join(two, { terminal: 2 });
    answer(a, [empty()]);
    answer(b, [empty(0, 2)]);
    one.take();
    two.take();
    live(0, 'for one');
    live(0, 'for two', agent, 2);
    expect(one.outputs()).toEqual(['for one']);
    expect(two.outputs()).toEqual(['for two']);
    agent.take();
    hub.clientMessage(b, { type: 'ack', terminal: 2, offset: 7 });
    hub.clientMessage(b, { type: 'ack', terminal: 1, offset: 7 }); // not what it watches: ignored
    expect(agent.messages()).toEqual([{ type: 'flow', terminal: 2, limit: 1007 }]);
    // b switches to terminal 1: terminal 2 holds its pace for a while (it may come back); terminal 1 syncs it.
    agent.take();
    watch(b, 1);
    expect(agent.messages()).toEqual([{ type: 'sync', client: b.number, terminal: 1, sync: expect.any(Number) }]);
    // A late answer for terminal 2 is not delivered any more.
    two.take();
    hub.agentFrame(agentId, agent, encodeToClient(b.number, out(7, 'late', 2)));
    live(7, 'live two', agent, 2);
    expect(two.sent).toEqual([]);
    answer(b, [sealSnapshot(KEY, 1, 7, utf8('screen of one'))]);
    live(7, ' more one');
    expect(two.outputs()).toEqual([' more one']);
    // Terminal 2 closes: nobody watches it any more.
    hub.agentMessage(agentId, agent, { type: 'terminal_closed', terminal: 2 });
    live(14, 'after close', agent, 2);
    expect(two.outputs()).toEqual([' more one']);
  });

  it('holds live output from a client until its sync answer, then continues from there', () => {
    const { agent, answer, live, join } = setup();
    const peer = new FakePeer();
    const client = join(peer);
    peer.take();
    live(0, 'early');
    expect(peer.sent).toEqual([]);
    answer(client, [sealSnapshot(KEY, 1, 0, new Uint8Array(0)), out(0, 'early')]);
    live(5, 'late');
    expect(peer.sent.map((f) => decodeFrame(f as Uint8Array).type)).toEqual([FrameType.Snapshot, FrameType.Output, FrameType.Output]);
    expect(peer.outputs()).toEqual(['early', 'late']);
    expect(agent.messages().filter((m) => m.type === 'sync')).toHaveLength(1);
  });

  it('asks for one sync when a client misses part of the stream', () => {
    const { agent, answer, live, join } = setup();
    const peer = new FakePeer();
    const client = join(peer);
    answer(client, [out(0, 'abc')]);
    agent.take();
    live(10, 'gap');
    live(13, 'more');
    expect(agent.messages()).toEqual([{ type: 'sync', client: client.number, terminal: 1, sync: 3, resume: { stream, offset: 3 } }]);
  });

  it('stops feeding a client whose socket backs up and syncs it once it drains', () => {
    const { agent, answer, live, join } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const slow = new FakePeer();
    const fast = new FakePeer();
    const slowClient = join(slow);
    const fastClient = join(fast);
    for (const c of [slowClient, fastClient]) answer(c, [empty()]);
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
    expect(agent.messages()).toEqual([{ type: 'sync', client: slowClient.number, terminal: 1, sync: 3, resume: { stream, offset: 4 } }]);
  });

  it('drops what is left of an older sync answer once a newer sync was requested', () => {
    const { hub, agent, answer, join } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const peer = new FakePeer();
    const client = join(peer);
    const first = agent.messages().filter((m) => m.type === 'sync').at(-1)!.sync as number;
    // The first answer begins; the client backs up after its first frame and misses the second.
    hub.agentMessage(agentId, agent, { type: 'sync_begin', client: client.number, sync: first });
    peer.waiting = 1000;
    hub.agentFrame(agentId, agent, encodeToClient(client.number, out(0, 'AAAA')));
    hub.agentFrame(agentId, agent, encodeToClient(client.number, out(4, 'BBBB')));
    peer.drain(); // a new sync is requested from offset 4
    hub.agentFrame(agentId, agent, encodeToClient(client.number, out(8, 'CCCC'))); // rest of the first answer: dropped
    answer(client, [out(4, 'BBBB'), out(8, 'CCCC')]);
    expect(agent.messages().filter((m) => m.type === 'sync').map((m) => m.sync)).toEqual([first, first + 1]);
    expect(peer.outputs()).toEqual(['AAAA', 'BBBB', 'CCCC']);
  });

  it('after the agent restarts with a new stream, a client follows the new stream once it watches again', () => {
    const { hub, agent, answer, live, join, watch } = setup();
    const peer = new FakePeer();
    const client = join(peer);
    answer(client, [out(0, 'old stream, long enough')]);
    hub.disconnectAgent(agentId, agent);
    const again = new FakePeer();
    const newStream = randomId();
    hub.connectAgent(agentId, again, agentHello(newStream));
    // Nothing is synced before the client's new channel says what it watches.
    expect(again.messages().filter((m) => m.type === 'sync')).toEqual([]);
    watch(client, 1, { stream, offset: 23 }, again);
    expect(again.messages().filter((m) => m.type === 'sync').at(-1)).toEqual({ type: 'sync', client: client.number, terminal: 1, sync: expect.any(Number) });
    answer(client, [out(0, 'new')], again);
    live(3, ' stream', again);
    live(10, ' goes on', again);
    expect(peer.outputs()).toEqual(['old stream, long enough', 'new', ' stream', ' goes on']);
  });

  it('an agent cut off between sync_begin and its answer is asked to resume from what the client says it has', () => {
    const { hub, agent, answer, join, watch } = setup({ clientHighWater: 100, clientLowWater: 10 });
    const peer = new FakePeer();
    const client = join(peer);
    answer(client, [out(0, '0123456789')]);
    // The client backs up and drains: a sync is requested; the agent begins answering and is cut off.
    peer.waiting = 1000;
    hub.agentFrame(agentId, agent, out(10, 'abc'));
    peer.drain();
    const pending = agent.messages().filter((m) => m.type === 'sync').at(-1)!.sync as number;
    hub.agentMessage(agentId, agent, { type: 'sync_begin', client: client.number, sync: pending });
    hub.disconnectAgent(agentId, agent);
    const again = new FakePeer();
    hub.connectAgent(agentId, again, agentHello());
    watch(client, 1, { stream, offset: 13 }, again);
    expect(again.messages().filter((m) => m.type === 'sync').at(-1)).toEqual({ type: 'sync', client: client.number, terminal: 1, sync: expect.any(Number), resume: { stream, offset: 13 } });
    answer(client, [out(13, 'def')], again);
    expect(peer.outputs()).toEqual(['0123456789', 'abc', 'def']);
  });

  it('tells clients when the agent goes offline and comes back, and announces them again', () => {
    const { hub, agent, answer, join } = setup();
    const peer = new FakePeer();
    const client = join(peer);
    answer(client, [out(0, 'abc')]);
    peer.take();
    hub.disconnectAgent(agentId, agent);
    expect(peer.messages()).toEqual([{ type: 'agent_offline', agent_id: agentId }]);
    const input = sealInput(KEY, 1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('x') }));
    hub.clientFrame(client, input);
    expect(peer.messages()[1]).toEqual({ type: 'error', code: 'agent_offline', message: 'Agent is offline' });
    const again = new FakePeer();
    hub.connectAgent(agentId, again, agentHello(randomId()));
    expect(peer.messages()[2]).toEqual({ type: 'agent_online', agent_id: agentId });
    expect(again.messages()).toEqual([
      { type: 'connected', agent_id: agentId },
      // The client acknowledged nothing: nobody paces, and the new connection hears so before the clients.
      { type: 'flow', terminal: 1, limit: null },
      { type: 'client_joined', client: client.number, session: expect.any(String), read_only: false },
    ]);
  });

  it('routes input to the agent with the client number, and acks back to that client only', () => {
    const { hub, agent, join } = setup();
    const a = new FakePeer();
    const b = new FakePeer();
    const ca = join(a);
    join(b);
    agent.take();
    a.take();
    b.take();
    const input = sealInput(KEY, 1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('ls\r') }));
    hub.clientFrame(ca, input);
    expect(decodeFrame(agent.frames()[0]!)).toEqual({ type: FrameType.FromClient, client: ca.number, inner: input });
    const ack = sealInputAck(KEY, 1);
    hub.agentFrame(agentId, agent, encodeToClient(ca.number, ack));
    expect(a.frames()).toEqual([ack]);
    expect(b.sent).toEqual([]);
  });

  it('closes an older connection of the same agent as replaced, and ignores what it still sends', () => {
    const { hub, agent, answer, join, watch } = setup();
    const peer = new FakePeer();
    const client = join(peer);
    const newer = new FakePeer();
    hub.connectAgent(agentId, newer, agentHello());
    expect(agent.closed?.code).toBe(CloseCode.Replaced);
    watch(client, 1, undefined, newer);
    answer(client, [out(0, 'from the new one')], newer);
    hub.agentFrame(agentId, agent, out(16, 'from the old one'));
    hub.agentMessage(agentId, agent, { type: 'error', message: 'old' });
    hub.agentMessage(agentId, agent, { type: 'watch', client: client.number, terminal: null });
    hub.disconnectAgent(agentId, agent); // the old socket's close must not take the new one offline
    expect(hub.presence(agentId).online).toBe(true);
    expect(peer.outputs()).toEqual(['from the new one']);
    expect(peer.messages().filter((m) => m.type === 'error' || m.type === 'agent_offline')).toEqual([]);
  });

  it('flow control: the agent may read up to the slowest acknowledging client plus the window', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const peers = [new FakePeer(), new FakePeer()];
    const [a, b] = peers.map((p) => join(p)) as [ClientHandle, ClientHandle];
    for (const c of [a, b]) answer(c, [empty()]);
    live(0, 'x'.repeat(3000));
    expect(flows()).toEqual([null]); // nobody acknowledged anything yet: no limit, said once on connecting
    hub.clientMessage(a, { type: 'ack', terminal: 1, offset: 3000 });
    expect(flows()).toEqual([null, 4000]);
    hub.clientMessage(b, { type: 'ack', terminal: 1, offset: 500 });
    expect(flows()).toEqual([null, 4000, 1500]); // the slower client paces
    hub.clientMessage(b, { type: 'ack', terminal: 1, offset: 550 });
    expect(flows()).toEqual([null, 4000, 1500]); // moves below an eighth of the window cost no message
    hub.clientMessage(b, { type: 'ack', terminal: 1, offset: 9999 }); // more than it was sent: counts as all of it
    expect(flows()).toEqual([null, 4000, 1500, 4000]);
    live(3000, 'y'.repeat(500));
    hub.clientMessage(a, { type: 'ack', terminal: 1, offset: 3500 });
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
    const { hub, agent, answer, join } = setup({ flowWindow: 1000, now: () => now });
    const session = randomId();
    const first = join(new FakePeer(), { session });
    answer(first, [out(0, 'x'.repeat(300))]);
    hub.clientMessage(first, { type: 'ack', terminal: 1, offset: 300 });
    hub.disconnectClient(first);
    now = 100;
    join(new FakePeer(), { session, resume: { stream, offset: 300 } });
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

  it('flow control: a key typed into a flood narrows the window for a second after it; a key into a quiet terminal does not', () => {
    let now = 0;
    const { hub, agent, answer, live, join, flows } = setup({ flowWindow: 1000, typingWindow: 100, now: () => now });
    const client = join(new FakePeer());
    answer(client, [empty()]);
    const type = (seq: number): void => hub.clientFrame(client, sealInput(KEY, seq, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('k') })));
    live(0, 'x'.repeat(50));
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 50 });
    expect(flows()).toEqual([null, 1050]);
    type(1); // nothing waits for the client: the whole window stays (an Enter that starts a listing)
    live(50, 'x'.repeat(80));
    type(2); // 80 bytes unprocessed: not a flood
    expect(flows()).toEqual([null, 1050]);
    live(130, 'y'.repeat(870));
    type(3); // 950 bytes unprocessed: the key's echo would wait behind the window
    expect(flows()).toEqual([null, 1050, 150]);
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 120 });
    expect(flows()).toEqual([null, 1050, 150, 220]); // it moves in eighths of the narrow window
    now = 900;
    type(4);
    now = 1850;
    hub.tick();
    expect(flows()).toEqual([null, 1050, 150, 220]); // 950 ms after the last key: still narrow
    now = 1900;
    hub.tick();
    expect(flows()).toEqual([null, 1050, 150, 220, 1120]); // a second after it: the whole window again
    // Keys from a read-only link never reach the agent, and narrow nothing.
    const viewer = join(new FakePeer(), { readOnly: true });
    answer(viewer, [empty()]);
    hub.clientFrame(viewer, sealInput(KEY, 1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('k') })));
    hub.tick();
    expect(flows()).toEqual([null, 1050, 150, 220, 1120]);
  });

  it('flow control: a client brought back by a snapshot paces from the snapshot, not from where it was', () => {
    const { agent, answer, join, flows } = setup({ flowWindow: 1000 });
    const client = join(new FakePeer(), { resume: { stream, offset: 5 } });
    expect(flows()).toEqual([null, 1005]);
    // Its place is long gone from the agent's buffer: the answer is a snapshot at 50,000.
    answer(client, [sealSnapshot(KEY, 1, 50_000, utf8('the screen'))]);
    // At once, not at the next re-evaluation (a quarter of a second later: the agent waited meanwhile).
    expect(flows()).toEqual([null, 1005, 51_000]);
  });

  it('flow control: the window grows to what a fast client processes in flowWindowMs, up to its most; a slow client keeps the least', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, flowWindowMax: 8000, flowWindowMs: 50, now: () => now });
    const fast = join(new FakePeer());
    answer(fast, [empty()]);
    live(0, 'x'.repeat(100_000));
    const ack = (client: ClientHandle, offset: number, at: number): void => {
      now = at;
      hub.clientMessage(client, { type: 'ack', terminal: 1, offset });
    };
    ack(fast, 1000, 0);
    expect(flows()).toEqual([null, 2000]); // nothing measured yet: the least window
    ack(fast, 3000, 30);
    expect(flows()).toEqual([null, 2000, 4000]); // a span shorter than 50 ms measures nothing
    ack(fast, 6000, 50);
    expect(flows()).toEqual([null, 2000, 4000, 11_000]); // 5,000 bytes in 50 ms: 100 a ms, a window of 5,000
    ack(fast, 16_000, 100);
    expect(flows()).toEqual([null, 2000, 4000, 11_000, 24_000]); // 200 a ms would be 10,000: the most is 8,000
    // A second client, its pace not known yet, paces too: the least window, from the slowest position.
    const slow = join(new FakePeer(), { resume: { stream, offset: 16_000 } });
    expect(flows().at(-1)).toBe(17_000);
    answer(slow, [out(16_000, 'y'.repeat(1000))]);
    ack(slow, 16_100, 150);
    ack(fast, 26_000, 160);
    ack(slow, 16_200, 200); // 2 bytes a ms: a window of 100, so the least
    ack(fast, 36_000, 210);
    expect(flows().at(-1)).toBe(17_200);
    // Time without acknowledgements measures slow: after a quiet second, the fast client alone starts from the least.
    hub.disconnectClient(slow);
    now = 2500;
    hub.tick();
    ack(fast, 40_000, 3000);
    expect(flows().at(-1)).toBe(41_000);
  });

  it('flow control: a client brought back by a snapshot does not count the output it skipped as processed', () => {
    let now = 0;
    const { hub, answer, join, flows } = setup({ flowWindow: 1000, flowWindowMax: 8000, flowWindowMs: 50, now: () => now });
    const client = join(new FakePeer(), { resume: { stream, offset: 5 } });
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 5 });
    now = 60;
    answer(client, [sealSnapshot(KEY, 1, 50_000, utf8('the screen'))]);
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 50_000 });
    now = 120;
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 50_000 });
    expect(flows()).toEqual([null, 1005, 51_000]); // 50,000 bytes "in 60 ms" would have been the most
  });

  it('flow control: a client that stalled and stopped pacing does not hold the agent back again when its connection finally drops', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const [a, b] = [join(new FakePeer()), join(new FakePeer())];
    for (const c of [a, b]) answer(c, [empty()]);
    live(0, 'x'.repeat(500));
    hub.clientMessage(a, { type: 'ack', terminal: 1, offset: 500 });
    hub.clientMessage(b, { type: 'ack', terminal: 1, offset: 100 });
    expect(flows()).toEqual([null, 1500, 1100]);
    // b (a phone in a tunnel) acknowledges nothing more: after stallMs it stops pacing, and a alone decides.
    now = 2500;
    hub.tick();
    expect(flows()).toEqual([null, 1500, 1100, 1500]);
    live(500, 'y'.repeat(1000));
    hub.clientMessage(a, { type: 'ack', terminal: 1, offset: 1500 });
    expect(flows()).toEqual([null, 1500, 1100, 1500, 2500]);
    // Half a minute later the relay drops b's dead socket: b paced nothing any more, so nothing changes.
    now = 30_000;
    hub.disconnectClient(b);
    expect(flows()).toEqual([null, 1500, 1100, 1500, 2500]);
  });

  it('flow control: a client that reconnected is not held back by its own old connection closing later', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const session = randomId();
    const old = join(new FakePeer(), { session });
    answer(old, [empty()]);
    live(0, 'x'.repeat(300));
    hub.clientMessage(old, { type: 'ack', terminal: 1, offset: 300 });
    live(300, 'y'.repeat(1000));
    // Its network goes away: it acknowledges nothing more and stops pacing after stallMs.
    now = 2500;
    hub.tick();
    expect(flows()).toEqual([null, 1300, null]);
    // It reconnects on a new socket (same client session) and resumes from what it has.
    now = 3000;
    const fresh = join(new FakePeer(), { session, resume: { stream, offset: 1300 } });
    answer(fresh, [empty(1300)]);
    expect(flows()).toEqual([null, 1300, null, 2300]);
    live(1300, 'z'.repeat(1000));
    hub.clientMessage(fresh, { type: 'ack', terminal: 1, offset: 2300 });
    expect(flows()).toEqual([null, 1300, null, 2300, 3300]);
    // Much later the relay notices the old socket is dead and drops it.
    now = 40_000;
    hub.disconnectClient(old);
    expect(flows()).toEqual([null, 1300, null, 2300, 3300]);
  });

  it('flow control: a client back on a new connection is not held back by its old one closing after it, though that one kept up', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const session = randomId();
    const old = join(new FakePeer(), { session });
    answer(old, [empty()]);
    live(0, 'x'.repeat(300));
    hub.clientMessage(old, { type: 'ack', terminal: 1, offset: 300 });
    // The phone changes networks: it is back on a new connection before the relay hears the old one close.
    now = 100;
    const fresh = join(new FakePeer(), { session, resume: { stream, offset: 300 } });
    answer(fresh, [empty(300)]);
    live(300, 'y'.repeat(2000));
    hub.clientMessage(fresh, { type: 'ack', terminal: 1, offset: 2300 });
    expect(flows().at(-1)).toBe(1300); // the old connection paces while it is open (it is not stalled yet)
    // It closes now: the session paces as its new connection, not as departed at 300 for another 2 s.
    now = 200;
    hub.disconnectClient(old);
    expect(flows().at(-1)).toBe(3300);
  });

  it('flow control: output arriving after a quiet spell does not make a client that keeps up count as stalled', () => {
    let now = 0;
    const { hub, answer, live, join, flows } = setup({ flowWindow: 1000, stallMs: 2000, now: () => now });
    const client = join(new FakePeer());
    answer(client, [empty()]);
    live(0, 'x'.repeat(50));
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 50 });
    expect(flows()).toEqual([null, 1050]);
    // Ten quiet seconds: it has processed everything, nothing waits for it.
    for (now = 250; now <= 10_000; now += 250) hub.tick();
    expect(flows()).toEqual([null, 1050]);
    // A burst starts; the next re-evaluation comes 100 ms later, before the client's acknowledgement is back.
    live(50, 'y'.repeat(1000));
    now = 10_100;
    hub.tick();
    // The output has waited 100 ms, not stallMs: the client still paces.
    expect(flows()).toEqual([null, 1050]);
  });

  it('forgets an agent that went offline once the clients that departed after it no longer pace', () => {
    let now = 0;
    const held: boolean[] = [];
    const { hub, agent, answer, live, join } = setup({ stallMs: 2000, now: () => now, holding: (_id: string, h: boolean) => held.push(h) });
    const client = join(new FakePeer());
    answer(client, [empty()]);
    live(0, 'abc');
    hub.clientMessage(client, { type: 'ack', terminal: 1, offset: 3 });
    hub.disconnectAgent(agentId, agent);
    hub.disconnectClient(client);
    expect(held).toEqual([true]); // the client departed: it may be back at once
    now = 5000;
    hub.tick();
    expect(held).toEqual([true, false]);
    expect(hub.presence(agentId)).toEqual({ online: false, name: undefined });
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
    const { hub, agent, join } = setup();
    const client = join(new FakePeer());
    hub.disconnectAgent(agentId, agent);
    hub.disconnectClient(client);
    expect(hub.stats()).toEqual({ agentsOnline: 0, clients: 0 });
    expect(hub.presence(agentId).online).toBe(false);
  });
});
