// The folders sessions were started in lately, newest first, kept in the agent's config directory so the
// phone's "New session" sheet offers them again after a restart.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../fs/write-atomic.js';

/** Folders remembered. */
const KEEP = 20;

export class RecentFolders {
  private folders: string[] = [];
  private readonly file: string;

  constructor(
    configDir: string,
    /** Told when the list cannot be saved (it is a convenience: nothing else depends on it). */
    private readonly warn: (message: string) => void,
  ) {
    this.file = join(configDir, 'recent-folders.json');
  }

  /** Reads the list (an unreadable or malformed file is an empty list). */
  async load(): Promise<void> {
    try {
      const value: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (Array.isArray(value)) this.folders = value.filter((f): f is string => typeof f === 'string').slice(0, KEEP);
    } catch {
      this.folders = [];
    }
  }

  list(): readonly string[] {
    return this.folders;
  }

  /** A session started in `folder`: it goes first. */
  async add(folder: string): Promise<void> {
    this.folders = [folder, ...this.folders.filter((f) => f !== folder)].slice(0, KEEP);
    try {
      await writeFileAtomic(this.file, JSON.stringify(this.folders));
    } catch (error) {
      this.warn(`the recent folders could not be saved (${(error as Error).message}); they are kept until the agent stops`);
    }
  }
}
