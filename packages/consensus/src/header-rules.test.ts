import { buildBlock, type BlockHeader } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { checkNotInFuture, checkTimestampNotTooOld, medianTimePast, prepareCommon } from './header-rules.js';

function withTimes(times: readonly number[]): BlockHeader[] {
  const genesis = buildBlock({ parent: null, transactions: [], timestamp: 0 }).header;
  return times.map((timestamp, i) => ({ ...genesis, height: times.length - 1 - i, timestamp }));
}

describe('median time past', () => {
  it('is the median of the last 11 timestamps, parent first, whatever their order', () => {
    expect(medianTimePast(withTimes([5]))).toBe(5);
    expect(medianTimePast(withTimes([9, 1, 5]))).toBe(5);
    expect(medianTimePast(withTimes([10, 20]))).toBe(20); // even count: the upper middle value
    const eleven = [110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10];
    expect(medianTimePast(withTimes(eleven))).toBe(60);
    // A twelfth ancestor is outside the span.
    expect(medianTimePast(withTimes([...eleven, 1_000_000]))).toBe(60);
    expect(medianTimePast(withTimes([1, 1_000_000, 1_000_000, 2, 3]))).toBe(3);
  });

  it('refuses an empty ancestry', () => {
    expect(() => medianTimePast([])).toThrow(/at least the parent/);
  });

  it('accepts a timestamp equal to the median and rejects one below', () => {
    const ancestors = withTimes([30, 20, 10]);
    const header = { ...ancestors[0]!, height: 3 };
    expect(checkTimestampNotTooOld({ ...header, timestamp: 20 }, ancestors)).toBeNull();
    expect(checkTimestampNotTooOld({ ...header, timestamp: 19 }, ancestors)).toMatchObject({ reason: 'timestamp-too-old' });
  });
});

describe('future drift', () => {
  const header = { ...withTimes([0])[0]!, timestamp: 100_000 };

  it('holds a header more than the drift ahead, retrying when it stops being early', () => {
    expect(checkNotInFuture(header, 100_000 - 15_000, 15_000)).toBeNull();
    expect(checkNotInFuture(header, 100_000 - 15_001, 15_000)).toEqual({
      status: 'future',
      retryAt: 85_000,
      message: expect.stringContaining('ahead') as unknown as string,
    });
    expect(checkNotInFuture(header, 99_999, 0)).toMatchObject({ status: 'future', retryAt: 100_000 });
  });
});

describe('prepareCommon', () => {
  const parent = withTimes([5_000])[0]!;
  const child = buildBlock({ parent, transactions: [], timestamp: 6_000 }).header;

  it('raises a timestamp below the median time past and clears seals', () => {
    expect(prepareCommon({ ...child, timestamp: 4_000 }, [parent]).timestamp).toBe(5_000);
    expect(prepareCommon(child, [parent]).timestamp).toBe(6_000);
    const sealed = { ...child, signatures: [{ publicKey: new Uint8Array(32), signature: new Uint8Array(64) }] };
    expect(prepareCommon(sealed, [parent]).signatures).toEqual([]);
  });

  it('refuses a header that is not the child of the first ancestor', () => {
    expect(() => prepareCommon(child, [])).toThrow(/ancestors/);
    expect(() => prepareCommon({ ...child, height: 5 }, [parent])).toThrow(/height/);
    expect(() => prepareCommon({ ...child, timestamp: -1 }, [parent])).toThrow(/timestamp/);
  });
});
