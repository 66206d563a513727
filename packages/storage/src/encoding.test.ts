import { encodeTransaction, stripTransaction } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { encodedAt, encodeTransactions } from './encoding.js';
import { ChainFixture } from './fixtures.js';

describe('encodeTransactions', () => {
  it('gives each transaction exactly the bytes encodeTransaction gives it, full and stripped', () => {
    const fx = new ChainFixture('encoding');
    const txs = [...fx.transactions(5, 700), stripTransaction(fx.transaction(300)), fx.transaction(0), fx.transaction(70_000)];
    const encoded = encodeTransactions(txs);
    txs.forEach((tx, i) => expect(encodedAt(encoded, i)).toEqual(encodeTransaction(tx)));
    expect(encoded.bytes.length).toBe(txs.reduce((n, tx) => n + encodeTransaction(tx).length, 0));
    expect(encodeTransactions([]).bytes.length).toBe(0);
  });

  it('refuses a malformed transaction', () => {
    const tx = new ChainFixture('encoding bad').transaction();
    expect(() => encodeTransactions([tx, { ...tx, signature: new Uint8Array(3) }])).toThrow(/signature/);
  });
});
