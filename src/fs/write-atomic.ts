// Writing a file so that readers (and a crash) see either the old content or the new, never a mix: the
// content goes to a temporary file beside it, which then replaces it by rename.

import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

/** Replaces `path` with `data` atomically; the file gets `mode` (default: readable by its owner only). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  // A name of its own per write: two writes of one file at once must not share a temporary file.
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, data, { mode });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
