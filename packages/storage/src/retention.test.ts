import { createTransaction, encodeBlock, InvalidArgumentError, NodeKey, sha256, toHex, transactionId, utf8, type Transaction } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { createRetentionFilter } from './retention.js';
import { ChainFixture } from './fixtures.js';

const chainId = sha256(utf8('retention chain'));
const own = NodeKey.fromSeed(sha256(utf8('own key')));
const other = NodeKey.fromSeed(sha256(utf8('other key')));

function tx(key: NodeKey, contentType: string, traceCodes: string[] = [], sequence = 0): Transaction {
  return createTransaction({ chainId, payload: utf8(`${contentType} ${sequence}`), sequence, contentType, traceCodes, createdAt: 1 }, key);
}

describe('createRetentionFilter', () => {
  it('keeps everything in archive mode and returns the block unchanged', () => {
    const filter = createRetentionFilter({ mode: 'archive' });
    const fx = new ChainFixture('retention');
    const block = fx.block(null, fx.transactions(3)).block;
    expect(filter.keeps(block.data[0]!)).toBe(true);
    expect(filter.apply(block)).toBe(block);
  });

  it('keeps the own key, listed origins, content types (exact and prefix) and trace codes; strips the rest', () => {
    const filter = createRetentionFilter(
      { mode: 'filter', origins: [], contentTypes: ['application/json', 'text/*'], traceCodes: ['batch-7'] },
      own.id,
    );
    expect(filter.keeps(tx(own, 'application/octet-stream'))).toBe(true);
    expect(filter.keeps(tx(other, 'application/json'))).toBe(true);
    expect(filter.keeps(tx(other, 'application/json; charset=utf-8'))).toBe(false);
    expect(filter.keeps(tx(other, 'text/csv'))).toBe(true);
    expect(filter.keeps(tx(other, 'image/png', ['batch-7', 'x']))).toBe(true);
    expect(filter.keeps(tx(other, 'image/png', ['batch-8']))).toBe(false);
    const byOrigin = createRetentionFilter({ mode: 'filter', origins: [other.id.toUpperCase()] });
    expect(byOrigin.keeps(tx(other, 'image/png'))).toBe(true);
    expect(byOrigin.keeps(tx(own, 'image/png'))).toBe(false);
  });

  it('strips what it does not keep, keeping ids, order and the header', () => {
    const filter = createRetentionFilter({ mode: 'filter', contentTypes: ['text/*'] });
    const fx = new ChainFixture('retention strip');
    const txs = [tx(other, 'text/plain', [], 1), tx(other, 'image/png', [], 2), tx(other, 'text/csv', [], 3)];
    const block = fx.block(null, txs).block;
    const stored = filter.apply(block);
    expect(stored).not.toBe(block);
    expect(stored.header).toBe(block.header);
    expect(stored.data.map((t) => t.payload === undefined)).toEqual([false, true, false]);
    expect(stored.data.map((t) => toHex(transactionId(t)))).toEqual(txs.map((t) => toHex(transactionId(t))));
    // Already stripped transactions stay as they are; a block with nothing to strip is returned as is.
    expect(filter.apply(stored)).toBe(stored);
    const onlyText = fx.block(null, [txs[0]!, txs[2]!]).block;
    expect(filter.apply(onlyText)).toBe(onlyText);
    expect(encodeBlock(filter.apply(onlyText))).toEqual(encodeBlock(onlyText));
  });

  it('keeps nothing of others when the filter lists nothing', () => {
    const filter = createRetentionFilter({ mode: 'filter' }, own.id);
    expect(filter.keeps(tx(other, 'text/plain'))).toBe(false);
    expect(filter.keeps(tx(own, 'text/plain'))).toBe(true);
  });

  it('refuses an unknown mode', () => {
    expect(() => createRetentionFilter({ mode: 'everything' } as unknown as { mode: 'archive' })).toThrow(InvalidArgumentError);
  });
});
