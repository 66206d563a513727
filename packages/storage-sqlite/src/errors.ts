import { SafechainError } from '@safechain/core';
import { StoreCorruptError, StoreFullError, StoreIOError, StoreLockedError } from '@safechain/storage';

/**
 * Maps an error thrown by better-sqlite3 to the storage error a caller can act on, by SQLite's result code:
 * - SQLITE_FULL (disk full, or `max_page_count` reached): StoreFullError; SQLite has rolled the transaction back;
 * - SQLITE_BUSY, SQLITE_LOCKED: StoreLockedError (another connection holds the database);
 * - SQLITE_CORRUPT, SQLITE_NOTADB: StoreCorruptError;
 * - SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM: StoreIOError.
 * safechain's own errors pass through unchanged, and so does anything else (a bug, not a disk condition).
 */
export function fromSqliteError(error: unknown, context: string): unknown {
  if (error instanceof SafechainError) return error;
  const code = sqliteCode(error);
  if (code === undefined) return error;
  const message = `${context}: ${(error as Error).message} (${code})`;
  const options = { cause: error };
  if (code.startsWith('SQLITE_FULL')) return new StoreFullError(message, options);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreLockedError(`${context}: the database is open in another process or handle (${code})`, options);
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) return new StoreCorruptError(message, options);
  if (['SQLITE_IOERR', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_PERM'].some((c) => code.startsWith(c))) {
    return new StoreIOError(message, options);
  }
  return error;
}

function sqliteCode(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}
