// `ccremote attach URL [--session ID | --new [--cwd DIR] [-- CMD ARGS...]]`.

import { resolve } from 'node:path';
import { attach } from '../attach/attach.js';
import { parseAccessLink, pinProblem } from '../protocol/index.js';
import { UsageError, type Parsed } from './options.js';
import { readPin } from './pin-prompt.js';

/** `ccremote attach`. */
export async function attachCommand(parsed: Parsed): Promise<number> {
  const link = parsed.positionals[0]!;
  let needsPin: boolean;
  try {
    needsPin = parseAccessLink(link).pin === true || parsed.values.pin === true;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const pin = needsPin ? await readPin({ env: process.env, input: process.stdin, output: process.stderr }, false) : undefined;
  const problem = pin === undefined ? undefined : pinProblem(pin);
  if (problem) throw new UsageError(problem);
  const v = parsed.values;
  if (v.session !== undefined && v.new === true) throw new UsageError('--session and --new do not go together');
  if ((v.cwd !== undefined || parsed.command.length > 0) && v.new !== true) throw new UsageError('--cwd and a command after "--" go with --new');
  const session = v.session === undefined ? undefined : Number(v.session);
  if (session !== undefined && (!Number.isSafeInteger(session) || session < 1)) throw new UsageError(`--session takes a session's number: ${String(v.session)}`);
  const start = v.new === true ? { ...(v.cwd !== undefined ? { cwd: resolve(v.cwd as string) } : {}), ...(parsed.command.length > 0 ? { command: parsed.command } : {}) } : undefined;
  return attach({ link, pin, input: process.stdin, output: process.stdout, errors: process.stderr, session, start });
}
