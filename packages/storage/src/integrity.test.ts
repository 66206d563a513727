import { buildBlock, stripTransaction, toHex, type Transaction } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { blockWriteOf, ChainFixture } from './fixtures.js';
import { checkStoreIntegrity, type IntegrityProgress } from './integrity.js';
import { MemoryStore } from './memory.js';
import type { BlockWrite } from './store.js';

async function storeOf(blocks: readonly BlockWrite[], canonical: readonly BlockWrite[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  await store.commit({ blocks, canonical: { fromHeight: 0, hashes: canonical.map((b) => b.hash) } });
  return store;
}

describe('checkStoreIntegrity', () => {
  it('passes a sound store with forks and stripped transactions, reporting progress', async () => {
    const fx = new ChainFixture('integrity ok');
    const chain = fx.chain(4, 3);
    const fork = fx.block(chain[1]!, fx.transactions(3, 40, 2), { salt: 1 });
    const store = await storeOf([...chain, fork], chain);
    const progress: IntegrityProgress[] = [];
    const report = await checkStoreIntegrity(store, (p) => progress.push(p), { verifyAllSignatures: true });
    expect(report).toEqual({ ok: true, tipHeight: 3, blocks: 5, transactions: 15 });
    expect(progress.filter((p) => p.phase === 'chain').map((p) => p.height)).toEqual([0, 1, 2, 3]);
    expect(progress.filter((p) => p.phase === 'blocks')).toHaveLength(5);
  });

  it('passes an empty store', async () => {
    expect(await checkStoreIntegrity(new MemoryStore())).toEqual({ ok: true, tipHeight: -1, blocks: 0, transactions: 0 });
  });

  it('finds a block stored under a hash that is not its own', async () => {
    const fx = new ChainFixture('integrity hash');
    const chain = fx.chain(3, 1);
    const wrong: BlockWrite = { ...chain[2]!, hash: new Uint8Array(32).fill(5) };
    const store = await storeOf([chain[0]!, chain[1]!, wrong], [chain[0]!, chain[1]!, wrong]);
    const report = await checkStoreIntegrity(store);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'hash-mismatch', height: 2, hash: toHex(wrong.hash) });
  });

  it('finds a canonical block that does not link to the one below', async () => {
    const fx = new ChainFixture('integrity link');
    const chain = fx.chain(2, 1);
    const otherGenesis = fx.block(null, fx.transactions(1), { salt: 9 });
    const orphan = fx.block(otherGenesis, fx.transactions(1));
    const store = await storeOf([...chain, otherGenesis, orphan], [chain[0]!, orphan]);
    const report = await checkStoreIntegrity(store);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'broken-link', height: 1, hash: toHex(orphan.hash) });
  });

  it('finds leaves whose Merkle root is not the header root', async () => {
    const fx = new ChainFixture('integrity root');
    const chain = fx.chain(2, 2);
    const bad: BlockWrite = { ...chain[1]!, ids: [chain[1]!.ids[1]!, chain[1]!.ids[0]!] };
    const store = await storeOf([chain[0]!, bad], [chain[0]!, bad]);
    const report = await checkStoreIntegrity(store);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'merkle-root-mismatch', height: 1 });
    expect(report.blocks).toBe(1);
  });

  it('finds a transaction whose id is not its leaf', async () => {
    const fx = new ChainFixture('integrity leaf');
    const genesis = fx.block(null, fx.transactions(3));
    const swapped: BlockWrite = { ...genesis, block: { header: genesis.block.header, data: [genesis.block.data[0]!, genesis.block.data[0]!, genesis.block.data[2]!] } };
    const report = await checkStoreIntegrity(await storeOf([swapped], [swapped]));
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'leaf-mismatch', height: 0, txIndex: 1 });
  });

  it('finds a full transaction whose payload was changed', async () => {
    const fx = new ChainFixture('integrity payload');
    const txs = fx.transactions(2);
    const changed: Transaction = { ...txs[1]!, payload: txs[1]!.payload!.map((b) => b ^ 1) };
    const genesis = fx.block(null, txs);
    const bad: BlockWrite = { ...genesis, block: { header: genesis.block.header, data: [txs[0]!, changed] } };
    const report = await checkStoreIntegrity(await storeOf([bad], [bad]));
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'payload-mismatch', txIndex: 1 });
  });

  it('finds a stripped transaction whose signature does not verify', async () => {
    const fx = new ChainFixture('integrity signature');
    const [good, victim] = fx.transactions(2);
    const forged: Transaction = stripTransaction({ ...victim!, signature: victim!.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) });
    // Built over the forged transaction, so ids and Merkle root agree and only the signature is wrong.
    const block = blockWriteOf(buildBlock({ parent: null, transactions: [good!, forged], timestamp: 1 }), 1n);
    const report = await checkStoreIntegrity(await storeOf([block], [block]));
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'bad-signature', txIndex: 1, height: 0 });
  });
});
