// `ccremote attach URL`.

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
  return attach({ link, pin, input: process.stdin, output: process.stdout, errors: process.stderr });
}
