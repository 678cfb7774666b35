// A store that keeps agent records in `agents.json` in the relay's data directory, so that agents'
// identities and browsers' links survive a relay restart. Writes are atomic (temporary file + rename).

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryAgentStore, type AgentRecord } from './agent-store.js';

const FILE = 'agents.json';

/** Agent records persisted in a directory. */
export class FileAgentStore extends MemoryAgentStore {
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly dir: string) {
    super();
  }

  /** Opens (creating if needed) the store in `dir`. */
  static async open(dir: string): Promise<FileAgentStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const store = new FileAgentStore(dir);
    let text: string | undefined;
    try {
      text = await readFile(join(dir, FILE), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text !== undefined) {
      const parsed = JSON.parse(text) as { agents?: AgentRecord[] };
      for (const record of parsed.agents ?? []) store.records.set(record.id, record);
    }
    return store;
  }

  override async close(): Promise<void> {
    await this.writing;
  }

  protected override changed(): Promise<void> {
    // Writes are chained so that the file always ends up with the latest records.
    this.writing = this.writing.catch(() => undefined).then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    const path = join(this.dir, FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify({ agents: [...this.records.values()] }, null, 1), { mode: 0o600 });
    await rename(temporary, path);
  }
}
