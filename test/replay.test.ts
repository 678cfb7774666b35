// No replay, no rewind: a hostile relay that records what passes through it gets nothing out of playing
// it back. Input recorded before an agent restart does not run again after it; a snapshot or output
// recorded on an earlier connection, or from a process that ended, is refused; an exit status from
// another run is refused, and `attach` exits with the real one. What it recorded stays unreadable when the
// link, the agent's identity file and a device's key leak later (forward secrecy). (Every connection has
// keys of its own: protocol/channel.ts.)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  FrameType,
  IntegrityError,
  NoiseHandshake,
  nobleEphemeral,
  peerEphemeral,
  channelPrologue,
  channelPsk,
  decodeCredentialRef,
  decodeFrame,
  decodeOpen,
  encodeFromClient,
  fromBase64Url,
  openFrame,
  utf8,
  viewSecret,
  type FromClientFrame,
  type OutputFrame,
} from '../src/protocol/index.js';
import { IdentityFile } from '../src/agent/identity.js';
import { killAll, runCli } from './helpers/cli.js';
import { relayBehindHostile, type Tapped } from './helpers/hostile-relay.js';
import { cleanup, startAgent, TestClient } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

const json = (m: Tapped): Record<string, unknown> | undefined => (m.binary ? undefined : (JSON.parse(m.data.toString()) as Record<string, unknown>));

describe('a relay that records and plays back', () => {
  it('input recorded before the agent restarts does not run again after it', async () => {
    const { hostile, through } = await relayBehindHostile();
    const first = await startAgent(hostile.url);
    const client = new TestClient(through(first.url));
    await client.waitForState('online');
    client.type('echo ran >> runs.txt; echo typed-$((20+2))\r');
    // Its result line ends in a line feed, or in a cursor move when it came inside the client's first snapshot.
    await client.waitForOutput(/typed-22(?:\r?\n|\x1b\[1B)/);
    // Everything the client's input became on its way to the agent, as the relay saw it.
    const recorded = hostile
      .messages('agent', 'down')
      .filter((m) => m.binary && m.data[0] === FrameType.FromClient)
      .map((m) => decodeFrame(m.data) as FromClientFrame)
      .filter((f) => f.inner[0] === FrameType.Input);
    expect(recorded.length).toBeGreaterThan(0);

    await first.close();
    const second = await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd });
    await client.waitForState('online', 15_000, client.states.items.length);
    // The relay plays the recorded input back to the new agent process, as from the client it now has.
    const agentConnection = hostile.connections('agent');
    const joined = hostile.messages('agent', 'down').filter((m) => m.connection === agentConnection && json(m)?.type === 'client_joined').at(-1)!;
    const current = json(joined)!.client as number;
    for (const frame of recorded) hostile.inject('agent', agentConnection, encodeFromClient(current, frame.inner));
    await second.events.until((events) => events.filter((e) => e.event === 'input_rejected').length >= recorded.length, 10_000, 'every replayed frame refused');
    for (const event of second.events.items.filter((e) => e.event === 'input_rejected')) {
      expect(event).toMatchObject({ reason: expect.stringMatching(/failed authentication/) });
    }
    // What the client types now runs; what was recorded did not run again.
    client.type('echo checked-$((1+2))\r');
    await client.waitForOutput(/checked-3(?:\r?\n|\x1b\[1B)/);
    expect(readFileSync(join(first.cwd, 'runs.txt'), 'utf8')).toBe('ran\n');
  });

  it('a snapshot from an earlier connection, or output of a process that ended, is refused', async () => {
    const { hostile, through } = await relayBehindHostile();
    const first = await startAgent(hostile.url);
    const client = new TestClient(through(first.url));
    await client.waitForState('online');
    client.type('echo before-$((3*3))\r');
    // Its result line ends in a line feed, or in a cursor move when it came inside a snapshot.
    await client.waitForOutput(/before-9(?:\r?\n|\x1b\[1B)/);
    const snapshot = hostile.messages('client', 'down').find((m) => m.binary && m.data[0] === FrameType.Snapshot)!;
    const output = hostile.messages('client', 'down').filter((m) => m.binary && m.data[0] === FrameType.Output).at(-1)!;
    expect(snapshot).toBeDefined();

    // A new connection: the snapshot recorded on the first one does not open on it.
    hostile.cut('client', 1);
    await client.waitForState('online', 15_000, client.states.items.length);
    let errors = client.errors.items.length;
    hostile.inject('client', hostile.connections('client'), snapshot.data);
    expect(await client.errors.next((e) => e.code === 'integrity', 10_000, 'the old snapshot refused', errors)).toMatchObject({
      message: expect.stringMatching(/failed authentication/),
    });
    await client.waitForState('online', 15_000, client.states.items.length);

    // A new agent process: output of the one that ended does not open either, though the relay says it is the agent's.
    await first.close();
    await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd });
    await client.waitForState('online', 15_000, client.states.items.length);
    errors = client.errors.items.length;
    const chunks = client.chunks.items.length;
    hostile.inject('client', hostile.connections('client'), output.data);
    expect(await client.errors.next((e) => e.code === 'integrity', 10_000, 'the old stream refused', errors)).toMatchObject({
      message: expect.stringMatching(/failed authentication/),
    });
    // The session goes on with the new process; nothing of the old one reached the screen.
    client.type('echo after-$((2*5))\r');
    await client.waitForOutput(/after-10\r?\n/);
    expect(client.chunks.items.slice(chunks).filter((c) => c.data.includes('before-9'))).toEqual([]);
  });

  it("an exit status from another run is refused; attach exits with the command's real code", async () => {
    const { hostile, through } = await relayBehindHostile();
    // A first run that succeeds: the relay keeps its exit status.
    const first = await startAgent(hostile.url, { args: ['-c', 'read x; exit 0'] });
    const watcher = new TestClient(through(first.url));
    await watcher.waitForState('online');
    watcher.type('\r');
    await watcher.exits.next((e) => e.exit_code === 0, 10_000, 'the first run exits 0');
    // The exit went sealed in the watcher's channel, among the channel messages the relay recorded.
    const recorded = hostile.messages('client', 'down').filter((m) => m.binary && m.data[0] === FrameType.Channel);
    watcher.close();
    await first.agent.done;

    // A second run of the same agent that fails; the relay tells attach it succeeded.
    const second = await startAgent(hostile.url, { configDir: first.configDir, cwd: first.cwd, args: ['-c', 'read x; echo failing; exit 3'] });
    const attach = runCli(['attach', through(second.url)]);
    await new Promise<void>((resolve) => attach.child.stderr.on('data', () => attach.stderr().includes('connected to') && resolve()));
    // The relay plays the first run's channel messages (its exit among them) to attach: they do not open.
    const connection = hostile.connections('client');
    for (const frame of recorded) hostile.inject('client', connection, frame.data);
    await new Promise<void>((resolve) => attach.child.stderr.on('data', () => /integrity check/.test(attach.stderr()) && resolve()));
    attach.child.stdin.write('\n');
    const { code } = await attach.exited;
    expect(code).toBe(3);
    expect(attach.stdout().toString()).toContain('failing');
  });

  it('what it recorded stays unreadable when the link, the identity file and a device key leak later (forward secrecy)', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const phone = new TestClient(through(agent.url), { pair: 'phone' });
    const paired = await phone.pairings.next(() => true, 10_000, 'the pairing');
    phone.type('echo private-$((6*7))\r');
    await phone.waitForOutput(/private-42\r?\n/);
    phone.close();
    const device = new TestClient(through(agent.url), { credential: { kind: 'device', id: paired.id, secret: paired.secret, readOnly: false } });
    device.type('echo also-private-$((6*8))\r');
    await device.waitForOutput(/also-private-48\r?\n/);
    device.close();

    // Later, everything leaks: the identity file (the link's secret, every device's handshake key) and the
    // device's own key (from the phone's storage).
    const identity = await new IdentityFile(agent.configDir, hostile.url, agent.cwd).load(hostile.url, agent.cwd);
    const agentId = identity.agentId!;
    const view = viewSecret(identity.secret, agentId);
    const psks = [
      channelPsk({ kind: 'link', secret: identity.secret, readOnly: false }, agentId),
      channelPsk({ kind: 'link', secret: view, readOnly: true }, agentId),
      ...identity.devices.map((d) => fromBase64Url(d.psk)),
      channelPsk({ kind: 'device', id: paired.id, secret: paired.secret, readOnly: false }, agentId),
    ];
    const handshakes = (way: 'up' | 'down', step: number): Tapped[] => hostile.messages('client', way).filter((m) => m.binary && m.data[0] === FrameType.Handshake && m.data[1] === step);
    const [opens, welcomes] = [handshakes('up', 3), handshakes('down', 4)];
    expect(opens.length).toBe(2);

    // The stolen keys are the right ones: each connection's OPEN reads with one of them …
    const connections = opens.map((open) => {
      const body = open.data.subarray(2);
      const { ref, length } = decodeCredentialRef(body);
      const prologue = channelPrologue(agentId, ref);
      const psk = psks.find((key) => {
        try {
          decodeOpen(new NoiseHandshake('responder', key, prologue).readMessage(body.subarray(length)));
          return true;
        } catch {
          return false;
        }
      });
      expect(psk, 'a stolen key reads the OPEN').toBeDefined();
      return { psk: psk!, prologue, open: body.subarray(length), welcome: welcomes.find((w) => w.connection === open.connection)!.data.subarray(2) };
    });
    // … but the agent's answer, with the stream key, was sealed after the ephemeral exchange. The attacker
    // replays the client's side exactly (its ephemeral public key and the OPEN it sent, byte for byte); it
    // lacks only the ephemeral secret, gone with the connection, and so the answer does not open.
    for (const { psk, prologue, open, welcome } of connections) {
      const clientE = peerEphemeral(open);
      const payload = new NoiseHandshake('responder', psk, prologue).readMessage(open);
      const attacker = new NoiseHandshake('initiator', psk, prologue, { publicKey: clientE });
      expect(Buffer.from(attacker.writeMessage(payload)).equals(Buffer.from(open))).toBe(true);
      const guessed = nobleEphemeral().agree(peerEphemeral(welcome));
      expect(() => attacker.readMessage(welcome, guessed)).toThrow(IntegrityError);
    }
    // No output frame recorded opens with anything derived from what leaked (nor with the keys of earlier versions).
    const output = hostile.messages('client', 'down').filter((m) => m.binary && m.data[0] === FrameType.Output);
    expect(output.length).toBeGreaterThan(0);
    const hello = JSON.parse(hostile.messages('agent', 'up').find((m) => !m.binary && m.data.includes('"hello"'))!.data.toString()) as { terminals: Array<{ stream: string }> };
    const stream = hello.terminals[0]!.stream;
    const material = [fromBase64Url(identity.secret), fromBase64Url(view), fromBase64Url(paired.secret), ...psks];
    const candidates = material.flatMap((key) => [key, hkdf(sha256, key, utf8('ccremote/v1'), utf8(`output:${agentId}:${stream}`), 32)]);
    for (const message of output) {
      const frame = decodeFrame(message.data) as OutputFrame;
      for (const key of candidates) expect(() => openFrame(key, frame)).toThrow(IntegrityError);
    }
    expect(hostile.seen.items.some((m) => m.data.includes('private-42') || m.data.includes('also-private-48'))).toBe(false);
  });
});
