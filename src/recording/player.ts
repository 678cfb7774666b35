// Plays an asciicast v2 recording: writes its output at the pace it was recorded (faster with `speed`, long
// pauses shortened to `idleLimit`), checking every line as it goes; a line that is not asciicast stops it
// with CastFormatError naming the line. Resizes, input and markers are counted, not written.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { CastLines, type CastHeader } from './asciicast.js';

export interface PlayOptions {
  /** Where the output goes. */
  write(text: string): void;
  /** How many times as fast as recorded (default 1). */
  speed?: number;
  /** Pauses longer than this many seconds are shortened to it (default: the header's, else none). */
  idleLimit?: number;
  /** Stops the playing (it then resolves with `stopped`). */
  signal?: AbortSignal;
}

export interface Played {
  header: CastHeader;
  /** Output events written. */
  events: number;
  /** The recording's own length, in seconds. */
  duration: number;
  stopped: boolean;
  /** Whether the output left the alternate screen in use (so that whoever stops it can leave it). */
  inAlternateScreen: boolean;
}

const ALTERNATE_SCREEN = /\x1b\[\?(?:1049|1047|47)([hl])/g;

export async function play(file: string, options: PlayOptions): Promise<Played> {
  const speed = options.speed ?? 1;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  const reader = new CastLines();
  let played = 0;
  let events = 0;
  let inAlternateScreen = false;
  const started = performance.now();
  try {
    for await (const line of lines) {
      if (options.signal?.aborted) break;
      const previous = reader.lastTime;
      const read = reader.next(line);
      if (!read || !('event' in read)) continue;
      const event = read.event;
      const idleLimit = options.idleLimit ?? reader.header!.idle_time_limit ?? Infinity;
      played += Math.min(event.time - previous, idleLimit);
      if (event.code !== 'o') continue;
      const wait = started + (played / speed) * 1000 - performance.now();
      if (wait > 1 && !(await paused(wait, options.signal))) break;
      options.write(event.data);
      events++;
      for (const match of event.data.matchAll(ALTERNATE_SCREEN)) inAlternateScreen = match[1] === 'h';
    }
  } finally {
    lines.close();
  }
  return { header: reader.finish(), events, duration: reader.lastTime, stopped: options.signal?.aborted === true, inAlternateScreen };
}

/** Waits `ms`; false if `signal` stopped the wait. */
async function paused(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return false;
    throw error;
  }
}
