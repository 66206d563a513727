import { describe, expect, it } from 'vitest';
import { HashIndex, KeyTable, NumberColumn } from './hash-index.js';

/** Keys equal in their first `shared` bytes, different after: worst cases for a hash of the leading bytes. */
function key(n: number, shared: number): Uint8Array {
  const k = new Uint8Array(32).fill(0xab, 0, shared);
  new DataView(k.buffer).setUint32(28, n);
  return k;
}

describe('HashIndex', () => {
  it('finds every key among many that share their first 28 bytes, through several table doublings', () => {
    const keys = new KeyTable();
    const index = new HashIndex(() => keys.bytes, 8);
    for (let n = 0; n < 20_000; n++) index.add(keys.push(key(n, 28)));
    for (let n = 0; n < 20_000; n++) expect(index.first(key(n, 28))).toBe(n);
    expect(index.first(key(20_000, 28))).toBe(-1);
    expect(index.first(key(0, 27))).toBe(-1);
  });

  it('chains items with equal keys, newest first', () => {
    const keys = new KeyTable();
    const index = new HashIndex(() => keys.bytes, 4);
    const a = key(1, 0);
    const items = [keys.push(a), keys.push(key(2, 0)), keys.push(a), keys.push(a)];
    items.forEach((i) => index.add(i));
    const chain: number[] = [];
    for (let i = index.first(a); i >= 0; i = index.next(i)) chain.push(i);
    expect(chain).toEqual([3, 2, 0]);
    expect(index.first(key(2, 0))).toBe(1);
    expect(index.next(1)).toBe(-1);
  });
});

describe('KeyTable and NumberColumn', () => {
  it('grow without losing what they hold, and hand out copies', () => {
    const keys = new KeyTable();
    const column = new NumberColumn();
    for (let n = 0; n < 3000; n++) {
      keys.push(key(n, 4));
      column.set(n, n * 1.5 + 2 ** 40);
    }
    expect(keys.count).toBe(3000);
    expect(keys.key(2999)).toEqual(key(2999, 4));
    expect(keys.equals(1234, key(1234, 4))).toBe(true);
    expect(keys.equals(1234, key(1235, 4))).toBe(false);
    const copy = keys.key(5);
    copy[0] = 0;
    expect(keys.key(5)).toEqual(key(5, 4));
    expect(column.get(2999)).toBe(2999 * 1.5 + 2 ** 40);
  });
});
