import { InvalidArgumentError } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.js';
import { TokenBucket } from './rate-limit.js';

describe('Backoff', () => {
  it('doubles the ceiling per failure up to the maximum', () => {
    const backoff = new Backoff({ baseMs: 100, maxMs: 1_000 });
    expect([0, 1, 2, 3, 4, 5, 50, 5_000].map((n) => backoff.ceiling(n))).toEqual([0, 100, 200, 400, 800, 1_000, 1_000, 1_000]);
  });

  it('jitters between half and all of the ceiling', () => {
    expect(new Backoff({ baseMs: 100, maxMs: 1_000 }, () => 0).delay(3)).toBe(200);
    expect(new Backoff({ baseMs: 100, maxMs: 1_000 }, () => 0.999_999).delay(3)).toBeCloseTo(400, 3);
    const random = new Backoff({ baseMs: 100, maxMs: 10_000 });
    const delays = Array.from({ length: 200 }, () => random.delay(4));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(400);
    expect(Math.max(...delays)).toBeLessThanOrEqual(800);
    expect(new Set(delays.map((d) => Math.round(d))).size).toBeGreaterThan(20);
  });

  it('refuses bad options', () => {
    expect(() => new Backoff({ baseMs: 0 })).toThrow(InvalidArgumentError);
    expect(() => new Backoff({ baseMs: 100, maxMs: 50 })).toThrow(InvalidArgumentError);
  });
});

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const bucket = new TokenBucket(10, 20, 0);
    let taken = 0;
    while (bucket.take(1, 0)) taken++;
    expect(taken).toBe(20);
    expect(bucket.take(1, 50)).toBe(false);
    expect(bucket.take(1, 100)).toBe(true);
    // A long pause refills to the burst, not beyond.
    let later = 0;
    while (bucket.take(1, 60_000)) later++;
    expect(later).toBe(20);
  });
});
