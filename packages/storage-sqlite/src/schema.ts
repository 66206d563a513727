/**
 * The database layout, version 3 (see MIGRATIONS for 1 and 2). One row per block and one per transaction; nothing is
 * stored twice except what an index needs (the transaction id, in the table and in `tx_ids`).
 *
 * - `txs.pos` packs the block's row number and the transaction's position: `seq * 2^22 + index` (a block holds at
 *   most 2^22 transactions). A block's transactions are one contiguous range of the table's primary key, read in
 *   order with one range scan, and appended at the end of the B-tree when written.
 * - The transaction index `tx_ids` (id, pos) covers every stored block, forks included. `getTransaction` keeps the
 *   row whose block is canonical at its height, so a reorg rewrites only the few `canonical` rows above the fork
 *   point, never the index.
 * - `tx_ids` is filled in sorted batches, not row by row: ids are random, so an index kept by SQLite on `txs.id`
 *   dirtied a page of its own for nearly every insert once it outgrew the cache, and each dirty page is written to the
 *   log whole (a block's write cost rose from about 12 to 30 us per transaction between an empty store and 1.4
 *   million transactions). Rows at or above `tx_ids_state.indexed_below` may not be in `tx_ids` yet: the store keeps
 *   those in memory (read back from `txs` when it opens) and moves them into `tx_ids` in id order, a slice per
 *   commit, once there are enough of them (see SqliteStore).
 * - `crc` columns hold CRC-32C of the row's bytes: SQLite checks its own structure, not the bytes of a BLOB, and a
 *   flipped bit in a payload must surface as StoreCorruptError, not as a record that no longer verifies.
 */

export const SCHEMA_VERSION = 3;

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
CREATE TABLE tx_ids (
  id BLOB NOT NULL,
  pos INTEGER NOT NULL,
  PRIMARY KEY (id, pos)
) STRICT, WITHOUT ROWID;
CREATE TABLE tx_ids_state (indexed_below INTEGER NOT NULL) STRICT;
INSERT INTO tx_ids_state (indexed_below) VALUES (0);
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
  // 2 -> 3: the id index as its own table, filled in sorted batches (see the layout comment). Every stored row is
  // indexed here, in one pass in id order.
  2: `
CREATE TABLE tx_ids (id BLOB NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (id, pos)) STRICT, WITHOUT ROWID;
INSERT INTO tx_ids (id, pos) SELECT id, pos FROM txs ORDER BY id, pos;
DROP INDEX txs_by_id;
CREATE TABLE tx_ids_state (indexed_below INTEGER NOT NULL) STRICT;
INSERT INTO tx_ids_state (indexed_below) SELECT coalesce(max(pos), -1) + 1 FROM txs;
UPDATE schema_version SET version = 3;
`,
  1: `
CREATE TABLE pending_v2 (seq INTEGER PRIMARY KEY, id BLOB NOT NULL, body BLOB NOT NULL, crc INTEGER NOT NULL) STRICT;
INSERT INTO pending_v2 (seq, id, body, crc) SELECT seq, id, body, crc FROM pending ORDER BY seq;
DROP TABLE pending;
ALTER TABLE pending_v2 RENAME TO pending;
UPDATE schema_version SET version = 2;
`,
};

/** Tables a database of the current version has; any missing one means damage. */
export const TABLES = ['schema_version', 'blocks', 'txs', 'tx_ids', 'tx_ids_state', 'canonical', 'pending', 'meta'] as const;

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
  txById: 'SELECT t.pos, t.body, t.crc FROM tx_ids i JOIN txs t ON t.pos = i.pos WHERE i.id = ?',
  posById: 'SELECT pos FROM tx_ids WHERE id = ?',
  txByPos: 'SELECT pos, body, crc FROM txs WHERE pos = ?',
  insertTxId: 'INSERT INTO tx_ids (id, pos) VALUES (?, ?)',
  hasTxId: 'SELECT 1 FROM tx_ids WHERE id = ? AND pos = ?',
  indexedBelow: 'SELECT indexed_below FROM tx_ids_state',
  setIndexedBelow: 'UPDATE tx_ids_state SET indexed_below = ?',
  unindexedRows: 'SELECT pos, id FROM txs WHERE pos >= ? ORDER BY pos',
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
