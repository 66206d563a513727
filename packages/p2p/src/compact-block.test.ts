import { encodeBlock, NodeKey, stripTransaction, toHex, transactionId } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { makeTransaction, TestLedger } from '../test/helpers/ledger.js';
import { CompactBlock } from './compact-block.js';
import { decodeMessage, encodeBlockMessage } from './messages.js';

function block(txs: number, size = 256) {
  const producer = NodeKey.generate();
  const ledger = TestLedger.create(producer);
  const origin = NodeKey.generate();
  for (let i = 0; i < txs; i++) ledger.acceptTransactions([makeTransaction(origin, ledger.chainId, size, `r${i}`)]);
  return ledger.produce(producer, txs);
}

describe('CompactBlock', () => {
  it('sends a peer that knows nothing the whole block, byte for byte the BLOCK message', () => {
    const b = block(5);
    const compact = new CompactBlock(b, 4 * 1024 * 1024);
    expect(compact.messageFor(() => false)).toEqual(encodeBlockMessage(encodeBlock(b)));
    expect(compact.ids).toEqual(b.data.map((tx) => toHex(transactionId(tx))));
  });

  it('strips exactly the transactions the peer is known to have', () => {
    const b = block(6);
    const compact = new CompactBlock(b, 4 * 1024 * 1024);
    const known = new Set([compact.ids[1]!, compact.ids[4]!]);
    const message = compact.messageFor((id) => known.has(id))!;
    const decoded = decodeMessage(message);
    expect(decoded.type).toBe('block');
    if (decoded.type !== 'block') return;
    expect(decoded.block.header).toEqual(b.header);
    expect(decoded.block.data).toEqual(b.data.map((tx, i) => (i === 1 || i === 4 ? stripTransaction(tx) : tx)));
    expect(message.length).toBe(1 + encodeBlock(b).length - 2 * 256);
  });

  it('strips everything when the block does not fit one message, and gives up when even that does not fit', () => {
    const b = block(40, 4096);
    const whole = encodeBlock(b).length;
    const compact = new CompactBlock(b, whole - 1000);
    const decoded = decodeMessage(compact.messageFor(() => false)!);
    if (decoded.type !== 'block') throw new Error('expected a block');
    expect(decoded.block.data).toEqual(b.data.map(stripTransaction));
    expect(new CompactBlock(b, 1000).messageFor(() => true)).toBeUndefined();
  });
});
