// Every session is recorded on the agent as asciicast v2: the file is valid (a header, then events whose
// times never go back), it replays to the screen the session showed, input is in it only when asked for,
// old and oversized recordings are removed, and `ccremote recordings` and `ccremote play` read it.

import headless from '@xterm/headless';
import serialize from '@xterm/addon-serialize';
import { isUtf8 } from 'node:buffer';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEvent, parseHeader, parseSize, type CastEvent, type CastHeader } from '../src/recording/asciicast.js';
import { CastOutputEncoder } from '../src/recording/cast-output.js';
import { castTimeline } from '../src/recording/cast-timeline.js';
import { play } from '../src/recording/player.js';
import { killAll, runCli } from './helpers/cli.js';
import { cleanup, startAgent, startRelay, tempDir, TestClient } from './helpers/system.js';

afterEach(async () => {
  killAll();
  await cleanup();
});

/** Reads a recording, checking every line: its header and its events, whose times never go back. */
function readCast(file: string): { header: CastHeader; events: CastEvent[] } {
  const lines = readFileSync(file, 'utf8').split('\n');
  expect(lines.pop()).toBe(''); // every line ends in a line feed
  const header = parseHeader(lines[0]!);
  const events: CastEvent[] = [];
  for (const line of lines.slice(1)) events.push(parseEvent(line, events.at(-1)?.time ?? 0));
  return { header, events };
}

/** The screen a terminal shows after `write` (text with scrollback, colours and modes, as the mirror serializes it). */
async function screenOf(cols: number, rows: number, write: (terminal: InstanceType<typeof headless.Terminal>) => Array<string | Uint8Array | [number, number]>): Promise<string> {
  const terminal = new headless.Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true });
  const serializer = new serialize.SerializeAddon();
  terminal.loadAddon(serializer as never);
  for (const step of write(terminal)) {
    if (Array.isArray(step)) terminal.resize(step[0], step[1]);
    else await new Promise<void>((resolve) => terminal.write(step, resolve));
  }
  const screen = serializer.serialize();
  terminal.dispose();
  return screen;
}

const recordings = (configDir: string): string[] => {
  const dir = join(configDir, 'recordings');
  return existsSync(dir) ? readdirSync(dir).map((name) => join(dir, name)) : [];
};

describe('output events', () => {
  it('hold the text a streaming UTF-8 decoder makes of the same bytes, however they are cut, broken UTF-8 and controls included', () => {
    let seed = 11;
    const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pieces = [Buffer.from('plain "quoted" back\\slash\r\n\x1b[1mé漢🙂\x00\x7f\t'), Buffer.from([0xe2, 0x82]), Buffer.from([0xf0, 0x9f, 0x99]), Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xf4, 0x90, 0xff, 0x80, 0xc2])];
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.concat(Array.from({ length: 1 + Math.floor(next() * 12) }, () => (next() < 0.3 ? Buffer.from([Math.floor(next() * 256)]) : pieces[Math.floor(next() * pieces.length)]!)));
      const encoder = new CastOutputEncoder();
      const decoder = new TextDecoder();
      let expected = '';
      let got = '';
      let at = 0;
      let time = 0;
      while (at < bytes.length) {
        // One to three parts per event, as the recorder collects them, each cut anywhere.
        const parts: Uint8Array[] = [];
        for (let count = 1 + Math.floor(next() * 3); count > 0 && at < bytes.length; count--) {
          const end = Math.min(bytes.length, at + 1 + Math.floor(next() * 9));
          parts.push(new Uint8Array(bytes.subarray(at, end)));
          expected += decoder.decode(parts.at(-1), { stream: true });
          at = end;
        }
        const line = encoder.encode((time += 0.25), parts);
        // The line itself is valid UTF-8 (nothing broken passed through), and JSON.
        if (line) expect(isUtf8(line)).toBe(true);
        if (line) got += parseEvent(line.toString('utf8').replace(/\n$/, '')).data;
      }
      expected += decoder.decode();
      const rest = encoder.finish((time += 0.25));
      if (rest) got += parseEvent(rest.toString('utf8').replace(/\n$/, '')).data;
      expect(got, bytes.toString('hex')).toBe(expected);
    }
  });

  it('are the bytes JSON.stringify makes of the decoded text, for long runs of plain text with quotes, backslashes and controls at every alignment', () => {
    let seed = 5;
    const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const alphabet = Array.from('abcXYZ 019~"\\\x7f\r\n\t\x1b\x00é─🙂');
    const text = Array.from({ length: 40_000 }, () => (next() < 0.9 ? 'plain text ' : alphabet[Math.floor(next() * alphabet.length)]!)).join('');
    const bytes = Buffer.from(text);
    const encoder = new CastOutputEncoder();
    for (let offset = 0; offset < 16; offset++) {
      // Parts starting at every offset from a 16-byte boundary, so the blocks it reads at once fall everywhere.
      const line = encoder.encode(1.5, [bytes.subarray(0, offset), bytes.subarray(offset, 70_001), bytes.subarray(70_001)]);
      const expected = Buffer.from(`[1.500000,"o",${JSON.stringify(text)}]\n`);
      const differs = expected.findIndex((byte, at) => line![at] !== byte);
      expect({ offset, length: line!.length, differs }).toEqual({ offset, length: expected.length, differs: -1 });
    }
  });
});

describe('replaying', () => {
  it('shortens pauses to the idle limit, and says how long the recording is (its last event), in the player and the timeline', async () => {
    // Pauses of 1,000 and 2,000 seconds: played at once only if each is shortened to the limit.
    const text = [
      JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1_796_000_000 }),
      '[0.5,"o","first\\r\\n"]',
      '[1000.5,"o","second\\r\\n"]',
      '',
      '[3000.25,"m","waiting for you"]',
      '',
    ].join('\n');
    const file = join(tempDir(), 'pauses.cast');
    writeFileSync(file, text);
    let written = '';
    const played = await play(file, { write: (data) => (written += data), idleLimit: 0.01 });
    expect(played).toMatchObject({ events: 2, duration: 3000.25, stopped: false });
    expect(written).toBe('first\r\nsecond\r\n');
    expect(castTimeline(text)).toMatchObject({ duration: 3000.25, waits: [3000.25], events: [{ time: 0.5 }, { time: 1000.5 }] });
  });
});

describe('session recordings', () => {
  it('records a session as asciicast v2 that replays to the screen the session showed, with its resize and its end', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url);
    const client = new TestClient(agent.url, { history: 'bytes' });
    await client.waitForOutput('$ ');
    const beforeResize = client.output.length;
    client.session.resize(60, 20);
    client.type("printf '\\033[1;31mred\\033[0m and plain, é 漢字 🙂\\n'; seq 1 40; printf '\\033[?25l\\033[5;5Hplaced'; echo; echo done-$((2+3))\r");
    await client.waitForOutput('done-5');
    client.type('exit 3\r');
    await client.exits.next(() => true, 10_000, 'the exit');
    const live = await screenOf(80, 24, () => [client.output.subarray(0, beforeResize), [60, 20], client.output.subarray(beforeResize)]);
    expect(await agent.agent.done).toBe(3); // the agent ends with its program's code

    const files = recordings(agent.configDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\/\d{8}T\d{6}Z-[A-Za-z0-9._-]+-[0-9a-f]{6}\.cast$/);
    expect(statSync(files[0]!).mode & 0o777).toBe(0o600);
    const { header, events } = readCast(files[0]!);
    expect(header).toMatchObject({ version: 2, width: 80, height: 24, command: '/bin/sh', env: { TERM: 'xterm-256color' } });
    expect(Math.abs(header.timestamp * 1000 - Date.now())).toBeLessThan(120_000);
    expect(events.filter((e) => e.code === 'r').map((e) => e.data)).toEqual(['60x20']);
    expect(events.filter((e) => e.code === 'i')).toEqual([]); // input only with --record-input
    expect(events.filter((e) => e.code === 'm').map((e) => e.data)).toEqual([expect.stringMatching(/exited with code 3/)]);
    expect(events.at(-1)!.code).toBe('m');

    // Played back, it shows the screen the session showed when it ended.
    const replayed = await screenOf(header.width, header.height, () =>
      events.flatMap((e): Array<string | [number, number]> => (e.code === 'o' ? [e.data] : e.code === 'r' ? [[parseSize(e.data)!.cols, parseSize(e.data)!.rows]] : [])),
    );
    expect(replayed).toBe(live);
    expect(replayed).toContain('done-5');
  });

  it('records what clients type only with --record-input; records nothing with --no-record', async () => {
    const relay = await startRelay();
    const withInput = await startAgent(relay.url, { recording: { input: true } });
    const client = new TestClient(withInput.url);
    await client.waitForOutput('$ ');
    client.type('echo typed-$((4*4))\r');
    await client.waitForOutput('typed-16');
    await withInput.close();
    const { events } = readCast(recordings(withInput.configDir)[0]!);
    expect(events.filter((e) => e.code === 'i').map((e) => e.data).join('')).toContain('echo typed-$((4*4))\r');

    const without = await startAgent(relay.url, { recording: false });
    const other = new TestClient(without.url);
    await other.waitForOutput('$ ');
    other.type('echo unrecorded\r');
    await other.waitForOutput(/^unrecorded/m);
    await without.close();
    expect(recordings(without.configDir)).toEqual([]);
  });

  it('removes recordings older than the days kept, then the oldest while all take more than the cap', async () => {
    const configDir = tempDir('ccremote-agent-');
    const dir = join(configDir, 'recordings');
    mkdirSync(dir);
    const header = `${JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1 })}\n`;
    const day = 86_400;
    const now = Date.now() / 1000;
    const make = (name: string, bytes: number, ageSeconds: number): string => {
      const file = join(dir, name);
      writeFileSync(file, header + `[0.5,"o",${JSON.stringify('x'.repeat(Math.max(0, bytes - header.length - 14)))}]\n`);
      utimesSync(file, now - ageSeconds, now - ageSeconds);
      return file;
    };
    const old = make('a-old.cast', 1000, 3 * day);
    const [first, second, third] = [make('b.cast', 1.5 * 2 ** 20, 3 * 3600), make('c.cast', 1.5 * 2 ** 20, 2 * 3600), make('d.cast', 1.5 * 2 ** 20, 3600)];
    const unrelated = join(dir, 'notes.txt');
    writeFileSync(unrelated, 'kept');
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { configDir, recording: { days: 2, maxBytes: 4 << 20 } });
    // The clean-up runs beside the new recording: of the others, what fits in the days and the cap stays.
    await expect.poll(() => recordings(configDir).filter((file) => ![second, third, unrelated].includes(file))).toEqual([expect.stringMatching(/Z-[A-Za-z0-9._-]+-[0-9a-f]{6}\.cast$/)]);
    expect(recordings(configDir)).toEqual(expect.arrayContaining([second, third, unrelated]));
    expect(recordings(configDir)).not.toContain(old);
    expect(recordings(configDir)).not.toContain(first);
    await agent.close();
  });

  it('stops a recording that reaches a quarter of the cap, saying so in the file and to the agent', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { recording: { maxBytes: 4 << 20 } });
    const client = new TestClient(agent.url);
    await client.waitForOutput('$ ');
    client.type('yes recorded | head -c 3000000; echo; echo flood-$((1+1))\r');
    await client.waitForOutput('flood-2', 30_000);
    const warning = await agent.events.next((e) => e.event === 'warning' && e.message.includes('reached its limit'));
    expect(warning).toMatchObject({ message: expect.stringContaining('limit of 1.0 MiB') });
    await agent.close();
    const [file] = recordings(agent.configDir);
    // At most its share of the cap, and the marker saying why it ends.
    expect(statSync(file!).size).toBeLessThanOrEqual((1 << 20) + 512);
    expect(statSync(file!).size).toBeGreaterThan(256 * 1024);
    const { events } = readCast(file!);
    expect(events.at(-1)).toMatchObject({ code: 'm', data: expect.stringContaining('reached its limit') });
  });
});

describe('recordings for clients', () => {
  it('are listed to a full link and taken byte for byte, sealed; a read-only link gets neither', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { name: 'desk' });
    const client = new TestClient(agent.url);
    await client.waitForOutput('$ ');
    client.type('echo for-the-phone\r');
    await client.waitForOutput(/^for-the-phone/m);
    const [file] = recordings(agent.configDir);
    // Output is written at most 50 ms after it came.
    await expect.poll(() => readFileSync(file!, 'utf8')).toContain('for-the-phone');
    const listed = await client.session.listRecordings();
    expect(listed).toEqual([expect.objectContaining({ file: file!.split('/').pop(), command: '/bin/sh', bytes: expect.any(Number), duration: expect.any(Number) })]);
    const taken = await client.session.downloadRecording(listed[0]!.file);
    // What was written when it was taken: the file only grows after.
    expect(readFileSync(file!).subarray(0, taken.bytes.length).equals(Buffer.from(taken.bytes))).toBe(true);
    expect(Buffer.from(taken.bytes).toString('utf8')).toContain('for-the-phone');
    await expect(client.session.downloadRecording('20260101T000000Z-none-abcdef.cast')).rejects.toThrow(/There is no file 20260101T000000Z-none-abcdef\.cast in the recordings/);

    const viewer = new TestClient(agent.agent.viewUrl!);
    await viewer.waitForState('online');
    await expect(viewer.session.listRecordings()).rejects.toThrow(/read-only link cannot list recordings/);
    await expect(viewer.session.downloadRecording(listed[0]!.file)).rejects.toThrow(/read-only link cannot/);

    const unrecorded = await startAgent(relay.url, { recording: false });
    const other = new TestClient(unrecorded.url);
    await other.waitForState('online');
    expect(await other.session.listRecordings()).toEqual([]);
    await expect(other.session.downloadRecording(listed[0]!.file)).rejects.toThrow(/does not record its sessions/);
  });
});

describe('ccremote recordings and ccremote play', () => {
  it('lists the recordings, plays one back byte for byte, and refuses a file that is not a recording with the line at fault', async () => {
    const relay = await startRelay();
    const agent = await startAgent(relay.url, { name: 'listed' });
    const client = new TestClient(agent.url);
    await client.waitForOutput('$ ');
    client.type("printf 'played \\033[32mgreen\\033[0m back\\n'\r");
    await client.waitForOutput('green');
    client.type('exit\r');
    await agent.agent.done;
    const [file] = recordings(agent.configDir);

    const listing = runCli(['recordings', '--json', '--config-dir', agent.configDir]);
    expect((await listing.exited).code).toBe(0);
    expect(listing.events.items).toEqual([
      expect.objectContaining({ file, name: expect.any(String), command: '/bin/sh', width: 80, height: 24, bytes: statSync(file!).size, duration: expect.any(Number) }),
    ]);
    const text = runCli(['recordings', '--config-dir', agent.configDir]);
    expect((await text.exited).code).toBe(0);
    expect(text.stdout().toString()).toContain(file);

    const played = runCli(['play', file!, '--speed', '1000']);
    expect((await played.exited).code).toBe(0);
    const output = readCast(file!).events.filter((e) => e.code === 'o').map((e) => e.data).join('');
    expect(played.stdout().toString('utf8')).toBe(output);
    expect(output).toContain('played \x1b[32mgreen\x1b[0m back');
    // By its name in the recordings folder, too.
    const byName = runCli(['play', file!.split('/').pop()!, '--config-dir', agent.configDir, '--speed', '1000']);
    expect((await byName.exited).code).toBe(0);
    expect(byName.stdout().toString('utf8')).toBe(output);

    const broken = join(tempDir(), 'broken.cast');
    writeFileSync(broken, `${readFileSync(file!, 'utf8').split('\n')[0]}\n[5.0,"o","first"]\n[1.0,"o","went back"]\n`);
    const refused = runCli(['play', broken, '--speed', '1000']);
    expect((await refused.exited).code).toBe(2);
    expect(refused.stderr()).toMatch(/not a recording that can be played: line 3: an event's time goes back/);
    const missing = runCli(['play', 'no-such.cast', '--config-dir', agent.configDir]);
    expect((await missing.exited).code).toBe(2);
    expect(missing.stderr()).toMatch(/no recording no-such\.cast/);
    const badOption = runCli(['agent', '--relay', relay.url, '--record-max', '1M']);
    expect((await badOption.exited).code).toBe(2);
    expect(badOption.stderr()).toMatch(/--record-max must be between 4M and 1T/);
  });
});
