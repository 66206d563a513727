import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockHash, buildBlock, createTransaction, NodeKey, toHex, utf8 } from '@safechain/core';
import { createGenesisBlock, singleConsensus } from '@safechain/consensus';
import { BlockTree } from '@safechain/chain';
import { MemoryStore } from '@safechain/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { QueryIndex } from './query-index.js';

const key = NodeKey.fromSeed(new Uint8Array(32).fill(7));
const T0 = 1_700_000_000_000;

async function chainWithOneBlock() {
  const consensus = singleConsensus({ producers: [key.id] });
  const genesis = createGenesisBlock({ name: 'query-index', consensus: { engine: 'single', producers: [key.id] } }, T0);
  const chainId = blockHash(genesis.header);
  const store = new MemoryStore();
  const tree = await BlockTree.open({ store, consensus, genesis, now: () => T0 + 10_000 });
  const txs = [0, 1, 2].map((i) =>
    createTransaction({ chainId, payload: utf8(`{"n":${i}}`), sequence: i, createdAt: T0 + i, contentType: 'application/json', traceCodes: [i === 1 ? 'batch-B' : 'batch-A'] }, key),
  );
  const unsealed = buildBlock({ parent: genesis.header, transactions: txs, timestamp: T0 + 1000 });
  const prepared = consensus.prepareHeader(unsealed.header, [genesis.header], key.publicKey, T0 + 1000)!;
  const header = await consensus.seal(prepared, key);
  expect((await tree.addBlock({ header, data: txs })).status).toBe('canonical');
  return { store, tree, ids: (await store.getLeaves(blockHash(header)))!.map(toHex) };
}

describe('QueryIndex', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('rebuilds an index file of an older layout from the chain, dropping what it held', async () => {
    dir = await mkdtemp(join(tmpdir(), 'safechain-query-'));
    const path = join(dir, 'query.sqlite');
    // A layout-1 file (unique index on id, no layout row) with a row the chain does not have.
    const old = new Database(path);
    old.exec(`CREATE TABLE tx (n INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, origin BLOB NOT NULL, content_type TEXT NOT NULL,
      created_at INTEGER NOT NULL, height INTEGER NOT NULL) STRICT;
      CREATE TABLE trace (code TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (code, n)) STRICT, WITHOUT ROWID;
      CREATE TABLE state (key TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;`);
    old.prepare('INSERT INTO tx VALUES (1, ?, ?, ?, 1, 1)').run(Buffer.alloc(32, 1), Buffer.alloc(32, 2), 'application/json');
    old.prepare("INSERT INTO trace VALUES ('batch-A', 1)").run();
    old.close();

    const { store, tree, ids } = await chainWithOneBlock();
    const index = await QueryIndex.open(path, tree, store, createLogger('error', () => undefined));
    expect(index.query({ traceCode: 'batch-A', limit: 10 }).ids).toEqual([ids[0], ids[2]]);
    expect(index.query({ traceCode: 'batch-B', limit: 10 }).ids).toEqual([ids[1]]);
    expect(index.query({ contentType: 'application/json', limit: 2 })).toEqual({ ids: [ids[0], ids[1]], next: expect.any(String) });
    await index.close();
    const reopened = new Database(path, { readonly: true });
    const indexes = reopened.prepare("SELECT sql FROM sqlite_schema WHERE tbl_name = 'tx'").pluck().all() as string[];
    reopened.close();
    expect(indexes.join(' ')).not.toMatch(/UNIQUE/);
  });
});
