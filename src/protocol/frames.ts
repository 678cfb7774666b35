// Binary frames: terminal bytes and everything addressed by position in the output stream.
// Byte 0 is the frame type; integers are big-endian. Payloads are sealed boxes (seal.ts: nonce 24 |
// ciphertext | tag 16) with the frame's header as associated data; the relay reads only headers and
// box lengths, and passes boxes on untouched.
//
//   OUTPUT       0x01 | terminal u32 | offset u64 | box(bytes)   agent → relay → clients watching the terminal: output at stream position `offset`
//   INPUT        0x02 | seq u32    | box(record)   client → relay → agent: one input record (for a terminal it names inside), numbered per client session
//   SNAPSHOT     0x03 | terminal u32 | offset u64 | box(kind u8 | bytes)  agent → one client: replaces the screen; the stream continues at `offset`
//   INPUT_ACK    0x04 | seq u32    | box()         agent → one client: every input up to `seq` has been applied
//   HANDSHAKE    0x05 | step u8    | body          client ↔ agent: the channel handshake (channel.ts); not a box
//   CHANNEL      0x06 | seq u32    | box(message)  client ↔ agent: a channel message (channel.ts), numbered per direction and connection
//   TO_CLIENT    0x10 | client u32 | frame         agent → relay: deliver the inner frame (OUTPUT, SNAPSHOT, INPUT_ACK, HANDSHAKE, CHANNEL) to one client
//   FROM_CLIENT  0x11 | client u32 | frame         relay → agent: an INPUT, HANDSHAKE or CHANNEL frame from that client
//
// A terminal is one program in its own PTY at the agent; the relay routes by its number and learns nothing
// else of it. OUTPUT is sealed with the terminal's stream key (every client watching it opens it); INPUT
// and CHANNEL from a client with that connection's client key; SNAPSHOT, INPUT_ACK and CHANNEL from the agent with that
// connection's agent key (channel.ts).

import { ProtocolError } from './codes.js';
import { MAX_POSITION } from './limits.js';
import { SEAL_OVERHEAD, open, sealInto } from './seal.js';

/** Frame type bytes. */
export const FrameType = {
  Output: 0x01,
  Input: 0x02,
  Snapshot: 0x03,
  InputAck: 0x04,
  Handshake: 0x05,
  Channel: 0x06,
  ToClient: 0x10,
  FromClient: 0x11,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** What every sealed frame has: its cleartext header (the box's associated data) and the box. */
interface Sealed {
  header: Uint8Array;
  box: Uint8Array;
}
/** Output bytes of terminal `terminal` at stream position `offset`; `length` is the number of bytes sealed in the box. */
export interface OutputFrame extends Sealed {
  type: typeof FrameType.Output;
  terminal: number;
  offset: number;
  length: number;
}
/** One sealed input record (see InputRecord) numbered `seq` within the sending client's session. */
export interface InputFrame extends Sealed {
  type: typeof FrameType.Input;
  seq: number;
}
/**
 * The screen as it stands at stream position `offset`; the receiver resets its terminal and draws what the
 * box holds (openSnapshot). `length` counts the box's plaintext, kind byte included.
 */
export interface SnapshotFrame extends Sealed {
  type: typeof FrameType.Snapshot;
  terminal: number;
  offset: number;
  length: number;
}
/** All input of the receiving client's session up to `seq` has been applied by the agent (the box is empty, sealed). */
export interface InputAckFrame extends Sealed {
  type: typeof FrameType.InputAck;
  seq: number;
}
/** One step of the channel handshake (channel.ts); its body authenticates itself or is public. */
export interface HandshakeFrame {
  type: typeof FrameType.Handshake;
  step: number;
  body: Uint8Array;
}
/**
 * A channel message sealed with one direction's connection key, numbered 1, 2, 3… in that direction on that
 * connection: a receiver refuses any number not above the last it took (a replay).
 */
export interface ChannelFrame extends Sealed {
  type: typeof FrameType.Channel;
  seq: number;
}
/** Agent → relay: deliver `inner` (an encoded OUTPUT, SNAPSHOT, INPUT_ACK, HANDSHAKE or CHANNEL frame) to one client. */
export interface ToClientFrame {
  type: typeof FrameType.ToClient;
  client: number;
  inner: Uint8Array;
}
/** Relay → agent: `inner` (an encoded INPUT, HANDSHAKE or CHANNEL frame) came from this client. */
export interface FromClientFrame {
  type: typeof FrameType.FromClient;
  client: number;
  inner: Uint8Array;
}

/** Frames a client receives. */
export type ClientBoundFrame = OutputFrame | SnapshotFrame | InputAckFrame | HandshakeFrame | ChannelFrame;
export type Frame = ClientBoundFrame | InputFrame | ToClientFrame | FromClientFrame;

/** Frames a client sends (and the agent receives in FROM_CLIENT). */
const FROM_CLIENT_TYPES: readonly number[] = [FrameType.Input, FrameType.Handshake, FrameType.Channel];
/** Frames the agent sends to one client in TO_CLIENT. */
const TO_CLIENT_TYPES: readonly number[] = [FrameType.Output, FrameType.Snapshot, FrameType.InputAck, FrameType.Handshake, FrameType.Channel];
/** Largest handshake body: a Noise message and a credential. */
const MAX_HANDSHAKE_BODY = 65535 + 32;

/** Type, terminal and offset: the header of OUTPUT and SNAPSHOT. */
const OFFSET_HEADER = 13;
const SEQ_HEADER = 5;
const CLIENT_HEADER = 5;

/** The big-endian u32 at `at`. */
function u32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The stream position (u64) at `at`; ProtocolError past MAX_POSITION. */
function position(bytes: Uint8Array, at: number): number {
  const high = u32(bytes, at);
  // Below 4 GiB, the low word alone: a product of the two is a floating-point number, and one kept (a
  // client's position at the relay, replaced with every frame) is then an object of its own each time.
  if (high === 0) return u32(bytes, at + 4);
  const value = high * 0x1_0000_0000 + u32(bytes, at + 4);
  if (value > MAX_POSITION) throw new ProtocolError('position out of range');
  return value;
}

function putU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function putPosition(bytes: Uint8Array, at: number, value: number): void {
  putU32(bytes, at, Math.floor(value / 0x1_0000_0000));
  putU32(bytes, at + 4, value >>> 0);
}

function checkPosition(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_POSITION) throw new RangeError(`${what} out of range: ${value}`);
}

function checkU8(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`${what} out of range: ${value}`);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} out of range: ${value}`);
}

/**
 * A frame of type `type` whose header holds `number` (a terminal or a sequence number) and, when given, the
 * stream position `offset`, followed by `plaintext` sealed with `key` (the header is the associated data).
 */
function sealed(type: number, number: number, offset: number | undefined, key: Uint8Array, plaintext: Uint8Array, room?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const headerSize = offset === undefined ? SEQ_HEADER : OFFSET_HEADER;
  const size = headerSize + SEAL_OVERHEAD + plaintext.length;
  if (room && room.length < size) throw new RangeError(`a frame of ${size} bytes does not fit in ${room.length}`);
  const out = room ? room.subarray(0, size) : new Uint8Array(size);
  out[0] = type;
  putU32(out, 1, number);
  if (offset !== undefined) putPosition(out, 5, offset);
  sealInto(key, out.subarray(0, headerSize), plaintext, out, headerSize);
  return out;
}

/**
 * How output at `offset` (`length` bytes) relates to a reader that needs stream position `position` next:
 * it `continues` what the reader has (it starts at or before the position; an empty frame at the position
 * only confirms it), `repeats` what the reader has (it ends by the position), or leaves a `gap` (it starts
 * after the position). The one rule relay and clients follow.
 */
export function continuation(position: number, offset: number, length: number): 'continues' | 'repeats' | 'gap' {
  if (offset > position) return 'gap';
  return offset + length <= position && (length > 0 || offset < position) ? 'repeats' : 'continues';
}

/** Bytes of an OUTPUT frame holding `length` bytes of output. */
export function outputFrameBytes(length: number): number {
  return OFFSET_HEADER + SEAL_OVERHEAD + length;
}

/**
 * Seals output bytes of a terminal at stream position `offset` into an OUTPUT frame: a new array, or the
 * start of `room` (which must hold outputFrameBytes(data.length); RangeError otherwise), to reuse memory.
 */
export function sealOutput(key: Uint8Array, terminal: number, offset: number, data: Uint8Array, room?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  checkU32(terminal, 'terminal');
  checkPosition(offset, 'offset');
  return sealed(FrameType.Output, terminal, offset, key, data, room);
}

/**
 * What a snapshot holds: `screen`, the bytes that redraw the screen as it stands (empty for a terminal that
 * was only ever blank); or `unavailable`, no bytes: the agent cannot restore the screen (its emulator is not
 * working), so the receiver resets its terminal and only the output the agent still holds follows.
 */
export type SnapshotKind = 'screen' | 'unavailable';
const SNAPSHOT_KINDS: readonly SnapshotKind[] = ['screen', 'unavailable'];

/** Seals a terminal's snapshot at stream position `offset` into a SNAPSHOT frame: the screen's bytes, or that there are none. */
export function sealSnapshot(key: Uint8Array, terminal: number, offset: number, data: Uint8Array, kind: SnapshotKind = 'screen'): Uint8Array<ArrayBuffer> {
  checkU32(terminal, 'terminal');
  checkPosition(offset, 'offset');
  if (kind === 'unavailable' && data.length > 0) throw new RangeError('an unavailable snapshot holds no bytes');
  const plaintext = new Uint8Array(1 + data.length);
  plaintext[0] = SNAPSHOT_KINDS.indexOf(kind);
  plaintext.set(data, 1);
  return sealed(FrameType.Snapshot, terminal, offset, key, plaintext);
}

/** Opens a SNAPSHOT frame: IntegrityError if it was altered or sealed with another key, ProtocolError if it holds no valid snapshot. */
export function openSnapshot(key: Uint8Array, frame: SnapshotFrame): { kind: SnapshotKind; data: Uint8Array } {
  const plaintext = openFrame(key, frame);
  const kind = plaintext.length > 0 ? SNAPSHOT_KINDS[plaintext[0]!] : undefined;
  if (kind === undefined) throw new ProtocolError(plaintext.length === 0 ? 'empty snapshot' : `unknown snapshot kind ${plaintext[0]}`);
  const data = plaintext.subarray(1);
  if (kind === 'unavailable' && data.length > 0) throw new ProtocolError('an unavailable snapshot holds no bytes');
  return { kind, data };
}
/** Seals an encoded input record into an INPUT frame numbered `seq`. */
export function sealInput(key: Uint8Array, seq: number, record: Uint8Array): Uint8Array<ArrayBuffer> {
  checkU32(seq, 'seq');
  return sealed(FrameType.Input, seq, undefined, key, record);
}
/** A HANDSHAKE frame: one step of the channel handshake. */
export function encodeHandshake(step: number, body: Uint8Array): Uint8Array<ArrayBuffer> {
  checkU8(step, 'step');
  if (body.length > MAX_HANDSHAKE_BODY) throw new RangeError('handshake body too large');
  const out = new Uint8Array(2 + body.length);
  out[0] = FrameType.Handshake;
  out[1] = step;
  out.set(body, 2);
  return out;
}
/** Seals a channel message, number `seq` in its direction, into a CHANNEL frame with that direction's connection key. */
export function sealChannel(key: Uint8Array, seq: number, message: Uint8Array): Uint8Array<ArrayBuffer> {
  checkU32(seq, 'seq');
  return sealed(FrameType.Channel, seq, undefined, key, message);
}
/** Seals an INPUT_ACK frame for input up to `seq`. */
export function sealInputAck(key: Uint8Array, seq: number): Uint8Array<ArrayBuffer> {
  checkU32(seq, 'seq');
  return sealed(FrameType.InputAck, seq, undefined, key, new Uint8Array(0));
}

/** Opens a decoded sealed frame with `key`; throws IntegrityError if it was altered, moved or sealed with another key. */
export function openFrame(key: Uint8Array, frame: Sealed & { type: number }): Uint8Array {
  return open(key, frame.header, frame.box, FRAME_NAMES[frame.type] ?? 'frame');
}

const FRAME_NAMES: Record<number, string> = {
  [FrameType.Output]: 'output',
  [FrameType.Input]: 'input',
  [FrameType.Snapshot]: 'snapshot',
  [FrameType.InputAck]: 'input acknowledgement',
  [FrameType.Channel]: 'channel message',
};

function envelope(type: number, client: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  checkU32(client, 'client');
  const out = new Uint8Array(CLIENT_HEADER + inner.length);
  out[0] = type;
  putU32(out, 1, client);
  out.set(inner, CLIENT_HEADER);
  return out;
}
/** Wraps an encoded client-bound frame for delivery to one client (agent → relay). */
export function encodeToClient(client: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return envelope(FrameType.ToClient, client, inner);
}
/** Wraps an encoded INPUT frame with the client it came from (relay → agent). */
export function encodeFromClient(client: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return envelope(FrameType.FromClient, client, inner);
}

/**
 * Checks the frame that starts at `start` of `bytes` against its type's rules (sizes, positions, and what an
 * envelope may carry) and returns its type; throws ProtocolError. It reads only headers and makes nothing,
 * so a relay and an agent check every frame they get at no cost in memory; decodeFrame reads it after.
 */
function checkFrame(bytes: Uint8Array, start = 0): FrameType {
  const length = bytes.length - start;
  if (length <= 0) throw new ProtocolError('empty binary frame');
  const type = bytes[start]!;
  switch (type) {
    case FrameType.Output:
    case FrameType.Snapshot:
      if (length < OFFSET_HEADER + SEAL_OVERHEAD) throw new ProtocolError('truncated frame');
      position(bytes, start + 5);
      return type;
    case FrameType.Input:
      if (length < SEQ_HEADER + SEAL_OVERHEAD + 1) throw new ProtocolError('truncated input frame');
      return type;
    case FrameType.InputAck:
      if (length !== SEQ_HEADER + SEAL_OVERHEAD) throw new ProtocolError(`input ack must be ${SEQ_HEADER + SEAL_OVERHEAD} bytes`);
      return type;
    case FrameType.Handshake:
      if (length < 3) throw new ProtocolError('truncated handshake frame');
      if (length > 2 + MAX_HANDSHAKE_BODY) throw new ProtocolError('handshake frame too large');
      return type;
    case FrameType.Channel:
      if (length < SEQ_HEADER + SEAL_OVERHEAD) throw new ProtocolError('truncated channel frame');
      return type;
    case FrameType.ToClient:
    case FrameType.FromClient: {
      if (length < CLIENT_HEADER + 1) throw new ProtocolError('truncated envelope');
      // The inner type is checked before the inner frame, so envelopes never nest.
      const innerType = bytes[start + CLIENT_HEADER]!;
      const ok = (type === FrameType.ToClient ? TO_CLIENT_TYPES : FROM_CLIENT_TYPES).includes(innerType);
      if (!ok) throw new ProtocolError(`envelope 0x${type.toString(16)} cannot carry frame 0x${innerType.toString(16)}`);
      checkFrame(bytes, start + CLIENT_HEADER);
      return type;
    }
    default:
      throw new ProtocolError(`unknown frame type 0x${type.toString(16)}`);
  }
}

/** Decodes any binary frame, checking it first (checkFrame): envelopes are checked to hold a frame of the right kind. */
export function decodeFrame(bytes: Uint8Array): Frame {
  const type = checkFrame(bytes);
  switch (type) {
    case FrameType.Output:
    case FrameType.Snapshot: {
      const box = bytes.subarray(OFFSET_HEADER);
      return { type, terminal: u32(bytes, 1), offset: position(bytes, 5), length: box.length - SEAL_OVERHEAD, header: bytes.subarray(0, OFFSET_HEADER), box };
    }
    case FrameType.Input:
    case FrameType.InputAck:
    case FrameType.Channel:
      return { type, seq: u32(bytes, 1), header: bytes.subarray(0, SEQ_HEADER), box: bytes.subarray(SEQ_HEADER) };
    case FrameType.Handshake:
      return { type, step: bytes[1]!, body: bytes.subarray(2) };
    case FrameType.ToClient:
    case FrameType.FromClient:
      return { type, client: u32(bytes, 1), inner: bytes.subarray(CLIENT_HEADER) };
  }
}

/** Decodes a frame and checks that its type is one the receiver accepts. */
export function decodeFrameOf<T extends Frame['type']>(bytes: Uint8Array, allowed: readonly T[], label: string): Extract<Frame, { type: T }> {
  const frame = decodeFrame(bytes);
  if (!(allowed as readonly number[]).includes(frame.type)) {
    throw new ProtocolError(`${label}: frame type 0x${frame.type.toString(16)} not allowed here`);
  }
  return frame as Extract<Frame, { type: T }>;
}

/** The stream position just after an OUTPUT frame's bytes, read from its header and box length. */
export function outputEnd(frame: OutputFrame): number {
  return frame.offset + frame.length;
}
