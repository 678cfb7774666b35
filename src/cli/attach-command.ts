// `ccremote attach URL`.

import { attach } from '../attach/attach.js';
import { parseAccessLink } from '../protocol/index.js';
import { UsageError, type Parsed } from './options.js';

/** `ccremote attach`. */
export function attachCommand(parsed: Parsed): Promise<number> {
  const link = parsed.positionals[0]!;
  try {
    parseAccessLink(link);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return attach({ link, input: process.stdin, output: process.stdout, errors: process.stderr });
}
