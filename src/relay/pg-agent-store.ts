// The agent registry in PostgreSQL (`ccremote relay --database postgres://…`): what a group of relays, or a
// relay that wants a real database, keeps of each agent (hashes and verifiers only, as every store). The
// table is made on start if it is not there (a migration numbered in a table of its own, so later
// versions can add theirs); no ORM, parameterised queries only.

import pg from 'pg';
import { applyCredentials, newAgentRecord, type AgentCredentialSet, type AgentRecord, type AgentStore, type CredentialChange, type DeviceCredential } from './agent-store.js';

/** The migrations, in order; each runs once, in a transaction. */
const MIGRATIONS: string[] = [
  `CREATE TABLE IF NOT EXISTS ccremote_agents (
     id text PRIMARY KEY,
     key_hash text NOT NULL,
     name text,
     access_verifier text,
     view_verifier text,
     devices jsonb NOT NULL DEFAULT '[]',
     created_at bigint NOT NULL
   );
   CREATE INDEX IF NOT EXISTS ccremote_agents_unconnected ON ccremote_agents (created_at) WHERE access_verifier IS NULL;`,
];

interface Row {
  id: string;
  key_hash: string;
  name: string | null;
  access_verifier: string | null;
  view_verifier: string | null;
  devices: DeviceCredential[];
  created_at: string;
}

export class PgAgentStore implements AgentStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connects, and brings the schema up to date; throws (with the database's words) if it cannot. */
  static async open(url: string, options: { schema?: string } = {}): Promise<PgAgentStore> {
    const schema = options.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`not a schema name: ${schema}`);
    const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5000 });
    // A lost connection is reported by the next query; the pool itself must not crash the relay.
    pool.on('error', () => undefined);
    if (schema) pool.on('connect', (client) => void client.query(`SET search_path TO ${schema}`));
    try {
      const client = await pool.connect();
      try {
        if (schema) {
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
          await client.query(`SET search_path TO ${schema}`);
        }
        await client.query('CREATE TABLE IF NOT EXISTS ccremote_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
        const { rows } = await client.query<{ version: number }>('SELECT version FROM ccremote_migrations');
        const applied = new Set(rows.map((r) => r.version));
        for (const [index, sql] of MIGRATIONS.entries()) {
          if (applied.has(index + 1)) continue;
          await client.query('BEGIN');
          try {
            await client.query(sql);
            await client.query('INSERT INTO ccremote_migrations (version, applied_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [index + 1, Date.now()]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
        }
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PgAgentStore(pool);
  }

  async register(name: string | undefined): Promise<{ id: string; key: string }> {
    const { record, key } = newAgentRecord(name);
    await this.pool.query('INSERT INTO ccremote_agents (id, key_hash, name, created_at) VALUES ($1, $2, $3, $4)', [record.id, record.keyHash, record.name ?? null, record.createdAt]);
    return { id: record.id, key };
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM ccremote_agents WHERE id = $1', [id]);
    const row = rows[0];
    if (!row) return undefined;
    return {
      id: row.id,
      keyHash: row.key_hash,
      name: row.name ?? undefined,
      accessVerifier: row.access_verifier ?? undefined,
      viewVerifier: row.view_verifier ?? undefined,
      devices: row.devices,
      createdAt: Number(row.created_at),
    };
  }

  async setCredentials(id: string, credentials: AgentCredentialSet): Promise<CredentialChange> {
    const record = await this.get(id);
    if (!record) return { linkReplaced: false, removedDevices: [] };
    const { changed, ...change } = applyCredentials(record, credentials);
    if (changed) {
      await this.pool.query('UPDATE ccremote_agents SET access_verifier = $2, view_verifier = $3, devices = $4 WHERE id = $1', [
        id,
        record.accessVerifier ?? null,
        record.viewVerifier ?? null,
        JSON.stringify(record.devices ?? []),
      ]);
    }
    return change;
  }

  async expireUnconnected(registeredBefore: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>('DELETE FROM ccremote_agents WHERE access_verifier IS NULL AND created_at < $1 RETURNING id', [registeredBefore]);
    return rows.map((r) => r.id);
  }

  async check(): Promise<{ ok: true } | { ok: false; reason: string }> {
    try {
      await this.pool.query('SELECT 1');
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
