// Files sent from a client into a session's folder and taken back, sealed in the channel: byte-exact, under
// the session's upload folder whatever name arrives, refused above the size limit before anything is sent
// and for a read-only link, resumed after a cut connection without starting over, and never read from
// outside the session's folder.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameType, parseAccessLink } from '../src/protocol/index.js';
import { CutProxy } from './helpers/cut-proxy.js';
import { deafeningConnect } from './helpers/deaf-connect.js';
import { cleanup, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

const proxies: CutProxy[] = [];
afterEach(async () => {
  for (const proxy of proxies.splice(0)) await proxy.close();
  await cleanup();
});

/** A client online with the agent, and the number of its first session. */
async function online(link: string, options: ConstructorParameters<typeof TestClient>[1] = {}): Promise<{ client: TestClient; terminal: number }> {
  const client = new TestClient(link, options);
  const [first] = await client.sessionLists.next((list) => list.length > 0, 10_000, 'the sessions');
  await client.waitForState('online');
  return { client, terminal: first!.terminal };
}

describe('files from a client', () => {
  it('arrive byte for byte in the session upload folder, git-ignored, each under a name of its own', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const { client, terminal } = await online(agent.url);
    const photo = randomBytes(1_500_000);
    const progress: number[] = [];
    const first = await client.session.uploadFile(terminal, 'photo.jpg', photo, (done) => progress.push(done));
    expect(first).toEqual({ path: join('.ccremote', 'uploads', 'photo.jpg'), size: photo.length });
    expect(readFileSync(join(agent.cwd, first.path)).equals(photo)).toBe(true);
    expect(progress.at(-1)).toBe(photo.length);
    expect(readFileSync(join(agent.cwd, '.ccremote', '.gitignore'), 'utf8')).toBe('*\n');
    const again = await client.session.uploadFile(terminal, 'photo.jpg', Buffer.from('second'));
    expect(again.path).toBe(join('.ccremote', 'uploads', 'photo-2.jpg'));
    expect(readFileSync(join(agent.cwd, again.path), 'utf8')).toBe('second');
    const empty = await client.session.uploadFile(terminal, 'empty.txt', new Uint8Array(0));
    expect(readFileSync(join(agent.cwd, empty.path))).toHaveLength(0);
    expect(await agent.events.next((e) => e.event === 'file_received')).toMatchObject({ terminal, path: join(agent.cwd, first.path), size: photo.length });
    // Nothing is left half-written.
    expect(readdirSync(join(agent.cwd, '.ccremote', 'uploads')).sort()).toEqual(['empty.txt', 'photo-2.jpg', 'photo.jpg']);
  });

  it('land inside the upload folder whatever name arrives', async () => {
    const relay = await startRelay();
    const home = tempDir('ccremote-home-');
    const cwd = join(home, 'project');
    mkdirSync(cwd);
    const agent = await startAgent(relay.url, { cwd });
    const { client, terminal } = await online(agent.url);
    for (const [name, expected] of [
      ['../../.bashrc', 'bashrc'],
      ['/etc/passwd', 'passwd'],
      ['..\\..\\evil.sh', 'evil.sh'],
      ['..', 'upload'],
      ['a\u0007b<c>.txt', 'a_b_c_.txt'],
    ] as const) {
      const { path } = await client.session.uploadFile(terminal, name, Buffer.from(name));
      expect(path).toBe(join('.ccremote', 'uploads', expected));
      expect(readFileSync(join(cwd, path), 'utf8')).toBe(name);
    }
    expect(existsSync(join(home, '.bashrc'))).toBe(false);
    expect(readdirSync(home)).toEqual(['project']);
  });

  it('are refused above the size limit before any of them is sent, and for a read-only link', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { maxUpload: 1 << 20 });
    const { client, terminal } = await online(agent.url);
    const sent: number[] = [];
    await expect(client.session.uploadFile(terminal, 'big.bin', new Uint8Array(2 << 20), (done) => sent.push(done))).rejects.toThrow(
      /big\.bin is 2\.0 MiB; this computer takes files up to 1\.0 MiB \(the agent's --max-upload\)/,
    );
    expect(sent).toEqual([]);
    expect(existsSync(join(agent.cwd, '.ccremote'))).toBe(false);
    await expect(client.session.uploadFile(99, 'x.txt', Buffer.from('x'))).rejects.toThrow(/There is no session 99/);

    const viewer = await online(agent.agent.viewUrl!);
    await expect(viewer.client.session.uploadFile(terminal, 'x.txt', Buffer.from('x'))).rejects.toThrow(/read-only link cannot send files/);
    writeFileSync(join(agent.cwd, 'notes.txt'), 'private');
    await expect(viewer.client.session.downloadFile(terminal, 'notes.txt')).rejects.toThrow(/read-only link cannot/);
  });

  it('go on from what arrived when the connection is cut in the middle', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const side = await CutProxy.start(relay.port);
    proxies.push(side);
    const { client, terminal } = await online(agent.url.replace(relay.url, side.url), { origin: side.url });
    const file = randomBytes(10 << 20);
    const progress: number[] = [];
    let cut = false;
    const done = client.session.uploadFile(terminal, 'video.mp4', file, (acked) => {
      progress.push(acked);
      if (!cut && acked > 3 << 20) {
        cut = true;
        side.cutAll();
      }
    });
    const { path } = await done;
    expect(cut).toBe(true);
    expect(client.states.items.filter((s) => s.kind === 'online').length).toBeGreaterThan(1); // it did reconnect
    // What the agent had is never asked for again: what it has written only grows.
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(readFileSync(join(agent.cwd, path)).equals(file)).toBe(true);

    // And a download cut in the middle goes on from what arrived.
    const shot = randomBytes(6 << 20);
    mkdirSync(join(agent.cwd, 'out'));
    writeFileSync(join(agent.cwd, 'out', 'shot.png'), shot);
    let cutDown = false;
    const got = await client.session.downloadFile(terminal, 'out/shot.png', (received) => {
      if (!cutDown && received > 2 << 20) {
        cutDown = true;
        side.cutAll();
      }
    });
    expect(cutDown).toBe(true);
    expect(got.name).toBe('shot.png');
    expect(Buffer.from(got.bytes).equals(shot)).toBe(true);
  });
});

describe('files taken from a session', () => {
  it('come byte for byte from under the session folder, and from nowhere else', async () => {
    const relay = await startRelay();
    const home = tempDir('ccremote-home-');
    const cwd = join(home, 'project');
    mkdirSync(join(cwd, 'shots'), { recursive: true });
    writeFileSync(join(home, 'secret.txt'), 'not for phones');
    symlinkSync(join(home, 'secret.txt'), join(cwd, 'link-out'));
    const screenshot = randomBytes(700_000);
    writeFileSync(join(cwd, 'shots', 'screen.png'), screenshot);
    const agent = await startAgent(relay.url, { cwd, maxUpload: 1 << 20 });
    const { client, terminal } = await online(agent.url);
    const got = await client.session.downloadFile(terminal, 'shots/screen.png');
    expect(got.name).toBe('screen.png');
    expect(Buffer.from(got.bytes).equals(screenshot)).toBe(true);
    expect(await agent.events.next((e) => e.event === 'file_sent')).toMatchObject({ terminal, path: join(cwd, 'shots', 'screen.png'), size: screenshot.length });
    const absolute = await client.session.downloadFile(terminal, join(cwd, 'shots', 'screen.png'));
    expect(Buffer.from(absolute.bytes).equals(screenshot)).toBe(true);

    await expect(client.session.downloadFile(terminal, '../secret.txt')).rejects.toThrow(/not under the session's folder/);
    await expect(client.session.downloadFile(terminal, join(home, 'secret.txt'))).rejects.toThrow(/not under the session's folder/);
    await expect(client.session.downloadFile(terminal, 'link-out')).rejects.toThrow(/not under the session's folder/);
    await expect(client.session.downloadFile(terminal, 'shots')).rejects.toThrow(/shots is not a file/);
    await expect(client.session.downloadFile(terminal, 'missing.png')).rejects.toThrow(/There is no file missing\.png/);
    writeFileSync(join(cwd, 'huge.bin'), Buffer.alloc((1 << 20) + 1));
    await expect(client.session.downloadFile(terminal, 'huge.bin')).rejects.toThrow(/up to 1\.0 MiB/);
  });
});

describe('files across a lost answer', () => {
  it('an upload whose last answer was lost with the connection is not sent again: the agent keeps one copy', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const link = parseAccessLink(agent.url);
    // A connection can be made deaf from a chosen moment on (the network went while the answers were on the way).
    let deafAfterChannelFrames: number | undefined;
    const { connect, last } = deafeningConnect(
      new URL(link.relayUrl).origin,
      (data) => deafAfterChannelFrames !== undefined && typeof data !== 'string' && data[0] === FrameType.Channel && --deafAfterChannelFrames === 0,
    );
    const { client, terminal } = await online(agent.url, { connect });
    const photo = randomBytes(100_000); // one chunk
    deafAfterChannelFrames = 2; // `upload`, then `upload_data` with all of it: what answers it is lost
    const done = client.session.uploadFile(terminal, 'photo.jpg', photo);
    await agent.events.next((e) => e.event === 'file_received', 10_000, 'the file in place at the agent');
    const states = client.states.items.length;
    last().close(1000, 'network changed');
    const { path } = await done;
    expect(client.states.items.slice(states).some((s) => s.kind === 'online')).toBe(true); // it did reconnect
    expect(path).toBe(join('.ccremote', 'uploads', 'photo.jpg'));
    expect(readdirSync(join(agent.cwd, '.ccremote', 'uploads'))).toEqual(['photo.jpg']);
  });
});
