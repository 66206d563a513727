export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { fromSqliteError } from './errors.js';
