import { buildBlock, signBlockHeader, type BlockHeader } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { InvalidEngineOptionError, UnauthorisedSealerError } from './errors.js';
import { singleConsensus } from './single.js';
import { ancestorsOf, deterministicKey, produceHeader, runConsensusCompliance } from './testing.js';

const producer = deterministicKey(1);
const standby = deterministicKey(2);
const outsider = deterministicKey(3);

runConsensusCompliance('single', () => ({
  consensus: singleConsensus({ producers: [producer.id, standby.id] }),
  sealers: [producer],
  maxFutureDriftMs: 15_000,
}));

runConsensusCompliance('single (standby producer, zero drift)', () => ({
  consensus: singleConsensus({ producers: [producer.id, standby.id], maxFutureDriftMs: 0 }),
  sealers: [standby],
  maxFutureDriftMs: 0,
}));

describe('singleConsensus', () => {
  const consensus = singleConsensus({ producers: [producer.id, standby.id] });
  const genesis = buildBlock({ parent: null, transactions: [], timestamp: 1_000 }).header;
  const unsealed = buildBlock({ parent: genesis, transactions: [], timestamp: 2_000 }).header;

  function verdict(header: BlockHeader): ReturnType<typeof consensus.validateHeader> {
    return consensus.validateHeader(header, [genesis], 2_000);
  }

  it('accepts a block sealed by any listed producer', async () => {
    for (const key of [producer, standby]) {
      const header = await produceHeader(consensus, [key], [genesis], 2_000);
      expect(verdict(header)).toEqual({ status: 'valid' });
    }
  });

  it('rejects a seal by a key that is not a producer', () => {
    const header = signBlockHeader(unsealed, outsider);
    expect(verdict(header)).toMatchObject({ status: 'invalid', reason: 'unknown-signer' });
  });

  it('rejects an unsealed header and one with two seals', () => {
    expect(verdict(unsealed)).toMatchObject({ status: 'invalid', reason: 'missing-seal' });
    const twice = signBlockHeader(signBlockHeader(unsealed, producer), standby);
    expect(verdict(twice)).toMatchObject({ status: 'invalid', reason: 'too-many-seals' });
  });

  it('rejects a seal that does not verify', () => {
    const sealed = signBlockHeader(unsealed, producer);
    const forged = { ...sealed, signatures: [{ ...sealed.signatures[0]!, signature: new Uint8Array(64).fill(9) }] };
    expect(verdict(forged)).toMatchObject({ status: 'invalid', reason: 'bad-seal' });
  });

  it('rejects consensus fields it does not use', () => {
    expect(verdict(signBlockHeader({ ...unsealed, difficulty: 2n }, producer))).toMatchObject({ reason: 'bad-difficulty' });
    expect(verdict(signBlockHeader({ ...unsealed, nonces: [0n] }, producer))).toMatchObject({ reason: 'bad-nonces' });
    expect(verdict(signBlockHeader({ ...unsealed, extraData: new Uint8Array(1) }, producer))).toMatchObject({ reason: 'bad-extra-data' });
  });

  it('lets only producers propose, and raises a timestamp below the median time past', () => {
    expect(consensus.prepareHeader(unsealed, [genesis], outsider.publicKey, 2_000)).toBeNull();
    const early = { ...unsealed, timestamp: 500 };
    expect(consensus.prepareHeader(early, [genesis], producer.publicKey, 500)?.timestamp).toBe(genesis.timestamp);
  });

  it('refuses to seal with an outsider key, and keeps blocks non-final', async () => {
    await expect(consensus.seal(unsealed, outsider)).rejects.toBeInstanceOf(UnauthorisedSealerError);
    const header = await produceHeader(consensus, [producer], [genesis], 2_000);
    expect(consensus.isFinal(header)).toBe(false);
    expect(consensus.work(header)).toBe(1n);
  });

  it('checks ancestry: missing parent, wrong height, wrong previous hash', () => {
    const sealed = signBlockHeader(unsealed, producer);
    expect(consensus.validateHeader(sealed, [], 2_000)).toMatchObject({ reason: 'missing-ancestors' });
    const child = buildBlock({ parent: sealed, transactions: [], timestamp: 3_000 }).header;
    expect(consensus.validateHeader(signBlockHeader(child, producer), [sealed], 3_000)).toMatchObject({ reason: 'missing-ancestors' });
    expect(consensus.validateHeader(signBlockHeader(child, producer), [sealed, sealed], 3_000)).toMatchObject({ reason: 'bad-ancestry' });
    expect(consensus.validateHeader(signBlockHeader(child, producer), [genesis], 3_000)).toMatchObject({ reason: 'bad-parent' });
  });

  it('validates its options strictly, naming the option', () => {
    const cases: [unknown, string][] = [
      [{}, 'producers'],
      [{ producers: [] }, 'producers'],
      [{ producers: ['zz'] }, 'producers[0]'],
      [{ producers: [producer.id.toUpperCase()] }, 'producers[0]'],
      [{ producers: [producer.id, producer.id] }, 'producers[1]'],
      [{ producers: ['00'.repeat(32)] }, 'producers[0]'],
      [{ producers: [producer.id], maxFutureDriftMs: -1 }, 'maxFutureDriftMs'],
      [{ producers: [producer.id], maxFutureDriftMs: 1.5 }, 'maxFutureDriftMs'],
      [{ producers: [producer.id], producer: producer.id }, 'producer'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        singleConsensus(options as Parameters<typeof singleConsensus>[0]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidEngineOptionError);
      expect((error as InvalidEngineOptionError).option).toBe(option);
    }
  });

  it('works from ancestors given by a longer chain', async () => {
    const chain = [genesis];
    for (let i = 1; i <= 15; i++) {
      chain.push(await produceHeader(consensus, [producer], ancestorsOf(chain, 11), genesis.timestamp + i * 100));
    }
    const ancestors = ancestorsOf(chain.slice(0, 15), 11);
    expect(consensus.validateHeader(chain[15]!, ancestors, chain[15]!.timestamp)).toEqual({ status: 'valid' });
  });
});
