// The agent's pieces that need no PTY or socket: the output ring, the terminal-size policy, output as plain
// lines, and a terminal's output stream (answering a client whose snapshot cannot be had; reusing frames only
// once written).

import { describe, expect, it } from 'vitest';
import type { OpenChannel } from '../src/agent/channel-host.js';
import { ClientTable } from '../src/agent/client-table.js';
import { FramePool } from '../src/agent/frame-pool.js';
import { OutputLog } from '../src/agent/output-log.js';
import { TerminalStream, type ScreenSource } from '../src/agent/terminal-stream.js';
import type { Uplink } from '../src/agent/uplink.js';
import { FrameType, decodeFrame, fromBase64Url, openFrame, openSnapshot, randomBytes, randomId, snapshotKey, utf8, type Frame } from '../src/protocol/index.js';
import { SizePolicy } from '../src/agent/size-policy.js';
import { plainLines } from '../src/agent/plain-lines.js';

describe('OutputLog', () => {
  it('keeps the last `capacity` bytes addressed by stream position, across wrap-around', () => {
    const log = new OutputLog(10);
    const stream: number[] = [];
    let next = 0;
    for (const size of [3, 4, 5, 1, 9, 0, 2, 25, 7]) {
      const chunk = Uint8Array.from({ length: size }, () => next++ % 256);
      expect(log.append(chunk)).toBe(stream.length);
      stream.push(...chunk);
      expect(log.end).toBe(stream.length);
      expect(log.start).toBe(Math.max(0, stream.length - 10));
      for (let from = log.start; from <= log.end; from++) {
        for (const max of [1, 4, 100]) {
          expect([...log.read(from, max)]).toEqual(stream.slice(from, Math.min(from + max, stream.length)));
        }
      }
    }
    expect(() => log.read(log.start - 1, 1)).toThrow(RangeError);
    expect(() => log.read(log.end + 1, 1)).toThrow(RangeError);
  });

  it('takes memory as output arrives, up to its capacity, and keeps every byte while it grows', () => {
    const capacity = 200 * 1024;
    const log = new OutputLog(capacity);
    expect(log.allocated).toBe(64 * 1024); // a session that printed nothing yet
    let stream = Buffer.alloc(0);
    const sizes = [1000, 70_000, 5, 60_000, 100_000, 1, 150_000, 250_000, 3];
    const allocated: number[] = [];
    for (const size of sizes) {
      const chunk = Uint8Array.from({ length: size }, (_, i) => (stream.length + i) % 251);
      expect(log.append(chunk)).toBe(stream.length);
      stream = Buffer.concat([stream, chunk]);
      allocated.push(log.allocated);
      expect(log.start).toBe(Math.max(0, stream.length - capacity));
      for (const from of [log.start, log.start + 1, Math.floor((log.start + log.end) / 2), log.end - 1]) {
        expect(Buffer.from(log.read(from, 300_000)).equals(stream.subarray(from))).toBe(true);
      }
    }
    expect(allocated).toEqual([65536, 131072, 131072, 131072, capacity, capacity, capacity, capacity, capacity]);
  });
});

describe('SizePolicy', () => {
  it('follows the client that typed last; before anyone typed, the latest to report a size', () => {
    const policy = new SizePolicy();
    expect(policy.report(1, { cols: 80, rows: 24 })).toEqual({ cols: 80, rows: 24 });
    expect(policy.report(2, { cols: 40, rows: 60 })).toEqual({ cols: 40, rows: 60 }); // nobody typed yet: latest report
    expect(policy.report(1, { cols: 81, rows: 24 })).toEqual({ cols: 81, rows: 24 }); // still nobody: latest report again
    expect(policy.activity(1)).toBeUndefined(); // client 1 typed; its size already applies
    expect(policy.report(2, { cols: 45, rows: 60 })).toBeUndefined(); // a viewer resizing does not reflow
    expect(policy.report(3, { cols: 50, rows: 50 })).toBeUndefined(); // nor does a viewer joining (or reconnecting)
    expect(policy.activity(1)).toBeUndefined();
    expect(policy.report(1, { cols: 100, rows: 30 })).toEqual({ cols: 100, rows: 30 }); // the typist resizes
    expect(policy.activity(2)).toEqual({ cols: 45, rows: 60 }); // another client types
    expect(policy.activity(4)).toBeUndefined(); // a client without a size (a piped attach) typing changes nothing
    expect(policy.remove(2)).toEqual({ cols: 100, rows: 30 }); // back to the previous typist
    expect(policy.remove(1)).toEqual({ cols: 50, rows: 50 }); // no typist with a size left: latest report
    expect(policy.current).toEqual({ cols: 50, rows: 50 });
    expect(policy.remove(3)).toBeUndefined(); // nobody left: the size stays
    expect(policy.remove(9)).toBeUndefined();
  });
});

describe('plainLines', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it('keeps the text of the last lines: no escape sequences or controls, what follows a carriage return', () => {
    const output = bytes(
      'first\r\n\x1b[1;31mError:\x1b[0m no \x1b]8;;https://x.example\x07link\x1b]8;;\x07 here\r\n' +
        'progress 10%\rprogress 100%\r\n\x1b[?25h\x07bell\u009b1mC1\r\n\r\n   \r\n',
    );
    expect(plainLines(output, 10)).toEqual(['first', 'Error: no link here', 'progress 100%', 'bellC1']);
    expect(plainLines(output, 2)).toEqual(['progress 100%', 'bellC1']);
    expect(plainLines(bytes(''), 5)).toEqual([]);
  });

  it('leaves out the first, partial line of output cut in the middle', () => {
    // Cut inside an escape sequence and a two-byte character: only whole lines are kept.
    const output = new Uint8Array([...bytes('\x1b[31mab').subarray(3), 0xc3, ...bytes('\r\nwhole line\r\n')]);
    expect(plainLines(output, 5, true)).toEqual(['whole line']);
    expect(plainLines(output, 5, false)).toHaveLength(2);
  });
});

describe('TerminalStream', () => {
  /** A client's open channel, as the channel host hands it over. */
  const openChannel = (): OpenChannel => ({
    session: randomId(),
    access: 'full',
    credential: { kind: 'link', readOnly: false },
    device: undefined,
    keys: { receive: randomBytes(32), send: randomBytes(32) },
    open: { session: randomId(), history: 'screen' },
    address: undefined,
    seq: { sent: 0, received: 0 },
  });

  it('answers a client whose screen snapshot fails with the output it holds, and reports the failure (no unhandled rejection)', async () => {
    const sent: Array<string | Uint8Array> = [];
    const uplink: Uplink = { isOnline: true, send: (data) => (sent.push(data), 0), onceBelow: () => undefined };
    const clients = new ClientTable(uplink, () => undefined);
    // A mirror whose snapshot fails after it was asked for one (as a worker that breaks mid-snapshot).
    const screen: ScreenSource = { write: () => undefined, resize: () => undefined, snapshot: () => Promise.reject(new Error('the mirror broke')), backlog: 0, failure: undefined };
    const failures: string[] = [];
    const stream = new TerminalStream(1, uplink, { write: () => undefined, resize: () => undefined, pauseOutput: () => undefined }, clients, {
      screen,
      onSnapshotFailed: (message) => failures.push(message),
    });
    stream.online();
    stream.output(utf8('hello from before\r\n'));
    const streamKey = fromBase64Url(stream.watchInfo().key);
    const channel = openChannel();
    clients.opened(7, channel);
    stream.opened(7, channel);
    sent.length = 0;
    stream.sync(7, 1, undefined); // a new client: no position to resume from, so it is given the screen
    await expect.poll(() => failures).toEqual(['the mirror broke']);
    // What it got instead: a snapshot that redraws from the stream's start (nothing was lost yet), then every byte held.
    const toClient = sent.filter((data): data is Uint8Array => typeof data !== 'string').map((data) => decodeFrame(data));
    const inner = toClient.map((frame) => (frame.type === FrameType.ToClient && frame.client === 7 ? decodeFrame(frame.inner) : undefined)).filter((frame): frame is Frame => frame !== undefined);
    const snapshot = inner.find((frame) => frame.type === FrameType.Snapshot);
    expect(snapshot && snapshot.type === FrameType.Snapshot && openSnapshot(snapshotKey(channel.keys.send, streamKey), snapshot)).toMatchObject({ kind: 'screen', data: new Uint8Array(0) });
    const output = inner.filter((frame) => frame.type === FrameType.Output).map((frame) => Buffer.from(openFrame(streamKey, frame as Frame & { type: typeof FrameType.Output })).toString());
    expect(output.join('')).toBe('hello from before\r\n');
    stream.dispose();
    clients.dispose();
  });

  it('sends live output to the relay only while a client watches; one that starts watching gets what came before in its sync, and live output goes on from there', () => {
    const sent: Array<string | Uint8Array> = [];
    const uplink: Uplink = { isOnline: true, send: (data) => (sent.push(data), 0), onceBelow: () => undefined };
    const clients = new ClientTable(uplink, () => undefined);
    const stream = new TerminalStream(1, uplink, { write: () => undefined, resize: () => undefined, pauseOutput: () => undefined }, clients);
    stream.online();
    const streamKey = fromBase64Url(stream.watchInfo().key);
    const frames = (): Frame[] => sent.filter((data): data is Uint8Array => typeof data !== 'string').map((data) => decodeFrame(data));
    const text = (frame: Frame): string => `${(frame as Frame & { offset: number }).offset}:${Buffer.from(openFrame(streamKey, frame as Frame & { type: typeof FrameType.Output })).toString()}`;
    const live = (): string[] => frames().filter((frame) => frame.type === FrameType.Output).map(text);
    const answered = (): string[] =>
      frames()
        .map((frame) => (frame.type === FrameType.ToClient && frame.client === 7 ? decodeFrame(frame.inner) : undefined))
        .filter((frame): frame is Frame => frame?.type === FrameType.Output)
        .map(text);
    // Nobody watches: nothing goes out, however much is printed (full reads too, which wait for more otherwise).
    stream.output(utf8('before-1\r\n'));
    stream.output(Buffer.alloc(4095, 0x61));
    expect(frames()).toEqual([]);
    // A client starts watching, and its sync brings it to the end; what is printed next goes out live from there.
    const channel = openChannel();
    clients.opened(7, channel);
    stream.opened(7, channel);
    stream.sync(7, 1, undefined);
    expect(answered().join('')).toBe(`0:before-1\r\n${'a'.repeat(4095)}`);
    stream.output(utf8('watched\r\n'));
    expect(live()).toEqual([`${10 + 4095}:watched\r\n`]);
    // A second watcher; the first leaves: output goes on for the second.
    const second = openChannel();
    clients.opened(8, second);
    stream.opened(8, second);
    stream.forget(7);
    stream.output(utf8('for-8\r\n'));
    expect(live()).toEqual([`${10 + 4095}:watched\r\n`, `${10 + 4095 + 9}:for-8\r\n`]);
    // It stops watching too: nothing more goes out.
    stream.forget(8);
    stream.output(utf8('after\r\n'));
    expect(live()).toHaveLength(2);
    // A new relay connection: clients say again what they watch, so until one does, nothing goes out.
    stream.opened(8, second);
    stream.online();
    stream.output(utf8('reconnected\r\n'));
    expect(live()).toHaveLength(2);
    expect(stream.end).toBe(10 + 4095 + 9 + 7 + 7 + 13);
    stream.dispose();
    clients.dispose();
  });

  it('keeps the size last applied across a new relay connection: a command restarted before a client is back starts at it', () => {
    const uplink: Uplink = { isOnline: true, send: () => 0, onceBelow: () => undefined };
    const clients = new ClientTable(uplink, () => undefined);
    const resized: Array<{ cols: number; rows: number }> = [];
    const stream = new TerminalStream(1, uplink, { write: () => undefined, resize: (size) => void resized.push(size), pauseOutput: () => undefined }, clients);
    stream.online();
    const channel = openChannel();
    clients.opened(7, channel);
    stream.opened(7, channel);
    stream.input(7, { kind: 'resize', terminal: 1, cols: 101, rows: 33 });
    expect(stream.size).toEqual({ cols: 101, rows: 33 });
    stream.offline([channel.session]);
    stream.online(); // the relay is back; the client is not yet
    expect(stream.size).toEqual({ cols: 101, rows: 33 }); // what a restarted command starts with
    // It comes back (a new number, a new channel) with the same size: the PTY has it already.
    const back = openChannel();
    clients.opened(9, back);
    stream.opened(9, back);
    stream.input(9, { kind: 'resize', terminal: 1, cols: 101, rows: 33 });
    expect(resized).toEqual([{ cols: 101, rows: 33 }]);
    stream.dispose();
    clients.dispose();
  });

  it('never answers a sync of the relay connection before: a new client with the same numbers gets its own answer only', async () => {
    const sent: Array<string | Uint8Array> = [];
    const uplink: Uplink = { isOnline: true, send: (data) => (sent.push(data), 0), onceBelow: () => undefined };
    const clients = new ClientTable(uplink, () => undefined);
    // A mirror that answers when the test says (a worker busy with other sessions' output).
    const asked: Array<(snapshot: { offset: number; data: string }) => void> = [];
    const screen: ScreenSource = { write: () => undefined, resize: () => undefined, snapshot: () => new Promise((resolve) => asked.push(resolve)), backlog: 0, failure: undefined };
    const stream = new TerminalStream(1, uplink, { write: () => undefined, resize: () => undefined, pauseOutput: () => undefined }, clients, { screen });
    stream.online();
    stream.output(utf8('first\r\n'));
    const before = openChannel();
    clients.opened(1, before);
    stream.opened(1, before);
    stream.sync(1, 1, undefined); // a screen client: the mirror is asked for the screen
    expect(asked).toHaveLength(1);
    // The relay restarts before the mirror answers: its clients are numbered from 1 again, and so are their syncs.
    stream.offline([before.session]);
    clients.clear();
    stream.online();
    stream.output(utf8('second\r\n'));
    const piped = { ...openChannel(), open: { session: randomId(), history: 'bytes' as const } }; // `ccremote attach > file`
    clients.opened(1, piped);
    stream.opened(1, piped);
    sent.length = 0;
    stream.sync(1, 1, undefined); // bytes: answered at once, from what is held
    const answered = sent.length;
    expect(answered).toBeGreaterThan(0);
    asked[0]!({ offset: 7, data: 'first\r\n' }); // the old connection's snapshot comes at last
    await new Promise((resolve) => setImmediate(resolve));
    // Nothing more: no second answer to sync 1, and no screen for a client that takes bytes only.
    const inner = sent.slice(answered).filter((data): data is Uint8Array => typeof data !== 'string').map((data) => decodeFrame(data));
    expect(inner.map((frame) => (frame.type === FrameType.ToClient ? decodeFrame(frame.inner).type : frame.type))).toEqual([]);
    expect(sent.slice(answered).filter((data) => typeof data === 'string')).toEqual([]);
    stream.dispose();
    clients.dispose();
  });

  it('seals live output into pooled frames and reuses a frame only once the uplink has written it', () => {
    // An uplink that writes nothing until told: each frame is kept with a copy of what it held when sent.
    const queued: Array<{ frame: Uint8Array; copy: Uint8Array; written: (() => void) | undefined }> = [];
    const uplink: Uplink = { isOnline: true, send: (data, written) => (typeof data !== 'string' && queued.push({ frame: data, copy: data.slice(), written }), 0), onceBelow: () => undefined };
    const clients = new ClientTable(uplink, () => undefined);
    const frames = new FramePool();
    const stream = new TerminalStream(1, uplink, { write: () => undefined, resize: () => undefined, pauseOutput: () => undefined }, clients, { frames });
    stream.online();
    const channel = openChannel();
    clients.opened(7, channel);
    stream.opened(7, channel); // a client watches: live output goes out
    const streamKey = fromBase64Url(stream.watchInfo().key);
    const expected: Buffer[] = [];
    const received: Buffer[] = [];
    const deliver = (count: number): void => {
      for (const item of queued.splice(0, count)) {
        // What the socket would write now is what was sealed: nothing reused the frame meanwhile.
        expect(Buffer.from(item.frame).equals(Buffer.from(item.copy))).toBe(true);
        const frame = decodeFrame(item.frame);
        if (frame.type === FrameType.Output) received.push(Buffer.from(openFrame(streamKey, frame)));
        item.written?.();
      }
    };
    const print = (i: number): void => {
      // Short reads: each goes out at once as a frame of its own.
      const chunk = Buffer.alloc(100 + i, 0x41 + (i % 26));
      expected.push(chunk);
      stream.output(chunk);
    };
    for (let i = 0; i < 12; i++) print(i);
    // More frames waiting than the pool lends: the first eight in its room, the rest made to measure.
    const pooled = (item: { frame: Uint8Array }): boolean => item.frame.buffer.byteLength === frames.frameBytes;
    expect(queued.map(pooled)).toEqual([...Array(8).fill(true), ...Array(4).fill(false)]);
    expect(frames.counts.lent).toBe(8);
    for (let i = 12; i < 60; i++) {
      print(i);
      if (i % 3 === 2) deliver(2); // the uplink writes less than is sent: frames pile up, and rooms come back
    }
    expect(queued.filter(pooled).length).toBe(frames.counts.lent);
    deliver(queued.length);
    expect(Buffer.concat(received).equals(Buffer.concat(expected))).toBe(true);
    expect(frames.counts).toEqual({ idle: 4, lent: 0 }); // at most four are kept once all are written
    stream.output(Buffer.from('x'));
    expect(queued[0]!.frame.buffer.byteLength).toBe(frames.frameBytes);
    expect(frames.counts).toEqual({ idle: 3, lent: 1 });
    stream.dispose();
    clients.dispose();
  });
});
