// The command's exit, sealed end to end (sealed-json.ts) with a key derived from the stream key, so that a
// relay can neither forge an exit (making `attach` exit 0 for a command that failed) nor hide where the
// output ends: `end` is the stream position after its last byte, and a client reports the exit only once it
// has all output up to there. `run` says which run of the command (with --restart) ended.

import { utf8 } from './encoding.js';
import { MAX_POSITION, MAX_TEXT_LENGTH } from './limits.js';
import { openJson, sealJson } from './sealed-json.js';
import { bool, int, optional, str, type Infer } from './schema.js';

const AAD = utf8('ccremote/v3 exit');

const exitShape = {
  /** What people read, for example "claude exited with code 1". */
  message: str({ max: MAX_TEXT_LENGTH }),
  exit_code: optional(int(0, 255)),
  signal: optional(int(1, 64)),
  /** The stream position after the command's last output. */
  end: int(0, MAX_POSITION),
  /** Which run of the command ended (WELCOME's `run`): an exit of another run is refused. */
  run: int(1, MAX_POSITION),
  /** The agent starts the command again. */
  restarting: bool,
};

/** How the command ended. */
export type ExitStatus = Infer<typeof exitShape>;

export function sealExitStatus(key: Uint8Array, status: ExitStatus): string {
  return sealJson(key, AAD, status);
}

export function openExitStatus(key: Uint8Array, box: string): ExitStatus {
  return openJson(key, AAD, box, exitShape, 'exit status');
}
