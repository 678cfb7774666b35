// The asciicast v2 format (https://docs.asciinema.org/manual/asciicast/v2/), as ccremote writes and reads it:
// a first line holding the header (a JSON object), then one event per line, `[time, code, data]`, where time
// is in seconds since the recording started and never goes back, and code is "o" (output), "i" (input),
// "r" (a resize, data "COLSxROWS") or "m" (a marker, data its label). Every line is checked when read.

/** The header line. */
export interface CastHeader {
  version: 2;
  width: number;
  height: number;
  /** When the recording started, in seconds since the epoch. */
  timestamp: number;
  title?: string;
  command?: string;
  env?: Record<string, string>;
  idle_time_limit?: number;
}

export type CastCode = 'o' | 'i' | 'r' | 'm';

/** One event line. */
export interface CastEvent {
  time: number;
  code: CastCode;
  data: string;
}

/** A line that is not asciicast v2: says which and why. */
export class CastFormatError extends Error {
  override name = 'CastFormatError';
}

const CODES = new Set<string>(['o', 'i', 'r', 'm']);
const MAX_SIZE = 10_000;

/** The header as a line (with its line feed). */
export function headerLine(header: CastHeader): string {
  return `${JSON.stringify(header)}\n`;
}

/** An event as a line (with its line feed); the time keeps microseconds. */
export function eventLine(time: number, code: CastCode, data: string): string {
  return `[${time.toFixed(6)},"${code}",${JSON.stringify(data)}]\n`;
}

/** Reads a header line; throws CastFormatError if it is not a version 2 header. */
export function parseHeader(line: string): CastHeader {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new CastFormatError('the first line is not JSON (not an asciicast file?)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CastFormatError('the first line is not an asciicast header');
  const header = value as Record<string, unknown>;
  if (header.version !== 2) throw new CastFormatError(`asciicast version ${JSON.stringify(header.version)} is not supported (only version 2)`);
  for (const key of ['width', 'height'] as const) {
    const n = header[key];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_SIZE) throw new CastFormatError(`the header's ${key} is not a whole number from 1 to ${MAX_SIZE}`);
  }
  if (typeof header.timestamp !== 'number' || !Number.isFinite(header.timestamp)) throw new CastFormatError("the header's timestamp is not a number");
  for (const key of ['title', 'command'] as const) {
    if (header[key] !== undefined && typeof header[key] !== 'string') throw new CastFormatError(`the header's ${key} is not a string`);
  }
  if (header.idle_time_limit !== undefined && (typeof header.idle_time_limit !== 'number' || !(header.idle_time_limit > 0))) {
    throw new CastFormatError("the header's idle_time_limit is not a positive number");
  }
  return header as unknown as CastHeader;
}

/** Reads an event line; throws CastFormatError if it is not one, or if its time is before `after`. */
export function parseEvent(line: string, after = 0): CastEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new CastFormatError('an event line is not JSON');
  }
  if (!Array.isArray(value) || value.length !== 3) throw new CastFormatError('an event is not [time, code, data]');
  const [time, code, data] = value as unknown[];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) throw new CastFormatError("an event's time is not a number of seconds");
  if (time < after) throw new CastFormatError(`an event's time goes back (${time} after ${after})`);
  if (typeof code !== 'string' || !CODES.has(code)) throw new CastFormatError(`an event's code ${JSON.stringify(code)} is not one of o, i, r, m`);
  if (typeof data !== 'string') throw new CastFormatError("an event's data is not a string");
  if (code === 'r' && parseSize(data) === undefined) throw new CastFormatError(`a resize event's size ${JSON.stringify(data)} is not COLSxROWS`);
  return { time, code: code as CastCode, data };
}

/**
 * A recording read line by line, as a file is read or a string is split: the header first, then events in
 * time order; blank lines between events are skipped. A line that is not asciicast throws CastFormatError
 * naming it ("line 3: …"), so every reader reports a bad file alike.
 */
export class CastLines {
  /** The header, once the first line was read. */
  header: CastHeader | undefined;
  private number = 0;
  private last = 0;

  /** Reads the next line: the header (the first line), an event, or undefined for a blank line. */
  next(line: string): { header: CastHeader } | { event: CastEvent } | undefined {
    this.number++;
    try {
      if (!this.header) {
        this.header = parseHeader(line);
        return { header: this.header };
      }
      if (line.trim() === '') return undefined;
      const event = parseEvent(line, this.last);
      this.last = event.time;
      return { event };
    } catch (error) {
      throw error instanceof CastFormatError ? new CastFormatError(`line ${this.number}: ${error.message}`) : error;
    }
  }

  /** The time of the last event read, in seconds from the start (0 before any). */
  get lastTime(): number {
    return this.last;
  }

  /** The header, after the last line; throws CastFormatError if there was none (an empty file). */
  finish(): CastHeader {
    if (!this.header) throw new CastFormatError('the file is empty');
    return this.header;
  }
}

/** The columns and rows of a resize event's data ("COLSxROWS"), or undefined. */
export function parseSize(data: string): { cols: number; rows: number } | undefined {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(data);
  if (!match) return undefined;
  const cols = Number(match[1]);
  const rows = Number(match[2]);
  return cols >= 1 && rows >= 1 && cols <= MAX_SIZE && rows <= MAX_SIZE ? { cols, rows } : undefined;
}
