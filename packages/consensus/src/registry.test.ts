import { describe, expect, it } from 'vitest';
import type { ChainSpec } from './chain-spec.js';
import type { Consensus } from './consensus.js';
import {
  DuplicateConsensusEngineError,
  InvalidChainSpecError,
  InvalidEngineOptionError,
  UnknownConsensusEngineError,
} from './errors.js';
import { createGenesisBlock } from './genesis.js';
import { assertOptionsObject } from './options.js';
import type { PoaConsensus } from './poa.js';
import type { PowConsensus } from './pow.js';
import { ConsensusRegistry, createConsensus, type ConsensusEngineDefinition } from './registry.js';
import { singleConsensus } from './single.js';
import { deterministicKey, produceHeader, runConsensusCompliance } from './testing.js';

const notaryKey = deterministicKey(41);

/** A company's own engine: one notary key seals, under the engine name "notary". */
const notaryEngine: ConsensusEngineDefinition = {
  name: 'notary',
  create(options, context): Consensus {
    assertOptionsObject('notary', options, ['notary']);
    return { ...singleConsensus({ producers: [options['notary'] as string], maxFutureDriftMs: context.maxFutureDriftMs }), name: 'notary' };
  },
};

const notarySpec: ChainSpec = { name: 'lab', maxFutureDriftMs: 5_000, consensus: { engine: 'notary', notary: notaryKey.id } };

runConsensusCompliance('a registered company engine', () => {
  const registry = ConsensusRegistry.withBuiltins().register(notaryEngine);
  return {
    consensus: createConsensus(notarySpec, registry),
    genesis: createGenesisBlock(notarySpec, 1_700_000_000_000, registry).header,
    sealers: [notaryKey],
    maxFutureDriftMs: 5_000,
  };
});

describe('ConsensusRegistry and createConsensus', () => {
  const validators = [deterministicKey(42).id, deterministicKey(43).id, deterministicKey(44).id];

  it('builds each built-in engine from its spec with the spec options', () => {
    expect(createConsensus({ name: 'a', consensus: { engine: 'single', producers: [validators[0]!] } }).name).toBe('single');
    const poa = createConsensus({ name: 'a', maxFutureDriftMs: 1_000, consensus: { engine: 'poa', validators, threshold: 2, proposerTimeoutMs: 9_000 } }) as PoaConsensus;
    expect(poa.name).toBe('poa');
    expect(poa.threshold).toBe(2);
    expect(poa.proposerTimeoutMs).toBe(9_000);
    const pow = createConsensus({
      name: 'a',
      consensus: { engine: 'pow', initialDifficulty: '18446744073709551615', targetBlockTimeMs: 60_000, adjustmentWindow: 20, maxAdjustmentFactor: 4 },
    }) as PowConsensus;
    expect(pow.rule).toEqual({ initialDifficulty: (1n << 64n) - 1n, targetBlockTimeMs: 60_000, adjustmentWindow: 20, maxAdjustmentFactor: 4 });
    expect(pow.ancestryDepth).toBe(21);
  });

  it('passes the spec drift to the engine', async () => {
    const producer = deterministicKey(42);
    const single = (drift?: number): ChainSpec => ({
      name: 'a',
      ...(drift === undefined ? {} : { maxFutureDriftMs: drift }),
      consensus: { engine: 'single', producers: [producer.id] },
    });
    const genesis = createGenesisBlock(single(), 0).header;
    const header = await produceHeader(createConsensus(single()), [producer], [genesis], 10_000);
    expect(createConsensus(single(0)).validateHeader(header, [genesis], 9_000)).toMatchObject({ status: 'future', retryAt: 10_000 });
    expect(createConsensus(single()).validateHeader(header, [genesis], 9_000)).toEqual({ status: 'valid' });
  });

  it('refuses an unknown engine, listing the known ones', () => {
    let error: unknown;
    try {
      createConsensus({ name: 'a', consensus: { engine: 'raft' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownConsensusEngineError);
    expect((error as UnknownConsensusEngineError).engine).toBe('raft');
    expect((error as Error).message).toContain('single, poa, pow');
    expect(() => createConsensus(notarySpec)).toThrow(UnknownConsensusEngineError); // not in the built-ins
  });

  it('refuses bad specs and bad options with typed errors naming them', () => {
    expect(() => createConsensus({ name: '', consensus: { engine: 'single' } })).toThrow(InvalidChainSpecError);
    const cases: [ChainSpec, string][] = [
      [{ name: 'a', consensus: { engine: 'single', producers: [validators[0]!], producer: 'x' } }, 'producer'],
      [{ name: 'a', consensus: { engine: 'poa', validators, threshold: 2, maxFutureDriftMs: 1 } }, 'maxFutureDriftMs'],
      [{ name: 'a', consensus: { engine: 'poa', validators, threshold: '2' } }, 'threshold'],
      [{ name: 'a', consensus: { engine: 'pow', initialDifficulty: '007', targetBlockTimeMs: 1, adjustmentWindow: 1, maxAdjustmentFactor: 1 } }, 'initialDifficulty'],
      [{ name: 'a', consensus: { engine: 'pow', initialDifficulty: '18446744073709551616', targetBlockTimeMs: 1, adjustmentWindow: 1, maxAdjustmentFactor: 1 } }, 'initialDifficulty'],
      [{ name: 'a', consensus: { engine: 'pow', initialDifficulty: '1', targetBlockTimeMs: 1, adjustmentWindow: 1 } }, 'maxAdjustmentFactor'],
    ];
    for (const [spec, option] of cases) {
      let error: unknown;
      try {
        createConsensus(spec);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidEngineOptionError);
      expect({ engine: spec.consensus.engine, option: (error as InvalidEngineOptionError).option }).toEqual({ engine: spec.consensus.engine, option });
    }
  });

  it('registers engines once, under valid names', () => {
    const registry = new ConsensusRegistry();
    expect(registry.names()).toEqual([]);
    registry.register(notaryEngine);
    expect(registry.names()).toEqual(['notary']);
    expect(registry.get('notary')).toBe(notaryEngine);
    expect(() => registry.register(notaryEngine)).toThrow(DuplicateConsensusEngineError);
    expect(() => registry.register({ ...notaryEngine, name: 'Bad Name' })).toThrow(/definition.name/);
    expect(() => registry.register({ name: 'x' } as unknown as ConsensusEngineDefinition)).toThrow(/definition/);
    expect(ConsensusRegistry.withBuiltins().names()).toEqual(['single', 'poa', 'pow']);
  });
});
