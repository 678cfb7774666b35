// `ccremote recordings` lists the sessions this computer recorded (the agent writes them: see
// agent/session-recorder.ts); `ccremote play FILE` replays one in this terminal.

import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defaultConfigDir } from '../agent/identity.js';
import { CastFormatError } from '../recording/asciicast.js';
import { play } from '../recording/player.js';
import { listRecordings, recordingsDir } from '../recording/recording-store.js';
import { clockText, printable, sizeText } from '../protocol/index.js';
import { UsageError, parsePositive, type Parsed } from './options.js';
import type { Printer } from './printer.js';
import { untilStopSignal } from './signals.js';

/** The recordings folder the options name. */
function folder(parsed: Parsed): string {
  const given = parsed.values['record-dir'] as string | undefined;
  return given ?? recordingsDir((parsed.values['config-dir'] as string | undefined) ?? defaultConfigDir());
}

/** `ccremote recordings`. */
export async function recordingsCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const dir = folder(parsed);
  const list = await listRecordings(dir);
  for (const r of list) {
    printer.event({
      file: r.file,
      bytes: r.bytes,
      ...(r.problem
        ? { problem: r.problem }
        : { name: r.name, command: r.command, started_at: r.startedAt, duration: r.duration, width: r.width, height: r.height }),
    });
    if (r.problem) {
      printer.line(`${'?'.padEnd(17)} ${sizeText(r.bytes).padStart(8)}  cannot be read: ${printable(r.problem)}  ${r.file}`);
      continue;
    }
    const started = r.startedAt === undefined ? '?' : new Date(r.startedAt).toISOString().slice(0, 16).replace('T', ' ');
    printer.line(`${started}  ${clockText(r.duration ?? 0).padStart(8)} ${sizeText(r.bytes).padStart(8)}  ${printable(r.name ?? '').padEnd(20)} ${printable(r.command ?? '')}  ${r.file}`);
  }
  if (list.length === 0) printer.line(`no recordings in ${dir}`);
  return 0;
}

/** `ccremote play FILE`. */
export async function playCommand(parsed: Parsed, printer: Printer): Promise<number> {
  const name = parsed.positionals[0]!;
  const inFolder = join(folder(parsed), basename(name));
  const file = existsSync(name) ? name : existsSync(inFolder) ? inFolder : undefined;
  if (!file) throw new UsageError(`no recording ${name} (here or in ${folder(parsed)}; "ccremote recordings" lists them)`);
  const speed = parsePositive(parsed.values.speed as string | undefined, '--speed', 1000);
  const idleLimit = parsePositive(parsed.values['idle-limit'] as string | undefined, '--idle-limit');
  const tty = process.stdout.isTTY === true;
  return untilStopSignal(async (signal) => {
    try {
      const played = await play(file, { write: (text) => process.stdout.write(text), speed, idleLimit, signal });
      // Leave the terminal as it was: out of the recording's alternate screen, with a cursor and plain colours.
      if (tty) process.stdout.write(`${played.inAlternateScreen ? '\x1b[?1049l' : ''}\x1b[0m\x1b[?25h\r\n`);
      return played.stopped ? 130 : 0;
    } catch (error) {
      if (error instanceof CastFormatError) {
        printer.error(`${file} is not a recording that can be played: ${error.message}`);
        return 2;
      }
      throw error;
    }
  });
}
