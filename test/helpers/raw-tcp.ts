// A WebSocket spoken by hand over a bare TCP socket, for abuse tests: the test decides what is written
// and whether anything is read, which no WebSocket library lets a client do (a library answers pings
// and close frames by itself).

import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { atCleanup } from './system.js';
import { EventLog } from './wait.js';

/** A masked client frame (RFC 6455 §5.2) with FIN set. */
export function clientFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const length = data.length;
  const head =
    length < 126
      ? Buffer.from([0x80 | opcode, 0x80 | length])
      : length < 65536
        ? Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff])
        : Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(length)); return b; })()]);
  const mask = randomBytes(4);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = data[i]! ^ mask[i & 3]!;
  return Buffer.concat([head, mask, masked]);
}

/** WebSocket opcodes used by the tests. */
export const Opcode = { Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9 } as const;

/** A raw TCP connection to a relay. */
export interface RawTcp {
  socket: Socket;
  /** Everything received, in order (only while reading). */
  received: EventLog<Buffer>;
  /** Resolves when the relay closed or cut the connection, with when that happened (performance.now()). */
  ended: Promise<number>;
  /** Writes `data`, waiting for the socket to drain if it is full; false once the connection is gone. */
  write(data: Buffer): Promise<boolean>;
}

/** Opens a TCP connection to `url`'s host and port and writes `request` (an HTTP request head) on it. */
export async function rawTcp(url: string, request: string): Promise<RawTcp> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  atCleanup(() => void socket.destroy());
  socket.on('error', () => undefined);
  const received = new EventLog<Buffer>();
  socket.on('data', received.push);
  const ended = new Promise<number>((resolve) => {
    const done = (): void => resolve(performance.now());
    socket.once('end', done);
    socket.once('close', done);
  });
  let gone = false;
  void ended.then(() => (gone = true));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(request);
  return {
    socket,
    received,
    ended,
    async write(data) {
      if (gone) return false;
      if (!socket.write(data)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), ended]);
      return !gone;
    },
  };
}

/**
 * Opens a WebSocket to `path` by hand: resolves once the relay answered 101. With `read: false` the test
 * reads nothing more (the relay's sends back up as they would to a peer that stopped reading).
 */
export async function rawWebSocket(url: string, path: string, headers: Record<string, string> = {}, { read = true } = {}): Promise<RawTcp> {
  const { host } = new URL(url);
  const lines = Object.entries({
    Host: host,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    'Sec-WebSocket-Version': '13',
    ...headers,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  const raw = await rawTcp(url, `GET ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
  const head = await raw.received.until((chunks) => {
    const text = Buffer.concat(chunks).toString('latin1');
    return text.includes('\r\n\r\n') && text;
  }, 5000, 'the answer to the upgrade');
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head.split('\r\n')[0]}`);
  if (!read) raw.socket.pause();
  return raw;
}

/** The close code of the first close frame (unmasked, from the server) in `data`, if any. */
export function closeCodeIn(data: Buffer): number | undefined {
  let at = data.indexOf('\r\n\r\n') + 4;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 0x0f;
    let length = data[at + 1]! & 0x7f;
    let start = at + 2;
    if (length === 126) {
      length = data.readUInt16BE(at + 2);
      start = at + 4;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(at + 2));
      start = at + 10;
    }
    if (opcode === Opcode.Close && length >= 2 && start + 2 <= data.length) return data.readUInt16BE(start);
    at = start + length;
  }
  return undefined;
}
