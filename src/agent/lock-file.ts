// A lock file holding the agent's pid, so that two agents never serve the same identity at once
// (they would keep taking the relay connection from each other).

import { readFileSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Held by a running agent; released by `release()` or when the holder's process is gone. */
export class LockFile {
  private held = false;

  constructor(readonly path: string) {}

  /** Takes the lock; throws if another live process holds it. */
  acquire(): void {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.path, String(process.pid), { flag: 'wx', mode: 0o600 });
        this.held = true;
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(readFileSync(this.path, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new Error(`another ccremote agent (pid ${holder}) already serves this folder with this relay; stop it first, or use another --cwd or --config-dir`);
      }
      unlinkSync(this.path); // stale: its process is gone
    }
    throw new Error(`cannot take the lock ${this.path}`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      unlinkSync(this.path);
    } catch {
      // Already removed.
    }
  }
}

/** Whether process `pid` exists (one of another user's counts: it cannot be signalled, but it is there). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
