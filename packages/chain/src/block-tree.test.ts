import {
  blockHash,
  buildBlock,
  compareBytes,
  equalBytes,
  signBlockHeader,
  stripTransaction,
  toHex,
  transactionId,
  verifyProof,
  type Block,
  type Transaction,
} from '@safechain/core';
import { createRetentionFilter, MemoryStore, StoreFullError, type Commit, type PendingTransaction } from '@safechain/storage';
import { describe, expect, it } from 'vitest';
import { BlockTree, type AddBlockResult, type BlockTreeEvents, type BlockTreeOptions } from './block-tree.js';
import { GenesisMismatchError } from './errors.js';
import {
  BlockFactory,
  keyOf,
  makeTx,
  makeTxs,
  ManualClock,
  poaChain,
  singleChain,
  T0,
  type TestChain,
} from './test-support.js';

const LATER = T0 + 10_000_000;

async function setup(
  chain: TestChain = singleChain(),
  options: Partial<BlockTreeOptions> = {},
): Promise<{ tree: BlockTree; store: MemoryStore; factory: BlockFactory; chain: TestChain; clock: ManualClock }> {
  const store = new MemoryStore();
  const clock = new ManualClock(LATER);
  const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now, ...options });
  return { tree, store, factory: new BlockFactory(chain), chain, clock };
}

function record<K extends keyof BlockTreeEvents>(tree: BlockTree, name: K): BlockTreeEvents[K][] {
  const seen: BlockTreeEvents[K][] = [];
  tree.on(name, (e) => seen.push(e));
  return seen;
}

async function pendingIds(store: MemoryStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const p of store.pending()) ids.push(toHex(p.id));
  return ids.sort();
}

const idHex = (tx: Transaction): string => toHex(transactionId(tx));

function expectInvalid(result: AddBlockResult, reason: string): void {
  expect(result.status).toBe('invalid');
  if (result.status === 'invalid') expect(result.reason).toBe(reason);
}

describe('BlockTree.open', () => {
  it('stores genesis into an empty store and makes it the tip', async () => {
    const { tree, store, chain } = await setup();
    expect(equalBytes(tree.tip.hash, chain.chainId)).toBe(true);
    expect(tree.tip.height).toBe(0);
    expect(equalBytes((await store.getCanonicalHash(0))!, chain.chainId)).toBe(true);
    expect(equalBytes(tree.chainId, chain.chainId)).toBe(true);
  });

  it('reopens a store: same tip, forks still known, nothing reread as new', async () => {
    const { tree, store, factory, chain, clock } = await setup();
    const main = await factory.chain(chain.genesis, 3);
    const side = await factory.child(chain.genesis, [], { timestamp: T0 + 500 });
    for (const b of [...main, side]) await tree.addBlock(b);

    const reopened = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now });
    expect(equalBytes(reopened.tip.hash, tree.tip.hash)).toBe(true);
    expect(reopened.totalWork).toBe(tree.totalWork);
    expect((await reopened.addBlock(main[1]!)).status).toBe('duplicate');
    expect((await reopened.addBlock(side)).status).toBe('duplicate');
    // The fork is still there to grow: three more on it outweigh the main chain.
    const grown = await factory.chain(side, 3);
    const results = [];
    for (const b of grown) results.push(await reopened.addBlock(b));
    expect(results.map((r) => r.status)).toEqual(['fork', 'fork', 'canonical']);
    expect(equalBytes(reopened.tip.hash, blockHash(grown[2]!.header))).toBe(true);
  });

  it('refuses a store holding another chain', async () => {
    const { store } = await setup();
    const other = singleChain([keyOf(2)]);
    await expect(BlockTree.open({ store, consensus: other.consensus, genesis: other.genesis })).rejects.toBeInstanceOf(GenesisMismatchError);
  });
});

describe('BlockTree.addBlock: the canonical chain', () => {
  it('extends the tip, indexes transactions and emits block:added then tip:changed', async () => {
    const { tree, store, factory, chain } = await setup();
    const events: string[] = [];
    tree.on('block:added', (e) => events.push(`added:${e.status}`));
    tree.on('tip:changed', (e) => events.push(`tip:${e.tip.height}:${e.included.length}`));
    const txs = makeTxs(chain.chainId, 3);
    const b1 = await factory.child(chain.genesis, txs);
    const result = await tree.addBlock(b1);

    expect(result.status).toBe('canonical');
    expect(events).toEqual(['added:canonical', 'tip:1:3']);
    expect(tree.tip.height).toBe(1);
    expect(tree.totalWork).toBe(2n);
    const hash = blockHash(b1.header);
    expect(equalBytes((await tree.getCanonicalHash(1))!, hash)).toBe(true);
    expect(await tree.isCanonical(hash)).toBe(true);
    expect((await tree.getHeader(hash))?.height).toBe(1);
    const found = await tree.getTransaction(transactionId(txs[2]!));
    expect(found?.height).toBe(1);
    expect(found?.index).toBe(2);
    expect(equalBytes(found!.blockHash, hash)).toBe(true);
    expect(await tree.hasTransaction(transactionId(makeTx(chain.chainId)))).toBe(false);
    expect(store.kind).toBe('memory');
  });

  it('answers duplicate for a block it already has', async () => {
    const { tree, factory, chain } = await setup();
    const b1 = await factory.child(chain.genesis);
    await tree.addBlock(b1);
    expect((await tree.addBlock(b1)).status).toBe('duplicate');
    expect((await tree.addBlock(chain.genesis)).status).toBe('duplicate');
  });

  it('keeps a lighter branch as a fork without moving the tip', async () => {
    const { tree, factory, chain } = await setup();
    const [a1, a2] = await factory.chain(chain.genesis, 2);
    await tree.addBlock(a1!);
    await tree.addBlock(a2!);
    const tips = record(tree, 'tip:changed');
    const b1 = await factory.child(chain.genesis, [], { timestamp: T0 + 700 });
    const result = await tree.addBlock(b1);
    expect(result.status).toBe('fork');
    expect(tips).toHaveLength(0);
    expect(equalBytes(tree.tip.hash, blockHash(a2!.header))).toBe(true);
    expect(await tree.isCanonical(blockHash(b1.header))).toBe(false);
    expect((await tree.getBlockInfo(blockHash(b1.header)))?.totalWork).toBe(2n);
  });

  it('breaks ties of equal work by the lower block hash, whatever the arrival order', async () => {
    const chain = singleChain();
    const factory = new BlockFactory(chain);
    const x = await factory.child(chain.genesis, [], { timestamp: T0 + 1000 });
    const y = await factory.child(chain.genesis, [], { timestamp: T0 + 1001 });
    const lower = compareBytes(blockHash(x.header), blockHash(y.header)) < 0 ? x : y;
    for (const order of [
      [x, y],
      [y, x],
    ]) {
      const { tree } = await setup(chain);
      for (const b of order) await tree.addBlock(b);
      expect(toHex(tree.tip.hash)).toBe(toHex(blockHash(lower.header)));
    }
  });

  it('reorganises to a heavier branch deeper than one block and returns abandoned transactions to pending', async () => {
    const { tree, store, factory, chain } = await setup();
    const shared = makeTx(chain.chainId, 'in both branches');
    const onlyA = [makeTx(chain.chainId, 'only in A 1'), makeTx(chain.chainId, 'only in A 2')];
    const onlyB = makeTx(chain.chainId, 'only in B');
    const a = await factory.chain(chain.genesis, 3, (i) => (i === 0 ? [shared, onlyA[0]!] : i === 1 ? [onlyA[1]!] : []));
    for (const b of a) expect((await tree.addBlock(b)).status).toBe('canonical');

    const reorgs = record(tree, 'reorg');
    const tips = record(tree, 'tip:changed');
    const b = await factory.chain(chain.genesis, 4, (i) => (i === 1 ? [shared] : i === 2 ? [onlyB] : []));
    const statuses: string[] = [];
    for (const blk of b) statuses.push((await tree.addBlock(blk)).status);
    expect(statuses).toEqual(['fork', 'fork', 'fork', 'canonical']);

    expect(reorgs).toHaveLength(1);
    const reorg = reorgs[0]!;
    expect(reorg.forkPoint.height).toBe(0);
    expect(reorg.abandoned.map((i) => toHex(i.hash))).toEqual(a.map((x) => toHex(blockHash(x.header))));
    expect(reorg.adopted.map((i) => toHex(i.hash))).toEqual(b.map((x) => toHex(blockHash(x.header))));
    expect(reorg.returned.map((p) => toHex(p.id)).sort()).toEqual(onlyA.map(idHex).sort());
    // The same commit put them back in the store's pending set and dropped the adopted ones.
    expect(await pendingIds(store)).toEqual(onlyA.map(idHex).sort());
    expect(tips.at(-1)!.returned.map((p) => toHex(p.id)).sort()).toEqual(onlyA.map(idHex).sort());
    expect(tips.at(-1)!.included.map(toHex).sort()).toEqual([shared, onlyB].map(idHex).sort());

    expect(tree.tip.height).toBe(4);
    expect(await tree.getTransaction(transactionId(onlyA[0]!))).toBeUndefined();
    expect((await tree.getTransaction(transactionId(shared)))?.height).toBe(2);
    for (let h = 1; h <= 4; h++) expect(toHex((await tree.getCanonicalHash(h))!)).toBe(toHex(blockHash(b[h - 1]!.header)));
    expect(await tree.isCanonical(blockHash(a[0]!.header))).toBe(false);
  });

  it('reorganises to a fork that branches above genesis and reports the fork point', async () => {
    const { tree, factory, chain } = await setup();
    const main = await factory.chain(chain.genesis, 3);
    for (const b of main) await tree.addBlock(b);
    const side1 = await factory.child(main[0]!, [], { timestamp: main[0]!.header.timestamp + 1 });
    const side = [side1, ...(await factory.chain(side1, 2))];
    const reorgs = record(tree, 'reorg');
    for (const b of side) await tree.addBlock(b);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.forkPoint.height).toBe(1);
    expect(reorgs[0]!.abandoned).toHaveLength(2);
    expect(reorgs[0]!.adopted).toHaveLength(3);
    expect(tree.tip.height).toBe(4);
  });

  it('never reorganises away a final block (proof of authority)', async () => {
    const validators = [keyOf(11), keyOf(12), keyOf(13)];
    const chain = poaChain(validators, 2);
    const { tree, factory } = await setup(chain);
    const a1 = await factory.child(chain.genesis, [], { timestamp: T0 + 1000 });
    expect((await tree.addBlock(a1)).status).toBe('canonical');
    expect(chain.consensus.isFinal(a1.header)).toBe(true);

    const equivocations = record(tree, 'equivocation');
    const b1 = await factory.child(chain.genesis, [], { timestamp: T0 + 2000 });
    const b2 = await factory.child(b1);
    const r1 = await tree.addBlock(b1);
    const r2 = await tree.addBlock(b2);
    expect(r1.status).toBe('fork');
    expect(r2.status).toBe('fork');
    if (r2.status === 'fork') expect(r2.finalityBlocked).toBe(true);
    expect(equalBytes(tree.tip.hash, blockHash(a1.header))).toBe(true);
    // The same validators sealed a1 and b1 at height 1: the engine's evidence comes out as events and is kept.
    expect(equivocations.length).toBeGreaterThan(0);
    expect(equivocations[0]!.height).toBe(1);
    expect(tree.equivocations.length).toBe(equivocations.length);
  });
});

describe('BlockTree.checkCandidate (a block still gathering seals)', () => {
  const validators = [keyOf(11), keyOf(12), keyOf(13)];
  const sorted = [...validators].sort((a, b) => (a.id < b.id ? -1 : 1));

  it('accepts a proposer-sealed block on the tip with too few seals, stores nothing and emits no rejection', async () => {
    const chain = poaChain(validators, 2);
    const { tree, factory, store } = await setup(chain);
    const txs = [makeTx(chain.chainId), makeTx(chain.chainId)];
    const candidate = await factory.child(chain.genesis, txs, { sealers: [sorted[1]!] });
    const rejected = record(tree, 'block:rejected');
    const verdict = await tree.checkCandidate({ header: candidate.header, data: txs.map(stripTransaction) });
    expect(verdict).toMatchObject({ valid: true });
    expect(await store.hasBlock(blockHash(candidate.header))).toBe(false);
    expect(tree.tip.height).toBe(0);
    // The same block with a second seal is a block like any other.
    const sealed = { ...candidate, header: await chain.consensus.seal(candidate.header, sorted[2]!) };
    expect((await tree.addBlock(sealed)).status).toBe('canonical');
    expect(rejected).toHaveLength(0);
  });

  it('refuses a candidate off the tip, with a bad seal, a bad transaction or one already on the chain', async () => {
    const chain = poaChain(validators, 2);
    const { tree, factory } = await setup(chain);
    const onChain = makeTx(chain.chainId);
    const b1 = await factory.child(chain.genesis, [onChain]);
    expect((await tree.addBlock(b1)).status).toBe('canonical');
    const rejected = record(tree, 'block:rejected');

    const offTip = await factory.child(chain.genesis, [], { timestamp: T0 + 5000, sealers: [sorted[1]!] });
    expect(await tree.checkCandidate(offTip)).toMatchObject({ valid: false, reason: 'not-on-tip' });

    const proposer = sorted[2]!; // in turn at height 2
    const good = await factory.child(b1, [makeTx(chain.chainId)], { sealers: [proposer] });
    expect(await tree.checkCandidate(good)).toMatchObject({ valid: true });
    const forgedSeal = { ...good, header: { ...good.header, signatures: [{ ...good.header.signatures[0]!, signature: new Uint8Array(64).fill(9) }] } };
    expect(await tree.checkCandidate(forgedSeal)).toMatchObject({ valid: false, reason: 'consensus' });
    // Sealed by a co-signer but not by the proposer the header names.
    const twoSeals = await factory.child(b1, [], { sealers: [proposer, sorted[0]!] });
    const withoutProposer = { ...twoSeals, header: { ...twoSeals.header, signatures: twoSeals.header.signatures.filter((x) => !equalBytes(x.publicKey, proposer.publicKey)) } };
    expect(await tree.checkCandidate(withoutProposer)).toMatchObject({ valid: false, reason: 'consensus' });

    const tx = makeTx(chain.chainId);
    const badTx = await factory.child(b1, [{ ...tx, signature: new Uint8Array(64).fill(1) }], { sealers: [proposer] });
    expect(await tree.checkCandidate(badTx)).toMatchObject({ valid: false, reason: 'bad-transaction-signature' });
    const again = await factory.child(b1, [onChain], { sealers: [proposer] });
    expect(await tree.checkCandidate(again)).toMatchObject({ valid: false, reason: 'duplicate-transaction' });
    expect(await tree.checkCandidate(b1)).toMatchObject({ valid: false, reason: 'duplicate' });
    expect(rejected).toHaveLength(0);
  });
});

describe('BlockTree.addBlock: orphans', () => {
  it('holds blocks whose parent is unknown and attaches them when it arrives, in any order', async () => {
    const { tree, factory, chain } = await setup();
    const [b1, b2, b3] = await factory.chain(chain.genesis, 3);
    const orphans = record(tree, 'orphan:added');
    const added = record(tree, 'block:added');
    expect((await tree.addBlock(b3!)).status).toBe('orphan');
    expect((await tree.addBlock(b2!)).status).toBe('orphan');
    expect(orphans).toHaveLength(2);
    expect(tree.orphanCount).toBe(2);
    expect((await tree.addBlock(b1!)).status).toBe('canonical');
    expect(tree.orphanCount).toBe(0);
    expect(tree.tip.height).toBe(3);
    expect(added.map((e) => e.height)).toEqual([1, 2, 3]);
    expect((await tree.addBlock(b2!)).status).toBe('duplicate');
  });

  it('answers duplicate for an orphan already held', async () => {
    const { tree, factory, chain } = await setup();
    const [, b2] = await factory.chain(chain.genesis, 2);
    await tree.addBlock(b2!);
    expect((await tree.addBlock(b2!)).status).toBe('duplicate');
    expect(tree.orphanCount).toBe(1);
  });

  it('bounds the orphan pool by count, evicting the oldest', async () => {
    const { tree, factory, chain } = await setup(singleChain(), { maxOrphans: 2 });
    const blocks = await factory.chain(chain.genesis, 4);
    const orphans = record(tree, 'orphan:added');
    for (const b of blocks.slice(1)) await tree.addBlock(b); // heights 2, 3, 4: all orphans
    expect(tree.orphanCount).toBe(2);
    expect(orphans[2]!.evicted.map(toHex)).toEqual([toHex(blockHash(blocks[1]!.header))]);
    // Height 2 was evicted, so height 1 arrives alone; 3 and 4 wait on.
    await tree.addBlock(blocks[0]!);
    expect(tree.tip.height).toBe(1);
    expect(tree.orphanCount).toBe(2);
    await tree.addBlock(blocks[1]!);
    expect(tree.tip.height).toBe(4);
  });

  it('bounds the orphan pool by bytes and drops an orphan larger than the bound', async () => {
    const chain = singleChain();
    const { tree, factory } = await setup(chain, { maxOrphanBytes: 4096 });
    const big = makeTx(chain.chainId, new Uint8Array(5000));
    const [b1] = await factory.chain(chain.genesis, 1);
    const b2 = await factory.child(b1!, [big]);
    const result = await tree.addBlock(b2);
    expect(result.status).toBe('orphan');
    if (result.status === 'orphan') expect(result.held).toBe(false);
    expect(tree.orphanCount).toBe(0);

    const small = await factory.chain(b1!, 3, () => [makeTx(chain.chainId, new Uint8Array(1500))]);
    for (const b of small) await tree.addBlock(b);
    expect(tree.orphanCount).toBe(2); // three of ~1.8 KB do not fit 4 KiB: the oldest went
  });
});

describe('BlockTree.addBlock: invalid blocks', () => {
  it('refuses a Merkle root that does not match the transactions', async () => {
    const { tree, factory, chain } = await setup();
    const sealed = await factory.child(chain.genesis, makeTxs(chain.chainId, 2));
    const rejected = record(tree, 'block:rejected');
    expectInvalid(await tree.addBlock({ header: sealed.header, data: makeTxs(chain.chainId, 2) }), 'merkle-root-mismatch');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBe('merkle-root-mismatch');
    expect(tree.tip.height).toBe(0);
  });

  it('refuses a transaction count that does not match the header', async () => {
    const { tree, factory, chain } = await setup();
    const sealed = await factory.child(chain.genesis, makeTxs(chain.chainId, 2));
    expectInvalid(await tree.addBlock({ header: sealed.header, data: sealed.data.slice(1) }), 'tx-count-mismatch');
  });

  it('refuses a transaction whose signature does not verify', async () => {
    const { tree, factory, chain } = await setup();
    const good = makeTx(chain.chainId);
    const signature = good.signature.slice();
    signature[10]! ^= 1;
    const forged: Transaction = { ...good, signature };
    const block = await factory.child(chain.genesis, [makeTx(chain.chainId), forged]);
    const result = await tree.addBlock(block);
    expectInvalid(result, 'bad-transaction-signature');
    if (result.status === 'invalid') expect(result.message).toMatch(/^transaction 1/);
  });

  it('refuses a payload that does not match its signed hash (same id, so the same Merkle root)', async () => {
    const { tree, factory, chain } = await setup();
    const good = makeTx(chain.chainId, 'original');
    const tampered: Transaction = { ...good, payload: new TextEncoder().encode('tampered') };
    expect(idHex(tampered)).toBe(idHex(good));
    const block = await factory.child(chain.genesis, [tampered]);
    expectInvalid(await tree.addBlock(block), 'bad-transaction-signature');
    // The honest copy of the same block is accepted afterwards.
    expect((await tree.addBlock({ header: block.header, data: [good] })).status).toBe('canonical');
  });

  it('refuses a transaction of another chain', async () => {
    const { tree, factory, chain } = await setup();
    const other = singleChain([keyOf(3)]);
    const block = await factory.child(chain.genesis, [makeTx(chain.chainId), makeTx(other.chainId)]);
    expectInvalid(await tree.addBlock(block), 'wrong-chain');
  });

  it('refuses a transaction twice in one block', async () => {
    const { tree, factory, chain } = await setup();
    const tx = makeTx(chain.chainId);
    const block = await factory.child(chain.genesis, [tx, makeTx(chain.chainId), tx]);
    expectInvalid(await tree.addBlock(block), 'duplicate-in-block');
  });

  it('refuses a transaction already on the canonical chain', async () => {
    const { tree, factory, chain } = await setup();
    const tx = makeTx(chain.chainId);
    const b1 = await factory.child(chain.genesis, [tx]);
    await tree.addBlock(b1);
    const b2 = await factory.child(b1, [makeTx(chain.chainId), tx]);
    expectInvalid(await tree.addBlock(b2), 'duplicate-transaction');
  });

  it('refuses a transaction already on the fork\'s own branch, but not one canonical only above the fork point', async () => {
    const { tree, factory, chain } = await setup();
    const race = makeTx(chain.chainId, 'included by two competing producers');
    const main = await factory.chain(chain.genesis, 2, (i) => (i === 0 ? [race] : []));
    for (const b of main) await tree.addBlock(b);
    // A competing block at height 1 with the same transaction is valid: its history does not hold it.
    const side1 = await factory.child(chain.genesis, [race], { timestamp: T0 + 900 });
    expect((await tree.addBlock(side1)).status).toBe('fork');
    // But on top of it, the same transaction again is a duplicate in that branch.
    const side2 = await factory.child(side1, [race]);
    expectInvalid(await tree.addBlock(side2), 'duplicate-transaction');
  });

  it('refuses a seal by a key that is not a producer', async () => {
    const { tree, chain } = await setup();
    const stranger = keyOf(99);
    const unsealed = buildBlock({ parent: chain.genesis.header, transactions: [], timestamp: T0 + 1000 });
    const block: Block = { header: signBlockHeader(unsealed.header, stranger), data: [] };
    const result = await tree.addBlock(block);
    expectInvalid(result, 'consensus');
    if (result.status === 'invalid') expect(result.consensusReason).toBeTypeOf('string');
  });

  it('refuses a height that does not follow the parent', async () => {
    const { tree, chain } = await setup();
    const unsealed = buildBlock({ parent: chain.genesis.header, transactions: [], timestamp: T0 + 1000 });
    const header = signBlockHeader({ ...unsealed.header, height: 2 }, chain.sealers[0]!);
    expectInvalid(await tree.addBlock({ header, data: [] }), 'bad-height');
  });

  it('refuses another chain\'s genesis', async () => {
    const { tree } = await setup();
    expectInvalid(await tree.addBlock(singleChain([keyOf(4)]).genesis), 'unexpected-genesis');
  });

  it('refuses malformed input without throwing', async () => {
    const { tree, factory, chain } = await setup();
    const good = await factory.child(chain.genesis, [makeTx(chain.chainId)]);
    expectInvalid(await tree.addBlock(null as unknown as Block), 'malformed');
    expectInvalid(await tree.addBlock({ header: { ...good.header, height: -1 }, data: [] }), 'malformed');
    expectInvalid(await tree.addBlock({ header: good.header, data: 'nope' } as unknown as Block), 'malformed');
    const badTx = { ...good.data[0]!, signature: new Uint8Array(3) };
    expectInvalid(await tree.addBlock({ header: good.header, data: [badTx] }), 'malformed');
    expect(tree.tip.height).toBe(0);
  });

  it('refuses blocks above the configured limits', async () => {
    const chain = singleChain();
    const { tree, factory } = await setup(chain, { maxBlockTransactions: 2, maxBlockBytes: 2000 });
    expectInvalid(await tree.addBlock(await factory.child(chain.genesis, makeTxs(chain.chainId, 3))), 'too-many-transactions');
    expectInvalid(await tree.addBlock(await factory.child(chain.genesis, [makeTx(chain.chainId, new Uint8Array(3000))])), 'too-large');
  });

  it('uses the injected verifier and trusts its verdicts', async () => {
    const seen: number[] = [];
    const chain = singleChain();
    const { tree, factory } = await setup(chain, {
      verifyTransactions: async (txs) => {
        seen.push(txs.length);
        return txs.map((tx) => !new TextDecoder().decode(tx.payload).startsWith('reject'));
      },
    });
    const ok = await factory.child(chain.genesis, makeTxs(chain.chainId, 2));
    expect((await tree.addBlock(ok)).status).toBe('canonical');
    const refused = await factory.child(ok, [makeTx(chain.chainId, 'reject me')]);
    expectInvalid(await tree.addBlock(refused), 'bad-transaction-signature');
    expect(seen).toEqual([2, 1]);
  });
});

describe('BlockTree: future blocks', () => {
  it('holds a block from the future and accepts it once its time has come, with its orphaned children', async () => {
    const { tree, factory, chain, clock } = await setup();
    const ahead = clock.value + 60_000;
    const early = await factory.child(chain.genesis, [], { timestamp: ahead });
    const child = await factory.child(early);
    const result = await tree.addBlock(early);
    expect(result.status).toBe('future');
    if (result.status !== 'future') return;
    expect(result.held).toBe(true);
    expect(tree.futureCount).toBe(1);
    expect(tree.nextFutureRetryAt()).toBe(result.retryAt);
    expect((await tree.addBlock(early)).status).toBe('duplicate');
    expect((await tree.addBlock(child)).status).toBe('orphan');

    expect(await tree.retryFuture()).toEqual([]);
    expect(tree.tip.height).toBe(0);

    clock.value = result.retryAt;
    // The child is still a little ahead at this moment: it is held in turn.
    const retried = await tree.retryFuture();
    expect(retried.map((r) => r.status)).toEqual(['canonical']);
    expect(tree.tip.height).toBe(1);
    expect(tree.futureCount).toBe(1);
    clock.advance(1000);
    await tree.retryFuture();
    expect(tree.tip.height).toBe(2);
    expect(tree.futureCount).toBe(0);
  });
});

describe('BlockTree: stripped transactions, retention and proofs', () => {
  it('accepts stripped transactions: they verify without payload', async () => {
    const { tree, factory, chain } = await setup();
    const block = await factory.child(chain.genesis, makeTxs(chain.chainId, 3).map(stripTransaction));
    expect((await tree.addBlock(block)).status).toBe('canonical');
  });

  it('stores blocks shaped by the retention filter, and proves stripped and full transactions alike', async () => {
    const chain = singleChain();
    const mine = keyOf(50);
    const retention = createRetentionFilter({ mode: 'filter' }, mine.id);
    const { tree, store, factory } = await setup(chain, { retention });
    const own = makeTx(chain.chainId, 'own record', mine);
    const foreign = makeTx(chain.chainId, 'foreign record');
    const block = await factory.child(chain.genesis, [own, foreign]);
    await tree.addBlock(block);
    const stored = await store.getBlock(blockHash(block.header));
    expect(stored!.data[0]!.payload).toBeDefined();
    expect(stored!.data[1]!.payload).toBeUndefined();

    const ownProof = await tree.proofFor(transactionId(own));
    const foreignProof = await tree.proofFor(transactionId(foreign));
    const ownVerdict = verifyProof(ownProof);
    const foreignVerdict = verifyProof(foreignProof);
    expect(ownVerdict.valid).toBe(true);
    expect(foreignVerdict.valid).toBe(true);
    if (ownVerdict.valid) expect(ownVerdict.payloadIncluded).toBe(true);
    if (foreignVerdict.valid) expect(foreignVerdict.payloadIncluded).toBe(false);
  });

  it('proofFor gives a bundle verifyProof accepts, for every position in a block, and nothing while not in a block', async () => {
    const { tree, factory, chain } = await setup();
    const txs = makeTxs(chain.chainId, 7);
    const b1 = await factory.child(chain.genesis, txs);
    const pending = makeTx(chain.chainId);
    expect(await tree.proofFor(transactionId(txs[0]!))).toBeUndefined();
    await tree.addBlock(b1);
    for (let i = 0; i < txs.length; i++) {
      const bundle = await tree.proofFor(transactionId(txs[i]!));
      const verdict = verifyProof(bundle, { trustedBlocks: [toHex(blockHash(b1.header))] });
      expect(verdict.valid).toBe(true);
      if (verdict.valid) {
        expect(verdict.index).toBe(i);
        expect(verdict.height).toBe(1);
      }
    }
    expect(await tree.proofFor(transactionId(pending))).toBeUndefined();
    const hidden = await tree.proofFor(transactionId(txs[3]!), { withoutPayload: true });
    expect(hidden!.transaction.payload).toBeUndefined();
    expect(verifyProof(hidden).valid).toBe(true);
  });

  it('has no proof for a transaction whose block was abandoned', async () => {
    const { tree, factory, chain } = await setup();
    const tx = makeTx(chain.chainId);
    await tree.addBlock(await factory.child(chain.genesis, [tx]));
    expect(await tree.proofFor(transactionId(tx))).toBeDefined();
    const side1 = await factory.child(chain.genesis, [], { timestamp: T0 + 10 });
    const side2 = await factory.child(side1);
    expect((await tree.addBlock(side2)).status).toBe('orphan');
    await tree.addBlock(side1); // fork or (lower hash) canonical at height 1; the orphan then makes it heavier
    expect(tree.tip.height).toBe(2);
    expect(equalBytes(tree.tip.hash, blockHash(side2.header))).toBe(true);
    expect(await tree.proofFor(transactionId(tx))).toBeUndefined();
  });
});

describe('BlockTree: events', () => {
  it('returned transactions carry their ids', async () => {
    const { tree, factory, chain } = await setup();
    const tx = makeTx(chain.chainId);
    await tree.addBlock(await factory.child(chain.genesis, [tx]));
    const returned: PendingTransaction[][] = [];
    tree.on('reorg', (e) => returned.push([...e.returned]));
    for (const b of await factory.chain(chain.genesis, 2)) await tree.addBlock(b);
    expect(returned).toHaveLength(1);
    expect(toHex(returned[0]![0]!.id)).toBe(idHex(tx));
  });
});

describe('BlockTree: beyond the recent window', () => {
  it('reorganises across blocks whose headers left memory, and reopens with a small window', async () => {
    const chain = singleChain();
    const { tree, store, factory, clock } = await setup(chain, { recentWindow: 1 }); // raised to the engine's 12
    const tagged = makeTx(chain.chainId, 'in block 3');
    const main = await factory.chain(chain.genesis, 40, (i) => (i === 2 ? [tagged] : []));
    for (const b of main) await tree.addBlock(b);
    expect(tree.tip.height).toBe(40);
    expect(toHex((await tree.getCanonicalHash(3))!)).toBe(toHex(blockHash(main[2]!.header)));
    expect((await tree.getTransaction(transactionId(tagged)))?.height).toBe(3);

    const forkBase = main[9]!; // height 10
    const side1 = await factory.child(forkBase, [], { timestamp: forkBase.header.timestamp + 1 });
    const side = [side1, ...(await factory.chain(side1, 30))];
    const reorgs = record(tree, 'reorg');
    for (const b of side) await tree.addBlock(b);
    expect(tree.tip.height).toBe(41);
    expect(reorgs).toHaveLength(1);
    expect(reorgs[0]!.forkPoint.height).toBe(10);
    expect(reorgs[0]!.abandoned).toHaveLength(30);
    expect((await tree.getTransaction(transactionId(tagged)))?.height).toBe(3);
    expect(await tree.isCanonical(blockHash(main[20]!.header))).toBe(false);

    const reopened = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: clock.now, recentWindow: 1 });
    expect(toHex(reopened.tip.hash)).toBe(toHex(tree.tip.hash));
    // The abandoned branch can still come back, from far below the window.
    const revived = await factory.chain(main[39]!, 2);
    const results = [];
    for (const b of revived) results.push((await reopened.addBlock(b)).status);
    // The first revived block ties the tip on work, so the lower hash decides (either answer is right); the second
    // outweighs it.
    expect(['fork', 'canonical']).toContain(results[0]);
    expect(results[1]).toBe('canonical');
    expect(reopened.tip.height).toBe(42);
  });
});

describe('BlockTree: failures of the store', () => {
  it('rejects with the store\'s error, changes nothing, and accepts the block when retried', async () => {
    class FullOnce extends MemoryStore {
      full = true;
      override async commit(commit: Commit): Promise<void> {
        if (this.full && commit.blocks !== undefined && commit.blocks.length > 0 && commit.blocks[0]!.block.header.height > 0) {
          this.full = false;
          throw new StoreFullError('disk full');
        }
        return super.commit(commit);
      }
    }
    const chain = singleChain();
    const store = new FullOnce();
    const tree = await BlockTree.open({ store, consensus: chain.consensus, genesis: chain.genesis, now: new ManualClock(LATER).now });
    const added = record(tree, 'block:added');
    const b1 = await new BlockFactory(chain).child(chain.genesis, [makeTx(chain.chainId)]);
    await expect(tree.addBlock(b1)).rejects.toBeInstanceOf(StoreFullError);
    expect(tree.tip.height).toBe(0);
    expect(added).toHaveLength(0);
    expect((await tree.addBlock(b1)).status).toBe('canonical');
  });

  it('refuses an orphan with a bad body when its parent arrives', async () => {
    const { tree, factory, chain } = await setup();
    const b1 = await factory.child(chain.genesis);
    const b2 = await factory.child(b1, makeTxs(chain.chainId, 2));
    const rejected = record(tree, 'block:rejected');
    await tree.addBlock({ header: b2.header, data: makeTxs(chain.chainId, 2) });
    expect((await tree.addBlock(b1)).status).toBe('canonical');
    expect(rejected.map((r) => r.reason)).toEqual(['merkle-root-mismatch']);
    expect(tree.orphanCount).toBe(0);
    expect((await tree.addBlock(b2)).status).toBe('canonical');
  });
});

