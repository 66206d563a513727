import { createTransaction, encodeBlock, encodeTransaction, stripTransaction, utf8, type Block } from '@safechain/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blockSize, transactionSize } from './size.js';
import { BlockFactory, keyOf, singleChain, T0 } from './test-support.js';

const origin = keyOf(77);
const chain = singleChain();

const txArb = fc
  .record({
    payload: fc.uint8Array({ maxLength: 300 }),
    contentType: fc.string({ maxLength: 40 }),
    source: fc.option(fc.string({ unit: 'grapheme', maxLength: 200 }), { nil: undefined }),
    traceCodes: fc.array(fc.string({ maxLength: 140 }), { maxLength: 5 }),
    sequence: fc.nat(),
    stripped: fc.boolean(),
  })
  .map(({ payload, contentType, source, traceCodes, sequence, stripped }) => {
    const tx = createTransaction(
      { chainId: chain.chainId, payload, contentType, traceCodes, sequence, createdAt: T0, ...(source === undefined ? {} : { source }) },
      origin,
    );
    return stripped ? stripTransaction(tx) : tx;
  });

describe('encoded sizes', () => {
  it('transactionSize equals the length of encodeTransaction, full and stripped', () => {
    fc.assert(fc.property(txArb, (tx) => transactionSize(tx) === encodeTransaction(tx).length));
  });

  it('blockSize equals the length of encodeBlock', async () => {
    const factory = new BlockFactory(chain);
    const txs = fc.sample(txArb, { numRuns: 20, seed: 7 });
    const block: Block = await factory.child(chain.genesis, txs);
    expect(blockSize(block)).toBe(encodeBlock(block).length);
    const bigExtra: Block = { header: { ...block.header, extraData: utf8('x'.repeat(300)) }, data: block.data };
    expect(blockSize(bigExtra)).toBe(encodeBlock(bigExtra).length);
  });
});
