/**
 * The database layout, version 2 (version 1 had a unique index on `pending.id`; see MIGRATIONS). One row per block and one per transaction; nothing is stored twice except what an
 * index needs (the transaction id, in the table and in its index).
 *
 * - `txs.pos` packs the block's row number and the transaction's position: `seq * 2^22 + index` (a block holds at
 *   most 2^22 transactions). A block's transactions are one contiguous range of the table's primary key, read in
 *   order with one range scan, and appended at the end of the B-tree when written.
 * - The transaction index covers every stored block, forks included. `getTransaction` keeps the row whose block is
 *   canonical at its height, so a reorg rewrites only the few `canonical` rows above the fork point, never the index.
 * - `crc` columns hold CRC-32C of the row's bytes: SQLite checks its own structure, not the bytes of a BLOB, and a
 *   flipped bit in a payload must surface as StoreCorruptError, not as a record that no longer verifies.
 */

export const SCHEMA_VERSION = 2;

/** Bits of `txs.pos` that hold the position in the block (MAX_BLOCK_TRANSACTIONS = 2^22). */
export const POSITION_BITS = 22;
export const POSITION_SPAN = 2 ** POSITION_BITS;

export const CREATE_SCHEMA = `
CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT;
CREATE TABLE blocks (
  seq INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  height INTEGER NOT NULL,
  total_work BLOB NOT NULL,
  header BLOB NOT NULL,
  tx_count INTEGER NOT NULL,
  crc INTEGER NOT NULL
) STRICT;
CREATE INDEX blocks_by_height ON blocks (height, hash);
CREATE TABLE txs (
  pos INTEGER PRIMARY KEY,
  id BLOB NOT NULL,
  body BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT;
CREATE INDEX txs_by_id ON txs (id);
CREATE TABLE canonical (
  height INTEGER PRIMARY KEY,
  block INTEGER NOT NULL
) STRICT;
CREATE TABLE pending (
  seq INTEGER PRIMARY KEY,
  id BLOB NOT NULL,
  body BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  crc INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`;

/**
 * Steps from an older layout to the next, each run in the exclusive transaction that opens the database.
 * - 1 -> 2: `pending` without the unique index on `id`. The store keeps the id -> row map of the mempool entries in
 *   memory (the mempool holds them all anyway) and writes and deletes entries by row number: a random id index cost
 *   an insert and a delete in one more B-tree for every record a node takes in.
 */
export const MIGRATIONS: Readonly<Record<number, string>> = {
  1: `
CREATE TABLE pending_v2 (seq INTEGER PRIMARY KEY, id BLOB NOT NULL, body BLOB NOT NULL, crc INTEGER NOT NULL) STRICT;
INSERT INTO pending_v2 (seq, id, body, crc) SELECT seq, id, body, crc FROM pending ORDER BY seq;
DROP TABLE pending;
ALTER TABLE pending_v2 RENAME TO pending;
UPDATE schema_version SET version = 2;
`,
};

/** Tables a database of the current version has; any missing one means damage. */
export const TABLES = ['schema_version', 'blocks', 'txs', 'canonical', 'pending', 'meta'] as const;

const BLOCK_COLUMNS = 'seq, hash, height, total_work, header, tx_count, crc';

/**
 * Every statement the store prepares. The lookups by block hash and transaction id each resolve through an index,
 * the others through the integer primary key: a few B-tree probes whatever the size (the tests check the query
 * plans). Which block is canonical at a height, and each block's height, the store also keeps in memory (16 bytes
 * per block), so a transaction lookup is one indexed read and the canonical check costs nothing; the hashes of
 * recently read blocks are cached.
 */
export const STATEMENTS = {
  insertBlock: 'INSERT INTO blocks (hash, height, total_work, header, tx_count, crc) VALUES (?, ?, ?, ?, ?, ?)',
  insertTx: 'INSERT INTO txs (pos, id, body, crc) VALUES (?, ?, ?, ?)',
  heightByHash: 'SELECT height FROM blocks WHERE hash = ?',
  seqByHash: 'SELECT seq FROM blocks WHERE hash = ?',
  blockByHash: `SELECT ${BLOCK_COLUMNS} FROM blocks WHERE hash = ?`,
  txRange: 'SELECT pos, id, body, crc FROM txs WHERE pos >= ? AND pos < ? ORDER BY pos',
  txById: 'SELECT pos, body, crc FROM txs WHERE id = ?',
  posById: 'SELECT pos FROM txs WHERE id = ?',
  hashBySeq: 'SELECT hash FROM blocks WHERE seq = ?',
  blockHeights: 'SELECT seq, height FROM blocks',
  canonicalAll: 'SELECT height, block FROM canonical ORDER BY height',
  infosFirst: `SELECT ${BLOCK_COLUMNS} FROM blocks WHERE height >= ? ORDER BY height, hash LIMIT ?`,
  infosNext: `SELECT ${BLOCK_COLUMNS} FROM blocks WHERE (height, hash) > (?, ?) ORDER BY height, hash LIMIT ?`,
  deleteCanonicalFrom: 'DELETE FROM canonical WHERE height >= ?',
  insertCanonical: 'INSERT INTO canonical (height, block) VALUES (?, ?)',
  insertPending: 'INSERT INTO pending (id, body, crc) VALUES (?, ?, ?)',
  updatePending: 'UPDATE pending SET body = ?, crc = ? WHERE seq = ?',
  deletePending: 'DELETE FROM pending WHERE seq = ?',
  pendingIds: 'SELECT seq, id, length(body) AS size FROM pending',
  pendingPage: 'SELECT seq, id, body, crc FROM pending WHERE seq > ? ORDER BY seq LIMIT ?',
  upsertMeta:
    'INSERT INTO meta (key, value, crc) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, crc = excluded.crc',
  meta: 'SELECT value, crc FROM meta WHERE key = ?',
} as const;
