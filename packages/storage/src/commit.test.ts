import { InvalidArgumentError } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { MAX_META_KEY_BYTES, planCommit, type CommitView } from './commit.js';
import { StoreConsistencyError } from './errors.js';
import { ChainFixture } from './fixtures.js';
import type { BlockWrite, Commit } from './store.js';

const empty: CommitView = { canonicalLength: 0, storedHeight: () => undefined };
const fx = new ChainFixture('plan');
const genesis = fx.block(null, fx.transactions(2));
const child = fx.block(genesis, fx.transactions(1));

describe('planCommit', () => {
  it('keeps the first of blocks sent twice and drops blocks already stored', () => {
    const stored: CommitView = { canonicalLength: 1, storedHeight: (h) => (h === genesis.hash ? 0 : undefined) };
    const plan = planCommit({ blocks: [genesis, child, child] }, stored);
    expect(plan.blocks).toEqual([child]);
    expect(plan.empty).toBe(false);
    expect(planCommit({ blocks: [genesis] }, stored).empty).toBe(true);
  });

  it('treats a canonical update that restates nothing as empty, and copies meta values', () => {
    expect(planCommit({ canonical: { fromHeight: 0, hashes: [] } }, empty).empty).toBe(true);
    const value = new Uint8Array([1, 2]);
    const plan = planCommit({ meta: [['k', value]] }, empty);
    value[0] = 9;
    expect(plan.meta[0]![1]).toEqual(new Uint8Array([1, 2]));
  });

  it('refuses inconsistent canonical updates with StoreConsistencyError', () => {
    expect(() => planCommit({ blocks: [genesis], canonical: { fromHeight: 1, hashes: [genesis.hash] } }, empty)).toThrow(StoreConsistencyError);
    expect(() => planCommit({ canonical: { fromHeight: 0, hashes: [genesis.hash] } }, empty)).toThrow(/is not stored/);
    expect(() => planCommit({ blocks: [genesis, child], canonical: { fromHeight: 0, hashes: [child.hash] } }, empty)).toThrow(/has height 1, placed at height 0/);
  });

  it('refuses malformed commits with InvalidArgumentError naming the field', () => {
    const cases: [Commit, RegExp][] = [
      [{ blocks: [{ ...genesis, hash: new Uint8Array(31) }] }, /commit.blocks\[0\].hash/],
      [{ blocks: [{ ...genesis, ids: genesis.ids.slice(1) }] }, /header says 2 transactions/],
      [{ blocks: [{ ...genesis, totalWork: 1 as unknown as bigint }] }, /totalWork/],
      [{ blocks: [{ ...genesis, ids: [genesis.ids[0]!, 'x' as unknown as Uint8Array] }] }, /ids\[1\]/],
      [{ blocks: 'nope' as unknown as BlockWrite[] }, /commit.blocks: expected array/],
      [{ canonical: { fromHeight: -1, hashes: [] } }, /fromHeight/],
      [{ canonical: { fromHeight: 0, hashes: [new Uint8Array(2)] } }, /hashes\[0\]/],
      [{ pendingAdd: [{ id: new Uint8Array(32), transaction: null as unknown as BlockWrite['block']['data'][0] }] }, /pendingAdd\[0\].transaction/],
      [{ pendingRemove: [new Uint8Array(33)] }, /pendingRemove\[0\]/],
      [{ meta: [['x'.repeat(MAX_META_KEY_BYTES + 1), new Uint8Array(0)]] }, /meta\[0\]\[0\]/],
      [{ meta: [['\ud800', new Uint8Array(0)]] }, /meta\[0\]\[0\]/],
      [{ meta: [['k', 'v' as unknown as Uint8Array]] }, /meta\[0\]\[1\]/],
    ];
    for (const [commit, message] of cases) {
      expect(() => planCommit(commit, empty)).toThrow(InvalidArgumentError);
      expect(() => planCommit(commit, empty)).toThrow(message);
    }
  });
});
