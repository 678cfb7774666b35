// Binary frames: terminal bytes and everything addressed by position in the output stream.
// Byte 0 is the frame type; integers are big-endian. The relay reads only the headers; payloads
// (terminal bytes, input records) pass through it untouched.
//
//   OUTPUT       0x01 | offset u64 | bytes        agent → relay → clients: output at stream position `offset`
//   INPUT        0x02 | seq u32    | record       client → relay: one input record, numbered per client session
//   SNAPSHOT     0x03 | offset u64 | bytes        agent → one client: replaces the screen; the stream continues at `offset`
//   INPUT_ACK    0x04 | seq u32                   agent → one client: every input up to `seq` has been applied
//   TO_CLIENT    0x10 | client u32 | frame        agent → relay: deliver the inner frame (OUTPUT, SNAPSHOT, INPUT_ACK) to one client
//   FROM_CLIENT  0x11 | client u32 | frame        relay → agent: an INPUT frame from that client

import { ProtocolError } from './codes.js';
import { MAX_POSITION } from './limits.js';

/** Frame type bytes. */
export const FrameType = {
  Output: 0x01,
  Input: 0x02,
  Snapshot: 0x03,
  InputAck: 0x04,
  ToClient: 0x10,
  FromClient: 0x11,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Output bytes at stream position `offset`. */
export interface OutputFrame {
  type: typeof FrameType.Output;
  offset: number;
  data: Uint8Array;
}
/** One input record (see InputRecord) numbered `seq` within the sending client's session. */
export interface InputFrame {
  type: typeof FrameType.Input;
  seq: number;
  payload: Uint8Array;
}
/** The screen as it stands at stream position `offset`; the receiver resets its terminal and draws `data`. */
export interface SnapshotFrame {
  type: typeof FrameType.Snapshot;
  offset: number;
  data: Uint8Array;
}
/** All input of the receiving client's session up to `seq` has been applied by the agent. */
export interface InputAckFrame {
  type: typeof FrameType.InputAck;
  seq: number;
}
/** Agent → relay: deliver `inner` (an encoded OUTPUT, SNAPSHOT or INPUT_ACK frame) to one client. */
export interface ToClientFrame {
  type: typeof FrameType.ToClient;
  client: number;
  inner: Uint8Array;
}
/** Relay → agent: `inner` (an encoded INPUT frame) came from this client. */
export interface FromClientFrame {
  type: typeof FrameType.FromClient;
  client: number;
  inner: Uint8Array;
}

/** Frames a client receives. */
export type ClientBoundFrame = OutputFrame | SnapshotFrame | InputAckFrame;
export type Frame = ClientBoundFrame | InputFrame | ToClientFrame | FromClientFrame;

const OFFSET_HEADER = 9;
const SEQ_HEADER = 5;
const CLIENT_HEADER = 5;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readU64(dv: DataView, at: number): number {
  const hi = dv.getUint32(at);
  const lo = dv.getUint32(at + 4);
  const value = hi * 0x1_0000_0000 + lo;
  if (value > MAX_POSITION) throw new ProtocolError('position out of range');
  return value;
}

function writeU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, Math.floor(value / 0x1_0000_0000));
  dv.setUint32(at + 4, value >>> 0);
}

function checkPosition(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_POSITION) throw new RangeError(`${what} out of range: ${value}`);
}

function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`${what} out of range: ${value}`);
}

function withOffset(type: number, offset: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  checkPosition(offset, 'offset');
  const out = new Uint8Array(OFFSET_HEADER + data.length);
  out[0] = type;
  writeU64(view(out), 1, offset);
  out.set(data, OFFSET_HEADER);
  return out;
}

function withU32(type: number, value: number, rest: Uint8Array, what: string): Uint8Array<ArrayBuffer> {
  checkU32(value, what);
  const out = new Uint8Array(5 + rest.length);
  out[0] = type;
  view(out).setUint32(1, value);
  out.set(rest, 5);
  return out;
}

/** Encodes an OUTPUT frame. */
export function encodeOutput(offset: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  return withOffset(FrameType.Output, offset, data);
}
/** Encodes a SNAPSHOT frame. */
export function encodeSnapshot(offset: number, data: Uint8Array): Uint8Array<ArrayBuffer> {
  return withOffset(FrameType.Snapshot, offset, data);
}
/** Encodes an INPUT frame around an encoded input record. */
export function encodeInput(seq: number, payload: Uint8Array): Uint8Array<ArrayBuffer> {
  return withU32(FrameType.Input, seq, payload, 'seq');
}
/** Encodes an INPUT_ACK frame. */
export function encodeInputAck(seq: number): Uint8Array<ArrayBuffer> {
  return withU32(FrameType.InputAck, seq, new Uint8Array(0), 'seq');
}
/** Wraps an encoded client-bound frame for delivery to one client (agent → relay). */
export function encodeToClient(client: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return withU32(FrameType.ToClient, client, inner, 'client');
}
/** Wraps an encoded INPUT frame with the client it came from (relay → agent). */
export function encodeFromClient(client: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return withU32(FrameType.FromClient, client, inner, 'client');
}

/** Decodes any binary frame, checking its header; envelopes are checked to hold a frame of the right kind. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length === 0) throw new ProtocolError('empty binary frame');
  const type = bytes[0];
  const dv = view(bytes);
  switch (type) {
    case FrameType.Output:
    case FrameType.Snapshot:
      if (bytes.length < OFFSET_HEADER) throw new ProtocolError('truncated frame header');
      return { type, offset: readU64(dv, 1), data: bytes.subarray(OFFSET_HEADER) };
    case FrameType.Input:
      if (bytes.length < SEQ_HEADER + 1) throw new ProtocolError('truncated input frame');
      return { type, seq: dv.getUint32(1), payload: bytes.subarray(SEQ_HEADER) };
    case FrameType.InputAck:
      if (bytes.length !== SEQ_HEADER) throw new ProtocolError('input ack must be 5 bytes');
      return { type, seq: dv.getUint32(1) };
    case FrameType.ToClient:
    case FrameType.FromClient: {
      if (bytes.length < CLIENT_HEADER + 1) throw new ProtocolError('truncated envelope');
      const inner = bytes.subarray(CLIENT_HEADER);
      // The inner type is checked before the inner frame is decoded, so envelopes never nest.
      const innerType = inner[0]!;
      const ok =
        type === FrameType.ToClient
          ? innerType === FrameType.Output || innerType === FrameType.Snapshot || innerType === FrameType.InputAck
          : innerType === FrameType.Input;
      if (!ok) throw new ProtocolError(`envelope 0x${type.toString(16)} cannot carry frame 0x${innerType.toString(16)}`);
      decodeFrame(inner);
      return { type, client: dv.getUint32(1), inner };
    }
    default:
      throw new ProtocolError(`unknown frame type 0x${(type ?? 0).toString(16)}`);
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

/** The stream position just after an OUTPUT frame's bytes, read from its header without decoding the rest. */
export function outputEnd(frame: OutputFrame): number {
  return frame.offset + frame.data.length;
}
