import { createTransaction, stripTransaction, toHex, transactionId, utf8, type Transaction } from '@safechain/core';
import { MemoryStore, type Commit } from '@safechain/storage';
import { describe, expect, it } from 'vitest';
import { BlockTree } from './block-tree.js';
import { MempoolFullError } from './errors.js';
import { Mempool, type MempoolOptions } from './mempool.js';
import { transactionSize } from './size.js';
import { BlockFactory, keyOf, makeTx, makeTxs, ManualClock, singleChain, T0 } from './test-support.js';

/** A MemoryStore that counts its commits: the same store, observed. */
class CountingStore extends MemoryStore {
  commits: Commit[] = [];
  override async commit(commit: Commit): Promise<void> {
    this.commits.push(commit);
    return super.commit(commit);
  }
}

async function setup(options: Partial<MempoolOptions> = {}) {
  const chain = singleChain();
  const store = new CountingStore();
  const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: new ManualClock(T0 + 1e9).now });
  const mempool = await Mempool.open({ store, maxCount: 100, maxBytes: 1 << 20, chain: tree, ...options });
  return { chain, store, tree, mempool, factory: new BlockFactory(chain) };
}

async function storedPending(store: MemoryStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const p of store.pending()) ids.push(toHex(p.id));
  return ids;
}

const hex = (tx: Transaction): string => toHex(transactionId(tx));

describe('Mempool.add', () => {
  it('commits a batch durably in one commit before resolving', async () => {
    const { chain, store, mempool } = await setup();
    const before = store.commits.length;
    const txs = makeTxs(chain.chainId, 5);
    const report = await mempool.add(txs);
    expect(report.added).toBe(5);
    expect(report.outcomes.map((o) => o.status)).toEqual(['added', 'added', 'added', 'added', 'added']);
    expect(store.commits.length - before).toBe(1);
    expect(await storedPending(store)).toEqual(txs.map(hex));
    expect(mempool.size).toBe(5);
    expect(mempool.bytes).toBe(txs.reduce((n, tx) => n + transactionSize(tx), 0));
  });

  it('holds a batch added with durable: false in memory only, and a durable add of one of them writes it', async () => {
    const { chain, store, tree, mempool, factory } = await setup();
    const before = store.commits.length;
    const txs = makeTxs(chain.chainId, 4);
    const report = await mempool.add(txs, { durable: false });
    expect(report.added).toBe(4);
    expect(store.commits.length).toBe(before);
    expect(await storedPending(store)).toEqual([]);
    expect(mempool.take({ maxCount: 10, maxBytes: 1 << 20 }).map(hex)).toEqual(txs.map(hex));
    // Asked for durably now: the answer stays `duplicate`, and the entry is written, keeping its place in line.
    const again = await mempool.add([txs[2]!, makeTx(chain.chainId)]);
    expect(again.outcomes.map((o) => o.status)).toEqual(['duplicate', 'added']);
    expect(store.commits.length).toBe(before + 1);
    expect((await storedPending(store)).sort()).toEqual([hex(txs[2]!), toHex(again.outcomes[1]!.id!)].sort());
    expect(mempool.take({ maxCount: 10, maxBytes: 1 << 20 }).map(hex).slice(0, 4)).toEqual(txs.map(hex));
    // A block takes memory-only entries out like any other.
    await tree.addBlock(await factory.child(chain.genesis, [txs[0]!, txs[1]!]));
    expect(mempool.has(transactionId(txs[0]!))).toBe(false);
    expect(mempool.size).toBe(3);
    // Reopened (a restart): only what was written comes back.
    const reopened = await Mempool.open({ store, maxCount: 100, maxBytes: 1 << 20, chain: tree });
    expect(reopened.size).toBe(2);
    expect(reopened.has(transactionId(txs[2]!))).toBe(true);
    expect(reopened.has(transactionId(txs[3]!))).toBe(false);
  });

  it('uses the ids it is given, and refuses ids that do not match the batch', async () => {
    const { chain, mempool } = await setup();
    const txs = makeTxs(chain.chainId, 3);
    const ids = txs.map((tx) => transactionId(tx));
    const report = await mempool.add(txs, { ids });
    expect(report.outcomes.map((o) => o.id)).toEqual(ids);
    await expect(mempool.add(makeTxs(chain.chainId, 2), { ids: ids.slice(0, 1) })).rejects.toThrow(/options\.ids/);
    await expect(mempool.add(txs, { durable: 'no' as unknown as boolean })).rejects.toThrow(/options\.durable/);
    const bad = await mempool.add([makeTx(chain.chainId)], { ids: [new Uint8Array(5)] });
    expect(bad.outcomes[0]).toMatchObject({ status: 'invalid', reason: 'malformed' });
  });

  it('deduplicates against the pool, within the batch and against the canonical chain', async () => {
    const { chain, tree, mempool, factory } = await setup();
    const onChain = makeTx(chain.chainId);
    await tree.addBlock(await factory.child(chain.genesis, [onChain]));
    const a = makeTx(chain.chainId);
    await mempool.add([a]);
    const b = makeTx(chain.chainId);
    const report = await mempool.add([a, b, b, onChain, stripTransaction(b)]);
    expect(report.outcomes.map((o) => o.status)).toEqual(['duplicate', 'added', 'duplicate', 'on-chain', 'duplicate']);
    expect(report.added).toBe(1);
    expect(mempool.size).toBe(2);
  });

  it('refuses invalid transactions and adds the rest of the batch', async () => {
    const { chain, mempool } = await setup({ maxTransactionBytes: 2000 });
    const good = makeTx(chain.chainId);
    const forged = { ...makeTx(chain.chainId), signature: new Uint8Array(64).fill(7) };
    const foreign = makeTx(singleChain([keyOf(5)]).chainId);
    const big = makeTx(chain.chainId, new Uint8Array(3000));
    const malformed = { header: {}, signature: new Uint8Array(64) } as unknown as Transaction;
    const report = await mempool.add([good, forged, foreign, big, malformed]);
    const reasons = report.outcomes.map((o) => (o.status === 'invalid' ? o.reason : o.status));
    expect(reasons).toEqual(['added', 'bad-signature', 'wrong-chain', 'too-large', 'malformed']);
    expect(mempool.size).toBe(1);
  });

  it('a bad copy does not shadow a good copy of the same id in one batch', async () => {
    const { chain, mempool } = await setup();
    const good = makeTx(chain.chainId, 'abcd');
    const bad: Transaction = { ...good, payload: utf8('abce') };
    const report = await mempool.add([bad, good]);
    expect(report.outcomes.map((o) => o.status)).toEqual(['invalid', 'added']);
    expect(mempool.take({ maxBytes: 1 << 20, maxCount: 10 })[0]!.payload).toEqual(utf8('abcd'));
  });

  it('applies backpressure by count: refuses the whole batch with a retry hint and adds nothing', async () => {
    const { chain, store, mempool } = await setup({ maxCount: 3, retryAfterMs: 250 });
    await mempool.add(makeTxs(chain.chainId, 2));
    const commits = store.commits.length;
    const error = await mempool.add(makeTxs(chain.chainId, 2)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MempoolFullError);
    const full = error as MempoolFullError;
    expect(full.retryAfterMs).toBe(250);
    expect(full.needed.count).toBe(2);
    expect(full.available.count).toBe(1);
    expect(store.commits.length).toBe(commits);
    expect(mempool.size).toBe(2);
    expect((await storedPending(store)).length).toBe(2);
    // Exactly what fits still goes in.
    expect((await mempool.add(makeTxs(chain.chainId, 1))).added).toBe(1);
  });

  it('applies backpressure by bytes', async () => {
    const { chain, mempool } = await setup({ maxBytes: 1200, maxTransactionBytes: 1200 });
    await mempool.add([makeTx(chain.chainId, new Uint8Array(500))]);
    await expect(mempool.add([makeTx(chain.chainId, new Uint8Array(500))])).rejects.toMatchObject({
      name: 'MempoolFullError',
      available: { bytes: 1200 - mempool.bytes },
    });
  });

  it('survives a restart: a new mempool on the same store holds the pending ones in order', async () => {
    const { chain, store, tree, mempool } = await setup();
    const txs = makeTxs(chain.chainId, 4);
    await mempool.add(txs.slice(0, 2));
    await mempool.add(txs.slice(2));
    mempool.close();
    const reopened = await Mempool.open({ store, maxCount: 100, maxBytes: 1 << 20, chain: tree });
    expect(reopened.size).toBe(4);
    expect(reopened.take({ maxBytes: 1 << 20, maxCount: 10 }).map(hex)).toEqual(txs.map(hex));
  });

  it('on open, drops pending entries the chain already holds', async () => {
    const { chain, store, tree, mempool, factory } = await setup();
    const txs = makeTxs(chain.chainId, 3);
    await mempool.add(txs);
    mempool.close(); // not following: the block below is committed while it is "down"
    // The tree removes included ones in its commit anyway; put one back as a stale leftover a crash could leave.
    await tree.addBlock(await factory.child(chain.genesis, [txs[0]!]));
    await store.commit({ pendingAdd: [{ id: transactionId(txs[0]!), transaction: txs[0]! }] });
    const reopened = await Mempool.open({ store, maxCount: 100, maxBytes: 1 << 20, chain: tree });
    expect(reopened.size).toBe(2);
    expect(await storedPending(store)).toEqual(txs.slice(1).map(hex));
  });

  it('throws after close', async () => {
    const { chain, mempool } = await setup();
    mempool.close();
    await expect(mempool.add([makeTx(chain.chainId)])).rejects.toMatchObject({ name: 'MempoolClosedError' });
  });
});

describe('Mempool.take', () => {
  it('returns arrival order within the limits, without removing', async () => {
    const { chain, mempool } = await setup();
    const txs = makeTxs(chain.chainId, 5);
    await mempool.add(txs);
    expect(mempool.take({ maxBytes: 1 << 20, maxCount: 3 }).map(hex)).toEqual(txs.slice(0, 3).map(hex));
    const two = transactionSize(txs[0]!) + transactionSize(txs[1]!);
    expect(mempool.take({ maxBytes: two, maxCount: 10 }).map(hex)).toEqual(txs.slice(0, 2).map(hex));
    expect(mempool.size).toBe(5);
  });

  it('keeps per-origin sequence order inside arrival order', async () => {
    const { chain, mempool } = await setup();
    const a = keyOf(31);
    const b = keyOf(32);
    const mk = (key: typeof a, sequence: number): Transaction =>
      createTransaction({ chainId: chain.chainId, payload: utf8(`${key.id}:${sequence}`), sequence, createdAt: T0 }, key);
    const a5 = mk(a, 5);
    const b1 = mk(b, 1);
    const a3 = mk(a, 3);
    const a4 = mk(a, 4);
    await mempool.add([a5, b1, a3]);
    await mempool.add([a4]);
    // Slots of origin a: 0, 2, 3, refilled in sequence order; b keeps slot 1.
    expect(mempool.take({ maxBytes: 1 << 20, maxCount: 10 }).map(hex)).toEqual([a3, b1, a4, a5].map(hex));
  });

  it('returns an oversized first transaction alone rather than stalling', async () => {
    const { chain, mempool } = await setup();
    const big = makeTx(chain.chainId, new Uint8Array(4000));
    await mempool.add([big, makeTx(chain.chainId)]);
    expect(mempool.take({ maxBytes: 1000, maxCount: 10 }).map(hex)).toEqual([hex(big)]);
  });
});

describe('Mempool following the Block Tree', () => {
  it('drops transactions when a block including them is committed, in the block\'s own commit', async () => {
    const { chain, store, tree, mempool, factory } = await setup();
    const txs = makeTxs(chain.chainId, 3);
    await mempool.add(txs);
    const removed: string[][] = [];
    mempool.on('transactions:removed', (e) => removed.push(e.ids.map(toHex)));
    const commits = store.commits.length;
    await tree.addBlock(await factory.child(chain.genesis, txs.slice(0, 2)));
    expect(store.commits.length - commits).toBe(1);
    expect(store.commits.at(-1)!.pendingRemove!.map(toHex)).toEqual(txs.slice(0, 2).map(hex));
    expect(mempool.size).toBe(1);
    expect(removed).toEqual([txs.slice(0, 2).map(hex)]);
    expect(await storedPending(store)).toEqual([hex(txs[2]!)]);
  });

  it('takes back transactions of abandoned blocks after a reorg, first in line', async () => {
    const { chain, store, tree, mempool, factory } = await setup();
    const txs = makeTxs(chain.chainId, 2);
    await mempool.add(txs);
    await tree.addBlock(await factory.child(chain.genesis, [txs[0]!]));
    expect(mempool.size).toBe(1);
    const heavier = await factory.chain(await factory.child(chain.genesis, [], { timestamp: T0 + 5 }), 1);
    const returned: string[][] = [];
    mempool.on('transactions:returned', (e) => returned.push(e.ids.map(toHex)));
    await tree.addBlock(heavier[0]!); // orphan until its parent arrives
    await tree.addBlock(await factory.child(chain.genesis, [], { timestamp: T0 + 5 }));
    expect(tree.tip.height).toBe(2);
    expect(returned).toEqual([[hex(txs[0]!)]]);
    expect(mempool.take({ maxBytes: 1 << 20, maxCount: 10 }).map(hex)).toEqual([hex(txs[0]!), hex(txs[1]!)]);
    expect(mempool.size).toBe(2);
    expect(mempool.bytes).toBe(transactionSize(txs[0]!) + transactionSize(txs[1]!));
    expect((await storedPending(store)).sort()).toEqual(txs.map(hex).sort());
  });

  it('never leaves a transaction both pending and on the chain when an add races a block commit', async () => {
    const { chain, store, tree, mempool, factory } = await setup();
    const tx = makeTx(chain.chainId);
    const block = await factory.child(chain.genesis, [tx]);
    const [report] = await Promise.all([mempool.add([tx]), tree.addBlock(block)]);
    expect(await tree.hasTransaction(transactionId(tx))).toBe(true);
    expect(mempool.has(transactionId(tx))).toBe(false);
    expect(await storedPending(store)).toEqual([]);
    expect(['added', 'on-chain']).toContain(report.outcomes[0]!.status);
  });
});
