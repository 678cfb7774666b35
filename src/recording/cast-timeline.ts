// A recording read for replaying: its header, the events that change the screen (output and resizes) in
// order, the moments Claude Code waited for the person (its "waiting" markers), and its length. Used by the
// page's player; every line is checked (asciicast.ts), and a bad one names its line.

import { CastLines, parseSize, type CastHeader } from './asciicast.js';

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
  const reader = new CastLines();
  const events: ScreenEvent[] = [];
  const waits: number[] = [];
  for (const line of lines) {
    const event = reader.next(line);
    if (!event || !('event' in event)) continue;
    const { time, code, data } = event.event;
    if (code === 'o') events.push({ time, output: data });
    else if (code === 'r') events.push({ time, size: parseSize(data)! });
    else if (code === 'm' && WAIT_MARKER.test(data)) waits.push(time);
  }
  return { header: reader.finish(), events, waits, duration: reader.lastTime };
}
