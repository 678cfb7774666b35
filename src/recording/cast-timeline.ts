// A recording read for replaying: its header, the events that change the screen (output and resizes) in
// order, the moments Claude Code waited for the person (its "waiting" markers), and its length. Used by the
// page's player; every line is checked (asciicast.ts), and a bad one names its line.

import { CastFormatError, parseEvent, parseHeader, parseSize, type CastHeader } from './asciicast.js';

/** What the screen is given, in order: output, or a new size. */
export type ScreenEvent = { time: number; output: string } | { time: number; size: { cols: number; rows: number } };

export interface Timeline {
  header: CastHeader;
  events: ScreenEvent[];
  /** When Claude Code waited for the person, in seconds from the start. */
  waits: number[];
  /** Seconds from the start to the last event. */
  duration: number;
}

/** Marker labels that mean the program waited for the person (session-recorder.ts writes them). */
export const WAIT_MARKER = /^waiting\b/;

export function castTimeline(text: string): Timeline {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new CastFormatError('the file is empty');
  let header: CastHeader;
  try {
    header = parseHeader(lines[0]!);
  } catch (error) {
    throw error instanceof CastFormatError ? new CastFormatError(`line 1: ${error.message}`) : error;
  }
  const events: ScreenEvent[] = [];
  const waits: number[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    let event;
    try {
      event = parseEvent(lines[i]!, last);
    } catch (error) {
      throw error instanceof CastFormatError ? new CastFormatError(`line ${i + 1}: ${error.message}`) : error;
    }
    last = event.time;
    if (event.code === 'o') events.push({ time: event.time, output: event.data });
    else if (event.code === 'r') events.push({ time: event.time, size: parseSize(event.data)! });
    else if (event.code === 'm' && WAIT_MARKER.test(event.data)) waits.push(event.time);
  }
  return { header, events, waits, duration: last };
}
