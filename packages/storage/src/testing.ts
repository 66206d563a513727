import {
  encodeBlock,
  encodeBlockHeader,
  encodeTransaction,
  stripTransaction,
  toHex,
  transactionId,
  utf8,
  type Block,
  type Transaction,
} from '@safechain/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreClosedError, StoreConsistencyError } from './errors.js';
import { ChainFixture } from './fixtures.js';
import { MemoryStore } from './memory.js';
import type { BlockWrite, CanonicalUpdate, ChainStore, Commit } from './store.js';

export { ChainFixture, blockWriteOf, FIXTURE_EPOCH, type FixtureBlockOptions, type ParentBlock } from './fixtures.js';
export {
  runCrashRounds,
  runCrashWriter,
  type CrashRoundReport,
  type CrashRoundsOptions,
  type CrashWriterOptions,
} from './crash.js';

/**
 * The ChainStore compliance suite. Every adapter's tests call `runStoreCompliance` with a harness; the suite checks the
 * whole contract of `store.ts` against the adapter, and random commit sequences against MemoryStore as the model.
 */

/** How the suite gets stores. */
export interface StoreHarness {
  /** A new, empty store. Called before every test, and once per run of the random-sequence property. */
  open(): Promise<ChainStore>;
  /**
   * The store `open` last returned, opened again after it was closed: the same data. Persistence tests run only
   * when this is given.
   */
  reopen?(): Promise<ChainStore>;
  /** Removes whatever `open` created (directories, files); called after every test, with the store closed. */
  cleanup(): Promise<void>;
}

export interface ComplianceOptions {
  /** Runs of the random-sequence property. Default 25. */
  readonly modelRuns?: number;
  /** Commands per random sequence, at most. Default 24. */
  readonly modelSteps?: number;
  /** Seed for the random-sequence property (fast-check prints the seed of a failing run). */
  readonly seed?: number;
}

/** A comparable picture of everything a store answers about the blocks, transactions and keys a test knows. */
interface Snapshot {
  readonly tip: string | null;
  readonly canonical: readonly (string | null)[];
  readonly infos: readonly string[];
  readonly infosFrom1: readonly string[];
  readonly blocks: Readonly<Record<string, unknown>>;
  readonly txs: Readonly<Record<string, unknown>>;
  readonly pending: readonly (readonly [string, string])[];
  readonly meta: Readonly<Record<string, string | null>>;
}

interface Known {
  readonly blocks: readonly BlockWrite[];
  readonly txIds: readonly Uint8Array[];
  readonly metaKeys: readonly string[];
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

function hexOfBlock(block: Block | undefined): string | null {
  return block === undefined ? null : toHex(encodeBlock(block));
}

async function infoList(store: ChainStore, fromHeight: number): Promise<string[]> {
  const infos = await collect(store.blockInfos(fromHeight));
  for (let i = 1; i < infos.length; i++) {
    // The contract: ascending height; ties in any order.
    expect(infos[i]!.header.height).toBeGreaterThanOrEqual(infos[i - 1]!.header.height);
  }
  return infos.map((info) => `${info.header.height}:${toHex(info.hash)}:${info.totalWork}:${toHex(encodeBlockHeader(info.header))}`).sort();
}

async function snapshot(store: ChainStore, known: Known): Promise<Snapshot> {
  const tip = await store.getTip();
  const canonical: (string | null)[] = [];
  for (let h = 0; h <= (tip?.height ?? -1) + 1; h++) {
    const hash = await store.getCanonicalHash(h);
    canonical.push(hash === undefined ? null : toHex(hash));
  }
  const blocks: Record<string, unknown> = {};
  for (const b of known.blocks) {
    const info = await store.getBlockInfo(b.hash);
    const leaves = await store.getLeaves(b.hash);
    blocks[toHex(b.hash)] = {
      has: await store.hasBlock(b.hash),
      info: info === undefined ? null : { hash: toHex(info.hash), header: toHex(encodeBlockHeader(info.header)), totalWork: info.totalWork },
      leaves: leaves === undefined ? null : leaves.map(toHex),
      body: hexOfBlock(await store.getBlock(b.hash)),
    };
  }
  const txs: Record<string, unknown> = {};
  // The adapter's own fast path, which must agree with getTransaction.
  const heights = store.canonicalHeights === undefined ? undefined : await store.canonicalHeights(known.txIds);
  for (const [i, id] of known.txIds.entries()) {
    const found = await store.getTransaction(id);
    const fast = heights?.[i];
    txs[`${toHex(id)} height`] =
      heights === undefined || fast === found?.height ? 'agrees' : `canonicalHeights says ${String(fast)}, getTransaction ${String(found?.height)}`;
    txs[toHex(id)] =
      found === undefined
        ? null
        : { id: toHex(found.id), blockHash: toHex(found.blockHash), height: found.height, index: found.index, tx: toHex(encodeTransaction(found.transaction)) };
  }
  const pending = (await collect(store.pending())).map((p) => [toHex(p.id), toHex(encodeTransaction(p.transaction))] as const);
  const meta: Record<string, string | null> = {};
  for (const key of known.metaKeys) {
    const value = await store.getMeta(key);
    meta[key] = value === undefined ? null : toHex(value);
  }
  return {
    tip: tip === undefined ? null : `${tip.height}:${toHex(tip.hash)}`,
    canonical,
    infos: await infoList(store, 0),
    infosFrom1: await infoList(store, 1),
    blocks,
    txs,
    pending,
    meta,
  };
}

/** First differing offset of two byte arrays, or -1 when equal: a readable failure for megabyte-sized values. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function expectSameBlock(actual: Block | undefined, expected: Block): void {
  expect(actual).toBeDefined();
  expect(firstDifference(encodeBlock(actual!), encodeBlock(expected))).toBe(-1);
}

function expectSameTx(actual: Transaction | undefined, expected: Transaction): void {
  expect(actual).toBeDefined();
  expect(firstDifference(encodeTransaction(actual!), encodeTransaction(expected))).toBe(-1);
}

/** The canonical update that makes `target` the tip, given the current canonical hashes. */
function moveTo(target: BlockWrite, byHash: ReadonlyMap<string, BlockWrite>, canonical: readonly (string | null)[]): CanonicalUpdate {
  const path: BlockWrite[] = [];
  for (let b: BlockWrite | undefined = target; b !== undefined; b = byHash.get(toHex(b.block.header.previousHash))) {
    path.unshift(b);
    if (b.block.header.height === 0) break;
  }
  let from = 0;
  while (from < path.length && canonical[from] === toHex(path[from]!.hash)) from++;
  return { fromHeight: from, hashes: path.slice(from).map((b) => b.hash) };
}

async function canonicalHexes(store: ChainStore): Promise<(string | null)[]> {
  const tip = await store.getTip();
  const out: (string | null)[] = [];
  for (let h = 0; h <= (tip?.height ?? -1); h++) {
    const hash = await store.getCanonicalHash(h);
    out.push(hash === undefined ? null : toHex(hash));
  }
  return out;
}

async function outcome(run: () => Promise<void>): Promise<string> {
  try {
    await run();
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.name : 'non-error';
  }
}

/**
 * Registers the compliance tests for one adapter, under `describe(name)`.
 * @param harness opens, reopens and cleans up stores (see StoreHarness).
 */
export function runStoreCompliance(name: string, harness: StoreHarness, options: ComplianceOptions = {}): void {
  describe(`ChainStore compliance: ${name}`, () => {
    let store: ChainStore;
    let fx: ChainFixture;
    const reopen = harness.reopen?.bind(harness);

    beforeEach(async () => {
      fx = new ChainFixture(name);
      store = await harness.open();
    });

    afterEach(async () => {
      await store.close();
      await harness.cleanup();
    });

    async function reopened(): Promise<ChainStore> {
      await store.close();
      store = await reopen!();
      return store;
    }

    it('answers an empty store with nothing', async () => {
      const unknown = new Uint8Array(32).fill(7);
      expect(typeof store.kind).toBe('string');
      expect(store.kind.length).toBeGreaterThan(0);
      expect(await store.getTip()).toBeUndefined();
      expect(await store.hasBlock(unknown)).toBe(false);
      expect(await store.getBlockInfo(unknown)).toBeUndefined();
      expect(await store.getBlock(unknown)).toBeUndefined();
      expect(await store.getLeaves(unknown)).toBeUndefined();
      expect(await store.getCanonicalHash(0)).toBeUndefined();
      expect(await store.getTransaction(unknown)).toBeUndefined();
      expect(await collect(store.blockInfos())).toEqual([]);
      expect(await collect(store.pending())).toEqual([]);
      expect(await store.getMeta('anything')).toBeUndefined();
      const size = await store.sizeBytes();
      expect(Number.isSafeInteger(size) && size >= 0).toBe(true);
    });

    it('stores a genesis block and finds it by hash, height and transaction id', async () => {
      const genesis = fx.block(null, fx.transactions(3));
      await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      expect(await store.hasBlock(genesis.hash)).toBe(true);
      const info = await store.getBlockInfo(genesis.hash);
      expect(info && toHex(info.hash)).toBe(toHex(genesis.hash));
      expect(info && toHex(encodeBlockHeader(info.header))).toBe(toHex(encodeBlockHeader(genesis.block.header)));
      expect(info?.totalWork).toBe(genesis.totalWork);
      expectSameBlock(await store.getBlock(genesis.hash), genesis.block);
      expect((await store.getLeaves(genesis.hash))?.map(toHex)).toEqual(genesis.ids.map(toHex));
      expect(toHex((await store.getCanonicalHash(0))!)).toBe(toHex(genesis.hash));
      expect(await store.getCanonicalHash(1)).toBeUndefined();
      const tip = await store.getTip();
      expect(tip && { hash: toHex(tip.hash), height: tip.height }).toEqual({ hash: toHex(genesis.hash), height: 0 });
      for (let i = 0; i < 3; i++) {
        const found = await store.getTransaction(genesis.ids[i]!);
        expect(found && { id: toHex(found.id), block: toHex(found.blockHash), height: found.height, index: found.index }).toEqual({
          id: toHex(genesis.ids[i]!),
          block: toHex(genesis.hash),
          height: 0,
          index: i,
        });
        expectSameTx(found?.transaction, genesis.block.data[i]!);
      }
    });

    it('returns full and stripped transactions byte for byte as stored, with every leaf', async () => {
      const txs = fx.transactions(6, 100);
      const shaped = txs.map((tx, i) => (i % 2 === 1 ? stripTransaction(tx) : tx));
      const genesis = fx.block(null, shaped);
      await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      const block = await store.getBlock(genesis.hash);
      expectSameBlock(block, genesis.block);
      expect(block!.data.map((tx) => tx.payload === undefined)).toEqual([false, true, false, true, false, true]);
      expect((await store.getLeaves(genesis.hash))?.map(toHex)).toEqual(txs.map((tx) => toHex(transactionId(tx))));
      const stripped = await store.getTransaction(genesis.ids[1]!);
      expect(stripped?.transaction.payload).toBeUndefined();
      expectSameTx(stripped?.transaction, shaped[1]!);
      const full = await store.getTransaction(genesis.ids[2]!);
      expectSameTx(full?.transaction, txs[2]!);
    });

    it('stores empty blocks and treats an empty commit as a no-op', async () => {
      const genesis = fx.block(null, []);
      await store.commit({});
      expect(await store.getTip()).toBeUndefined();
      await store.commit({ blocks: [], pendingAdd: [], pendingRemove: [], meta: [] });
      await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      expectSameBlock(await store.getBlock(genesis.hash), genesis.block);
      expect(await store.getLeaves(genesis.hash)).toEqual([]);
      await store.commit({ canonical: { fromHeight: 1, hashes: [] } });
      expect((await store.getTip())?.height).toBe(0);
    });

    it('keeps blocks off the canonical chain out of the transaction index', async () => {
      const genesis = fx.block(null, fx.transactions(1));
      const fork = fx.block(genesis, fx.transactions(2));
      await store.commit({ blocks: [genesis, fork], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      expect(await store.hasBlock(fork.hash)).toBe(true);
      expectSameBlock(await store.getBlock(fork.hash), fork.block);
      expect(await store.getTransaction(fork.ids[0]!)).toBeUndefined();
      expect((await store.getTip())?.height).toBe(0);
      expect(await store.getCanonicalHash(1)).toBeUndefined();
    });

    it('lists every stored block, forks included, in ascending height and from a height', async () => {
      const chain = fx.chain(4, 1);
      const forkA = fx.block(chain[1]!, fx.transactions(1), { salt: 1 });
      const forkB = fx.block(forkA, fx.transactions(1));
      const genesis2 = fx.block(null, [], { salt: 2 });
      // Written out of height order, in two commits.
      await store.commit({ blocks: [forkB, chain[3]!, genesis2, chain[0]!] });
      await store.commit({ blocks: [chain[2]!, forkA, chain[1]!], canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) } });
      const all = await collect(store.blockInfos());
      expect(all.map((i) => i.header.height)).toEqual([0, 0, 1, 2, 2, 3, 3]);
      const expected = [...chain, forkA, forkB, genesis2].map((b) => `${b.block.header.height}:${toHex(b.hash)}:${b.totalWork}`).sort();
      expect(all.map((i) => `${i.header.height}:${toHex(i.hash)}:${i.totalWork}`).sort()).toEqual(expected);
      const from2 = await collect(store.blockInfos(2));
      expect(from2.map((i) => i.header.height)).toEqual([2, 2, 3, 3]);
      expect(await collect(store.blockInfos(9))).toEqual([]);
    });

    it('extends the canonical chain commit by commit', async () => {
      const chain = fx.chain(6, 2);
      for (const b of chain) {
        await store.commit({ blocks: [b], canonical: { fromHeight: b.block.header.height, hashes: [b.hash] } });
        const tip = await store.getTip();
        expect(tip && `${tip.height}:${toHex(tip.hash)}`).toBe(`${b.block.header.height}:${toHex(b.hash)}`);
      }
      for (const b of chain) {
        expect(toHex((await store.getCanonicalHash(b.block.header.height))!)).toBe(toHex(b.hash));
        for (const [i, id] of b.ids.entries()) {
          const found = await store.getTransaction(id);
          expect(found && `${found.height}:${found.index}:${toHex(found.blockHash)}`).toBe(`${b.block.header.height}:${i}:${toHex(b.hash)}`);
        }
      }
    });

    it('follows a reorg: the index holds the new branch only, and a later shorter reorg drops the heights above', async () => {
      const shared = fx.transactions(2);
      const a = fx.chain(3, 1); // heights 0..2
      const a3 = fx.block(a[2]!, [shared[0]!, ...fx.transactions(1)]);
      const a4 = fx.block(a3, fx.transactions(1));
      const a5 = fx.block(a4, [shared[1]!]);
      const mainline = [...a, a3, a4, a5];
      await store.commit({ blocks: mainline, canonical: { fromHeight: 0, hashes: mainline.map((b) => b.hash) } });
      // A competing branch from height 2 that includes the shared transactions at other places.
      const b3 = fx.block(a[2]!, [shared[1]!], { salt: 3 });
      const b4 = fx.block(b3, fx.transactions(2));
      const b5 = fx.block(b4, [shared[0]!]);
      const b6 = fx.block(b5, fx.transactions(1));
      await store.commit({ blocks: [b3, b4, b5, b6], canonical: { fromHeight: 3, hashes: [b3.hash, b4.hash, b5.hash, b6.hash] } });
      const tip = await store.getTip();
      expect(tip && `${tip.height}:${toHex(tip.hash)}`).toBe(`6:${toHex(b6.hash)}`);
      for (const b of [b3, b4, b5, b6]) expect(toHex((await store.getCanonicalHash(b.block.header.height))!)).toBe(toHex(b.hash));
      expect(await store.getTransaction(a3.ids[1]!)).toBeUndefined();
      expect(await store.getTransaction(a4.ids[0]!)).toBeUndefined();
      const s0 = await store.getTransaction(transactionId(shared[0]!));
      expect(s0 && `${s0.height}:${s0.index}:${toHex(s0.blockHash)}`).toBe(`5:0:${toHex(b5.hash)}`);
      const s1 = await store.getTransaction(transactionId(shared[1]!));
      expect(s1 && `${s1.height}:${s1.index}:${toHex(s1.blockHash)}`).toBe(`3:0:${toHex(b3.hash)}`);
      expect((await store.getTransaction(a[1]!.ids[0]!))?.height).toBe(1);
      // Back to the old branch, which is shorter: height 6 is no longer canonical.
      await store.commit({ canonical: { fromHeight: 3, hashes: [a3.hash, a4.hash, a5.hash] } });
      expect((await store.getTip())?.height).toBe(5);
      expect(await store.getCanonicalHash(6)).toBeUndefined();
      expect(await store.getTransaction(b6.ids[0]!)).toBeUndefined();
      expect(await store.getTransaction(b4.ids[1]!)).toBeUndefined();
      const back = await store.getTransaction(transactionId(shared[0]!));
      expect(back && `${back.height}:${back.index}:${toHex(back.blockHash)}`).toBe(`3:0:${toHex(a3.hash)}`);
      // Every block stays stored whatever is canonical.
      for (const b of [...mainline, b3, b4, b5, b6]) expect(await store.hasBlock(b.hash)).toBe(true);
    });

    it('rolls the canonical chain back with an empty update', async () => {
      const chain = fx.chain(5, 1);
      await store.commit({ blocks: chain, canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) } });
      await store.commit({ canonical: { fromHeight: 3, hashes: [] } });
      const tip = await store.getTip();
      expect(tip && `${tip.height}:${toHex(tip.hash)}`).toBe(`2:${toHex(chain[2]!.hash)}`);
      expect(await store.getCanonicalHash(3)).toBeUndefined();
      expect(await store.getTransaction(chain[3]!.ids[0]!)).toBeUndefined();
      expect(await store.getTransaction(chain[2]!.ids[0]!)).toBeDefined();
      await store.commit({ canonical: { fromHeight: 0, hashes: [] } });
      expect(await store.getTip()).toBeUndefined();
      expect(await store.getTransaction(chain[0]!.ids[0]!)).toBeUndefined();
      expect(await store.hasBlock(chain[4]!.hash)).toBe(true);
    });

    describe('atomicity: a refused commit changes nothing', () => {
      async function refusedCommitChangesNothing(bad: (chain: BlockWrite[], extra: BlockWrite) => CanonicalUpdate, error: string): Promise<void> {
        const chain = fx.chain(3, 2);
        const pendingTx = fx.transaction();
        await store.commit({
          blocks: chain,
          canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) },
          pendingAdd: [{ id: transactionId(pendingTx), transaction: pendingTx }],
          meta: [['k', utf8('before')]],
        });
        const extra = fx.block(chain[2]!, fx.transactions(2));
        const newPending = fx.transaction();
        const known: Known = {
          blocks: [...chain, extra],
          txIds: [...chain.flatMap((b) => b.ids), ...extra.ids, transactionId(newPending), transactionId(pendingTx)],
          metaKeys: ['k', 'k2'],
        };
        const before = await snapshot(store, known);
        const commit: Commit = {
          blocks: [extra],
          canonical: bad(chain, extra),
          pendingAdd: [{ id: transactionId(newPending), transaction: newPending }],
          pendingRemove: [transactionId(pendingTx)],
          meta: [
            ['k', utf8('after')],
            ['k2', utf8('new')],
          ],
        };
        await expect(store.commit(commit)).rejects.toMatchObject({ name: error });
        expect(await snapshot(store, known)).toEqual(before);
        if (reopen !== undefined) expect(await snapshot(await reopened(), known)).toEqual(before);
        // The store is still usable.
        await store.commit({ blocks: [extra], canonical: { fromHeight: 3, hashes: [extra.hash] } });
        expect((await store.getTip())?.height).toBe(3);
      }

      it('when a canonical hash names a block never stored', async () => {
        await refusedCommitChangesNothing((_, extra) => ({ fromHeight: 3, hashes: [extra.hash, new Uint8Array(32).fill(9)] }), 'StoreConsistencyError');
      });

      it('when the canonical update leaves a gap above the tip', async () => {
        await refusedCommitChangesNothing((_, extra) => ({ fromHeight: 4, hashes: [extra.hash] }), 'StoreConsistencyError');
      });

      it('when a canonical block sits at a height other than its own', async () => {
        await refusedCommitChangesNothing((chain) => ({ fromHeight: 1, hashes: [chain[0]!.hash] }), 'StoreConsistencyError');
      });

      it('when a block write is malformed', async () => {
        const chain = fx.chain(1, 1);
        await store.commit({ blocks: chain, canonical: { fromHeight: 0, hashes: [chain[0]!.hash] } });
        const good = fx.block(chain[0]!, fx.transactions(2));
        const bad: BlockWrite = { ...good, ids: good.ids.slice(1) };
        const meta: [string, Uint8Array][] = [['m', utf8('x')]];
        await expect(store.commit({ blocks: [good, bad], meta })).rejects.toMatchObject({ name: 'InvalidArgumentError' });
        expect(await store.hasBlock(good.hash)).toBe(false);
        expect(await store.getMeta('m')).toBeUndefined();
      });
    });

    it('keeps the first write of a block sent twice', async () => {
      const txs = fx.transactions(3);
      const genesis = fx.block(null, txs);
      await store.commit({ blocks: [genesis, genesis] });
      const strippedCopy: BlockWrite = { ...genesis, block: { header: genesis.block.header, data: txs.map(stripTransaction) } };
      await store.commit({ blocks: [strippedCopy], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      expectSameBlock(await store.getBlock(genesis.hash), genesis.block);
      expect(await collect(store.blockInfos())).toHaveLength(1);
    });

    it('keeps the mempool in insertion order through adds and removes', async () => {
      const txs = fx.transactions(5);
      const ids = txs.map((tx) => transactionId(tx));
      const entry = (i: number): { id: Uint8Array; transaction: Transaction } => ({ id: ids[i]!, transaction: txs[i]! });
      await store.commit({ pendingAdd: [entry(0), entry(1), entry(2)] });
      await store.commit({ pendingAdd: [entry(3)], pendingRemove: [ids[1]!, new Uint8Array(32).fill(1)] });
      // Re-adding an entry keeps its place; adding and removing in one commit leaves it out.
      await store.commit({ pendingAdd: [entry(0), entry(4)], pendingRemove: [ids[4]!] });
      const pending = await collect(store.pending());
      expect(pending.map((p) => toHex(p.id))).toEqual([0, 2, 3].map((i) => toHex(ids[i]!)));
      pending.forEach((p, k) => expectSameTx(p.transaction, txs[[0, 2, 3][k]!]!));
      if (reopen !== undefined) {
        const again = await collect((await reopened()).pending());
        expect(again.map((p) => toHex(p.id))).toEqual([0, 2, 3].map((i) => toHex(ids[i]!)));
      }
    });

    it('stores metadata by key, overwriting, and never shares the byte arrays', async () => {
      const value = utf8('node identity');
      await store.commit({ meta: [['identity', value], ['seq/äöü', new Uint8Array(0)]] });
      value[0] = 0;
      expect(toHex((await store.getMeta('identity'))!)).toBe(toHex(utf8('node identity')));
      const got = (await store.getMeta('identity'))!;
      got[1] = 0;
      expect(toHex((await store.getMeta('identity'))!)).toBe(toHex(utf8('node identity')));
      expect((await store.getMeta('seq/äöü'))?.length).toBe(0);
      await store.commit({ meta: [['identity', utf8('v2')], ['identity', utf8('v3')]] });
      expect(toHex((await store.getMeta('identity'))!)).toBe(toHex(utf8('v3')));
      expect(await store.getMeta('Identity')).toBeUndefined();
    });

    it('refuses every call after close, and closes twice without error', async () => {
      const genesis = fx.block(null, fx.transactions(1));
      await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      await store.close();
      await store.close();
      const h = genesis.hash;
      const calls: [string, () => Promise<unknown>][] = [
        ['commit', () => store.commit({})],
        ['hasBlock', () => store.hasBlock(h)],
        ['getBlockInfo', () => store.getBlockInfo(h)],
        ['getBlock', () => store.getBlock(h)],
        ['getLeaves', () => store.getLeaves(h)],
        ['blockInfos', () => collect(store.blockInfos())],
        ['getCanonicalHash', () => store.getCanonicalHash(0)],
        ['getTip', () => store.getTip()],
        ['getTransaction', () => store.getTransaction(genesis.ids[0]!)],
        ['pending', () => collect(store.pending())],
        ['getMeta', () => store.getMeta('k')],
        ['sizeBytes', () => store.sizeBytes()],
      ];
      for (const [what, call] of calls) {
        const error = await call().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error instanceof StoreClosedError ? what : `${what}: ${String(error)}`).toBe(what);
      }
    });

    it('stores a block of 1000 transactions of 1 kB', async () => {
      const txs = fx.transactions(1000, 1024, 7);
      const genesis = fx.block(null, txs);
      await store.commit({ blocks: [genesis], canonical: { fromHeight: 0, hashes: [genesis.hash] } });
      expectSameBlock(await store.getBlock(genesis.hash), genesis.block);
      const leaves = await store.getLeaves(genesis.hash);
      expect(leaves?.length).toBe(1000);
      expect(leaves!.every((leaf, i) => toHex(leaf) === toHex(genesis.ids[i]!))).toBe(true);
      for (const i of [0, 1, 499, 998, 999]) {
        const found = await store.getTransaction(genesis.ids[i]!);
        expect(found?.index).toBe(i);
        expectSameTx(found?.transaction, txs[i]!);
      }
      if (reopen !== undefined) {
        expect(await store.sizeBytes()).toBeGreaterThan(900 * 1024);
        expectSameBlock(await (await reopened()).getBlock(genesis.hash), genesis.block);
      }
    });

    if (reopen !== undefined) {
      it('keeps every committed change across close and reopen', async () => {
        const chain = fx.chain(5, 3);
        const fork = fx.block(chain[2]!, fx.transactions(2), { salt: 5 });
        const pendingTxs = fx.transactions(3);
        await store.commit({ blocks: chain, canonical: { fromHeight: 0, hashes: chain.map((b) => b.hash) } });
        await store.commit({
          blocks: [fork],
          canonical: { fromHeight: 3, hashes: [fork.hash] },
          pendingAdd: pendingTxs.map((tx) => ({ id: transactionId(tx), transaction: tx })),
          meta: [['a', utf8('1')]],
        });
        await store.commit({ pendingRemove: [transactionId(pendingTxs[1]!)], meta: [['a', utf8('2')]] });
        const known: Known = {
          blocks: [...chain, fork],
          txIds: [...chain.flatMap((b) => b.ids), ...fork.ids, ...pendingTxs.map((tx) => transactionId(tx))],
          metaKeys: ['a', 'b'],
        };
        const before = await snapshot(store, known);
        expect(await snapshot(await reopened(), known)).toEqual(before);
        // Reopened stores keep working, and keep that work too.
        const next = fx.block(fork, fx.transactions(1));
        await store.commit({ blocks: [next], canonical: { fromHeight: 4, hashes: [next.hash] } });
        const after = await snapshot(store, { ...known, blocks: [...known.blocks, next], txIds: [...known.txIds, ...next.ids] });
        expect(await snapshot(await reopened(), { ...known, blocks: [...known.blocks, next], txIds: [...known.txIds, ...next.ids] })).toEqual(after);
      });
    }

    it('agrees with MemoryStore on random commit sequences', async () => {
      await store.close();
      await harness.cleanup();
      const pool = new ChainFixture(`${name} pool`).transactions(40, 24);
      const poolIds = pool.map((tx) => transactionId(tx));
      const op = fc.oneof(
        { weight: 5, arbitrary: fc.record({ t: fc.constant('grow' as const), parent: fc.nat(), count: fc.integer({ min: 1, max: 3 }), txs: fc.array(fc.nat(39), { maxLength: 4 }), strip: fc.nat(15), move: fc.boolean(), salt: fc.nat(3) }) },
        { weight: 3, arbitrary: fc.record({ t: fc.constant('move' as const), target: fc.nat() }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant('bad' as const), variant: fc.integer({ min: 0, max: 2 }), target: fc.nat(), pick: fc.nat(39) }) },
        { weight: 2, arbitrary: fc.record({ t: fc.constant('pending' as const), add: fc.array(fc.nat(39), { maxLength: 3 }), remove: fc.array(fc.nat(39), { maxLength: 3 }) }) },
        { weight: 1, arbitrary: fc.record({ t: fc.constant('meta' as const), key: fc.constantFrom('a', 'b', 'ü'), value: fc.uint8Array({ maxLength: 8 }) }) },
        { weight: reopen === undefined ? 0 : 1, arbitrary: fc.record({ t: fc.constant('reopen' as const) }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: options.modelSteps ?? 24 }), async (ops) => {
          const model = new MemoryStore();
          let sut = await harness.open();
          const fixture = new ChainFixture(`${name} model`);
          const blocks: BlockWrite[] = [];
          const byHash = new Map<string, BlockWrite>();
          const ancestry = new Map<string, ReadonlySet<string>>();
          const known = (): Known => ({ blocks, txIds: poolIds, metaKeys: ['a', 'b', 'ü'] });
          try {
            for (const [step, o] of ops.entries()) {
              let commit: Commit | undefined;
              if (o.t === 'grow') {
                const choice = o.parent % (blocks.length + 1);
                let parent: BlockWrite | null = choice === blocks.length ? null : blocks[choice]!;
                const made: BlockWrite[] = [];
                for (let k = 0; k < o.count; k++) {
                  const seen = new Set(parent === null ? [] : ancestry.get(toHex(parent.hash)));
                  const txs: Transaction[] = [];
                  for (const i of o.txs) {
                    const key = toHex(poolIds[(i + k * 7) % pool.length]!);
                    if (seen.has(key)) continue;
                    seen.add(key);
                    const tx = pool[(i + k * 7) % pool.length]!;
                    txs.push((o.strip >> txs.length) & 1 ? stripTransaction(tx) : tx);
                  }
                  const b = fixture.block(parent, txs, { salt: o.salt + k * 4 + (parent === null ? blocks.length * 16 : 0) });
                  if (!byHash.has(toHex(b.hash))) {
                    blocks.push(b);
                    byHash.set(toHex(b.hash), b);
                    ancestry.set(toHex(b.hash), seen);
                  }
                  made.push(b);
                  parent = b;
                }
                commit = { blocks: made };
                if (o.move) commit = { ...commit, canonical: moveTo(made[made.length - 1]!, byHash, await canonicalHexes(model)) };
              } else if (o.t === 'move') {
                if (blocks.length > 0) commit = { canonical: moveTo(blocks[o.target % blocks.length]!, byHash, await canonicalHexes(model)) };
              } else if (o.t === 'bad') {
                const length = (await canonicalHexes(model)).length;
                const fresh = fixture.block(null, [pool[o.pick]!], { salt: 1000 + step });
                const target = blocks.length === 0 ? fresh : blocks[o.target % blocks.length]!;
                const canonical: CanonicalUpdate =
                  o.variant === 0
                    ? { fromHeight: Math.min(length, o.target % (length + 1)), hashes: [new Uint8Array(32).fill(step + 1)] }
                    : o.variant === 1
                      ? { fromHeight: length + 1 + (o.target % 3), hashes: [target.hash] }
                      : { fromHeight: target.block.header.height + 1, hashes: [target.hash] };
                commit = {
                  blocks: [fresh],
                  canonical,
                  pendingAdd: [{ id: poolIds[o.pick]!, transaction: pool[o.pick]! }],
                  meta: [['a', utf8(`bad ${step}`)]],
                };
              } else if (o.t === 'pending') {
                commit = {
                  pendingAdd: o.add.map((i) => ({ id: poolIds[i]!, transaction: pool[i]! })),
                  pendingRemove: o.remove.map((i) => poolIds[i]!),
                };
              } else if (o.t === 'meta') {
                commit = { meta: [[o.key, o.value]] };
              } else {
                await sut.close();
                sut = await reopen!();
              }
              if (commit !== undefined) {
                const c = commit;
                const expected = await outcome(() => model.commit(c));
                const actual = await outcome(() => sut.commit(c));
                expect(`step ${step}: ${actual}`).toBe(`step ${step}: ${expected}`);
                if (o.t === 'bad') expect(expected).toBe(StoreConsistencyError.name);
              }
              const [want, got] = [await snapshot(model, known()), await snapshot(sut, known())];
              expect(got).toEqual(want);
            }
          } finally {
            await sut.close();
            await harness.cleanup();
          }
        }),
        { numRuns: options.modelRuns ?? 25, ...(options.seed === undefined ? {} : { seed: options.seed }) },
      );
      store = await harness.open();
    });
  });
}
