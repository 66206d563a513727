import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex, transactionId, utf8, type Transaction } from '@safechain/core';
import { checkStoreIntegrity, StoreCorruptError, StoreFullError, StoreLockedError, StoreVersionError, type BlockWrite } from '@safechain/storage';
import { ChainFixture } from '@safechain/storage/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fromSqliteError } from './errors.js';
import { CREATE_SCHEMA, STATEMENTS } from './schema.js';
import { SqliteStore } from './sqlite-store.js';

let dir: string;
let path: string;

/** Turns a current database back into layout 2: the id index SQLite kept on txs, no tx_ids. */
const TO_LAYOUT_2 = 'DROP TABLE tx_ids; DROP TABLE tx_ids_state; CREATE INDEX txs_by_id ON txs (id);';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'safechain-sqlite-'));
  path = join(dir, 'chain.db');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function filled(blocks: number, txPerBlock: number): Promise<{ store: SqliteStore; chain: BlockWrite[] }> {
  const store = await SqliteStore.open({ path });
  const chain = new ChainFixture('sqlite errors').chain(blocks, txPerBlock);
  await store.commit({ blocks: chain, canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) } });
  return { store, chain };
}

describe('SqliteStore.open', () => {
  it('refuses a second handle on the same database while the first is open', async () => {
    const first = await SqliteStore.open({ path });
    await expect(SqliteStore.open({ path })).rejects.toBeInstanceOf(StoreLockedError);
    await first.close();
    const again = await SqliteStore.open({ path });
    await again.close();
  });

  it('refuses a database of an unknown format version, naming the version', async () => {
    const db = new Database(path);
    db.exec(CREATE_SCHEMA);
    db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(7);
    db.close();
    await expect(SqliteStore.open({ path })).rejects.toThrow(StoreVersionError);
    await expect(SqliteStore.open({ path })).rejects.toThrow(/version 7/);
  });

  it('upgrades a version-2 database (an index on txs.id) in place: every stored transaction is found', async () => {
    const store = await SqliteStore.open({ path });
    const chain = new ChainFixture('sqlite v2').chain(5, 20);
    await store.commit({ blocks: chain, canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) } });
    await store.close();
    const db = new Database(path);
    db.exec(`${TO_LAYOUT_2} UPDATE schema_version SET version = 2;`);
    db.close();

    const upgraded = await SqliteStore.open({ path, indexBatchRows: 7 });
    for (const [height, block] of chain.entries()) {
      for (const [index, id] of block.ids.entries()) expect(await upgraded.getTransaction(id)).toMatchObject({ height, index });
    }
    // New blocks go on being indexed, in batches, on top of the upgraded index.
    const more = new ChainFixture('sqlite v2 more').chain(1, 30);
    const next = new ChainFixture('sqlite v2 more').block(chain[4]!, more[0]!.block.data);
    await upgraded.commit({ blocks: [next], canonical: { fromHeight: 5, hashes: [next.hash] } });
    expect(await upgraded.canonicalHeights(next.ids)).toEqual(next.ids.map(() => 5));
    await upgraded.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').pluck().get()).toBe(3);
    expect(check.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'txs_by_id'").pluck().get()).toBe(0);
    expect(check.prepare('SELECT count(*) FROM tx_ids').pluck().get()).toBeGreaterThanOrEqual(100);
    check.close();
  });

  it('upgrades a version-1 database (unique index on pending ids) in place, keeping its mempool in order', async () => {
    const fx = new ChainFixture('sqlite v1');
    const [a, b, c] = fx.transactions(3, 100);
    const store = await SqliteStore.open({ path });
    await store.commit({ pendingAdd: [a!, b!, c!].map((transaction) => ({ id: transactionId(transaction), transaction })) });
    await store.close();
    // Turn the file back into layout 1, as an older release wrote it.
    const db = new Database(path);
    db.exec(`CREATE TABLE pending_v1 (seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, body BLOB NOT NULL, crc INTEGER NOT NULL) STRICT;
      INSERT INTO pending_v1 SELECT * FROM pending; DROP TABLE pending; ALTER TABLE pending_v1 RENAME TO pending;
      ${TO_LAYOUT_2} UPDATE schema_version SET version = 1;`);
    db.close();

    const upgraded = await SqliteStore.open({ path });
    const ids = async (): Promise<string[]> => {
      const out: string[] = [];
      for await (const p of upgraded.pending()) out.push(toHex(p.id));
      return out;
    };
    const hex = [a!, b!, c!].map((t) => toHex(transactionId(t)));
    expect(await ids()).toEqual(hex);
    // Replacing keeps the place; removing works through the rebuilt id map.
    await upgraded.commit({ pendingAdd: [{ id: transactionId(a!), transaction: a! }], pendingRemove: [transactionId(b!)] });
    expect(await ids()).toEqual([hex[0], hex[2]]);
    await upgraded.close();
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT version FROM schema_version').pluck().get()).toBe(3);
    expect(check.prepare("SELECT sql FROM sqlite_schema WHERE name = 'pending'").pluck().get()).not.toMatch(/UNIQUE/);
    check.close();
  });

  it('refuses a database that is not a safechain store', async () => {
    const db = new Database(path);
    db.exec('CREATE TABLE customers (name TEXT)');
    db.close();
    await expect(SqliteStore.open({ path })).rejects.toThrow(/not a safechain store/);
  });

  it('refuses a file that is not a database', async () => {
    writeFileSync(path, 'these are not the bytes of an SQLite database\n'.repeat(200));
    await expect(SqliteStore.open({ path })).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it('refuses bad options', async () => {
    await expect(SqliteStore.open({ path: '' })).rejects.toThrow(/options.path/);
    await expect(SqliteStore.open({ path, maxBytes: -1 })).rejects.toThrow(/options.maxBytes/);
    await expect(SqliteStore.open({ path, cacheMiB: 0.5 })).rejects.toThrow(/options.cacheMiB/);
    await expect(SqliteStore.open({ path, mmapMiB: -1 })).rejects.toThrow(/options.mmapMiB/);
    await expect(SqliteStore.open({ path, lookupMmapMiB: Number.NaN })).rejects.toThrow(/options.lookupMmapMiB/);
    await expect(SqliteStore.open({ path, lookupMmapMiB: '64' as unknown as number })).rejects.toThrow(/options.lookupMmapMiB/);
  });
});

/** Bytes of this process's address space that map `file` (Linux: /proc/self/maps). */
function mappedBytes(file: string): number {
  let total = 0;
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    if (!line.endsWith(` ${file}`)) continue;
    const [from, to] = line.split(' ')[0]!.split('-').map((h) => Number.parseInt(h, 16));
    total += to! - from!;
  }
  return total;
}

describe('SqliteStore id index batches', () => {
  it('finds every transaction while rows move into the index across commits, forks and a reopening', async () => {
    const fx = new ChainFixture('sqlite index batches');
    const chain = fx.chain(12, 3);
    // A fork at height 6 holding the same transactions as the main block there, in another order.
    const fork = fx.block(chain[5]!, [...chain[6]!.block.data].reverse(), { salt: 1 });
    let store = await SqliteStore.open({ path, indexBatchRows: 5 });
    const expectAll = async (upTo: number): Promise<void> => {
      for (let h = 0; h <= upTo; h++) {
        for (const [index, id] of chain[h]!.ids.entries()) expect(await store.getTransaction(id)).toMatchObject({ height: h, index });
        expect(await store.canonicalHeights(chain[h]!.ids)).toEqual(chain[h]!.ids.map(() => h));
      }
    };
    for (let h = 0; h < 12; h++) {
      await store.commit({ blocks: [chain[h]!], canonical: { fromHeight: h, hashes: [chain[h]!.hash] } });
      if (h === 6) await store.commit({ blocks: [fork] });
      if (h === 8) {
        await store.close();
        store = await SqliteStore.open({ path, indexBatchRows: 5 });
      }
      await expectAll(h);
    }
    // The fork becomes canonical at 6: its positions, not the main block's, answer.
    await store.commit({ canonical: { fromHeight: 6, hashes: [fork.hash] } });
    const moved = chain[6]!.ids[0]!;
    expect(await store.getTransaction(moved)).toMatchObject({ height: 6, index: 2 });
    await store.close();
    const db = new Database(path, { readonly: true });
    const indexedBelow = db.prepare('SELECT indexed_below FROM tx_ids_state').pluck().get() as number;
    const below = db.prepare('SELECT count(*) FROM txs WHERE pos < ?').pluck().get(indexedBelow) as number;
    const indexed = db.prepare('SELECT count(*) FROM tx_ids i JOIN txs t ON t.pos = i.pos AND t.id = i.id WHERE t.pos < ?').pluck().get(indexedBelow) as number;
    db.close();
    expect(indexedBelow).toBeGreaterThan(0);
    expect(below).toBeGreaterThanOrEqual(20);
    expect(indexed).toBe(below);
  });

  it('answers an id checked before its block was written, also when the block arrives as a fork first', async () => {
    const fx = new ChainFixture('sqlite absent ids');
    const chain = fx.chain(3, 4);
    const store = await SqliteStore.open({ path, indexBatchRows: 2 });
    await store.commit({ blocks: [chain[0]!], canonical: { fromHeight: 0, hashes: [chain[0]!.hash] } });
    // Asked (and remembered as absent) before anything holds them.
    expect(await store.canonicalHeights(chain[1]!.ids)).toEqual([undefined, undefined, undefined, undefined]);
    expect(await store.canonicalHeights(chain[1]!.ids)).toEqual([undefined, undefined, undefined, undefined]);
    await store.commit({ blocks: [chain[1]!], canonical: { fromHeight: 1, hashes: [chain[1]!.hash] } });
    expect(await store.canonicalHeights(chain[1]!.ids)).toEqual([1, 1, 1, 1]);
    // Stored in a fork block first (not canonical), then made canonical by a reorg that writes no row.
    expect(await store.canonicalHeights(chain[2]!.ids)).toEqual([undefined, undefined, undefined, undefined]);
    await store.commit({ blocks: [chain[2]!] });
    expect(await store.canonicalHeights(chain[2]!.ids)).toEqual([undefined, undefined, undefined, undefined]);
    await store.commit({ canonical: { fromHeight: 2, hashes: [chain[2]!.hash] } });
    expect(await store.canonicalHeights(chain[2]!.ids)).toEqual([2, 2, 2, 2]);
    expect(await store.getTransaction(chain[2]!.ids[3]!)).toMatchObject({ height: 2, index: 3 });
    await store.close();
  });

  it('keeps its own copy of the ids it has not indexed yet', async () => {
    const block = new ChainFixture('sqlite own ids').chain(1, 3)[0]!;
    const originals = block.ids.map((id) => id.slice());
    const store = await SqliteStore.open({ path, indexBatchRows: 1000 });
    await store.commit({ blocks: [block], canonical: { fromHeight: 0, hashes: [block.hash] } });
    for (const id of block.ids) (id as Uint8Array).fill(0);
    expect(await store.canonicalHeights(originals)).toEqual([0, 0, 0]);
    expect(await store.getTransaction(originals[1]!)).toMatchObject({ height: 0, index: 1 });
    await store.close();
  });

  it('refuses a bad indexBatchRows', async () => {
    await expect(SqliteStore.open({ path, indexBatchRows: 0 })).rejects.toThrow(/options.indexBatchRows/);
  });
});

describe.skipIf(process.platform !== 'linux')('SqliteStore memory maps', () => {
  it('looks transactions up through the lookup map and commits through the other, switching as the work changes', async () => {
    const chain = new ChainFixture('sqlite maps').chain(8, 40);
    const commit = (store: SqliteStore, i: number): Promise<void> =>
      store.commit({ blocks: [chain[i]!], canonical: { fromHeight: i, hashes: [chain[i]!.hash] } });
    // Pages still in the write-ahead log are read from it, not through a map: close (which checkpoints) first.
    const first = await SqliteStore.open({ path });
    for (let i = 0; i < 4; i++) await commit(first, i);
    await first.close();
    const store = await SqliteStore.open({ path, mmapMiB: 0, lookupMmapMiB: 64 });
    expect(mappedBytes(path)).toBe(0);
    for (let i = 4; i < 8; i++) {
      const found = await store.getTransaction(chain[i - 4]!.ids[7]!);
      expect(found?.height).toBe(i - 4);
      expect(found?.transaction).toEqual(chain[i - 4]!.block.data[7]);
      expect(mappedBytes(path)).toBeGreaterThan(0);
      await commit(store, i);
      expect(mappedBytes(path)).toBe(0);
    }
    for (const block of chain) for (const [k, id] of block.ids.entries()) expect((await store.getTransaction(id))?.index).toBe(k);
    await store.close();
  });

  it('keeps one map when both sizes are equal', async () => {
    const chain = new ChainFixture('sqlite one map').chain(2, 10);
    const first = await SqliteStore.open({ path });
    await first.commit({ blocks: [chain[0]!], canonical: { fromHeight: 0, hashes: [chain[0]!.hash] } });
    await first.close();
    const store = await SqliteStore.open({ path, mmapMiB: 32, lookupMmapMiB: 32 });
    expect((await store.getTransaction(chain[0]!.ids[3]!))?.index).toBe(3);
    expect(mappedBytes(path)).toBeGreaterThan(0);
    await store.commit({ blocks: [chain[1]!], canonical: { fromHeight: 1, hashes: [chain[1]!.hash] } });
    expect(mappedBytes(path)).toBeGreaterThan(0);
    expect((await store.getTransaction(chain[1]!.ids[3]!))?.height).toBe(1);
    await store.close();
  });
});

describe('SqliteStore size limit', () => {
  it('refuses the commit that would pass maxBytes, keeps everything before it, and stays usable', async () => {
    const store = await SqliteStore.open({ path, maxBytes: 1_500_000 });
    const fx = new ChainFixture('sqlite full');
    let parent: BlockWrite | null = null;
    let refused: BlockWrite | undefined;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const block: BlockWrite = fx.block(parent, fx.transactions(50, 1024));
      try {
        await store.commit({ blocks: [block], canonical: { fromHeight: i, hashes: [block.hash] }, meta: [['height', utf8(String(i))]] });
        parent = block;
      } catch (error) {
        expect(error).toBeInstanceOf(StoreFullError);
        refused = block;
      }
    }
    expect(refused).toBeDefined();
    expect(parent).not.toBeNull();
    expect(await store.hasBlock(refused!.hash)).toBe(false);
    expect(await store.getTransaction(refused!.ids[0]!)).toBeUndefined();
    expect(toHex((await store.getTip())!.hash)).toBe(toHex(parent!.hash));
    expect(new TextDecoder().decode(await store.getMeta('height'))).toBe(String(parent!.block.header.height));
    // Small writes still fit, and the store reopens whole.
    await store.commit({ pendingRemove: [refused!.ids[0]!] });
    await store.close();
    const reopened = await SqliteStore.open({ path, maxBytes: 1_500_000 });
    expect((await checkStoreIntegrity(reopened)).ok).toBe(true);
    await reopened.close();
  });

  it('keeps room for the block that takes in the mempool: entries are refused first, the block then fits', async () => {
    const store = await SqliteStore.open({ path, maxBytes: 1_500_000 });
    const fx = new ChainFixture('sqlite reserve');
    const genesis = fx.block(null, []);
    await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
    const held: Transaction[] = [];
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      const batch = fx.transactions(20, 1024);
      try {
        await store.commit({ pendingAdd: batch.map((transaction) => ({ id: transactionId(transaction), transaction })) });
        held.push(...batch);
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(StoreFullError);
    expect(String((refused as Error).message)).toMatch(/kept free for the block/);
    // Every held entry goes into one block, which fits because the room was kept.
    const block = fx.block(genesis, held);
    await store.commit({ blocks: [block], canonical: { fromHeight: 1, hashes: [block.hash] }, pendingRemove: block.ids });
    expect((await store.getTip())!.height).toBe(1);
    expect((await store.getTransaction(block.ids[held.length - 1]!))?.height).toBe(1);
    await store.close();
  });

  it('maps SQLite result codes to storage errors, on errors SQLite really raises', () => {
    const db = new Database(path);
    db.pragma('page_size = 4096');
    db.exec('CREATE TABLE t (b BLOB)');
    db.pragma('max_page_count = 8');
    let full: unknown;
    try {
      for (let i = 0; i < 100; i++) db.prepare('INSERT INTO t VALUES (?)').run(new Uint8Array(4000));
    } catch (error) {
      full = error;
    }
    expect((full as { code?: string }).code).toBe('SQLITE_FULL');
    expect(fromSqliteError(full, 'insert')).toBeInstanceOf(StoreFullError);
    db.close();

    const a = new Database(path);
    a.pragma('locking_mode = EXCLUSIVE');
    a.exec('BEGIN EXCLUSIVE; COMMIT;');
    const b = new Database(path, { timeout: 0 });
    let busy: unknown;
    try {
      b.prepare('SELECT count(*) FROM t').get();
    } catch (error) {
      busy = error;
    }
    expect(fromSqliteError(busy, 'read')).toBeInstanceOf(StoreLockedError);
    a.close();
    b.close();

    const plain = new Error('not from SQLite');
    expect(fromSqliteError(plain, 'x')).toBe(plain);
  });
});

describe('SqliteStore damage detection', () => {
  it('reports a changed transaction byte as StoreCorruptError, and the integrity check names the block', async () => {
    const { store, chain } = await filled(3, 4);
    await store.close();
    const db = new Database(path);
    const victim = chain[1]!;
    const row = db.prepare('SELECT pos, body FROM txs WHERE id = ?').get(victim.ids[2]) as { pos: number; body: Buffer };
    row.body[row.body.length - 1]! ^= 0x40;
    db.prepare('UPDATE txs SET body = ? WHERE pos = ?').run(row.body, row.pos);
    db.close();
    const reopened = await SqliteStore.open({ path });
    await expect(reopened.getBlock(victim.hash)).rejects.toBeInstanceOf(StoreCorruptError);
    await expect(reopened.getTransaction(victim.ids[2]!)).rejects.toBeInstanceOf(StoreCorruptError);
    expect(await reopened.getTransaction(victim.ids[1]!)).toBeDefined();
    const report = await checkStoreIntegrity(reopened);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'unreadable', height: 1, hash: toHex(victim.hash) });
    await reopened.close();
  });

  it('reports a changed block header as StoreCorruptError', async () => {
    const { store, chain } = await filled(2, 1);
    await store.close();
    const db = new Database(path);
    const header = db.prepare('SELECT header FROM blocks WHERE hash = ?').pluck().get(chain[0]!.hash) as Buffer;
    header[20]! ^= 1;
    db.prepare('UPDATE blocks SET header = ? WHERE hash = ?').run(header, chain[0]!.hash);
    db.close();
    const reopened = await SqliteStore.open({ path });
    await expect(reopened.getBlockInfo(chain[0]!.hash)).rejects.toBeInstanceOf(StoreCorruptError);
    const report = await checkStoreIntegrity(reopened);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'unreadable', height: 0 });
    await reopened.close();
  });
});

describe('SqliteStore query plans', () => {
  it('answers every lookup through an index or the primary key, never a table scan', () => {
    const db = new Database(':memory:');
    db.exec(CREATE_SCHEMA);
    const lookups = ['heightByHash', 'seqByHash', 'blockByHash', 'hashBySeq', 'txRange', 'txById', 'posById', 'infosFirst', 'infosNext', 'pendingPage', 'updatePending', 'deletePending', 'meta'] as const;
    for (const name of lookups) {
      const sql = STATEMENTS[name];
      const params = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => 1);
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail);
      expect(plan.filter((step) => step.startsWith('SCAN')).map((step) => `${name}: ${step}`)).toEqual([]);
    }
    db.close();
  });
});

// Disk full for real: set SAFECHAIN_SMALL_FS to an empty directory on a small file system (a 2 MiB tmpfs, say).
describe.runIf(process.env.SAFECHAIN_SMALL_FS !== undefined)('SqliteStore on a full disk', () => {
  it('answers SQLITE_FULL with StoreFullError, keeps what was committed, and reopens whole', async () => {
    const small = join(process.env.SAFECHAIN_SMALL_FS!, `sqlite-${process.pid}`);
    const fx = new ChainFixture('sqlite enospc');
    const store = await SqliteStore.open({ path: join(small, 'chain.db') });
    const chain: BlockWrite[] = [];
    let full: unknown;
    for (let i = 0; i < 10_000 && full === undefined; i++) {
      const block = fx.block(chain[i - 1] ?? null, fx.transactions(20, 1024));
      try {
        await store.commit({ blocks: [block], canonical: { fromHeight: i, hashes: [block.hash] } });
        chain.push(block);
      } catch (error) {
        full = error;
      }
    }
    expect(full).toBeInstanceOf(StoreFullError);
    expect((await store.getTip())?.height).toBe(chain.length - 1);
    await store.close();
    const reopened = await SqliteStore.open({ path: join(small, 'chain.db') });
    expect((await reopened.getTip())?.height).toBe(chain.length - 1);
    expect((await checkStoreIntegrity(reopened)).ok).toBe(true);
    await reopened.close();
    rmSync(small, { recursive: true, force: true });
  });
});
