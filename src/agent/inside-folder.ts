// The one check of whether a resolved path lies in a folder, for everything the agent lets a client reach by
// path: session folders under --root, files taken from a session's folder, the upload folder.

import { sep } from 'node:path';

/** Whether `path` is `folder` or under it (both real paths: every link resolved). */
export function isInside(folder: string, path: string): boolean {
  return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}
