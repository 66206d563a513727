/**
 * Direct access to a node's SQLite store file, to damage it the way a failing disk or a tamperer would. better-sqlite3
 * is a dependency of the SQLite adapter, so it is loaded from there.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { REPO_ROOT } from './node-process.js';

const requireFromAdapter = createRequire(join(REPO_ROOT, 'packages/storage-sqlite/package.json'));
const Database = requireFromAdapter('better-sqlite3') as typeof BetterSqlite3;

export type SqliteDatabase = BetterSqlite3.Database;

/** The store file of a data folder whose store kind is sqlite. */
export const sqlitePath = (dataDir: string): string => join(dataDir, 'chain', 'chain.sqlite');

/** Opens the store file of a stopped node, runs `fn`, and closes it. */
export function withDatabase<T>(dataDir: string, fn: (db: SqliteDatabase) => T): T {
  const db = new Database(sqlitePath(dataDir));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
