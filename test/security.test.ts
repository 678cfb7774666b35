// End-to-end encryption against a hostile relay: a real relay with a man in the middle that records,
// alters, replays, reorders and misroutes what passes through it. Nothing of the terminal crosses it in
// plaintext, and every interference is refused by the receiver, which says so.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CPace,
  HandshakeStep,
  NoiseHandshake,
  CloseCode,
  FrameType,
  channelPrologue,
  channelPsk,
  decodePinShare,
  encodeCredentialRef,
  pinChannelId,
  pinPrs,
  pinnedPsk,
  accessToken,
  encodeFromClient,
  encodeInputRecord,
  parseAccessLink,
  randomBytes,
  toBase64Url,
  sealInput,
  utf8,
} from '../src/protocol/index.js';
import type { AgentOptions } from '../src/agent/agent.js';
import { relayBehindHostile, type Tapped } from './helpers/hostile-relay.js';
import { admittedRawClient, cleanup, openRawChannel, startAgent, startRelay, TestClient, type TestAgent } from './helpers/system.js';

afterEach(cleanup);

/** A relay, a man in the middle in front of it, and agents that reach the relay only through it. */
async function behindHostileRelay() {
  const { relay, hostile, through } = await relayBehindHostile();
  const agent = async (options: Partial<AgentOptions> = {}): Promise<TestAgent & { link: string; viewLink: string }> => {
    const started = await startAgent(hostile.url, options);
    return { ...started, link: through(started.url), viewLink: through(started.agent.viewUrl!) };
  };
  return { relay, hostile, agent };
}

const isOutput = (m: Tapped): boolean => m.side === 'client' && m.way === 'down' && m.binary && m.data[0] === FrameType.Output && m.data.length > 53; // not an empty one (header 13, seal 40)

describe('end-to-end encryption', () => {
  it('neither a typed nor a printed marker crosses the relay in plaintext', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link);
    await client.waitForState('online');
    const typed = 'typed-marker-7f3a9c';
    client.type(`echo ${typed} | tr a-z A-Z\r`);
    await client.waitForOutput(typed.toUpperCase()); // printed by the PTY only
    expect(client.text).toContain(typed); // the echo of what was typed came back too
    for (const [side, way] of [['client', 'up'], ['client', 'down'], ['agent', 'up'], ['agent', 'down']] as const) {
      expect(hostile.messages(side, way).length).toBeGreaterThan(0);
    }
    for (const marker of [typed, typed.toUpperCase()]) {
      const found = hostile.seen.items.filter((m) => m.data.includes(marker));
      expect(found).toEqual([]);
    }
  });

  it('refuses output altered on the way, says so, and recovers everything by resuming', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link, { history: 'bytes' });
    await client.waitForState('online');
    let flipped = 0;
    hostile.tamper = (m) => {
      if (!isOutput(m) || flipped > 0) return undefined;
      flipped++;
      const data = Buffer.from(m.data);
      data[data.length - 1]! ^= 0x01;
      return [{ data, binary: true }];
    };
    client.type('echo altered-$((20+1))\r');
    const error = await client.errors.next((e) => e.code === 'integrity');
    expect(error.message).toMatch(/failed authentication/);
    hostile.tamper = undefined;
    // The session reconnects and resumes from where it stood: the refused bytes come again, intact.
    await client.waitForOutput(/altered-21/);
    const reference = new TestClient(link, { history: 'bytes' });
    await reference.waitForOutput(/altered-21\r?\n/);
    client.type('echo done-$((1+1))\r');
    await client.waitForOutput('done-2');
    await reference.waitForOutput('done-2');
    expect(client.output.toString()).toBe(reference.output.toString());
  });

  it('refuses a replayed frame and two frames swapped', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const { link } = await agent();
    const client = new TestClient(link);
    await client.waitForState('online');
    client.type('echo first-$((1+1))\r');
    await client.waitForOutput('first-2');
    // Once the screen is there, what follows is live output.
    client.type('echo second-$((1+2))\r');
    await client.waitForOutput('second-3');
    const old = hostile.seen.items.filter(isOutput).at(-1)!;
    hostile.inject('client', old.connection, old.data);
    expect((await client.errors.next((e) => e.code === 'integrity')).message).toMatch(/repeats what was already received/);
    await client.waitForState('online', 10_000, client.states.items.length);

    // Hold one output frame back and deliver it after the next.
    const errorsBefore = client.errors.items.length;
    let held: Buffer | undefined;
    hostile.tamper = (m) => {
      if (!isOutput(m)) return undefined;
      if (!held) {
        held = m.data;
        return [];
      }
      hostile.tamper = undefined;
      return [
        { data: m.data, binary: true },
        { data: held, binary: true },
      ];
    };
    client.type('echo one; sleep 0.3; echo two\r');
    const swapped = await client.errors.next((e) => e.code === 'integrity', 10_000, 'an integrity error', errorsBefore);
    expect(swapped.message).toMatch(/jumps/);
    await client.waitForOutput(/^two\r?$/m);
  });

  it("refuses another agent's output delivered to this agent's client", async () => {
    const { hostile, agent } = await behindHostileRelay();
    const a = await agent();
    const b = await agent();
    const clientA = new TestClient(a.link);
    const clientB = new TestClient(b.link);
    await Promise.all([clientA.waitForState('online'), clientB.waitForState('online')]);
    clientB.type('echo from-b-$((2+2))\r');
    await clientB.waitForOutput('from-b-4');
    // Once the screen is there, what follows is live output.
    clientB.type('echo more-b-$((3+3))\r');
    await clientB.waitForOutput('more-b-6');
    const connectionB = hostile.seen.items.find((m) => m.side === 'client' && m.way === 'down' && m.data.includes(parseAccessLink(b.link).agentId))!.connection;
    const connectionA = connectionB === 1 ? 2 : 1;
    const fromB = hostile.seen.items.filter((m) => isOutput(m) && m.connection === connectionB).at(-1)!;
    hostile.inject('client', connectionA, fromB.data);
    expect((await clientA.errors.next((e) => e.code === 'integrity')).message).toMatch(/failed authentication/);
    expect(clientA.text).not.toContain('from-b-4');
  });

  it('the agent refuses input altered on the way, and browsers hear of it', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent();
    const client = new TestClient(started.link);
    await client.waitForState('online');
    hostile.tamper = (m) => {
      if (m.side !== 'client' || m.way !== 'up' || !m.binary || m.data[0] !== FrameType.Input) return undefined;
      hostile.tamper = undefined;
      const data = Buffer.from(m.data);
      data[data.length - 3]! ^= 0x20;
      return [{ data, binary: true }];
    };
    client.type('touch altered\r');
    const rejected = await started.events.next((e) => e.event === 'input_rejected');
    expect(rejected).toMatchObject({ reason: expect.stringMatching(/failed authentication/) });
    await client.errors.next((e) => /refused input/.test(e.message));
    // Later input goes through; the altered keystrokes were never applied.
    client.type('echo later-$((3+4))\r');
    await client.waitForOutput('later-7');
    expect(existsSync(join(started.cwd, 'altered'))).toBe(false);
  });
});

describe('read-only links', () => {
  it('watch the terminal; their input and resize are refused by the agent even when the relay forwards them', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent();
    const owner = new TestClient(started.link);
    const viewer = new TestClient(started.viewLink);
    await Promise.all([owner.waitForState('online'), viewer.waitForState('online')]);
    expect(viewer.session.canType).toBe(false);
    owner.type('echo shown-$((5+5))\r');
    await viewer.waitForOutput('shown-10');
    viewer.type('touch typed-by-viewer\r');
    expect((await viewer.errors.next((e) => e.code === 'read_only')).message).toMatch(/read-only/);

    // A read-only holder writing frames itself, sealed with its own channel's key, and a relay that lies
    // to the agent that this client may type and forwards everything it sends.
    hostile.tamper = (m) => {
      if (m.side !== 'agent' || m.way !== 'down' || m.binary) return undefined;
      const text = m.data.toString().replace('"read_only":true', '"read_only":false');
      return [{ data: Buffer.from(text), binary: false }];
    };
    const { relayUrl, agentId, secret: view } = parseAccessLink(started.viewLink);
    const { raw, session } = await admittedRawClient(relayUrl, agentId, { kind: 'link', secret: view, readOnly: true });
    const joined = await hostile.seen.next((m) => m.side === 'agent' && m.way === 'down' && m.data.includes(session));
    const client = JSON.parse(joined.data.toString()).client as number;
    const channel = await openRawChannel(raw, agentId, { kind: 'link', secret: view, readOnly: true }, { session });
    expect(channel.welcome.access).toBe('view');
    const key = channel.keys.send;
    const frames = [
      sealInput(key, 1, encodeInputRecord({ kind: 'data', terminal: 1, data: utf8('touch typed-by-viewer\r') })),
      sealInput(key, 2, encodeInputRecord({ kind: 'resize', terminal: 1, cols: 50, rows: 20 })),
    ];
    // The relay itself refuses them …
    raw.ws.send(frames[0]!);
    await raw.messages.next((m) => m.text !== undefined && JSON.parse(m.text).code === 'read_only');
    // … and when it forwards them anyway, the agent refuses them.
    const agentConnection = hostile.messages('agent', 'up').at(-1)!.connection;
    for (const frame of frames) hostile.inject('agent', agentConnection, encodeFromClient(client, frame));
    await started.events.until((items) => items.filter((e) => e.event === 'input_rejected').length >= 2);
    owner.type('stty size; echo checked-$((1+2))\r');
    await owner.waitForOutput(/^24 80\r?$[\s\S]*checked-3/m);
    expect(existsSync(join(started.cwd, 'typed-by-viewer'))).toBe(false);
  });
});

describe('rotating the secret', () => {
  it('cuts every browser holding the old links; the new link works', async () => {
    const relay = await startRelay();
    const first = await startAgent(relay.url);
    const old = new TestClient(first.url);
    const oldViewer = new TestClient(first.agent.viewUrl!);
    await Promise.all([old.waitForState('online'), oldViewer.waitForState('online')]);
    await first.close();
    await old.waitForState('agent_offline');
    const second = await startAgent(relay.url, { configDir: first.configDir, cwd: first.cwd, rotate: true });
    expect(parseAccessLink(second.url).agentId).toBe(parseAccessLink(first.url).agentId);
    expect(second.url).not.toBe(first.url);
    for (const client of [old, oldViewer]) {
      const failed = await client.waitForState('failed');
      expect(failed).toMatchObject({ reason: expect.stringMatching(/not valid/) });
    }
    const again = new TestClient(first.url);
    await again.waitForState('failed');
    const fresh = new TestClient(second.url);
    fresh.type('echo rotated-$((2*3))\r');
    await fresh.waitForOutput('rotated-6');
  });
});

describe('a PIN, checked by the agent through a PAKE', () => {
  const PIN = 'correct-horse-42';

  it('pairs with the right PIN; without it, or with a wrong one, the agent refuses; the PIN never crosses the relay', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent({ pin: PIN });
    expect(parseAccessLink(started.link).pin).toBe(true);
    expect(parseAccessLink(started.viewLink)).toMatchObject({ pin: true, readOnly: true });

    const owner = new TestClient(started.link, { pin: PIN });
    const viewer = new TestClient(started.viewLink, { pin: PIN });
    owner.type('echo pin-$((6*7))\r');
    await owner.waitForOutput('pin-42');
    await viewer.waitForOutput('pin-42');
    expect(viewer.session.canType).toBe(false);

    const withoutPin = new TestClient(started.link);
    const wrongPin = new TestClient(started.link, { pin: 'correct-horse-43' });
    expect(await withoutPin.waitForState('failed')).toMatchObject({ refused: 'pin_required' });
    expect(await wrongPin.waitForState('failed')).toMatchObject({ refused: 'unknown_credential', reason: expect.stringMatching(/Wrong PIN/) });
    await started.events.next((e) => e.event === 'refused' && /Wrong PIN/.test(e.message));

    // Nothing the relay handled contains the PIN, in any encoding.
    for (const needle of [PIN, Buffer.from(PIN, 'utf8').toString('hex'), Buffer.from(PIN).toString('base64url')]) {
      expect(hostile.seen.items.filter((m) => m.data.includes(needle))).toEqual([]);
    }
  });

  it('a captured handshake gives no way to test a PIN offline, even with the link', async () => {
    const { hostile, agent } = await behindHostileRelay();
    const started = await agent({ pin: PIN });
    const owner = new TestClient(started.link, { pin: PIN });
    await owner.waitForState('online');
    const { agentId, secret } = parseAccessLink(started.link);
    // What the relay saw: its own hello (whose token is the link's alone: the same as without a PIN), and
    // the handshake's frames, passed on unread.
    const hello = hostile.messages('client', 'up').map((m) => (m.binary ? undefined : JSON.parse(m.data.toString()))).find((m) => m?.type === 'hello');
    expect(hello.token).toBe(accessToken(secret, agentId));
    const step = (way: 'up' | 'down', n: number): Buffer => hostile.messages('client', way).find((m) => m.binary && m.data[0] === FrameType.Handshake && m.data[1] === n)!.data.subarray(2);
    const { sid, share: ya } = decodePinShare(step('up', HandshakeStep.PinShare));
    const yb = step('down', HandshakeStep.PinReply);
    const open = step('up', HandshakeStep.Open);
    const ref = { kind: 'link' as const, readOnly: false };
    const prologue = channelPrologue(agentId, ref, { sid, ya, yb });
    const linkPsk = channelPsk({ kind: 'link', secret, readOnly: false }, agentId);
    // The best an eavesdropper holding the link can do for a guess: run the exchange's other side itself
    // (it lacks either side's secret scalar) and try the result on the OPEN it saw. The right PIN fails
    // exactly as a wrong one does: nothing in the transcript tells them apart.
    const tryPin = (candidate: string): string => {
      const guess = new CPace('initiator', { prs: pinPrs(candidate), ci: pinChannelId(agentId), sid });
      const psk = pinnedPsk(linkPsk, guess.finish(yb), agentId);
      try {
        new NoiseHandshake('responder', psk, prologue).readMessage(open.subarray(encodeCredentialRef(ref).length));
        return 'opened';
      } catch (error) {
        return (error as Error).name;
      }
    };
    expect(tryPin(PIN)).toBe('IntegrityError');
    expect(tryPin('correct-horse-43')).toBe('IntegrityError');
    // The shares are fresh group elements: the same PIN never gives the same share twice.
    expect(Buffer.from(new CPace('initiator', { prs: pinPrs(PIN), ci: pinChannelId(agentId), sid }).share).equals(Buffer.from(ya))).toBe(false);
  });

  it('guessing is limited by the agent: ten PIN exchanges, then even the right PIN waits; paired devices and open sessions go on', async () => {
    const relay = await startRelay();
    const target = await startAgent(relay.url, { pin: PIN });
    // The owner pairs (one exchange), then nine wrong guesses use up the budget of ten.
    const owner = new TestClient(target.url, { pin: PIN, pair: 'owner phone' });
    const paired = await owner.pairings.next(() => true, 10_000, 'the owner paired');
    for (let n = 0; n < 9; n++) {
      const guess = new TestClient(target.url, { pin: `wrong-guess-${n}` });
      expect(await guess.waitForState('failed')).toMatchObject({ refused: 'unknown_credential' });
      guess.close();
    }
    const right = new TestClient(target.url, { pin: PIN });
    expect(await right.waitForState('waiting')).toMatchObject({ code: CloseCode.RateLimited, reason: expect.stringMatching(/Too many PIN attempts/) });
    right.close();
    // The paired device needs no PIN: it connects with its own key, whatever the budget.
    const device = new TestClient(target.url, { credential: { kind: 'device', id: paired.id, secret: paired.secret, readOnly: false } });
    device.type('echo device-$((2+2))\r');
    await device.waitForOutput('device-4');
    owner.type('echo still-here-$((2+3))\r');
    await owner.waitForOutput('still-here-5');
  });
});
