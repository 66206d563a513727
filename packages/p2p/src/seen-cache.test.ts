import { InvalidArgumentError } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { SeenCache } from './seen-cache.js';

describe('SeenCache', () => {
  it('answers whether an id was added, once per id', () => {
    const cache = new SeenCache(10);
    expect(cache.add('a')).toBe(true);
    expect(cache.add('a')).toBe(false);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(1);
  });

  it('holds at most its capacity, forgetting the oldest first', () => {
    const cache = new SeenCache(3);
    for (const id of ['a', 'b', 'c', 'd']) cache.add(id);
    expect(cache.size).toBe(3);
    expect(cache.has('a')).toBe(false);
    expect([...['b', 'c', 'd']].every((id) => cache.has(id))).toBe(true);
  });

  it('does not extend the life of an id seen again (first in, first out)', () => {
    const cache = new SeenCache(2);
    cache.add('a');
    cache.add('b');
    cache.add('a');
    cache.add('c');
    expect(cache.has('a')).toBe(false);
    expect(cache.has('b')).toBe(true);
  });

  it('stays bounded under many ids', () => {
    const cache = new SeenCache(1_000);
    for (let i = 0; i < 50_000; i++) cache.add(`id-${i}`);
    expect(cache.size).toBe(1_000);
    expect(cache.has('id-49999')).toBe(true);
    expect(cache.has('id-48999')).toBe(false);
  });

  it('deletes and clears', () => {
    const cache = new SeenCache(5);
    cache.add('a');
    expect(cache.delete('a')).toBe(true);
    expect(cache.add('a')).toBe(true);
    cache.clear();
    expect(cache.size).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new SeenCache(bad)).toThrow(InvalidArgumentError);
  });
});

describe('SeenCache eviction', () => {
  it('forgets in insertion order across deletes and re-adds', () => {
    const cache = new SeenCache(3);
    for (const id of ['a', 'b', 'c']) cache.add(id);
    cache.delete('a');
    cache.add('a'); // now the newest: 'b' is the oldest
    cache.add('d');
    expect(['a', 'c', 'd'].every((id) => cache.has(id))).toBe(true);
    expect(cache.has('b')).toBe(false);
    cache.add('e');
    cache.add('f');
    expect(cache.has('c')).toBe(false);
    expect(cache.has('a')).toBe(false);
    expect(['d', 'e', 'f'].every((id) => cache.has(id))).toBe(true);
    expect(cache.size).toBe(3);
  });

  it('keeps a full cache cheap: a million adds well within a test timeout', () => {
    const cache = new SeenCache(100_000);
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) cache.add(`id-${i}`);
    expect(cache.size).toBe(100_000);
    expect(cache.has('id-999999')).toBe(true);
    expect(cache.has('id-899999')).toBe(false);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
