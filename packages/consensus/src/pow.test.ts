import { blockHash, buildBlock, signBlockHeader, type BlockHeader } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { MAX_DIFFICULTY, meetsTarget, powTargetBytes } from './difficulty.js';
import { AbortError, InvalidEngineOptionError, NonceSpaceExhaustedError } from './errors.js';
import { createGenesisBlock } from './genesis.js';
import { powConsensus, type PowConsensusOptions } from './pow.js';
import { createConsensus } from './registry.js';
import { ancestorsOf, deterministicKey, produceHeader, runConsensusCompliance } from './testing.js';

const miner = deterministicKey(21);
const base: PowConsensusOptions = { initialDifficulty: 1n << 14n, targetBlockTimeMs: 1_000, adjustmentWindow: 5, maxAdjustmentFactor: 4 };

runConsensusCompliance('pow', () => ({ consensus: powConsensus(base), sealers: [miner], maxFutureDriftMs: 15_000 }));

runConsensusCompliance('pow (from a chain spec, window 1)', () => {
  const spec = {
    name: 'compliance',
    maxFutureDriftMs: 2_000,
    consensus: { engine: 'pow', initialDifficulty: '4096', targetBlockTimeMs: 1_000, adjustmentWindow: 1, maxAdjustmentFactor: 2 },
  };
  return {
    consensus: createConsensus(spec),
    genesis: createGenesisBlock(spec, 1_700_000_000_000).header,
    sealers: [miner],
    maxFutureDriftMs: 2_000,
  };
});

const genesis = buildBlock({ parent: null, transactions: [], timestamp: 1_000_000 }).header;

describe('powConsensus: target and seal', () => {
  const consensus = powConsensus(base);

  it('seals a header whose hash meets the target, and validates it', async () => {
    const header = await produceHeader(consensus, [miner], [genesis], genesis.timestamp + 1_000);
    expect(header.difficulty).toBe(base.initialDifficulty);
    expect(meetsTarget(blockHash(header), powTargetBytes(header.difficulty))).toBe(true);
    expect(consensus.validateHeader(header, [genesis], header.timestamp)).toEqual({ status: 'valid' });
    expect(consensus.work(header)).toBe(base.initialDifficulty);
  });

  it('rejects a nonce whose hash misses the target', async () => {
    const header = await produceHeader(consensus, [miner], [genesis], genesis.timestamp + 1_000);
    const target = powTargetBytes(header.difficulty);
    let nonce = header.nonces[0]! + 1n;
    while (meetsTarget(blockHash({ ...header, nonces: [nonce] }), target)) nonce++;
    const missing = { ...header, nonces: [nonce] };
    expect(consensus.validateHeader(missing, [genesis], header.timestamp)).toMatchObject({ status: 'invalid', reason: 'insufficient-work' });
  });

  it('rejects a difficulty other than the rule requires, even with its work done', async () => {
    const prepared = consensus.prepareHeader(buildBlock({ parent: genesis, transactions: [], timestamp: genesis.timestamp + 1_000 }).header, [genesis], miner.publicKey, 0)!;
    const easier = await consensus.seal({ ...prepared, difficulty: 2n }, miner);
    expect(consensus.validateHeader(easier, [genesis], easier.timestamp)).toMatchObject({ reason: 'bad-difficulty' });
  });

  it('rejects seals and extra data on a proof-of-work header', async () => {
    const header = await produceHeader(consensus, [miner], [genesis], genesis.timestamp + 1_000);
    expect(consensus.validateHeader(signBlockHeader(header, miner), [genesis], header.timestamp)).toMatchObject({ reason: 'unexpected-seal' });
    const withData = await consensus.seal({ ...header, extraData: new Uint8Array([1]) }, miner);
    expect(consensus.validateHeader(withData, [genesis], header.timestamp)).toMatchObject({ reason: 'bad-extra-data' });
  });

  it('searches nonces[0] upward from its value and keeps the other nonces', async () => {
    const unsealed = buildBlock({ parent: genesis, transactions: [], timestamp: genesis.timestamp + 1_000, nonces: [1_000n, 77n] }).header;
    const prepared = consensus.prepareHeader(unsealed, [genesis], miner.publicKey, 0)!;
    expect(prepared.nonces).toEqual([1_000n, 77n]);
    const sealed = await consensus.seal(prepared, miner);
    expect(sealed.nonces[0]!).toBeGreaterThanOrEqual(1_000n);
    expect(sealed.nonces[1]).toBe(77n);
    expect(consensus.validateHeader(sealed, [genesis], sealed.timestamp)).toEqual({ status: 'valid' });
    // Every nonce below the one found misses the target: the search did not skip any.
    const target = powTargetBytes(sealed.difficulty);
    for (let n = 1_000n; n < sealed.nonces[0]!; n++) expect(meetsTarget(blockHash({ ...sealed, nonces: [n, 77n] }), target)).toBe(false);
  });

  it('crosses the 32-bit boundary of the nonce and reports an exhausted nonce space', async () => {
    const hard = powConsensus({ ...base, initialDifficulty: 1n << 60n });
    const atTop = { ...buildBlock({ parent: genesis, transactions: [], timestamp: 1 }).header, difficulty: 1n << 60n, nonces: [(1n << 64n) - 3n] };
    await expect(hard.seal(atTop, miner)).rejects.toBeInstanceOf(NonceSpaceExhaustedError);
    // From 2^32 - 1 the search must carry into the high word; the hash of the result proves the bytes it wrote.
    const boundary = { ...atTop, difficulty: 256n, nonces: [0xffff_ffffn] };
    const sealed = await hard.seal(boundary, miner);
    expect(sealed.nonces[0]!).toBeGreaterThan(0xffff_ffffn);
    const target = powTargetBytes(256n);
    expect(meetsTarget(blockHash(sealed), target)).toBe(true);
    for (let n = 0xffff_ffffn; n < sealed.nonces[0]!; n++) expect(meetsTarget(blockHash({ ...sealed, nonces: [n] }), target)).toBe(false);
  });

  it('stops on abort while searching, without blocking the event loop', async () => {
    const hard = powConsensus({ ...base, initialDifficulty: MAX_DIFFICULTY });
    const header = { ...buildBlock({ parent: genesis, transactions: [], timestamp: 1 }).header, difficulty: MAX_DIFFICULTY, nonces: [0n] };
    const controller = new AbortController();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('stop')), 100);
    const error: unknown = await hard.seal(header, miner, controller.signal).catch((e: unknown) => e);
    clearInterval(timer);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).name).toBe('AbortError');
    expect(((error as AbortError).cause as Error).message).toBe('stop');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});

/** A chain of headers with the given timestamps and difficulties (no seals: ancestors are trusted input). */
function ancestry(timestamps: readonly number[], difficulty: bigint): BlockHeader[] {
  const chain: BlockHeader[] = [];
  timestamps.forEach((timestamp, height) => {
    chain.push({ ...buildBlock({ parent: chain[height - 1] ?? null, transactions: [], timestamp }).header, difficulty });
  });
  return chain.reverse();
}

describe('powConsensus: difficulty adjustment', () => {
  const rule = { initialDifficulty: 1_000n, targetBlockTimeMs: 1_000, adjustmentWindow: 4, maxAdjustmentFactor: 4 };
  const consensus = powConsensus(rule);
  const spaced = (count: number, spacing: number): number[] => Array.from({ length: count }, (_, i) => (i === 0 ? 0 : 10_000_000 + i * spacing));

  it('uses the initial difficulty after genesis and the parent difficulty between retargets', () => {
    expect(consensus.nextDifficulty(ancestry([0], 1n))).toBe(1_000n);
    expect(consensus.nextDifficulty(ancestry(spaced(3, 10), 1_000n))).toBe(1_000n); // height 3: no retarget
    expect(consensus.nextDifficulty(ancestry(spaced(6, 10), 777n))).toBe(777n); // height 6
  });

  it('keeps the difficulty when blocks come at the target time, leaving the genesis timestamp out', () => {
    // Height 4: intervals between blocks 1..3 only; the genesis at time 0 is long before block 1.
    expect(consensus.nextDifficulty(ancestry(spaced(4, 1_000), 1_000n))).toBe(1_000n);
    expect(consensus.nextDifficulty(ancestry(spaced(8, 1_000), 1_000n))).toBe(1_000n);
  });

  it('scales with the measured block time inside the clamp', () => {
    expect(consensus.nextDifficulty(ancestry(spaced(8, 500), 1_000n))).toBe(2_000n);
    expect(consensus.nextDifficulty(ancestry(spaced(8, 2_000), 1_000n))).toBe(500n);
  });

  it('clamps each step to maxAdjustmentFactor up and down', () => {
    expect(consensus.nextDifficulty(ancestry(spaced(8, 10), 1_000n))).toBe(4_000n);
    expect(consensus.nextDifficulty(ancestry(spaced(8, 1_000_000), 1_000n))).toBe(250n);
    const still = ancestry(spaced(8, 0), 1_000n); // no time passed at all
    expect(consensus.nextDifficulty(still)).toBe(4_000n);
  });

  it('never goes below 1 nor above 2^64 - 1', () => {
    expect(consensus.nextDifficulty(ancestry(spaced(8, 1_000_000), 3n))).toBe(1n);
    expect(consensus.nextDifficulty(ancestry(spaced(8, 1_000_000), 1n))).toBe(1n);
    expect(consensus.nextDifficulty(ancestry(spaced(8, 10), MAX_DIFFICULTY / 2n))).toBe(MAX_DIFFICULTY);
  });

  it('holds the difficulty with a factor of 1', () => {
    const fixed = powConsensus({ ...rule, maxAdjustmentFactor: 1 });
    expect(fixed.nextDifficulty(ancestry(spaced(8, 10), 1_000n))).toBe(1_000n);
  });

  it('asks for window + 1 ancestors and refuses to compute from too few', () => {
    expect(consensus.ancestryDepth).toBe(11);
    expect(powConsensus({ ...rule, adjustmentWindow: 100 }).ancestryDepth).toBe(101);
    expect(() => consensus.nextDifficulty(ancestry(spaced(8, 10), 1_000n).slice(0, 2))).toThrow(/needs 5/);
    expect(() => consensus.nextDifficulty([])).toThrow(/at least the parent/);
  });

  it('validates a mined chain through retargets and rejects the stale difficulty', async () => {
    const fast = powConsensus({ initialDifficulty: 16n, targetBlockTimeMs: 1_000, adjustmentWindow: 4, maxAdjustmentFactor: 2 });
    const chain = [genesis];
    for (let h = 1; h <= 9; h++) {
      chain.push(await produceHeader(fast, [miner], ancestorsOf(chain, fast.ancestryDepth), genesis.timestamp + h * 100));
    }
    expect(chain.map((h) => h.difficulty)).toEqual([1n, 16n, 16n, 16n, 32n, 32n, 32n, 32n, 64n, 64n]);
    for (let h = 1; h < chain.length; h++) {
      const ancestors = ancestorsOf(chain.slice(0, h), fast.ancestryDepth);
      expect(fast.validateHeader(chain[h]!, ancestors, chain[h]!.timestamp)).toEqual({ status: 'valid' });
    }
    const ancestors = ancestorsOf(chain.slice(0, 8), fast.ancestryDepth);
    const stale = await fast.seal({ ...chain[8]!, difficulty: 32n }, miner);
    expect(fast.validateHeader(stale, ancestors, stale.timestamp)).toMatchObject({ reason: 'bad-difficulty' });
  });
});

describe('powConsensus: options', () => {
  it('validates its options strictly, naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, initialDifficulty: 0n }, 'initialDifficulty'],
      [{ ...base, initialDifficulty: 5 }, 'initialDifficulty'],
      [{ ...base, initialDifficulty: 1n << 64n }, 'initialDifficulty'],
      [{ ...base, targetBlockTimeMs: 0 }, 'targetBlockTimeMs'],
      [{ ...base, adjustmentWindow: 0 }, 'adjustmentWindow'],
      [{ ...base, adjustmentWindow: 4097 }, 'adjustmentWindow'],
      [{ ...base, maxAdjustmentFactor: 0 }, 'maxAdjustmentFactor'],
      [{ ...base, maxAdjustmentFactor: 1.5 }, 'maxAdjustmentFactor'],
      [{ ...base, maxFutureDriftMs: 86_400_001 }, 'maxFutureDriftMs'],
      [{ ...base, sealSliceMs: 0 }, 'sealSliceMs'],
      [{ ...base, difficulty: 1n }, 'difficulty'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        powConsensus(options as unknown as PowConsensusOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidEngineOptionError);
      expect({ options, option: (error as InvalidEngineOptionError).option }).toEqual({ options, option });
    }
  });
});
