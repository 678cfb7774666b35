// A store that keeps each agent's record in a file of its own (`agents/<id>.json` in the relay's data
// directory), so that agents' identities and browsers' links survive a relay restart, and a registration
// writes one small file however many agents there are. Each file is replaced atomically; writes of one
// agent's file are chained so that the latest record always ends up on disk.

import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../fs/write-atomic.js';
import { isId } from '../protocol/index.js';
import { MemoryAgentStore, type AgentRecord } from './agent-store.js';

/** The single file earlier versions kept every record in; moved to one file per agent on open. */
const LEGACY_FILE = 'agents.json';
const AGENTS_DIR = 'agents';

/** Agent records persisted in a directory. */
export class FileAgentStore extends MemoryAgentStore {
  /** The last write (or removal) of each agent's file, by agent id. */
  private readonly writes = new Map<string, Promise<void>>();

  private constructor(private readonly dir: string) {
    super();
  }

  /** Opens (creating if needed) the store in `dir`. */
  static async open(dir: string): Promise<FileAgentStore> {
    await mkdir(join(dir, AGENTS_DIR), { recursive: true, mode: 0o700 });
    const store = new FileAgentStore(dir);
    await store.migrate();
    for (const name of await readdir(join(dir, AGENTS_DIR))) {
      const path = join(dir, AGENTS_DIR, name);
      // A temporary file left by a crash in the middle of a write: the record it was replacing is intact.
      if (name.endsWith('.tmp')) await rm(path, { force: true });
      if (!name.endsWith('.json')) continue;
      const record = parseRecord(await readFile(path, 'utf8'), path);
      if (`${record.id}.json` !== name) throw new Error(`${path} holds the record of another agent (${record.id})`);
      store.records.set(record.id, record);
    }
    return store;
  }

  override async close(): Promise<void> {
    await Promise.all(this.writes.values());
  }

  protected override saved(record: AgentRecord): Promise<void> {
    const text = JSON.stringify(record, null, 1);
    return this.chain(record.id, () => writeFileAtomic(this.file(record.id), text));
  }

  protected override deleted(id: string): Promise<void> {
    return this.chain(id, () => rm(this.file(id), { force: true }));
  }

  private file(id: string): string {
    return join(this.dir, AGENTS_DIR, `${id}.json`);
  }

  /** Runs `write` after the previous write of `id`'s file, whether that one failed or not. */
  private chain(id: string, write: () => Promise<void>): Promise<void> {
    const next = (this.writes.get(id) ?? Promise.resolve()).catch(() => undefined).then(write);
    this.writes.set(id, next);
    const forget = (): void => {
      if (this.writes.get(id) === next) this.writes.delete(id);
    };
    next.then(forget, forget);
    return next;
  }

  /** Moves the records of the single file earlier versions kept into one file each, then removes it. */
  private async migrate(): Promise<void> {
    const legacy = join(this.dir, LEGACY_FILE);
    let text: string;
    try {
      text = await readFile(legacy, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const parsed = JSON.parse(text) as { agents?: unknown[] };
    for (const value of parsed.agents ?? []) {
      const record = parseRecord(JSON.stringify(value), legacy);
      await writeFileAtomic(this.file(record.id), JSON.stringify(record, null, 1));
    }
    await rm(legacy);
  }
}

/** A record read from `path`, checked enough that a damaged file is reported rather than used. */
function parseRecord(text: string, path: string): AgentRecord {
  const value = JSON.parse(text) as Partial<AgentRecord> | null;
  if (!value || typeof value.id !== 'string' || !isId(value.id) || typeof value.keyHash !== 'string' || typeof value.createdAt !== 'number') {
    throw new Error(`${path} is not an agent record`);
  }
  return value as AgentRecord;
}
