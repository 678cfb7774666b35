// Paired devices: the first use of a link pairs the device, which from then on connects with a key of its
// own; the agent says when a device pairs or connects, and from where; a full device lists the devices and
// revokes one, which cuts that one off and replaces the link while the others keep working; the same from
// `ccremote devices` on the computer; a link that paired nothing can expire.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, IntegrityError, decodeFrame, fromBase64Url, openFrame, parseAccessLink, type OutputFrame } from '../src/protocol/index.js';
import { relayBehindHostile } from './helpers/hostile-relay.js';
import { killAll, runCli } from './helpers/cli.js';
import { deafeningConnect } from './helpers/deaf-connect.js';
import { asCredential, cleanup, pairDevice, shellEnv, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';
import type { PairedCredential } from '../src/client/session.js';
import { IdentityFile } from '../src/agent/identity.js';
import { controlPath } from '../src/agent/control-socket.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

describe('pairing', () => {
  it('the first use of a link pairs the device; then it connects with its own key, also after the link is replaced', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const phone = new TestClient(agent.url, { pair: 'Pixel 9' });
    const paired = await phone.pairings.next(() => true, 10_000, 'the pairing');
    expect(paired).toMatchObject({ name: 'Pixel 9', access: 'full' });
    // The agent's terminal hears of it, and of where the browser connects from, as the relay sees it.
    expect(await agent.events.next((e) => e.event === 'paired')).toMatchObject({ name: 'Pixel 9', access: 'full', address: '127.0.0.1' });
    expect(agent.events.items).toContainEqual({ event: 'connected', access: 'full', device: undefined, address: '127.0.0.1' });
    phone.close();

    const again = new TestClient(agent.url, { credential: asCredential(paired) });
    again.type('echo device-$((4+4))\r');
    await again.waitForOutput('device-8');
    expect(await agent.events.next((e) => e.event === 'connected' && e.device !== undefined)).toMatchObject({ device: { id: paired.id, name: 'Pixel 9' } });
    again.close();

    // The link is replaced (--rotate): whoever holds only the old link is refused; the paired device is not.
    await agent.close();
    const rotated = await startAgent(relay.url, { configDir: agent.configDir, cwd: agent.cwd, rotate: true });
    expect(await new TestClient(agent.url).waitForState('failed')).toMatchObject({ reason: expect.stringMatching(/not valid/) });
    const device = new TestClient(rotated.url, { credential: asCredential(paired) });
    device.type('echo still-paired-$((1+1))\r');
    await device.waitForOutput('still-paired-2');
  });

  it('a read-only link pairs a read-only device, which can neither type nor manage devices', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const viewer = new TestClient(agent.agent.viewUrl!, { pair: 'tablet' });
    const paired = await viewer.pairings.next(() => true, 10_000, 'the pairing');
    expect(paired.access).toBe('view');
    const device = new TestClient(agent.url, { credential: asCredential(paired) });
    expect((await device.welcomes.next(() => true)).access).toBe('view');
    expect(device.session.canType).toBe(false);
    device.session.listDevices();
    expect(await device.errors.next((e) => e.code === 'refused')).toMatchObject({ message: expect.stringMatching(/read-only device cannot list/) });
  });
});

describe('revoking a device', () => {
  it('cuts that device off and replaces the link; the other devices keep working, under a new output key', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const pair = (name: string): Promise<PairedCredential> => pairDevice(agent.url, name);
    const [mine, lost] = [await pair('my phone'), await pair('lost tablet')];
    const phone = new TestClient(agent.url, { credential: asCredential(mine) });
    const tablet = new TestClient(agent.url, { credential: asCredential(lost) });
    await Promise.all([phone.waitForState('online'), tablet.waitForState('online')]);

    phone.session.listDevices();
    const list = await phone.deviceLists.next(() => true);
    expect(list.map((d) => [d.name, d.access, d.current])).toEqual([
      ['my phone', 'full', true],
      ['lost tablet', 'full', false],
    ]);
    expect(list[1]).toMatchObject({ last_address: '127.0.0.1', last_seen: expect.any(Number) });

    phone.session.revokeDevice(lost.id);
    expect(await tablet.waitForState('failed')).toMatchObject({ reason: expect.stringMatching(/not paired with the agent any more/) });
    const replaced = await agent.events.next((e) => e.event === 'link_replaced');
    expect(agent.events.items).toContainEqual({ event: 'revoked', id: lost.id, name: 'lost tablet' });
    // The phone stays connected, and reads output sealed with the new key.
    phone.type('echo after-revoke-$((6*7))\r');
    await phone.waitForOutput('after-revoke-42');
    expect(phone.states.items.filter((s) => s.kind === 'failed' || s.kind === 'waiting')).toEqual([]);
    // The revoked device cannot come back, nor can the old link pair anything; the new link can.
    expect(await new TestClient(agent.url, { credential: asCredential(lost) }).waitForState('failed')).toMatchObject({ code: 4401 });
    expect(await new TestClient(agent.url, { pair: 'thief' }).waitForState('failed')).toMatchObject({ reason: expect.stringMatching(/not valid/) });
    const fresh = new TestClient((replaced as { url: string }).url, { pair: 'new phone' });
    await fresh.pairings.next(() => true, 10_000, 'pairing with the new link');
  });
});

describe('a revoked device and a hostile relay', () => {
  it('output the relay could still hand the revoked device after the revocation does not open with what it had', async () => {
    const { hostile, through } = await relayBehindHostile();
    const agent = await startAgent(hostile.url);
    const link = through(agent.url);
    const pair = (name: string): Promise<PairedCredential> => pairDevice(link, name);
    const [mine, lost] = [await pair('mine'), await pair('lost')];
    const phone = new TestClient(link, { credential: asCredential(mine) });
    const tablet = new TestClient(link, { credential: asCredential(lost) });
    await Promise.all([phone.waitForState('online'), tablet.waitForState('online')]);
    await tablet.streamKeys.next(() => true, 10_000, "the tablet's stream key");
    const tabletKey = fromBase64Url(tablet.streamKeys.items.at(-1)!.key);
    phone.session.revokeDevice(lost.id);
    await tablet.waitForState('failed');
    const mark = hostile.seen.items.length;
    phone.type('echo secret-after-revoke-$((7*6))\r');
    await phone.waitForOutput('secret-after-revoke-42');
    // Every output frame the agent sent since: the relay has it, but the key the tablet held opens none.
    const frames = hostile.seen.items.slice(mark).filter((m) => m.side === 'agent' && m.way === 'up' && m.binary && m.data[0] === FrameType.Output);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(() => openFrame(tabletKey, decodeFrame(frame.data) as OutputFrame)).toThrow(IntegrityError);
  });
});

describe('ccremote devices', () => {
  it('lists the paired devices and revokes one through the running agent; the other stays connected', async () => {
    const relay = runCli(['relay', '--port', '0', '--host', '127.0.0.1', '--memory', '--json']);
    const relayUrl = (await relay.events.next((e) => e.event === 'listening')).url as string;
    const home = tempDir();
    const config = join(home, 'config');
    const agent = runCli(['agent', '--relay', relayUrl, '--json', '--config-dir', config, '--cwd', home, '--', '/bin/sh'], shellEnv(home));
    const link = (await agent.events.next((e) => e.event === 'ready', 15_000)).url as string;
    const pair = (name: string): Promise<PairedCredential> => pairDevice(link, name);
    const [kept, revoked] = [await pair('kept'), await pair('revoked')];
    const keptClient = new TestClient(link, { credential: asCredential(kept) });
    await keptClient.waitForState('online');

    const listing = runCli(['devices', '--config-dir', config, '--cwd', home, '--json']);
    expect((await listing.exited).code).toBe(0);
    const devices = listing.events.items.filter((e) => e.event === 'device');
    expect(devices.map((d) => d.name)).toEqual(['kept', 'revoked']);
    expect(devices[0]).toMatchObject({ id: kept.id, access: 'full', lastAddress: '127.0.0.1' });
    const text = runCli(['devices', '--config-dir', config, '--cwd', home]);
    await text.exited;
    expect(text.stdout().toString()).toMatch(new RegExp(`${revoked.id}  revoked  can type  paired .*last seen`));

    const revoke = runCli(['devices', 'revoke', revoked.id.slice(0, 6), '--config-dir', config, '--cwd', home]);
    expect((await revoke.exited).code).toBe(0);
    expect(revoke.stdout().toString()).toMatch(/Revoked "revoked".*link was replaced/s);
    const newLink = /(http:\/\/\S+#\S+)/.exec(revoke.stdout().toString())![1]!;
    expect(parseAccessLink(newLink).secret).not.toBe(parseAccessLink(link).secret);
    await agent.events.next((e) => e.event === 'link_replaced' && e.url === newLink);
    keptClient.type('echo kept-$((3+3))\r');
    await keptClient.waitForOutput('kept-6');
    expect(await new TestClient(link, { credential: asCredential(revoked) }).waitForState('failed')).toMatchObject({ code: 4401 });

    // With the agent stopped, a revocation goes into its identity file; the relay hears of it at the next start.
    agent.child.kill('SIGTERM');
    await agent.exited;
    const offline = runCli(['devices', 'revoke', kept.id, '--config-dir', config, '--cwd', home]);
    expect((await offline.exited).code).toBe(0);
    expect(offline.stdout().toString()).toMatch(/not running/);
    const unknown = runCli(['devices', 'revoke', 'nobody', '--config-dir', config, '--cwd', home]);
    expect((await unknown.exited).code).toBe(2);
    expect(unknown.stderr()).toMatch(/no paired device nobody/);
  });
});

describe('names and the owner’s terminal', () => {
  it('a name with control characters is refused at pairing; one saved by an older version is printed as text', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const evil = 'ph\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2K\x1b[1Aone';
    const pairing = new TestClient(agent.url, { pair: evil });
    expect(await agent.events.next((e) => e.event === 'input_rejected')).toMatchObject({ reason: expect.stringMatching(/name/) });
    pairing.close();
    expect(agent.events.items.some((e) => e.event === 'paired')).toBe(false);
    await agent.close();

    const file = new IdentityFile(agent.configDir, relay.url, agent.cwd);
    const identity = await file.load(relay.url, agent.cwd);
    identity.devices.push({ id: 'D'.repeat(22), name: evil, access: 'view', psk: 'E'.repeat(43), verifier: 'F'.repeat(43), pairedAt: 0, lastSeen: 1, lastAddress: '\x1b[31m203.0.113.9' });
    await file.save(identity);
    const listing = runCli(['devices', '--config-dir', agent.configDir, '--cwd', agent.cwd]);
    expect((await listing.exited).code).toBe(0);
    const text = listing.stdout().toString();
    expect(text).toContain('one');
    expect(text).toContain('203.0.113.9');
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });

  it('a revocation never goes around a running agent it cannot reach (it would be written over)', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const paired = await new TestClient(agent.url, { pair: 'phone' }).pairings.next(() => true);
    rmSync(controlPath(new IdentityFile(agent.configDir, relay.url, agent.cwd).path), { force: true });
    const revoke = runCli(['devices', 'revoke', paired.id, '--config-dir', agent.configDir, '--cwd', agent.cwd]);
    expect((await revoke.exited).code).toBe(1);
    expect(revoke.stderr()).toMatch(/cannot be reached.*another ccremote agent \(pid \d+\)/s);
    const still = new TestClient(agent.url.replace(/#.*/, `#${parseAccessLink(agent.url).secret}`), { credential: asCredential(paired) });
    expect((await still.welcomes.next(() => true)).device).toMatchObject({ id: paired.id });
  });
});

describe('links that paired nothing', () => {
  it('expire after --link-ttl; a link that paired a device does not', async () => {
    const relay = await startRelay();
    const expiring = await startAgent(relay.url, { linkTtlMs: 1 });
    const late = new TestClient(expiring.url);
    expect(await late.waitForState('failed')).toMatchObject({ refused: 'link_expired' });
    expect(await expiring.events.next((e) => e.event === 'refused')).toMatchObject({ reason: 'link_expired' });

    const used = await startAgent(relay.url);
    await new TestClient(used.url, { pair: 'first' }).pairings.next(() => true);
    await used.close();
    const again = await startAgent(relay.url, { configDir: used.configDir, cwd: used.cwd, linkTtlMs: 1 });
    await new TestClient(again.url, { pair: 'second' }).pairings.next(() => true, 10_000, 'pairing with a used link');
    // Each link counts for itself: the read-only one paired nothing, and expired.
    expect(await new TestClient(again.agent.viewUrl!).waitForState('failed')).toMatchObject({ refused: 'link_expired' });
  });
});

describe('pairing across a lost answer', () => {
  it('a pairing whose answer was lost with the connection pairs the device once', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const link = parseAccessLink(agent.url);
    // A connection goes deaf once the client sent `pair` on it (the network went before the answer came):
    // the first channel message of the first connection is its `pair`.
    let pairSent = false;
    const { connect, last } = deafeningConnect(new URL(link.relayUrl).origin, (data) => !pairSent && typeof data !== 'string' && data[0] === FrameType.Channel && (pairSent = true));
    const phone = new TestClient(agent.url, { pair: 'Pixel 9', connect });
    await agent.events.next((e) => e.event === 'paired', 10_000, 'the pairing at the agent');
    last().close(1000, 'network changed');
    const paired = await phone.pairings.next(() => true, 10_000, 'the pairing');
    await phone.waitForState('online');
    phone.session.listDevices();
    const list = await phone.deviceLists.next(() => true);
    expect(list.map((d) => [d.id, d.name])).toEqual([[paired.id, 'Pixel 9']]);
  });
});
