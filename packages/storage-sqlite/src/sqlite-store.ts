import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  compareBytes,
  decodeBlockHeader,
  decodeTransaction,
  equalBytes,
  encodeBlockHeader,
  encodeTransaction,
  InvalidArgumentError,
  toHex,
  type Block,
  type Transaction,
} from '@safechain/core';
import {
  crc32c,
  crc32cUpdate,
  decodeStored,
  encodeTransactions,
  planCommit,
  StoreClosedError,
  StoreCorruptError,
  StoreFullError,
  StoreIOError,
  StoreVersionError,
  type CanonicalTip,
  type ChainStore,
  type Commit,
  type CommitPlan,
  type EncodedTransactions,
  type PendingTransaction,
  type StoredBlockInfo,
  type StoredTransaction,
} from '@safechain/storage';
import { fromSqliteError } from './errors.js';
import { CREATE_SCHEMA, MIGRATIONS, POSITION_SPAN, SCHEMA_VERSION, STATEMENTS, TABLES } from './schema.js';
import { WalSyncer } from './wal-sync.js';

export interface SqliteStoreOptions {
  /** The database file; created (with its directory) when missing. */
  readonly path: string;
  /**
   * Refuse a commit with StoreFullError when the database would grow beyond this many bytes. Checked before writing
   * from the commit's size, and enforced by SQLite (`max_page_count`) for what the estimate misses; the write-ahead
   * log adds up to about 4 MiB on top until it is checkpointed.
   */
  readonly maxBytes?: number;
  /** SQLite page cache in MiB. Default 64. */
  readonly cacheMiB?: number;
  /**
   * Bytes of the database file SQLite reads through a memory map, in MiB; 0 reads with read() only. Default 256.
   * Mapped pages the store has read count in the process's resident memory (they are the kernel's file cache, given
   * back under memory pressure), hence a bound well below the memory a node is allowed. A disk error under a mapped
   * read surfaces as a signal (SIGBUS) rather than as an error: set 0 where the database lives on storage that is
   * expected to fail while the node runs.
   */
  readonly mmapMiB?: number;
  /**
   * Bytes of the database file that transaction lookups (`getTransaction`) read through a memory map, in MiB.
   * Default 2048 (SQLite as built here maps at most 2 GiB - 64 KiB; the rest of a larger file is read with read()).
   * Commits and the other reads go through the `mmapMiB` map: the store switches the map when the kind of work
   * changes, so the pages a burst of lookups made resident are given back at the next commit, and the pages a
   * commit touches (mempool rows all over the file) never become resident through the large map. Set it equal to
   * `mmapMiB` to never switch; 0 turns mapped lookups off. Same SIGBUS caveat as `mmapMiB`.
   */
  readonly lookupMmapMiB?: number;
  /**
   * Transaction rows written but not yet in the id index at which the store starts moving them there, in id order,
   * 1/32 of them per commit. Default 65,536 (about 6 MiB of memory for the rows waiting). Small values exercise the
   * moving in tests; larger ones save more page writes on a large store.
   */
  readonly indexBatchRows?: number;
}

/** Bytes a row costs beyond its BLOBs (record header, cell pointer, index entry with its rowid): for the estimate. */
const ROW_OVERHEAD = 24;
/** Block hashes cached by `#hashOf`: 4096 entries, about 300 KB. */
const HASH_CACHE_SIZE = 4096;
/**
 * Transaction rows not yet in `tx_ids` at which the store starts moving them there, and into how many slices, one per
 * commit, a batch is cut (in id order, so each slice touches about 1/32 of the index's pages once). Measured with blocks of 7,000 1 kB
 * transactions: about 17 us per transaction written at 1.4 million stored, against 30 us for an index SQLite keeps
 * row by row. The rows waiting cost about 100 bytes of memory each.
 */
const INDEX_BATCH_ROWS = 65_536;
const INDEX_SLICES_PER_BATCH = 32;
/** Ids remembered as absent (see `SqliteStore#absent`), oldest dropped first: about 100 bytes each. */
const ABSENT_IDS = 65_536;
/** Rows fetched per query when iterating, so no statement stays open across an `await` of the caller. */
const PAGE_ROWS = 256;
/**
 * 16 KiB pages: a 1 kB record and its row fit a dozen to a page with little slack, the B-trees are shallower, and
 * a commit writes fewer, larger frames to the log; measured faster than 4 and 8 KiB for blocks of 1 kB transactions
 * and their mempool entries (see the package README). Fixed when a database is created.
 */
const PAGE_SIZE = 16384;
/**
 * The largest map SQLite takes in this build (`SQLITE_MAX_MMAP_SIZE`, 0x7fff0000 bytes): a larger `mmap_size` is
 * clamped to it, so the default lookup map asks for exactly this.
 */
const MAX_MMAP_BYTES = 0x7fff0000;
/** Total work is stored as a minimal big-endian integer; a sum of u64 difficulties needs far fewer bytes. */
const MAX_WORK_BYTES = 32;

interface BlockRow {
  seq: number;
  hash: Buffer;
  height: number;
  total_work: Buffer;
  header: Buffer;
  tx_count: number;
  crc: number;
}

interface TxRow {
  pos: number;
  id: Buffer;
  body: Buffer;
  crc: number;
}

/** `txById` rows, fetched raw (an array, no object with named keys) on the hottest path: pos, body, crc. */
type TxByIdRow = [number, Buffer, number];

/** A transaction row not yet in `tx_ids`. */
interface UnindexedRow {
  readonly id: Uint8Array;
  readonly pos: number;
}

/** A batch of unindexed rows being moved into `tx_ids`, in id order, a slice per commit. */
interface IndexBatch {
  /** Sorted by id. */
  readonly rows: readonly UnindexedRow[];
  /** Rows before this one are in `tx_ids`. */
  readonly next: number;
  /** Every row below this position is in `tx_ids` once the batch is done. */
  readonly end: number;
}

/** What a commit did to the id index, applied to the in-memory state once the commit is durable. */
interface IndexChanges {
  added: UnindexedRow[];
  batch: IndexBatch | null;
  /** Rows of `batch` moved into `tx_ids` by this commit: `batch.rows[from, batch.next)`. */
  from: number;
}

/** A number from the first 6 bytes of an id: the key of the map of unindexed rows (ids are hashes). */
function idKey(id: Uint8Array): number {
  return (id[0]! * 0x10000 + id[1]! * 0x100 + id[2]!) * 0x1000000 + (id[3]! * 0x10000 + id[4]! * 0x100 + id[5]!);
}

function compareRows(a: UnindexedRow, b: UnindexedRow): number {
  return compareBytes(a.id, b.id) || a.pos - b.pos;
}

interface PendingRow {
  seq: number;
  id: Buffer;
  body: Buffer;
  crc: number;
}

interface MetaRow {
  value: Buffer;
  crc: number;
}

/** A copy as a plain Uint8Array: SQLite hands out Buffers, and callers should not hold a view into them. */
function bytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer);
}

function workToBytes(work: bigint): Uint8Array {
  const hex = work === 0n ? '' : work.toString(16);
  const out = new Uint8Array(Math.ceil(hex.length / 2));
  const padded = hex.length % 2 === 1 ? `0${hex}` : hex;
  for (let i = 0; i < out.length; i++) out[i] = parseInt(padded.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function workFromBytes(raw: Uint8Array, where: () => string): bigint {
  if (raw.length > MAX_WORK_BYTES || (raw.length > 0 && raw[0] === 0)) {
    throw new StoreCorruptError(`${where()}: total work is not a minimal integer of at most ${MAX_WORK_BYTES} bytes`);
  }
  let work = 0n;
  for (const b of raw) work = (work << 8n) | BigInt(b);
  return work;
}

function blockCrc(hash: Uint8Array, work: Uint8Array, header: Uint8Array): number {
  return crc32cUpdate(crc32cUpdate(crc32c(hash), work), header);
}

function rowCrc(id: Uint8Array, body: Uint8Array): number {
  return crc32cUpdate(crc32c(id), body);
}

interface EncodedBlock {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly work: Uint8Array;
  readonly header: Uint8Array;
  readonly txCount: number;
  readonly ids: readonly Uint8Array[];
  readonly bodies: EncodedTransactions;
}

/** Changes a commit makes to the pending id map: a row number, or undefined for a removed entry. */
type PendingChanges = Map<string, PendingEntryRef | undefined>;

/** Where a mempool entry is, and the bytes it counts for in the store-size estimate. */
interface PendingEntryRef {
  readonly seq: number;
  readonly bytes: number;
}

interface EncodedCommit {
  readonly blocks: readonly EncodedBlock[];
  readonly pendingAdd: readonly { readonly id: Uint8Array; readonly body: Uint8Array }[];
  readonly bytes: number;
  /** The part of `bytes` that is new mempool entries. */
  readonly pendingBytes: number;
}

/**
 * The embedded default store: one SQLite database in WAL mode, its log synced before each commit resolves.
 *
 * Durability: each commit is one SQLite transaction, and `commit` resolves only after the write-ahead log holding
 * it has been fsync'd, so a resolved `commit` survives power loss; a commit cut short by a crash is rolled back when
 * the database is next opened. SQLite runs with `synchronous = NORMAL` and the store does the log sync that FULL
 * would do inside COMMIT itself, on the thread pool (WalSyncer), so the event loop keeps serving while the disk
 * works. Commits run one at a time in call order.
 *
 * The connection takes SQLite's exclusive lock when it opens (`locking_mode = EXCLUSIVE`) and holds it until
 * `close`, so a second process, or a second handle, gets StoreLockedError instead of interleaving commits.
 */
export class SqliteStore implements ChainStore {
  readonly kind = 'sqlite';
  readonly path: string;
  readonly #db: Database.Database;
  readonly #maxBytes: number | undefined;
  readonly #pageSize: number;
  /** Block row number at each canonical height: a mirror of the `canonical` table. */
  readonly #canonical: number[] = [];
  /** Height of each block row number (`blocks.seq`): a mirror of `blocks.height`. */
  #seqHeight = new Float64Array(1024).fill(-1);
  /** Hashes of recently read blocks, direct-mapped by row number (most lookups hit recent blocks). */
  readonly #hashCacheSeq = new Float64Array(HASH_CACHE_SIZE).fill(-1);
  readonly #hashCache: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(HASH_CACHE_SIZE);
  #closed = false;
  /** The last commit queued; the next one starts when it settles. */
  #commitTail: Promise<void> = Promise.resolve();
  /** Syncs the write-ahead log after commits; null for an in-memory database. */
  readonly #wal: WalSyncer | null;
  readonly #s: ReturnType<typeof prepare>;
  readonly #write: (encoded: EncodedCommit, plan: CommitPlan, pending: PendingChanges, index: IndexChanges) => number[];
  /** Row number of each mempool entry, by hex id: a mirror of `pending`, which has no index on the id. */
  readonly #pendingRows = new Map<string, PendingEntryRef>();
  /** Sum of `bytes` over `#pendingRows`: room kept free for the blocks that will hold those entries. */
  #pendingBytes = 0;
  /** `mmap_size` for commits and most reads, and for transaction lookups (see the options). */
  readonly #maps: Readonly<Record<MapUse, number>>;
  /** The map the connection has now: switched only when the kind of work changes. */
  #mapUse: MapUse = 'write';
  /** Transaction rows at or above `tx_ids_state.indexed_below` that are not in `tx_ids`, by `idKey`. */
  readonly #unindexed = new Map<number, UnindexedRow[]>();
  #unindexedCount = 0;
  /**
   * Ids found to have no row at all, by `idKey` (one id a key: a colliding one replaces it, which costs only a
   * lookup). A new record's id is checked several times before its block is written (the mempool, the producer and
   * the Block Tree each ask), and only the first check needs the index. An id leaves this map when a commit writes a
   * row with it, before any reader can see that row through the in-memory state; a row in a fork block counts, so a
   * reorg never makes a remembered id canonical.
   */
  readonly #absent = new Map<number, Uint8Array>();
  /** The batch being moved into `tx_ids`, if any (its rows are still in `#unindexed` until moved). */
  #indexBatch: IndexBatch | null = null;
  readonly #indexBatchRows: number;

  private constructor(
    path: string,
    db: Database.Database,
    maxBytes: number | undefined,
    maps: Readonly<Record<MapUse, number>>,
    indexBatchRows: number,
  ) {
    this.path = path;
    this.#indexBatchRows = indexBatchRows;
    this.#db = db;
    this.#maxBytes = maxBytes;
    this.#maps = maps;
    this.#wal = path === ':memory:' ? null : new WalSyncer(path);
    this.#pageSize = db.pragma('page_size', { simple: true }) as number;
    this.#s = prepare(db);
    for (const row of this.#s.blockHeights.iterate() as IterableIterator<{ seq: number; height: number }>) this.#setHeight(row.seq, row.height);
    for (const row of this.#s.canonicalAll.iterate() as IterableIterator<{ height: number; block: number }>) {
      if (row.height !== this.#canonical.length || this.#height(row.block) !== row.height) {
        throw new StoreCorruptError(`${path}: canonical entry at height ${row.height} does not fit the chain below it`);
      }
      this.#canonical.push(row.block);
    }
    for (const row of this.#s.pendingIds.iterate() as IterableIterator<{ seq: number; id: Buffer; size: number }>) {
      const key = toHex(row.id);
      if (this.#pendingRows.has(key)) throw new StoreCorruptError(`${path}: mempool entry ${key} is stored twice`);
      const bytes = pendingRowBytes(row.size);
      this.#pendingRows.set(key, { seq: row.seq, bytes });
      this.#pendingBytes += bytes;
    }
    // Rows a previous run wrote but had not indexed (a batch cut short by a stop is finished by the next one).
    const indexedBelow = this.#s.indexedBelow.get() as number | undefined;
    if (indexedBelow === undefined) throw new StoreCorruptError(`${path}: tx_ids_state has no row`);
    for (const row of this.#s.unindexedRows.iterate(indexedBelow) as IterableIterator<{ pos: number; id: Buffer }>) {
      if (this.#s.hasTxId.get(row.id, row.pos) === undefined) this.#addUnindexed({ id: bytes(row.id), pos: row.pos });
    }
    this.#write = db.transaction((encoded: EncodedCommit, plan: CommitPlan, pending: PendingChanges, index: IndexChanges) =>
      this.#apply(encoded, plan, pending, index),
    );
  }

  #setHeight(seq: number, height: number): void {
    if (seq >= this.#seqHeight.length) {
      const grown = new Float64Array(Math.max(seq + 1, this.#seqHeight.length * 2)).fill(-1);
      grown.set(this.#seqHeight);
      this.#seqHeight = grown;
    }
    this.#seqHeight[seq] = height;
  }

  #height(seq: number): number {
    return this.#seqHeight[seq] ?? -1;
  }

  /**
   * Gives the connection the map for `use`. Random lookups read rows all over the file: through the large map each
   * costs a page fault the first time and a memory read after, through read() a system call and a 16 KiB copy every
   * time (measured 1.4 to 1.6 times as many lookups in a 1.4 GB store). A commit unmaps what lookups made resident
   * before it reads a page, so a node's resident memory grows with its lookups only until its next commit.
   * SQLite applies a new size only when no page of the map is in use, which holds between statements.
   */
  #useMap(use: MapUse): void {
    if (this.#mapUse === use) return;
    this.#mapUse = use;
    if (this.#maps.write !== this.#maps.lookup) this.#db.pragma(`mmap_size = ${this.#maps[use]}`);
  }

  /**
   * Opens (creating when missing) the database at `options.path`. A database left by a crash is recovered here by
   * SQLite: committed transactions kept, an unfinished one rolled back.
   * @throws InvalidArgumentError on bad options; StoreLockedError when another handle holds the database;
   *   StoreVersionError when the file is a database of another format version or not a safechain store;
   *   StoreCorruptError when the file is not a database or is damaged; StoreIOError when it cannot be opened.
   */
  static async open(options: SqliteStoreOptions): Promise<SqliteStore> {
    if (typeof options !== 'object' || options === null || typeof options.path !== 'string' || options.path.length === 0) {
      throw new InvalidArgumentError('options.path: expected a non-empty string');
    }
    const { path, maxBytes, cacheMiB = 64, mmapMiB = 256, lookupMmapMiB = MAX_MMAP_BYTES / 2 ** 20, indexBatchRows = INDEX_BATCH_ROWS } = options;
    if (!Number.isSafeInteger(indexBatchRows) || indexBatchRows < 1) {
      throw new InvalidArgumentError(`options.indexBatchRows: expected a positive safe integer, got ${String(indexBatchRows)}`);
    }
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) {
      throw new InvalidArgumentError(`options.maxBytes: expected a positive safe integer, got ${String(maxBytes)}`);
    }
    if (!Number.isSafeInteger(cacheMiB) || cacheMiB <= 0) {
      throw new InvalidArgumentError(`options.cacheMiB: expected a positive safe integer, got ${String(cacheMiB)}`);
    }
    for (const [name, value] of [['mmapMiB', mmapMiB], ['lookupMmapMiB', lookupMmapMiB]] as const) {
      if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) {
        throw new InvalidArgumentError(`options.${name}: expected a non-negative number, got ${String(value)}`);
      }
    }
    if (path !== ':memory:') {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch (error) {
        throw new StoreIOError(`creating the directory of ${path}: ${(error as Error).message}`, { cause: error });
      }
    }
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { timeout: 0 });
      // Exclusive locking before WAL: no shared-memory index, and the lock stays with this connection.
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma(`page_size = ${PAGE_SIZE}`);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (path !== ':memory:' && mode !== 'wal') throw new StoreIOError(`${path}: cannot switch the database to WAL mode (got ${String(mode)})`);
      // NORMAL: COMMIT writes the log without syncing it; `commit` syncs it off the event loop before it resolves
      // (WalSyncer). FULL would sync it a second time, inside COMMIT, on the event loop.
      db.pragma('synchronous = NORMAL');
      db.pragma(`cache_size = ${-cacheMiB * 1024}`);
      db.pragma('journal_size_limit = 67108864');
      // Reads through a memory map: a lookup that misses SQLite's own cache costs a page fault, not a read() call and
      // a copy (measured about 30% more random lookups; see the package README).
      const maps = { write: mapBytes(path, mmapMiB), lookup: mapBytes(path, lookupMmapMiB) };
      db.pragma(`mmap_size = ${maps.write}`);
      db.pragma('foreign_keys = OFF');
      db.pragma('trusted_schema = OFF');
      // An exclusive transaction takes the lock now and, in exclusive locking mode, keeps it.
      db.transaction(() => initSchema(db!, path)).exclusive();
      if (maxBytes !== undefined) {
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
      }
      return new SqliteStore(path, db, maxBytes, maps, indexBatchRows);
    } catch (error) {
      db?.close();
      throw fromSqliteError(error, `opening ${path}`);
    }
  }

  #check(): void {
    if (this.#closed) throw new StoreClosedError(`sqlite store ${this.path} is closed`);
  }

  #usedBytes(): number {
    const pages = this.#db.pragma('page_count', { simple: true }) as number;
    const free = this.#db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * this.#pageSize;
  }

  /**
   * Applies `commit` in one SQLite transaction (see the class comment for durability).
   * @throws StoreClosedError; InvalidArgumentError on a malformed commit; StoreConsistencyError (nothing written);
   *   StoreFullError when `maxBytes` or the disk is exceeded (nothing written); StoreIOError when the disk fails.
   */
  commit(commit: Commit): Promise<void> {
    // One commit at a time, each planned against the state the previous one left: the log sync of one commit runs
    // off the event loop while the next waits here.
    const run = this.#commitTail.then(() => this.#commitNow(commit));
    this.#commitTail = run.catch(() => undefined);
    return run;
  }

  async #commitNow(commit: Commit): Promise<void> {
    this.#check();
    const plan = planCommit(commit, {
      canonicalLength: this.#canonical.length,
      storedHeight: (hash) => this.#s.heightByHash.get(hash) as number | undefined,
    });
    if (plan.empty) return;
    // Encode before the transaction: a transaction that fails to encode must not leave a half-open write.
    const encoded = encodeCommit(plan);
    // Mempool entries are written again when a block takes them in: a commit that adds entries must leave room for
    // that second write, or a full store would hold entries no block can ever be stored with, and stop the chain.
    const reserve = encoded.pendingBytes > 0 ? this.#pendingBytes + encoded.pendingBytes : 0;
    if (this.#maxBytes !== undefined && this.#usedBytes() + encoded.bytes + reserve - this.#heldBytes(plan.pendingRemove) > this.#maxBytes) {
      throw new StoreFullError(
        `commit of about ${encoded.bytes} bytes${reserve > 0 ? ` (and ${reserve} kept free for the block that will hold its mempool entries)` : ''} ` +
          `would exceed the limit of ${this.#maxBytes} bytes (${this.#usedBytes()} used)`,
      );
    }
    let seqs: number[];
    const pending: PendingChanges = new Map();
    const index: IndexChanges = { added: [], batch: null, from: 0 };
    try {
      this.#useMap('write');
      seqs = this.#write(encoded, plan, pending, index);
    } catch (error) {
      throw fromSqliteError(error, 'commit');
    }
    // Durable before anything depends on it: the in-memory mirrors, through which transactions are found and the
    // tip is read, move only once the log is on disk, so no reader reports a block that a power loss could undo.
    await this.#wal?.sync();
    for (const [key, row] of pending) {
      this.#pendingBytes -= this.#pendingRows.get(key)?.bytes ?? 0;
      if (row === undefined) this.#pendingRows.delete(key);
      else {
        this.#pendingRows.set(key, row);
        this.#pendingBytes += row.bytes;
      }
    }
    encoded.blocks.forEach((b, i) => this.#setHeight(seqs[i]!, b.height));
    for (const row of index.added) {
      const key = this.#addUnindexed(row);
      const known = this.#absent.get(key);
      if (known !== undefined && equalBytes(known, row.id)) this.#absent.delete(key);
    }
    if (index.batch !== null) {
      for (let i = index.from; i < index.batch.next; i++) this.#removeUnindexed(index.batch.rows[i]!);
      this.#indexBatch = index.batch.next < index.batch.rows.length ? index.batch : null;
    }
    if (plan.canonical !== undefined) {
      const { fromHeight, hashes } = plan.canonical;
      this.#canonical.length = fromHeight;
      for (let i = 0; i < hashes.length; i++) this.#canonical.push(seqs[encoded.blocks.length + i]!);
    }
  }

  /** Bytes the mempool entries `ids` count for (what removing them frees). */
  #heldBytes(ids: readonly Uint8Array[]): number {
    let bytes = 0;
    for (const id of ids) bytes += this.#pendingRows.get(toHex(id))?.bytes ?? 0;
    return bytes;
  }

  /** Returns the row's `idKey`. */
  #addUnindexed(row: UnindexedRow): number {
    const key = idKey(row.id);
    const rows = this.#unindexed.get(key);
    if (rows === undefined) this.#unindexed.set(key, [row]);
    else rows.push(row);
    this.#unindexedCount++;
    return key;
  }

  #removeUnindexed(row: UnindexedRow): void {
    const key = idKey(row.id);
    const rows = this.#unindexed.get(key);
    const at = rows === undefined ? -1 : rows.findIndex((r) => r.pos === row.pos);
    if (at < 0) return;
    if (rows!.length === 1) this.#unindexed.delete(key);
    else rows!.splice(at, 1);
    this.#unindexedCount--;
  }

  /** Positions of the rows of `id` that are not in `tx_ids` yet. */
  #unindexedPositions(id: Uint8Array): number[] {
    const rows = this.#unindexed.get(idKey(id));
    if (rows === undefined) return [];
    const out: number[] = [];
    for (const row of rows) if (equalBytes(row.id, id)) out.push(row.pos);
    return out;
  }

  /**
   * Moves the next slice of unindexed rows into `tx_ids`, inside the commit's transaction, starting a batch (all
   * rows unindexed now, sorted by id) once there are enough. `index` records what to apply once the commit is
   * durable; a commit that fails leaves the in-memory state as it was.
   */
  #indexSlice(index: IndexChanges): void {
    let batch = this.#indexBatch;
    if (batch === null) {
      if (this.#unindexedCount < this.#indexBatchRows) return;
      const rows: UnindexedRow[] = [];
      for (const list of this.#unindexed.values()) for (const row of list) rows.push(row);
      rows.sort(compareRows);
      let end = 0;
      for (const row of rows) end = Math.max(end, row.pos + 1);
      batch = { rows, next: 0, end };
    }
    // A slice also covers twice the rows this commit wrote, so the index keeps up whatever the size of the commits
    // (a node syncing large blocks commits few of them).
    const slice = Math.ceil(this.#indexBatchRows / INDEX_SLICES_PER_BATCH) + 2 * index.added.length;
    const stop = Math.min(batch.rows.length, batch.next + slice);
    for (let i = batch.next; i < stop; i++) this.#s.insertTxId.run(batch.rows[i]!.id, batch.rows[i]!.pos);
    // Every row below `end` is now indexed: the ones in the batch, and the older ones before it.
    if (stop === batch.rows.length) this.#s.setIndexedBelow.run(batch.end);
    index.from = batch.next;
    index.batch = { ...batch, next: stop };
  }

  /** Writes inside the SQLite transaction; returns the row numbers of the new blocks, then of the canonical ones. */
  #apply(encoded: EncodedCommit, plan: CommitPlan, pending: PendingChanges, index: IndexChanges): number[] {
    const s = this.#s;
    const seqs: number[] = [];
    // Mempool entries first, by row number (`pending` collects the changes to the id map, applied once the commit is
    // durable): the pages of the entries a block takes in are free again before the block's rows are written.
    const rowOf = (key: string): PendingEntryRef | undefined => (pending.has(key) ? pending.get(key) : this.#pendingRows.get(key));
    for (const p of encoded.pendingAdd) {
      const key = toHex(p.id);
      const crc = rowCrc(p.id, p.body);
      const row = rowOf(key);
      const bytes = pendingRowBytes(p.body.length);
      // Re-adding an entry keeps its place and replaces its transaction.
      if (row !== undefined) {
        s.updatePending.run(p.body, crc, row.seq);
        pending.set(key, { seq: row.seq, bytes });
      } else pending.set(key, { seq: Number(s.insertPending.run(p.id, p.body, crc).lastInsertRowid), bytes });
    }
    for (const id of plan.pendingRemove) {
      const key = toHex(id);
      const row = rowOf(key);
      if (row === undefined) continue;
      s.deletePending.run(row.seq);
      pending.set(key, undefined);
    }
    for (const b of encoded.blocks) {
      const seq = Number(s.insertBlock.run(b.hash, b.height, b.work, b.header, b.txCount, blockCrc(b.hash, b.work, b.header)).lastInsertRowid);
      seqs.push(seq);
      const base = seq * POSITION_SPAN;
      const { bytes: all, ends } = b.bodies;
      for (let i = 0, start = 0; i < b.txCount; i++) {
        const id = b.ids[i]!;
        const body = all.subarray(start, (start = ends[i]!));
        s.insertTx.run(base + i, id, body, rowCrc(id, body));
        // A copy of its own: kept in memory until indexed, it must not hold (or follow) the caller's buffer.
        index.added.push({ id: new Uint8Array(id), pos: base + i });
      }
    }
    this.#indexSlice(index);
    if (plan.canonical !== undefined) {
      const { fromHeight, hashes } = plan.canonical;
      s.deleteCanonicalFrom.run(fromHeight);
      hashes.forEach((hash, i) => {
        const seq = s.seqByHash.get(hash) as number;
        s.insertCanonical.run(fromHeight + i, seq);
        seqs.push(seq);
      });
    }
    for (const [key, value] of plan.meta) s.upsertMeta.run(key, value, crc32c(value));
    return seqs;
  }

  #blockRow(hash: Uint8Array): BlockRow | undefined {
    return this.#s.blockByHash.get(hash) as BlockRow | undefined;
  }

  #info(row: BlockRow): StoredBlockInfo {
    const where = (): string => `block ${toHex(row.hash)}`;
    if (row.crc !== blockCrc(row.hash, row.total_work, row.header)) throw new StoreCorruptError(`${where()}: checksum mismatch`);
    const header = decodeStored(where, () => decodeBlockHeader(row.header));
    if (header.height !== row.height || header.txCount !== row.tx_count) {
      throw new StoreCorruptError(`${where()}: row says height ${row.height} and ${row.tx_count} transactions, the header disagrees`);
    }
    return { hash: bytes(row.hash), header, totalWork: workFromBytes(row.total_work, where) };
  }

  #txRows(row: BlockRow): TxRow[] {
    const base = row.seq * POSITION_SPAN;
    const rows = this.#s.txRange.all(base, base + POSITION_SPAN) as TxRow[];
    if (rows.length !== row.tx_count) {
      throw new StoreCorruptError(`block ${toHex(row.hash)}: ${rows.length} transactions stored, the header says ${row.tx_count}`);
    }
    rows.forEach((r, i) => {
      if (r.pos !== base + i || r.crc !== rowCrc(r.id, r.body)) {
        throw new StoreCorruptError(`block ${toHex(row.hash)}: transaction ${i} fails its checksum or position`);
      }
    });
    return rows;
  }

  async hasBlock(hash: Uint8Array): Promise<boolean> {
    this.#check();
    return this.#s.heightByHash.get(hash) !== undefined;
  }

  /** @throws StoreClosedError; StoreCorruptError when the stored row is damaged. */
  async getBlockInfo(hash: Uint8Array): Promise<StoredBlockInfo | undefined> {
    this.#check();
    const row = this.#blockRow(hash);
    return row === undefined ? undefined : this.#info(row);
  }

  /** @throws StoreClosedError; StoreCorruptError when a stored row is damaged. */
  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    this.#check();
    const row = this.#blockRow(hash);
    if (row === undefined) return undefined;
    const { header } = this.#info(row);
    // Each row's body is a buffer of its own: the transactions can be views into them.
    const data: Transaction[] = this.#txRows(row).map((r, i) =>
      decodeStored(() => `block ${toHex(row.hash)} transaction ${i}`, () => decodeTransaction(r.body, { copy: false })),
    );
    return { header, data };
  }

  /** @throws StoreClosedError; StoreCorruptError when a stored row is damaged. */
  async getLeaves(hash: Uint8Array): Promise<readonly Uint8Array[] | undefined> {
    this.#check();
    const row = this.#blockRow(hash);
    if (row === undefined) return undefined;
    return this.#txRows(row).map((r) => bytes(r.id));
  }

  /** @throws StoreClosedError; StoreCorruptError when a stored row is damaged. */
  async *blockInfos(fromHeight = 0): AsyncIterable<StoredBlockInfo> {
    this.#check();
    let rows = this.#s.infosFirst.all(fromHeight, PAGE_ROWS) as BlockRow[];
    while (rows.length > 0) {
      for (const row of rows) yield this.#info(row);
      const last = rows[rows.length - 1]!;
      if (rows.length < PAGE_ROWS) break;
      this.#check();
      rows = this.#s.infosNext.all(last.height, last.hash, PAGE_ROWS) as BlockRow[];
    }
  }

  /** The hash of block row `seq`, through a small cache: a row's hash never changes, so nothing goes stale. */
  #hashOf(seq: number): Uint8Array {
    const slot = seq % HASH_CACHE_SIZE;
    let hash = this.#hashCacheSeq[slot] === seq ? this.#hashCache[slot] : undefined;
    if (hash === undefined) {
      const row = this.#s.hashBySeq.get(seq) as Buffer | undefined;
      if (row === undefined) throw new StoreCorruptError(`${this.path}: block row ${seq} is missing`);
      hash = bytes(row);
      this.#hashCacheSeq[slot] = seq;
      this.#hashCache[slot] = hash;
    }
    return hash.slice();
  }

  async getCanonicalHash(height: number): Promise<Uint8Array | undefined> {
    this.#check();
    const seq = this.#canonical[height];
    return seq === undefined ? undefined : this.#hashOf(seq);
  }

  async getTip(): Promise<CanonicalTip | undefined> {
    this.#check();
    const height = this.#canonical.length - 1;
    return height < 0 ? undefined : { hash: this.#hashOf(this.#canonical[height]!), height };
  }

  /** @throws StoreClosedError; StoreCorruptError when the stored row is damaged. */
  async getTransaction(id: Uint8Array): Promise<StoredTransaction | undefined> {
    this.#check();
    this.#useMap('lookup');
    // Through the index and the row in one statement, the common case; else the row at the canonical position.
    const first = this.#s.txById.get(id) as TxByIdRow | undefined;
    if (first !== undefined && this.#isCanonical(first[0])) return this.#found(id, first);
    const pos = this.#canonicalPos(id, first !== undefined, this.#unindexedPositions(id));
    if (pos === undefined) return undefined;
    const row = this.#s.txByPos.get(pos) as TxByIdRow | undefined;
    if (row === undefined) throw new StoreCorruptError(`transaction ${toHex(id)}: indexed at ${pos}, no row there`);
    return this.#found(id, row);
  }

  /**
   * Through the id index alone (the row's position says its block): no body is read, decoded or checksummed. Only
   * committed, durable blocks count, as for `getTransaction`.
   */
  async canonicalHeights(ids: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    this.#check();
    return ids.map((id) => {
      if (this.#knownAbsent(id)) return undefined;
      const first = this.#s.posById.get(id) as number | undefined;
      if (first !== undefined && this.#isCanonical(first)) return this.#height(Math.floor(first / POSITION_SPAN));
      const unindexed = this.#unindexedPositions(id);
      if (first === undefined && unindexed.length === 0) {
        this.#rememberAbsent(id);
        return undefined;
      }
      const pos = this.#canonicalPos(id, first !== undefined, unindexed);
      return pos === undefined ? undefined : this.#height(Math.floor(pos / POSITION_SPAN));
    });
  }

  #knownAbsent(id: Uint8Array): boolean {
    const known = this.#absent.get(idKey(id));
    return known !== undefined && equalBytes(known, id);
  }

  /** `id` has no row at all: remembered until a commit writes one (see `#absent`). */
  #rememberAbsent(id: Uint8Array): void {
    if (this.#absent.size >= ABSENT_IDS) this.#absent.delete(this.#absent.keys().next().value!);
    this.#absent.set(idKey(id), new Uint8Array(id));
  }

  /**
   * The position of `id` in a canonical block, among its unindexed rows and, when `indexed`, every row `tx_ids` has
   * for it (an id is stored more than once only in fork blocks).
   */
  #canonicalPos(id: Uint8Array, indexed: boolean, unindexed: readonly number[]): number | undefined {
    for (const pos of unindexed) if (this.#isCanonical(pos)) return pos;
    if (!indexed) return undefined;
    return (this.#s.posById.all(id) as number[]).find((pos) => this.#isCanonical(pos));
  }

  #isCanonical(pos: number): boolean {
    const seq = Math.floor(pos / POSITION_SPAN);
    return this.#canonical[this.#height(seq)] === seq;
  }

  #found(id: Uint8Array, [pos, body, crc]: TxByIdRow): StoredTransaction {
    // The checksum covers the row's id and body: computed over the id asked for, it also proves the index led to
    // the right row, without reading the id back.
    if (crc !== rowCrc(id, body)) throw new StoreCorruptError(`transaction ${toHex(id)}: checksum or index mismatch`);
    const seq = Math.floor(pos / POSITION_SPAN);
    // `body` is a buffer of its own, made for this row: the transaction's fields can be views into it.
    const transaction = decodeStored(() => `transaction ${toHex(id)}`, () => decodeTransaction(body, { copy: false }));
    return { id: id.slice(), blockHash: this.#hashOf(seq), height: this.#height(seq), index: pos % POSITION_SPAN, transaction };
  }

  /** @throws StoreClosedError; StoreCorruptError when a stored row is damaged. */
  async *pending(): AsyncIterable<PendingTransaction> {
    this.#check();
    let after = -1;
    for (;;) {
      this.#check();
      const rows = this.#s.pendingPage.all(after, PAGE_ROWS) as PendingRow[];
      for (const row of rows) {
        const where = (): string => `pending transaction ${toHex(row.id)}`;
        if (row.crc !== rowCrc(row.id, row.body)) throw new StoreCorruptError(`${where()}: checksum mismatch`);
        yield { id: bytes(row.id), transaction: decodeStored(where, () => decodeTransaction(row.body, { copy: false })) };
      }
      if (rows.length < PAGE_ROWS) return;
      after = rows[rows.length - 1]!.seq;
    }
  }

  /** @throws StoreClosedError; StoreCorruptError when the stored row is damaged. */
  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    const row = this.#s.meta.get(key) as MetaRow | undefined;
    if (row === undefined) return undefined;
    if (row.crc !== crc32c(row.value)) throw new StoreCorruptError(`meta ${JSON.stringify(key)}: checksum mismatch`);
    return bytes(row.value);
  }

  /** The database file and its write-ahead log, in bytes. */
  async sizeBytes(): Promise<number> {
    this.#check();
    if (this.path === ':memory:') return 0;
    let total = 0;
    for (const file of [this.path, `${this.path}-wal`]) {
      try {
        total += statSync(file).size;
      } catch {
        // The log exists only between the first write and a checkpoint at close.
      }
    }
    return total;
  }

  /** Checkpoints the log into the database and releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#commitTail;
    await this.#wal?.close();
    this.#db.close();
  }
}

/**
 * Bytes a mempool entry of `bodyBytes` counts for in the size estimate: what its row takes, or the row and id index
 * entry it becomes in a block, whichever is larger (the same figure serves for the room kept for that block).
 */
/** Which map a piece of work reads through (see `SqliteStore#useMap`). */
type MapUse = 'write' | 'lookup';

/** `mmap_size` for a map of `mib` MiB; an in-memory database has no file to map. */
function mapBytes(path: string, mib: number): number {
  return path === ':memory:' ? 0 : Math.min(MAX_MMAP_BYTES, Math.floor(mib * 2 ** 20));
}

function pendingRowBytes(bodyBytes: number): number {
  return bodyBytes + 2 * 32 + ROW_OVERHEAD;
}

function encodeCommit(plan: CommitPlan): EncodedCommit {
  let total = 0;
  const blocks = plan.blocks.map((b): EncodedBlock => {
    const header = encodeBlockHeader(b.block.header);
    const work = workToBytes(b.totalWork);
    const bodies = encodeTransactions(b.block.data);
    total += bodies.bytes.length + b.block.data.length * (2 * 32 + ROW_OVERHEAD);
    total += header.length + 3 * 32 + work.length + ROW_OVERHEAD;
    return { hash: b.hash, height: b.block.header.height, work, header, txCount: b.block.header.txCount, ids: b.ids, bodies };
  });
  let pendingBytes = 0;
  const pendingAdd = plan.pendingAdd.map((p) => {
    const body = encodeTransaction(p.transaction);
    pendingBytes += pendingRowBytes(body.length);
    return { id: p.id, body };
  });
  total += pendingBytes;
  for (const [key, value] of plan.meta) total += key.length * 3 + value.length + ROW_OVERHEAD;
  if (plan.canonical !== undefined) total += plan.canonical.hashes.length * ROW_OVERHEAD;
  return { blocks, pendingAdd, bytes: total, pendingBytes };
}

function initSchema(db: Database.Database, path: string): void {
  const tables = new Set((db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all() as string[]));
  if (tables.size === 0) {
    db.exec(CREATE_SCHEMA);
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SCHEMA_VERSION);
    return;
  }
  if (!tables.has('schema_version')) throw new StoreVersionError(`${path}: not a safechain store (no schema_version table)`);
  let versions = db.prepare('SELECT version FROM schema_version').pluck().all() as unknown[];
  // Older layouts this release can upgrade, a step at a time, inside the opening transaction.
  while (versions.length === 1 && typeof versions[0] === 'number' && MIGRATIONS[versions[0]] !== undefined) {
    db.exec(MIGRATIONS[versions[0]]!);
    versions = db.prepare('SELECT version FROM schema_version').pluck().all() as unknown[];
  }
  if (versions.length !== 1 || versions[0] !== SCHEMA_VERSION) {
    throw new StoreVersionError(`${path}: store format version ${versions.map(String).join(', ') || 'none'}; this release reads version ${SCHEMA_VERSION}`);
  }
  // Read again: a migration may have added tables.
  const current = new Set(db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table'`).pluck().all() as string[]);
  for (const table of TABLES) {
    if (!current.has(table)) throw new StoreCorruptError(`${path}: table ${table} of format version ${SCHEMA_VERSION} is missing`);
  }
}

function prepare(db: Database.Database) {
  const q = STATEMENTS;
  return {
    insertBlock: db.prepare(q.insertBlock),
    insertTx: db.prepare(q.insertTx),
    heightByHash: db.prepare(q.heightByHash).pluck(),
    seqByHash: db.prepare(q.seqByHash).pluck(),
    blockByHash: db.prepare(q.blockByHash),
    txRange: db.prepare(q.txRange),
    txById: db.prepare(q.txById).raw(),
    posById: db.prepare(q.posById).pluck(),
    txByPos: db.prepare(q.txByPos).raw(),
    insertTxId: db.prepare(q.insertTxId),
    hasTxId: db.prepare(q.hasTxId).pluck(),
    indexedBelow: db.prepare(q.indexedBelow).pluck(),
    setIndexedBelow: db.prepare(q.setIndexedBelow),
    unindexedRows: db.prepare(q.unindexedRows),
    infosFirst: db.prepare(q.infosFirst),
    infosNext: db.prepare(q.infosNext),
    hashBySeq: db.prepare(q.hashBySeq).pluck(),
    blockHeights: db.prepare(q.blockHeights),
    canonicalAll: db.prepare(q.canonicalAll),
    deleteCanonicalFrom: db.prepare(q.deleteCanonicalFrom),
    insertCanonical: db.prepare(q.insertCanonical),
    insertPending: db.prepare(q.insertPending),
    updatePending: db.prepare(q.updatePending),
    pendingIds: db.prepare(q.pendingIds),
    deletePending: db.prepare(q.deletePending),
    pendingPage: db.prepare(q.pendingPage),
    upsertMeta: db.prepare(q.upsertMeta),
    meta: db.prepare(q.meta),
  };
}
