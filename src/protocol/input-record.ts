// Input records: what a client asks the agent to do, carried as the payload of an INPUT frame.
// The relay never reads them (it routes INPUT frames by their header only).
//
//   DATA    0x00 | terminal u32 | bytes               keystrokes or pasted text, written to that terminal's PTY as they are
//   RESIZE  0x01 | terminal u32 | cols u16 | rows u16 the client's size for that terminal
//
// The terminal is named inside the sealed record: the relay does not learn where input goes.

import { ProtocolError } from './codes.js';
import { MAX_COLS, MAX_INPUT_CHUNK, MAX_ROWS, MIN_COLS, MIN_ROWS } from './limits.js';

export const InputKind = { Data: 0x00, Resize: 0x01 } as const;

/** Bytes for the PTY, exactly as the terminal produced them (Enter is `\r`). */
export interface DataRecord {
  kind: 'data';
  terminal: number;
  data: Uint8Array;
}
/** The sender's terminal size in character cells. */
export interface ResizeRecord {
  kind: 'resize';
  terminal: number;
  cols: number;
  rows: number;
}
export type InputRecord = DataRecord | ResizeRecord;

/** Encodes an input record. */
export function encodeInputRecord(record: InputRecord): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(record.terminal) || record.terminal < 1 || record.terminal > 0xffffffff) throw new RangeError(`terminal out of range: ${record.terminal}`);
  if (record.kind === 'data') {
    if (record.data.length > MAX_INPUT_CHUNK) throw new RangeError(`input chunk larger than ${MAX_INPUT_CHUNK} bytes`);
    const out = new Uint8Array(HEADER + record.data.length);
    out[0] = InputKind.Data;
    new DataView(out.buffer).setUint32(1, record.terminal);
    out.set(record.data, HEADER);
    return out;
  }
  checkSize(record.cols, record.rows, (m) => new RangeError(m));
  const out = new Uint8Array(HEADER + 4);
  out[0] = InputKind.Resize;
  const dv = new DataView(out.buffer);
  dv.setUint32(1, record.terminal);
  dv.setUint16(5, record.cols);
  dv.setUint16(7, record.rows);
  return out;
}

/** Kind and terminal. */
const HEADER = 5;

/** Decodes and validates an input record. */
export function decodeInputRecord(bytes: Uint8Array): InputRecord {
  if (bytes.length < HEADER) throw new ProtocolError('truncated input record');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const terminal = dv.getUint32(1);
  if (terminal === 0) throw new ProtocolError('input record for terminal 0');
  if (bytes[0] === InputKind.Data) {
    if (bytes.length - HEADER > MAX_INPUT_CHUNK) throw new ProtocolError('input chunk too large');
    return { kind: 'data', terminal, data: bytes.subarray(HEADER) };
  }
  if (bytes[0] === InputKind.Resize) {
    if (bytes.length !== HEADER + 4) throw new ProtocolError(`resize record must be ${HEADER + 4} bytes`);
    const cols = dv.getUint16(5);
    const rows = dv.getUint16(7);
    checkSize(cols, rows, (m) => new ProtocolError(m));
    return { kind: 'resize', terminal, cols, rows };
  }
  throw new ProtocolError(`unknown input record kind 0x${bytes[0]!.toString(16)}`);
}

function checkSize(cols: number, rows: number, error: (message: string) => Error): void {
  const ok = Number.isInteger(cols) && Number.isInteger(rows) && cols >= MIN_COLS && cols <= MAX_COLS && rows >= MIN_ROWS && rows <= MAX_ROWS;
  if (!ok) throw error(`terminal size ${cols}x${rows} outside ${MIN_COLS}x${MIN_ROWS}..${MAX_COLS}x${MAX_ROWS}`);
}
