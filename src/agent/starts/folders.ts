// Where sessions may be started from the phone: folders under the agent's allowed roots (`--root`, default
// the home folder), checked after every link is resolved, so that no name (`..`, a symbolic link) leads
// outside. Also lists a folder's subfolders, for the page's folder browser.

import { existsSync, realpathSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { MAX_LISTED } from '../../protocol/index.js';
import { StartRefused } from '../sessions.js';
import { isInside } from '../inside-folder.js';

/** The allowed roots, resolved. */
export class Roots {
  readonly paths: string[];

  constructor(roots: readonly string[]) {
    this.paths = [...new Set(roots.map((root) => realpathSync(root)))];
  }

  /** Whether a resolved path is a root or under one. */
  holds(real: string): boolean {
    return this.paths.some((root) => isInside(root, real));
  }

  /** `path`, resolved, if it is an existing folder under a root; StartRefused otherwise. */
  async folder(path: string): Promise<string> {
    if (!isAbsolute(path)) throw new StartRefused(`The folder must be a full path: ${path}`);
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new StartRefused(`There is no folder ${path} on this computer.`);
    }
    if (!this.holds(real)) throw new StartRefused(`${path} is outside the folders this agent allows (its --root: ${this.paths.join(', ')}).`);
    if (!(await stat(real)).isDirectory()) throw new StartRefused(`${path} is not a folder.`);
    return real;
  }

  /** Whether `path` leads to a folder under a root. */
  private async usableFolder(path: string): Promise<boolean> {
    try {
      return this.holds(realpathSync(path)) && (await stat(path)).isDirectory();
    } catch {
      return false;
    }
  }

  /** The subfolders of a folder under a root (hidden ones left out), and its parent while that is under a root too. */
  async list(path: string): Promise<{ path: string; parent: string | null; entries: Array<{ name: string; path: string; git: boolean }> }> {
    const folder = await this.folder(path);
    const names: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      // A link is listed only if it leads to a folder that may be used (under a root).
      if (entry.isDirectory() || (entry.isSymbolicLink() && (await this.usableFolder(join(folder, entry.name))))) names.push(entry.name);
    }
    names.sort((a, b) => a.localeCompare(b));
    const entries = names.slice(0, MAX_LISTED).map((name) => {
      const full = join(folder, name);
      return { name, path: full, git: existsSync(join(full, '.git')) };
    });
    const parent = dirname(folder);
    return { path: folder, parent: parent !== folder && this.holds(parent) ? parent : null, entries };
  }
}
