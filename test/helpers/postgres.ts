// PostgreSQL for tests: the one on 127.0.0.1:5432 (trust authentication, database `test`), each test in a
// schema of its own that is dropped at cleanup. Where none answers the tests that need it skip, except
// under CI where that is a failure.

import pg from 'pg';
import { describe } from 'vitest';
import { atCleanup } from './system.js';

export const POSTGRES_URL = process.env.CCREMOTE_TEST_DATABASE ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const available = await reachable();
if (!available && process.env.CI) throw new Error(`PostgreSQL does not answer at ${POSTGRES_URL}; CI must provide it`);
if (!available) console.warn(`PostgreSQL does not answer at ${POSTGRES_URL}: the registry tests that need it are skipped`);

/** `describe` that skips when no PostgreSQL answers (never under CI). */
export const describePostgres = available ? describe : describe.skip;

/** A fresh schema name, dropped (with everything in it) at cleanup. */
export function freshSchema(): string {
  const schema = `ccremote_test_${Math.random().toString(36).slice(2, 10)}`;
  atCleanup(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  });
  return schema;
}
