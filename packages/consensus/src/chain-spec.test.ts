import { blockHash, merkleRoot, utf8, ZERO_HASH, type BlockHeader } from '@safechain/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertChainSpec, decodeChainSpec, encodeChainSpec, type ChainSpec } from './chain-spec.js';
import {
  ChainSpecTooLargeError,
  InvalidChainSpecError,
  InvalidEngineOptionError,
  NonCanonicalChainSpecError,
  UnknownConsensusEngineError,
} from './errors.js';
import { chainSpecOf, createGenesisBlock } from './genesis.js';
import { deterministicKey } from './testing.js';

const validators = [deterministicKey(31).id, deterministicKey(32).id];
const spec: ChainSpec = {
  name: 'plant-7',
  maxFutureDriftMs: 10_000,
  consensus: { engine: 'poa', validators, threshold: 2, proposerTimeoutMs: 20_000 },
};

const text = (s: string): Uint8Array => utf8(s);

describe('chain spec: canonical JSON', () => {
  it('encodes with sorted keys and no whitespace, and decodes its own bytes', () => {
    const bytes = encodeChainSpec(spec);
    expect(new TextDecoder().decode(bytes)).toBe(
      `{"consensus":{"engine":"poa","proposerTimeoutMs":20000,"threshold":2,"validators":["${validators[0]}","${validators[1]}"]},` +
        '"maxFutureDriftMs":10000,"name":"plant-7"}',
    );
    expect(decodeChainSpec(bytes)).toEqual(spec);
    expect(encodeChainSpec(decodeChainSpec(bytes))).toEqual(bytes);
    expect(Object.isFrozen(decodeChainSpec(bytes).consensus)).toBe(true);
  });

  it('gives one encoding whatever the key order of the value', () => {
    const reordered: ChainSpec = { consensus: { threshold: 2, validators, engine: 'poa', proposerTimeoutMs: 20_000 }, name: 'plant-7', maxFutureDriftMs: 10_000 };
    expect(encodeChainSpec(reordered)).toEqual(encodeChainSpec(spec));
  });

  it.each([
    ['whitespace', '{"consensus": {"engine":"single"},"name":"a"}'],
    ['a trailing newline', '{"consensus":{"engine":"single"},"name":"a"}\n'],
    ['unsorted keys', '{"name":"a","consensus":{"engine":"single"}}'],
    ['a repeated key', '{"consensus":{"engine":"single"},"name":"a","name":"a"}'],
    ['a number spelt 1.0', '{"consensus":{"engine":"single","x":1.0},"name":"a"}'],
    ['a number spelt 1e3', '{"consensus":{"engine":"single","x":1e3},"name":"a"}'],
    ['a negative zero', '{"consensus":{"engine":"single","x":-0},"name":"a"}'],
    ['a number beyond double precision', '{"consensus":{"engine":"single","x":12345678901234567890},"name":"a"}'],
    ['an escaped plain letter', '{"consensus":{"engine":"single"},"name":"\\u0061"}'],
    ['an escaped slash', '{"consensus":{"engine":"single"},"name":"a\\/b"}'],
    ['an upper-case escape', '{"consensus":{"engine":"single"},"name":"\\u001F"}'],
  ])('rejects %s as non-canonical', (_, json) => {
    expect(() => decodeChainSpec(text(json))).toThrow(NonCanonicalChainSpecError);
  });

  it('rejects a byte order mark, invalid UTF-8 and text that is not JSON', () => {
    const json = text('{"consensus":{"engine":"single"},"name":"a"}');
    expect(() => decodeChainSpec(new Uint8Array([0xef, 0xbb, 0xbf, ...json]))).toThrow(InvalidChainSpecError);
    expect(() => decodeChainSpec(new Uint8Array([...json.subarray(0, 40), 0xff, ...json.subarray(40)]))).toThrow(InvalidChainSpecError);
    expect(() => decodeChainSpec(text('{"consensus":'))).toThrow(InvalidChainSpecError);
    expect(() => decodeChainSpec(new Uint8Array(0))).toThrow(InvalidChainSpecError);
  });

  it('rejects a lone surrogate even when escaped canonically', () => {
    expect(() => decodeChainSpec(text('{"consensus":{"engine":"single"},"name":"\\ud800"}'))).toThrow(InvalidChainSpecError);
    expect(() => encodeChainSpec({ ...spec, name: '\ud800' })).toThrow(InvalidChainSpecError);
  });

  it('bounds size before decoding and nesting while checking', () => {
    expect(() => decodeChainSpec(new Uint8Array(64 * 1024 + 1).fill(0x20))).toThrow(ChainSpecTooLargeError);
    const deep = `{"consensus":{"engine":"single","x":${'['.repeat(40)}${']'.repeat(40)}},"name":"a"}`;
    expect(() => decodeChainSpec(text(deep))).toThrow(ChainSpecTooLargeError);
    const huge = `{"consensus":{"engine":"single","x":${'['.repeat(30_000)}${']'.repeat(30_000)}},"name":"a"}`;
    expect(() => decodeChainSpec(text(huge))).toThrow(ChainSpecTooLargeError);
    expect(() => encodeChainSpec({ ...spec, consensus: { engine: 'x', blob: 'a'.repeat(70_000) } })).toThrow(ChainSpecTooLargeError);
  });

  it.each([
    ['not an object', '[]', '$'],
    ['no name', '{"consensus":{"engine":"single"}}', 'name'],
    ['an empty name', '{"consensus":{"engine":"single"},"name":""}', 'name'],
    ['a name too long', `{"consensus":{"engine":"single"},"name":"${'n'.repeat(129)}"}`, 'name'],
    ['no consensus', '{"name":"a"}', 'consensus'],
    ['no engine', '{"consensus":{},"name":"a"}', 'consensus.engine'],
    ['an engine name with upper case', '{"consensus":{"engine":"PoA"},"name":"a"}', 'consensus.engine'],
    ['an unknown top-level field', '{"consensus":{"engine":"single"},"genesis":1,"name":"a"}', 'genesis'],
    ['a negative drift', '{"consensus":{"engine":"single"},"maxFutureDriftMs":-1,"name":"a"}', 'maxFutureDriftMs'],
    ['a fractional drift', '{"consensus":{"engine":"single"},"maxFutureDriftMs":1.5,"name":"a"}', 'maxFutureDriftMs'],
    ['a drift over a day', '{"consensus":{"engine":"single"},"maxFutureDriftMs":86400001,"name":"a"}', 'maxFutureDriftMs'],
  ])('rejects a spec with %s, naming the field', (_, json, field) => {
    let error: unknown;
    try {
      decodeChainSpec(text(json));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidChainSpecError);
    expect((error as InvalidChainSpecError).field).toBe(field);
  });

  it('rejects values JSON cannot carry when encoding', () => {
    const bad = (consensus: Record<string, unknown>): ChainSpec => ({ name: 'a', consensus: { engine: 'x', ...consensus } as ChainSpec['consensus'] });
    for (const value of [undefined, 1n, Number.NaN, Number.POSITIVE_INFINITY, new Date(0), () => 1, new Uint8Array(1)]) {
      expect(() => encodeChainSpec(bad({ v: value }))).toThrow(InvalidChainSpecError);
    }
    expect(() => encodeChainSpec(bad({ v: [1, , 3] }))).toThrow(InvalidChainSpecError); // eslint-disable-line no-sparse-arrays
    expect(() => assertChainSpec(null)).toThrow(InvalidChainSpecError);
    expect(() => encodeChainSpec({ ...spec, maxFutureDriftMs: undefined } as unknown as ChainSpec)).toThrow(InvalidChainSpecError);
  });

  it('round-trips arbitrary JSON options, and rejects any single-byte change it does not reproduce', () => {
    const arbOptions = fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== 'engine'),
      fc.jsonValue({ maxDepth: 4 }),
      { maxKeys: 6 },
    );
    fc.assert(
      fc.property(arbOptions, fc.string({ minLength: 1, maxLength: 20 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (options, name, at, delta) => {
        const value = JSON.parse(JSON.stringify({ name, consensus: { ...options, engine: 'custom' } })) as ChainSpec;
        let bytes: Uint8Array;
        try {
          bytes = encodeChainSpec(value);
        } catch (error) {
          // Only lone surrogates (fast-check strings may hold them) are refused.
          expect(error).toBeInstanceOf(InvalidChainSpecError);
          return;
        }
        const decoded = decodeChainSpec(bytes);
        expect(encodeChainSpec(decoded)).toEqual(bytes);
        const changed = bytes.slice();
        changed[at % changed.length] = (changed[at % changed.length]! + delta) & 0xff;
        try {
          const other = decodeChainSpec(changed);
          expect(encodeChainSpec(other)).toEqual(changed); // accepted only if it is itself canonical
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).name).toMatch(/ChainSpec/);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('genesis', () => {
  it('builds height 0 with no transactions, a zero previous hash and the spec as extra data', () => {
    const { header, data } = createGenesisBlock(spec, 1_700_000_000_000);
    expect(header.height).toBe(0);
    expect(header.timestamp).toBe(1_700_000_000_000);
    expect(header.previousHash).toEqual(ZERO_HASH);
    expect(header.txCount).toBe(0);
    expect(header.merkleRoot).toEqual(merkleRoot([]));
    expect(header.difficulty).toBe(1n);
    expect(header.nonces).toEqual([]);
    expect(header.signatures).toEqual([]);
    expect(header.extraData).toEqual(encodeChainSpec(spec));
    expect(data).toEqual([]);
    expect(chainSpecOf(header)).toEqual(spec);
  });

  it('takes the genesis difficulty from a proof-of-work spec', () => {
    const pow: ChainSpec = {
      name: 'mill',
      consensus: { engine: 'pow', initialDifficulty: '123456789012345', targetBlockTimeMs: 5_000, adjustmentWindow: 10, maxAdjustmentFactor: 4 },
    };
    expect(createGenesisBlock(pow, 0).header.difficulty).toBe(123_456_789_012_345n);
  });

  it('names the chain and its rules: another spec or time gives another genesis hash', () => {
    const a = blockHash(createGenesisBlock(spec, 1).header);
    expect(blockHash(createGenesisBlock(spec, 1).header)).toEqual(a);
    expect(blockHash(createGenesisBlock(spec, 2).header)).not.toEqual(a);
    expect(blockHash(createGenesisBlock({ ...spec, consensus: { ...spec.consensus, threshold: 1 } }, 1).header)).not.toEqual(a);
  });

  it('refuses a spec no node could load: unknown engine, bad options, bad timestamp', () => {
    expect(() => createGenesisBlock({ name: 'a', consensus: { engine: 'raft' } }, 0)).toThrow(UnknownConsensusEngineError);
    expect(() => createGenesisBlock({ ...spec, consensus: { ...spec.consensus, threshold: 3 } }, 0)).toThrow(InvalidEngineOptionError);
    expect(() => createGenesisBlock({ name: 'a', consensus: { engine: 'pow', initialDifficulty: 5, targetBlockTimeMs: 1, adjustmentWindow: 1, maxAdjustmentFactor: 1 } }, 0)).toThrow(
      InvalidEngineOptionError,
    );
    expect(() => createGenesisBlock(spec, -1)).toThrow(/timestamp/);
  });

  it('reads the spec only from a genesis header', () => {
    const { header } = createGenesisBlock(spec, 0);
    const notGenesis: BlockHeader = { ...header, height: 1 };
    expect(() => chainSpecOf(notGenesis)).toThrow(/genesis/);
    expect(() => chainSpecOf({ ...header, previousHash: new Uint8Array(32).fill(1) })).toThrow(/genesis/);
    expect(() => chainSpecOf({ ...header, extraData: text('{"name":"a"}') })).toThrow(InvalidChainSpecError);
  });
});
