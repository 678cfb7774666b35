// Frames in reused memory: an OUTPUT frame sealed into given room, the agent's pool of such rooms, and the
// socket's promise behind it: `written` comes only once the bytes have left, so the memory may then be reused.

import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { FramePool } from '../src/agent/frame-pool.js';
import { SocketPeer } from '../src/net/socket-peer.js';
import { FrameType, MAX_OUTPUT_CHUNK, decodeFrame, openFrame, outputFrameBytes, randomBytes, sealOutput } from '../src/protocol/index.js';
import { waitFor } from './helpers/wait.js';

describe('sealOutput into given room', () => {
  it('makes the same frame in the room as in a new array, and refuses room too small', () => {
    const key = randomBytes(32);
    const data = randomBytes(1000);
    const room = new Uint8Array(outputFrameBytes(1000) + 50);
    const frame = sealOutput(key, 3, 12345, data, room);
    expect(frame.buffer).toBe(room.buffer);
    expect(frame.length).toBe(outputFrameBytes(1000));
    expect(frame.length).toBe(sealOutput(key, 3, 12345, data).length);
    const decoded = decodeFrame(frame);
    expect(decoded).toMatchObject({ type: FrameType.Output, terminal: 3, offset: 12345, length: 1000 });
    expect(Buffer.from(openFrame(key, decoded as Parameters<typeof openFrame>[1])).equals(Buffer.from(data))).toBe(true);
    expect(() => sealOutput(key, 3, 0, data, new Uint8Array(outputFrameBytes(1000) - 1))).toThrow(RangeError);
  });
});

describe('FramePool', () => {
  it('lends room for the largest frame, at most eight at once, reuses what is given back, and keeps only a few idle', () => {
    const pool = new FramePool();
    expect(pool.frameBytes).toBe(outputFrameBytes(MAX_OUTPUT_CHUNK));
    const taken = Array.from({ length: 8 }, () => pool.take()!);
    expect(new Set(taken).size).toBe(8);
    for (const room of taken) expect(room.length).toBe(pool.frameBytes);
    expect(pool.take()).toBeUndefined(); // eight are out: the next frame is made to measure
    for (const room of taken) pool.give(room);
    expect(pool.counts).toEqual({ idle: 4, lent: 0 });
    expect(taken).toContain(pool.take());
    expect(pool.counts).toEqual({ idle: 3, lent: 1 });
  });
});

describe('SocketPeer: written', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  async function connected(): Promise<{ peer: SocketPeer; client: WebSocket; server: WebSocket }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const { port } = wss.address() as { port: number };
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [server] = (await once(wss, 'connection')) as [WebSocket];
    await once(client, 'open');
    cleanup.push(() => {
      client.terminate();
      wss.close();
    });
    return { peer: new SocketPeer(server), client, server };
  }

  it('says a frame was written only once its bytes have left: the memory reused then does not change what arrives', async () => {
    const { peer, client } = await connected();
    client.pause(); // the receiver reads nothing: frames wait in the kernel and then in the sender
    const received: Buffer[] = [];
    client.on('message', (data: Buffer) => received.push(data));
    const FRAMES = 24;
    const written: number[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const frame = new Uint8Array(1 << 20).fill(i);
      peer.send(frame, () => {
        written.push(i);
        frame.fill(0xee); // reused at once, as a pool would
      });
    }
    await waitFor(() => written.length > 0 && peer.waiting > 0, 10_000, 'the socket to write some frames and hold the rest');
    expect(written.length).toBeLessThan(FRAMES);
    client.resume();
    await waitFor(() => received.length === FRAMES, 10_000, 'every frame to arrive');
    for (let i = 0; i < FRAMES; i++) expect(received[i]!.equals(Buffer.alloc(1 << 20, i))).toBe(true);
    expect(written).toEqual(Array.from({ length: FRAMES }, (_, i) => i));
  });

  it('says frames still waiting were written once the connection is gone, and at once when it is not open', async () => {
    const { peer, client, server } = await connected();
    client.pause();
    let written = 0;
    for (let i = 0; i < 24; i++) peer.send(new Uint8Array(1 << 20), () => written++);
    await waitFor(() => peer.waiting > 0, 10_000, 'frames to wait');
    expect(written).toBeLessThan(24);
    server.terminate();
    await waitFor(() => written === 24, 10_000, 'every waiting frame to be let go');
    let late = false;
    expect(peer.send(new Uint8Array(10), () => (late = true))).toBe(0);
    expect(late).toBe(true);
  });
});
