// Input records: what a client asks the agent to do, carried as the payload of an INPUT frame.
// The relay never reads them (it routes INPUT frames by their header only).
//
//   DATA    0x00 | bytes               keystrokes or pasted text, written to the PTY as they are
//   RESIZE  0x01 | cols u16 | rows u16 the client's terminal size

import { ProtocolError } from './codes.js';
import { MAX_COLS, MAX_INPUT_CHUNK, MAX_ROWS, MIN_COLS, MIN_ROWS } from './limits.js';

export const InputKind = { Data: 0x00, Resize: 0x01 } as const;

/** Bytes for the PTY, exactly as the terminal produced them (Enter is `\r`). */
export interface DataRecord {
  kind: 'data';
  data: Uint8Array;
}
/** The sender's terminal size in character cells. */
export interface ResizeRecord {
  kind: 'resize';
  cols: number;
  rows: number;
}
export type InputRecord = DataRecord | ResizeRecord;

/** Encodes an input record. */
export function encodeInputRecord(record: InputRecord): Uint8Array<ArrayBuffer> {
  if (record.kind === 'data') {
    if (record.data.length > MAX_INPUT_CHUNK) throw new RangeError(`input chunk larger than ${MAX_INPUT_CHUNK} bytes`);
    const out = new Uint8Array(1 + record.data.length);
    out[0] = InputKind.Data;
    out.set(record.data, 1);
    return out;
  }
  checkSize(record.cols, record.rows, (m) => new RangeError(m));
  const out = new Uint8Array(5);
  out[0] = InputKind.Resize;
  const dv = new DataView(out.buffer);
  dv.setUint16(1, record.cols);
  dv.setUint16(3, record.rows);
  return out;
}

/** Decodes and validates an input record. */
export function decodeInputRecord(bytes: Uint8Array): InputRecord {
  if (bytes.length === 0) throw new ProtocolError('empty input record');
  if (bytes[0] === InputKind.Data) {
    if (bytes.length - 1 > MAX_INPUT_CHUNK) throw new ProtocolError('input chunk too large');
    return { kind: 'data', data: bytes.subarray(1) };
  }
  if (bytes[0] === InputKind.Resize) {
    if (bytes.length !== 5) throw new ProtocolError('resize record must be 5 bytes');
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const cols = dv.getUint16(1);
    const rows = dv.getUint16(3);
    checkSize(cols, rows, (m) => new ProtocolError(m));
    return { kind: 'resize', cols, rows };
  }
  throw new ProtocolError(`unknown input record kind 0x${bytes[0]!.toString(16)}`);
}

function checkSize(cols: number, rows: number, error: (message: string) => Error): void {
  const ok = Number.isInteger(cols) && Number.isInteger(rows) && cols >= MIN_COLS && cols <= MAX_COLS && rows >= MIN_ROWS && rows <= MAX_ROWS;
  if (!ok) throw error(`terminal size ${cols}x${rows} outside ${MIN_COLS}x${MIN_ROWS}..${MAX_COLS}x${MAX_ROWS}`);
}
