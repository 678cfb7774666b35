// A relay that plays both sides: it speaks to the agent and to browsers as it likes, with the help of a
// device that has been revoked, a holder of the read-only link, or a guessed PIN. Each attack found by a
// review of protocol version 3 is played here against real agents and clients, and refused.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CPace,
  FrameType,
  HandshakeStep,
  NoiseHandshake,
  channelPrologue,
  channelPsk,
  decodeCredentialRef,
  decodeFrame,
  decodePinShare,
  encodeChannelMessage,
  encodeFromClient,
  encodeHandshake,
  encodeInputRecord,
  encodeMessage,
  fromBase64Url,
  open,
  openFrame,
  parseAccessLink,
  parseAgentChannel,
  randomId,
  pinChannelId,
  pinPrs,
  pinnedPsk,
  sealChannel,
  sealInput,
  sealOutput,
  utf8,
  IntegrityError,
  type AgentChannelMessage,
  type ChannelFrame,
  type Credential,
  type OutputFrame,
  type ToClientFrame,
} from '../src/protocol/index.js';
import { OPEN_BUDGET } from '../src/agent/channel-host.js';
import type { PairedCredential } from '../src/client/session.js';
import { relayBehindHostile, type HostileRelay, type Tapped } from './helpers/hostile-relay.js';
import { admittedRawClient, asCredential, channelMessages, cleanup, openRawChannel, pairDevice, startAgent, TestClient, type RawChannel, type RawSocket, type TestAgent } from './helpers/system.js';

afterEach(cleanup);

const json = (m: Tapped): Record<string, unknown> | undefined => (m.binary ? undefined : (JSON.parse(m.data.toString()) as Record<string, unknown>));

/** An agent behind a hostile relay, and helpers to pair devices and find clients as the relay numbers them. */
async function scene() {
  const { hostile, through } = await relayBehindHostile();
  const agent = await startAgent(hostile.url);
  const link = through(agent.url);
  const pair = (name: string): Promise<PairedCredential> => pairDevice(link, name);
  /** The relay's number for the latest connection of a device (or of a link, with undefined). */
  const clientOf = (device: string | undefined): number =>
    hostile
      .messages('agent', 'down')
      .map(json)
      .filter((m) => m?.type === 'client_joined' && m.device === device)
      .at(-1)!.client as number;
  return { hostile, agent, link, through, pair, clientOf };
}

/** A raw client admitted by the relay (through the hostile one) with its channel open. */
async function rawClient(hostile: HostileRelay, agentId: string, credential: Credential): Promise<{ raw: RawSocket; channel: RawChannel; connection: number }> {
  const { raw, session } = await admittedRawClient(hostile.url, agentId, credential);
  const connection = hostile.connections('client');
  // It watches the first session from the start (and so gets its stream key).
  const channel = await openRawChannel(raw, agentId, credential, { session, watch: { terminal: 1 } });
  await raw.messages.until(() => channelMessages(raw, channel).some((m) => m.type === 'stream'), 10_000, 'the stream key');
  return { raw, channel, connection };
}

/** The stream keys the agent sent to one client number since `mark`, opened with that connection's key. */
function streamKeysTo(hostile: HostileRelay, client: number, receive: Uint8Array, mark: number): Array<{ frame: Buffer; key: Uint8Array }> {
  return hostile.seen.items
    .slice(mark)
    .filter((m) => m.side === 'agent' && m.way === 'up' && m.binary && m.data[0] === FrameType.ToClient && m.data.readUInt32BE(1) === client && m.data[5] === FrameType.Channel)
    .map((m) => {
      const inner = (decodeFrame(m.data) as ToClientFrame).inner;
      const frame = decodeFrame(inner) as ChannelFrame;
      return { frame: Buffer.from(inner), message: parseAgentChannel(open(receive, frame.header, frame.box, 'channel message')) };
    })
    .filter((m) => m.message.type === 'stream_key')
    .map((m) => ({ frame: m.frame, key: fromBase64Url((m.message as { key: string }).key) }));
}

/** Waits until the agent has handled everything sent before: a marker typed by `client` comes back. */
async function barrier(client: TestClient, name: string): Promise<void> {
  client.type(`echo ${name}-$((40+2))\r`);
  await client.waitForOutput(`${name}-42`);
}

describe('a relay re-announcing a client', () => {
  it('cannot keep a revoked device’s channel alive: its input does not run after the revocation', async () => {
    const { hostile, agent, link, pair, clientOf } = await scene();
    const [mine, lost] = [await pair('mine'), await pair('lost')];
    const phone = new TestClient(link, { credential: asCredential(mine) });
    await phone.waitForState('online');
    const agentId = agent.agent.agentId!;
    const tablet = await rawClient(hostile, agentId, asCredential(lost));
    const tabletClient = clientOf(lost.id);
    const joined = hostile.messages('agent', 'down').map(json).filter((m) => m?.type === 'client_joined' && m.client === tabletClient).at(-1)!;
    // The relay announces the tablet's number again, and will never say that it left.
    hostile.inject('agent', hostile.connections('agent'), JSON.stringify(joined));
    hostile.tamper = (m) => (m.side === 'agent' && m.way === 'down' && json(m)?.type === 'client_left' && json(m)?.client === tabletClient ? [] : undefined);
    phone.session.revokeDevice(lost.id);
    await agent.events.next((e) => e.event === 'revoked');
    // Input sealed with the revoked tablet's key, on its old number: not run.
    const record = encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('echo typed-after-revoke-$((40+2))\r') });
    hostile.inject('agent', hostile.connections('agent'), encodeFromClient(tabletClient, sealInput(tablet.channel.keys.send, 1000, record)));
    await barrier(phone, 'after-forged-input');
    expect(phone.text).not.toContain('typed-after-revoke-42');
  });
});

describe('a revoked device helped by the relay', () => {
  it('cannot show the others output sealed with the key it had', async () => {
    const { hostile, agent, link, pair } = await scene();
    const [mine, lost] = [await pair('mine'), await pair('lost')];
    const phone = new TestClient(link, { credential: asCredential(mine) });
    await phone.waitForState('online');
    const phoneConnection = hostile.connections('client');
    const tablet = await rawClient(hostile, agent.agent.agentId!, asCredential(lost));
    // The key the tablet holds last: from the stream it was given, or a stream_key since.
    const keys = channelMessages(tablet.raw, tablet.channel)
      .filter((m) => m.type === 'stream' || m.type === 'stream_key')
      .map((m) => fromBase64Url((m as { key: string }).key));
    const tabletKey = keys.at(-1)!;
    phone.session.revokeDevice(lost.id);
    await tablet.raw.closed;
    await barrier(phone, 'rekeyed');
    const errors = phone.errors.items.length;
    hostile.inject('client', phoneConnection, sealOutput(tabletKey, 1, phone.session.offset!, utf8('\r\nFORGED-BY-REVOKED-DEVICE\r\n')));
    expect(await phone.errors.next((e) => e.code === 'integrity', 10_000, 'the forged output refused', errors)).toBeDefined();
    await phone.waitForState('online', 15_000, phone.states.items.length);
    await barrier(phone, 'still-here');
    expect(phone.text).not.toContain('FORGED-BY-REVOKED-DEVICE');
  });

  it('cannot bring back its key by replaying a stream_key, nor forge an exit status or attention event with it', async () => {
    const { hostile, agent, link, pair, clientOf } = await scene();
    const [mine, a, b] = [await pair('mine'), await pair('a'), await pair('b')];
    const phone = new TestClient(link, { credential: asCredential(mine) });
    await phone.waitForState('online');
    const phoneConnection = hostile.connections('client');
    const phoneClient = clientOf(mine.id);
    const deviceB = await rawClient(hostile, agent.agent.agentId!, asCredential(b));
    const bClient = clientOf(b.id);
    const mark = hostile.seen.items.length;
    phone.session.revokeDevice(a.id);
    await agent.events.next((e) => e.event === 'revoked' && e.id === a.id);
    await barrier(phone, 'first-revoke');
    // What B got after A's revocation (K1), and the message that gave the phone the same key.
    const k1 = streamKeysTo(hostile, bClient, deviceB.channel.keys.receive, mark).at(-1)!.key;
    const phoneFrames = hostile.seen.items
      .slice(mark)
      .filter((m) => m.side === 'agent' && m.way === 'up' && m.binary && m.data[0] === FrameType.ToClient && m.data.readUInt32BE(1) === phoneClient && m.data[5] === FrameType.Channel);
    expect(phoneFrames.length).toBeGreaterThan(0);
    phone.session.revokeDevice(b.id);
    await deviceB.raw.closed;
    await barrier(phone, 'second-revoke');
    // The relay replays the phone's earlier stream_key: refused as a replay.
    let errors = phone.errors.items.length;
    hostile.inject('client', phoneConnection, phoneFrames[0]!.data.subarray(5));
    expect(await phone.errors.next((e) => e.code === 'integrity', 10_000, 'the replayed channel message refused', errors)).toMatchObject({ message: expect.stringMatching(/came again/) });
    await phone.waitForState('online', 15_000, phone.states.items.length);
    // B forges an exit status and an attention event with K1, as channel messages (the only way they travel): neither opens.
    const at = phone.session.offset!;
    const forgeries = [
      { type: 'exit', terminal: 1, message: 'FORGED exit', exit_code: 0, end: at, run: 1, restarting: false },
      { type: 'attention', terminal: 1, kind: 'notification', message: 'FORGED attention' },
    ] as const;
    for (const forged of forgeries) {
      errors = phone.errors.items.length;
      hostile.inject('client', hostile.connections('client'), sealChannel(k1, 1_000_000, encodeChannelMessage(forged)));
      expect(await phone.errors.next((e) => e.code === 'integrity', 10_000, `the forged ${forged.type} refused`, errors)).toMatchObject({ message: expect.stringMatching(/channel message/) });
      await phone.waitForState('online', 15_000, phone.states.items.length);
    }
    expect(phone.exits.items).toEqual([]);
    expect(phone.attentions.items).toEqual([]);
  });
});

describe('pairing through a connection that came with a link', () => {
  it('pairs one device, once; after the link is replaced, that connection pairs nothing more', async () => {
    const { hostile, agent, link, pair, clientOf } = await scene();
    const mine = await pair('mine');
    const phone = new TestClient(link, { credential: asCredential(mine) });
    await phone.waitForState('online');
    const agentId = agent.agent.agentId!;
    const intruder = await rawClient(hostile, agentId, { kind: 'link', secret: parseAccessLink(link).secret, readOnly: false });
    const intruderClient = clientOf(undefined);
    let seq = 0;
    const ask = (message: Parameters<typeof encodeChannelMessage>[0]): void =>
      hostile.inject('agent', hostile.connections('agent'), encodeFromClient(intruderClient, sealChannel(intruder.channel.keys.send, ++seq, encodeChannelMessage(message))));
    ask({ type: 'pair', id: 'A'.repeat(22), secret: 'B'.repeat(43), name: 'intruder-A' });
    await agent.events.next((e) => e.event === 'paired' && e.name === 'intruder-A');
    ask({ type: 'pair', id: 'C'.repeat(22), secret: 'D'.repeat(43), name: 'intruder-B' });
    await intruder.raw.messages.until(() => channelMessages(intruder.raw, intruder.channel).some((m) => m.type === 'refused'), 10_000, 'the second pairing refused');
    expect(channelMessages(intruder.raw, intruder.channel).find((m) => m.type === 'refused')).toMatchObject({ message: expect.stringMatching(/once/) });
    // The owner revokes the intruder's device; the relay hides that the intruder's connection left.
    hostile.tamper = (m) => (m.side === 'agent' && m.way === 'down' && json(m)?.type === 'client_left' && json(m)?.client === intruderClient ? [] : undefined);
    phone.session.revokeDevice('A'.repeat(22));
    await agent.events.next((e) => e.event === 'link_replaced');
    ask({ type: 'pair', id: 'E'.repeat(22), secret: 'F'.repeat(43), name: 'intruder-C' });
    phone.session.listDevices();
    const list = await phone.deviceLists.next((l) => l.every((d) => d.id !== 'A'.repeat(22)), 10_000, 'the devices after the revocation');
    expect(list.map((d) => d.name)).toEqual(['mine']);
    expect(agent.events.items.filter((e) => e.event === 'paired').map((e) => (e as { name: string }).name)).toEqual(['mine', 'intruder-A']);
  });

  it('a read-only link cannot take over a paired device by pairing with its id', async () => {
    const { hostile, agent, link, pair } = await scene();
    const mine = await pair('mine');
    const view = parseAccessLink(agent.agent.viewUrl!);
    const viewer = await rawClient(hostile, view.agentId, { kind: 'link', secret: view.secret, readOnly: true });
    viewer.raw.ws.send(sealChannel(viewer.channel.keys.send, 1, encodeChannelMessage({ type: 'pair', id: mine.id, secret: 'A'.repeat(43), name: 'thief' })));
    await viewer.raw.messages.until(() => channelMessages(viewer.raw, viewer.channel).some((m) => m.type === 'refused'), 10_000, 'the pairing refused');
    expect(channelMessages(viewer.raw, viewer.channel)).toContainEqual({ type: 'refused', message: expect.stringMatching(/paired already/) });
    const phone = new TestClient(link, { credential: asCredential(mine) });
    expect((await phone.welcomes.next(() => true)).access).toBe('full');
  });
});

describe('a relay replaying what it recorded', () => {
  it('opens no more channels with a recorded OPEN than the credential’s budget', async () => {
    const { hostile, agent, link, pair } = await scene();
    const paired = await pair('phone');
    const device = new TestClient(link, { credential: asCredential(paired) });
    await device.waitForState('online');
    const recorded = hostile.messages('client', 'up').filter((m) => m.binary && m.data[0] === FrameType.Handshake && m.data[1] === HandshakeStep.Open).at(-1)!;
    const connected = (): number => agent.events.items.filter((e) => e.event === 'connected').length;
    const before = connected();
    const refusedBefore = agent.events.items.filter((e) => e.event === 'refused').length;
    const started = performance.now();
    const replays = 50;
    for (let n = 0; n < replays; n++) {
      const client = 900_000 + n;
      hostile.inject('agent', hostile.connections('agent'), encodeMessage({ type: 'client_joined', client, session: device.session.sessionId, read_only: false, device: paired.id }));
      hostile.inject('agent', hostile.connections('agent'), encodeFromClient(client, recorded.data));
    }
    await agent.events.until(
      (events) => events.filter((e) => e.event === 'connected').length - before + events.filter((e) => e.event === 'refused').length - refusedBefore >= replays,
      10_000,
      'every replay answered',
    );
    const opened = connected() - before;
    const elapsedMs = performance.now() - started;
    // One recorded OPEN is one session: its budget bounds the replays.
    expect(opened).toBeLessThanOrEqual(OPEN_BUDGET.perSession.burst + (OPEN_BUDGET.perSession.perMinute * elapsedMs) / 60_000);
    expect(agent.events.items.filter((e) => e.event === 'refused').slice(refusedBefore).every((e) => (e as { reason: string }).reason === 'busy')).toBe(true);
  });

  it('cannot run input twice across an agent restart by withholding its acknowledgement', async () => {
    const { hostile, agent, link } = await scene();
    hostile.tamper = (m) => (m.side === 'agent' && m.way === 'up' && m.binary && m.data[0] === FrameType.ToClient && m.data[5] === FrameType.InputAck ? [] : undefined);
    const client = new TestClient(link);
    await client.waitForState('online');
    client.type('echo ran >> counter.txt; echo done-$((2+3))\r');
    await client.waitForOutput('done-5');
    await agent.close();
    await startAgent(hostile.url, { configDir: agent.configDir, cwd: agent.cwd });
    expect(await client.errors.next((e) => e.code === 'input_dropped', 15_000, 'the unconfirmed input dropped')).toMatchObject({ message: expect.stringMatching(/not sent again/) });
    hostile.tamper = undefined;
    await barrier(client, 'after-restart');
    expect(readFileSync(join(agent.cwd, 'counter.txt'), 'utf8')).toBe('ran\n');
  });

  it('cannot replay an earlier run’s exit status (--restart)', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent: TestAgent = await startAgent(hostile.url, {
      args: ['-c', 'if [ -f marker ]; then echo second-run; exec sleep 1000; else touch marker; echo first-run; exit 7; fi'],
      restart: true,
    });
    const client = new TestClient(through(agent.url));
    await client.waitForOutput('second-run', 15_000);
    // The first run's exit went to the client as a channel message; the relay sends that frame again.
    const first = client.exits.items.find((e) => e.run === 1);
    expect(first).toMatchObject({ exit_code: 7, restarting: true });
    const channelFrames = hostile.messages('client', 'down').filter((m) => m.binary && m.data[0] === FrameType.Channel && m.connection === hostile.connections('client'));
    const exits = client.exits.items.length;
    const errors = client.errors.items.length;
    for (const frame of channelFrames) hostile.inject('client', hostile.connections('client'), frame.data);
    expect(await client.errors.next((e) => e.code === 'integrity', 10_000, 'the replayed exit refused', errors)).toMatchObject({ message: expect.stringMatching(/came again/) });
    expect(client.exits.items.length).toBe(exits);
  });

  it('a leaked device key opens no output recorded before it connects, even while the agent still runs', async () => {
    const { hostile, agent, link } = await scene();
    const phone = new TestClient(link, { pair: 'phone' });
    const paired = await phone.pairings.next(() => true);
    phone.type('echo private-$((6*7))\r');
    await phone.waitForOutput(/private-42\r?\n/);
    phone.close();
    const recorded = hostile.messages('agent', 'up').filter((m) => m.binary && m.data[0] === FrameType.Output);
    expect(recorded.length).toBeGreaterThan(0);
    const thief = new TestClient(link, { credential: asCredential(paired) });
    const key = fromBase64Url((await thief.streamKeys.next(() => true)).key);
    for (const m of recorded) expect(() => openFrame(key, decodeFrame(m.data) as OutputFrame)).toThrow(IntegrityError);
    void agent;
  });
});

describe('a relay and the sessions a client switches between', () => {
  it('cannot show an earlier screen of a session when the client comes back to it: the snapshot recorded then does not open', async () => {
    const { hostile, link } = await scene();
    const phone = new TestClient(link);
    phone.type('echo old-screen-$((2*2))\r');
    await phone.waitForOutput('old-screen-4');
    const recorded = hostile.messages('client', 'down').find((m) => m.binary && m.data[0] === FrameType.Snapshot);
    expect(recorded).toBeDefined();
    const second = await phone.session.startSession({ kind: 'shell' });
    phone.session.watch(second);
    await phone.watchings.next((t) => t === second, 10_000, 'on the second session', phone.watchings.items.length - 1);
    // Back to the first: the relay withholds the fresh screen and hands the client the one it recorded.
    hostile.tamper = (m) => (m.side === 'client' && m.way === 'down' && m.binary && m.data[0] === FrameType.Snapshot ? [{ data: recorded!.data, binary: true }] : undefined);
    const errors = phone.errors.items.length;
    const chunks = phone.chunks.items.length;
    phone.session.watch(1);
    expect(await phone.errors.next((e) => e.code === 'integrity', 10_000, 'the old screen refused', errors)).toMatchObject({ message: expect.stringMatching(/failed authentication/) });
    expect(phone.chunks.items.slice(chunks).filter((c) => c.kind === 'snapshot')).toEqual([]);
  });
});

describe('a relay holding a link that needs a PIN', () => {
  it('gets at most three PIN exchanges out of a browser before it asks the person again', async () => {
    const PIN = '482913';
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url, { pin: PIN });
    const { agentId, secret } = parseAccessLink(agent.url);
    // The relay keeps the browser's handshake from the agent and plays the agent itself, one guess each time.
    hostile.tamper = (m) => (m.side === 'client' && m.way === 'up' && m.binary && m.data[0] === FrameType.Handshake ? [] : undefined);
    const client = new TestClient(through(agent.url), { pin: PIN });
    const linkPsk = channelPsk({ kind: 'link', secret, readOnly: false }, agentId);
    const isShare = (m: Tapped): boolean => m.side === 'client' && m.way === 'up' && m.binary && m.data[0] === FrameType.Handshake && m.data[1] === HandshakeStep.PinShare;
    const isOpen = (m: Tapped): boolean => m.side === 'client' && m.way === 'up' && m.binary && m.data[0] === FrameType.Handshake && m.data[1] === HandshakeStep.Open;
    let from = 0;
    let guesses = 0;
    const tried: boolean[] = [];
    const failed = client.waitForState('failed', 20_000);
    for (;;) {
      const next = await Promise.race([hostile.seen.next(isShare, 20_000, 'a PIN exchange', from), failed.then(() => undefined)]);
      if (!next) break;
      from = hostile.seen.items.indexOf(next) + 1;
      guesses++;
      const { sid, share: ya } = decodePinShare(next.data.subarray(2));
      const guess = new CPace('responder', { prs: pinPrs(`00000${guesses}`), ci: pinChannelId(agentId), sid });
      const isk = guess.finish(ya);
      hostile.inject('client', hostile.connections('client'), encodeHandshake(HandshakeStep.PinReply, guess.share));
      const openMessage = await hostile.seen.next(isOpen, 10_000, 'OPEN', from);
      from = hostile.seen.items.indexOf(openMessage) + 1;
      const body = openMessage.data.subarray(2);
      const { ref, length } = decodeCredentialRef(body);
      try {
        new NoiseHandshake('responder', pinnedPsk(linkPsk, isk, agentId), channelPrologue(agentId, ref, { sid, ya, yb: guess.share })).readMessage(body.subarray(length));
        tried.push(true);
      } catch {
        tried.push(false);
      }
      // Another exchange: the relay says the agent came online again.
      hostile.inject('client', hostile.connections('client'), encodeMessage({ type: 'agent_online', agent_id: agentId }));
    }
    expect(await failed).toMatchObject({ refused: 'pin_required', reason: expect.stringMatching(/type the PIN again/) });
    expect(guesses).toBe(3);
    expect(tried).toEqual([false, false, false]);
  });
});

describe('a relay inventing clients and choices', () => {
  it('cannot make the agent keep track of more than 64 clients at once', async () => {
    const { hostile, agent, link } = await scene();
    const phone = new TestClient(link);
    await phone.waitForState('online');
    const rejected = (): number => agent.events.items.filter((e) => e.event === 'input_rejected' && /more than 64 clients/.test(e.reason)).length;
    for (let n = 0; n < 200; n++) {
      hostile.inject('agent', hostile.connections('agent'), encodeMessage({ type: 'client_joined', client: 500_000 + n, session: randomId(), read_only: false }));
    }
    await barrier(phone, 'after-flood');
    // The phone's own client and 63 invented ones are kept; the rest are refused, and reported.
    expect(rejected()).toBe(200 - 63);
  });

  it('cannot choose how a client catches up: the agent follows what the client said when it started watching', async () => {
    const { hostile, agent, link } = await scene();
    const first = new TestClient(link);
    first.type(`head -c 300000 /dev/zero | tr '\\0' x; echo; echo filled-$((1+1))\r`);
    await first.waitForOutput('filled-2', 20_000);
    // The relay asks the agent for raw bytes from the start for this new screen client (no resume in its sync).
    hostile.tamper = (m) => {
      const sync = m.side === 'agent' && m.way === 'down' ? json(m) : undefined;
      return sync?.type === 'sync' ? [{ data: Buffer.from(JSON.stringify({ ...sync, resume: { stream: sync.resume ? (sync.resume as { stream: string }).stream : 'S'.repeat(22), offset: 0 } })), binary: false }] : undefined;
    };
    const second = new TestClient(link);
    await second.waitForOutput('filled-2', 20_000);
    expect(second.chunks.items[0]).toMatchObject({ kind: 'snapshot', screen: 'screen' });
    expect(second.errors.items).toEqual([]);
    void agent;
  });

  it('cannot have a new screen client draw output without the screen it continues', async () => {
    const { hostile, link } = await scene();
    const first = new TestClient(link);
    first.type('echo before-$((2+2))\r');
    await first.waitForOutput('before-4');
    // The relay drops the snapshot a new screen client is sent, and passes on the output after it.
    hostile.tamper = (m) => (m.side === 'client' && m.way === 'down' && m.binary && m.data[0] === FrameType.Snapshot ? [] : undefined);
    const second = new TestClient(link);
    expect(await second.errors.next((e) => e.code === 'integrity', 10_000, 'output without its screen refused')).toMatchObject({ message: expect.stringMatching(/before the screen/) });
    expect(second.chunks.items).toEqual([]);
  });
});

