import { blockHash, NodeKey, signBlockHeader, ZERO_HASH, type Block } from '@safechain/core';
import { MemoryStore } from '@safechain/storage';
import { describe, expect, it } from 'vitest';
import { SealGuard, SealRecordCorruptError } from './seal-guard.js';

const hash = (n: number): Uint8Array => new Uint8Array(32).fill(n);

describe('SealGuard', () => {
  it('allows one block per height, the same block again, and higher heights only; remembers it across a reopen', async () => {
    const store = new MemoryStore();
    const guard = await SealGuard.open(store);
    expect(guard.last).toBeUndefined();
    expect(await guard.claim(5, hash(1))).toBe(true);
    expect(await guard.claim(5, hash(1))).toBe(true); // the proposer asking again
    expect(await guard.claim(5, hash(2))).toBe(false); // another block at the same height: equivocation
    expect(await guard.claim(4, hash(3))).toBe(false); // below what it sealed
    expect(await guard.claim(6, hash(4))).toBe(true);

    const reopened = await SealGuard.open(store);
    expect(reopened.last).toEqual({ height: 6, hash: '04'.repeat(32) });
    expect(await reopened.claim(6, hash(5))).toBe(false);
    expect(await reopened.claim(6, hash(4))).toBe(true);
  });

  it('runs concurrent claims one at a time: of two blocks at one height only the first is allowed', async () => {
    const guard = await SealGuard.open(new MemoryStore());
    const answers = await Promise.all([guard.claim(1, hash(1)), guard.claim(1, hash(2)), guard.claim(1, hash(1))]);
    expect(answers).toEqual([true, false, true]);
  });

  it('keeps its own proposal whole, and gives it back only while it is the block last sealed', async () => {
    const store = new MemoryStore();
    const key = NodeKey.generate();
    const proposal: Block = {
      header: signBlockHeader(
        { height: 3, timestamp: 1_700_000_000_000, previousHash: ZERO_HASH, merkleRoot: ZERO_HASH, txCount: 0, difficulty: 1n, nonces: [], extraData: key.publicKey, signatures: [] },
        key,
      ),
      data: [],
    };
    const guard = await SealGuard.open(store);
    expect(await guard.claimProposal(proposal)).toBe(true);
    const reopened = await SealGuard.open(store);
    expect(reopened.proposal?.header).toEqual(proposal.header);
    expect(reopened.last).toEqual({ height: 3, hash: Buffer.from(blockHash(proposal.header)).toString('hex') });
    // A co-signature at a higher height makes the proposal history.
    expect(await reopened.claim(4, hash(9))).toBe(true);
    expect(reopened.proposal).toBeUndefined();
  });

  it('refuses a damaged record', async () => {
    const store = new MemoryStore();
    await store.commit({ meta: [['poa.lastSealed', new Uint8Array(12)]] });
    await expect(SealGuard.open(store)).rejects.toThrow(SealRecordCorruptError);
    const other = new MemoryStore();
    await other.commit({ meta: [['poa.proposal', new Uint8Array([1, 2, 3])]] });
    await expect(SealGuard.open(other)).rejects.toThrow(SealRecordCorruptError);
  });
});
