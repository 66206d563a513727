import {
  buildBlock,
  compareBytes,
  decodeBlockHeader,
  encodeBlockHeader,
  NodeKey,
  signBlockHeader,
  withBlockSignature,
  type BlockHeader,
  type Ed25519Signer,
} from '@safechain/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Consensus, HeaderVerdict } from './consensus.js';
import { medianTimePast } from './header-rules.js';

/**
 * The consensus compliance suite (`@safechain/consensus/testing`): the behaviour every engine owes the Block Tree
 * and the Block Producer, as vitest tests. An engine's test file calls `runConsensusCompliance` with a factory and
 * adds tests of its own rules:
 *
 * ```ts
 * runConsensusCompliance('poa', () => ({ consensus: poaConsensus({...}), sealers: [a, b, c], maxFutureDriftMs: 15_000 }));
 * ```
 *
 * Keep the fixture deterministic (fixed key seeds): the suite uses fixed timestamps, so for proof of work every
 * nonce and every tampered hash is the same on each run and no test depends on luck.
 */

export interface ConsensusComplianceFixture {
  readonly consensus: Consensus;
  /**
   * Keys that together seal a valid header. For each block the suite lets the first sealer that `prepareHeader`
   * accepts propose and seal, then seals with every other sealer in order.
   */
  readonly sealers: readonly Ed25519Signer[];
  /** The engine's `maxFutureDriftMs`. */
  readonly maxFutureDriftMs: number;
  /** The chain's genesis header; default: an empty genesis block at `COMPLIANCE_GENESIS_TIME`. */
  readonly genesis?: BlockHeader;
}

export type ConsensusComplianceFactory = () => ConsensusComplianceFixture | Promise<ConsensusComplianceFixture>;

/** The default genesis timestamp of the suite (2023-11-14). */
export const COMPLIANCE_GENESIS_TIME = 1_700_000_000_000;
/** Spacing of the blocks the suite produces, in ms. */
export const COMPLIANCE_BLOCK_SPACING_MS = 1_000;

/** A key from a fixed seed (every byte `n`), so tests are the same on every run. Never use it outside tests. */
export function deterministicKey(n: number): NodeKey {
  return NodeKey.fromSeed(new Uint8Array(32).fill(n & 0xff));
}

/** The ancestors of the next block, parent first, as the Block Tree passes them. */
export function ancestorsOf(chain: readonly BlockHeader[], depth: number): BlockHeader[] {
  return chain.slice(Math.max(0, chain.length - depth)).reverse();
}

/**
 * Produces the next header on `ancestors[0]` the way a Block Producer does: the first sealer the engine lets propose
 * prepares and seals it, then the other sealers add their seals.
 * @throws Error when no sealer may propose at `timestamp`.
 */
export async function produceHeader(
  consensus: Consensus,
  sealers: readonly Ed25519Signer[],
  ancestors: readonly BlockHeader[],
  timestamp: number,
): Promise<BlockHeader> {
  const parent = ancestors[0];
  if (parent === undefined) throw new Error('produceHeader: no parent');
  const unsealed = buildBlock({ parent, transactions: [], timestamp }).header;
  for (let i = 0; i < sealers.length; i++) {
    const prepared = consensus.prepareHeader(unsealed, ancestors, sealers[i]!.publicKey, timestamp);
    if (prepared === null) continue;
    let header = await consensus.seal(prepared, sealers[i]!);
    for (let j = 0; j < sealers.length; j++) {
      if (j !== i) header = await consensus.seal(header, sealers[j]!);
    }
    return header;
  }
  throw new Error(`produceHeader: no sealer may propose height ${parent.height + 1} at ${timestamp}`);
}

function flipBit(bytes: Uint8Array, index = 0): Uint8Array {
  const out = bytes.slice();
  out[index % Math.max(1, out.length)]! ^= 0x01;
  return out;
}

const STRANGER = deterministicKey(0xee);

/** Named modifications of a sealed header, each of which must make it invalid. */
function tamperings(header: BlockHeader): [string, BlockHeader][] {
  const list: [string, BlockHeader][] = [
    ['height', { ...header, height: header.height + 1 }],
    ['timestamp', { ...header, timestamp: header.timestamp + 1 }],
    ['previousHash', { ...header, previousHash: flipBit(header.previousHash, 7) }],
    ['merkleRoot', { ...header, merkleRoot: flipBit(header.merkleRoot, 3) }],
    ['txCount', { ...header, txCount: header.txCount + 1 }],
    ['difficulty', { ...header, difficulty: header.difficulty + 1n }],
    ['nonces (appended)', { ...header, nonces: [...header.nonces, 1n] }],
    ['extraData (appended)', { ...header, extraData: new Uint8Array([...header.extraData, 0]) }],
    ['signatures (stranger added)', signBlockHeader(header, STRANGER)],
  ];
  if (header.nonces.length > 0) list.push(['nonces[0]', { ...header, nonces: [header.nonces[0]! + 1n, ...header.nonces.slice(1)] }]);
  if (header.extraData.length > 0) list.push(['extraData (bit)', { ...header, extraData: flipBit(header.extraData) }]);
  if (header.signatures.length > 0) {
    const first = header.signatures[0]!;
    list.push(['signatures (bit)', withBlockSignature(header, { ...first, signature: flipBit(first.signature, 5) })]);
    list.push(['signatures (all removed)', { ...header, signatures: [] }]);
  }
  return list;
}

const STATUSES = ['valid', 'invalid', 'future'];

function expectVerdictShape(verdict: HeaderVerdict): void {
  expect(STATUSES).toContain(verdict.status);
  if (verdict.status === 'invalid') {
    expect(verdict.reason).toMatch(/^[a-z][a-z0-9-]*$/);
    expect(typeof verdict.message).toBe('string');
  }
  if (verdict.status === 'future') expect(Number.isFinite(verdict.retryAt)).toBe(true);
}

const arbBytes = (length: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: length, maxLength: length });
const arbU64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

/** Headers of every shape the decoder accepts (signatures sorted by key, as decoding demands). */
const arbHeader: fc.Arbitrary<BlockHeader> = fc
  .record({
    height: fc.oneof(fc.nat(20), fc.maxSafeNat()),
    timestamp: fc.oneof(fc.constant(COMPLIANCE_GENESIS_TIME), fc.maxSafeNat()),
    previousHash: arbBytes(32),
    merkleRoot: arbBytes(32),
    txCount: fc.nat(4_194_304),
    difficulty: fc.oneof(fc.constantFrom(0n, 1n, 2n), arbU64),
    nonces: fc.array(arbU64, { maxLength: 16 }),
    extraData: fc.oneof(fc.uint8Array({ maxLength: 40 }), arbBytes(32)),
    signatures: fc.uniqueArray(fc.record({ publicKey: arbBytes(32), signature: arbBytes(64) }), {
      maxLength: 4,
      selector: (s) => Array.from(s.publicKey).join(','),
    }),
  })
  .map((h) => ({ ...h, signatures: [...h.signatures].sort((a, b) => compareBytes(a.publicKey, b.publicKey)) }));

/**
 * Registers the compliance tests for one engine under `describe(\`consensus compliance: ${name}\`)`.
 * `factory` is called once per test, so tests do not share engine state.
 */
export function runConsensusCompliance(name: string, factory: ConsensusComplianceFactory): void {
  async function setup(blocks: number): Promise<{ fixture: ConsensusComplianceFixture; chain: BlockHeader[] }> {
    const fixture = await factory();
    const genesis = fixture.genesis ?? buildBlock({ parent: null, transactions: [], timestamp: COMPLIANCE_GENESIS_TIME }).header;
    const chain = [genesis];
    for (let i = 1; i <= blocks; i++) {
      const ancestors = ancestorsOf(chain, fixture.consensus.ancestryDepth);
      chain.push(await produceHeader(fixture.consensus, fixture.sealers, ancestors, genesis.timestamp + i * COMPLIANCE_BLOCK_SPACING_MS));
    }
    return { fixture, chain };
  }

  describe(`consensus compliance: ${name}`, () => {
    it('names itself and asks for at least the 11 ancestors of the median time past', async () => {
      const { consensus } = await factory();
      expect(typeof consensus.name).toBe('string');
      expect(consensus.name.length).toBeGreaterThan(0);
      expect(Number.isSafeInteger(consensus.ancestryDepth)).toBe(true);
      expect(consensus.ancestryDepth).toBeGreaterThanOrEqual(11);
    });

    it('validates headers made by prepareHeader and seal, block after block', async () => {
      const { fixture, chain } = await setup(4);
      for (let i = 1; i < chain.length; i++) {
        const header = chain[i]!;
        const ancestors = ancestorsOf(chain.slice(0, i), fixture.consensus.ancestryDepth);
        expect(fixture.consensus.validateHeader(header, ancestors, header.timestamp)).toEqual({ status: 'valid' });
        // What a peer receives is the decoded form: it must validate the same.
        const decoded = decodeBlockHeader(encodeBlockHeader(header));
        expect(fixture.consensus.validateHeader(decoded, ancestors, header.timestamp)).toEqual({ status: 'valid' });
      }
    });

    it('prepareHeader keeps height, parent and body fields', async () => {
      const { fixture, chain } = await setup(1);
      const ancestors = ancestorsOf(chain, fixture.consensus.ancestryDepth);
      const unsealed = buildBlock({ parent: chain[1]!, transactions: [], timestamp: chain[1]!.timestamp + 1000 }).header;
      let accepted = 0;
      for (const sealer of fixture.sealers) {
        const prepared = fixture.consensus.prepareHeader(unsealed, ancestors, sealer.publicKey, unsealed.timestamp);
        if (prepared === null) continue;
        accepted++;
        expect(prepared.height).toBe(unsealed.height);
        expect(prepared.previousHash).toEqual(unsealed.previousHash);
        expect(prepared.merkleRoot).toEqual(unsealed.merkleRoot);
        expect(prepared.txCount).toBe(unsealed.txCount);
        expect(prepared.timestamp).toBeGreaterThanOrEqual(unsealed.timestamp);
      }
      expect(accepted).toBeGreaterThan(0);
    });

    it('rejects a header with any field tampered with', async () => {
      const { fixture, chain } = await setup(2);
      const header = chain[2]!;
      const ancestors = ancestorsOf(chain.slice(0, 2), fixture.consensus.ancestryDepth);
      expect(fixture.consensus.validateHeader(header, ancestors, header.timestamp)).toEqual({ status: 'valid' });
      for (const [field, tampered] of tamperings(header)) {
        const verdict = fixture.consensus.validateHeader(tampered, ancestors, header.timestamp + 1);
        expect({ field, status: verdict.status }).toEqual({ field, status: 'invalid' });
      }
    });

    it('gives positive, deterministic work', async () => {
      const { fixture, chain } = await setup(2);
      for (const header of chain.slice(1)) {
        const work = fixture.consensus.work(header);
        expect(typeof work).toBe('bigint');
        expect(work).toBeGreaterThan(0n);
        expect(fixture.consensus.work(decodeBlockHeader(encodeBlockHeader(header)))).toBe(work);
        expect(fixture.consensus.work(header)).toBe(work);
      }
    });

    it('holds a header stamped beyond the allowed drift as future, valid from retryAt', async () => {
      const { fixture, chain } = await setup(1);
      const drift = fixture.maxFutureDriftMs;
      const ancestors = ancestorsOf(chain, fixture.consensus.ancestryDepth);
      const stamped = chain[1]!.timestamp + 3_600_000;
      const header = await produceHeader(fixture.consensus, fixture.sealers, ancestors, stamped);
      expect(header.timestamp).toBe(stamped);
      const early = fixture.consensus.validateHeader(header, ancestors, stamped - drift - 1);
      expect(early).toMatchObject({ status: 'future', retryAt: stamped - drift });
      expect(fixture.consensus.validateHeader(header, ancestors, stamped - drift)).toEqual({ status: 'valid' });
    });

    it('accepts a timestamp equal to the median time past and rejects one below it', async () => {
      const { fixture, chain } = await setup(13);
      const ancestors = ancestorsOf(chain, fixture.consensus.ancestryDepth);
      const median = medianTimePast(ancestors);
      expect(median).toBeLessThan(ancestors[0]!.timestamp); // the rule is the median, not the parent
      const atMedian = await produceHeader(fixture.consensus, fixture.sealers, ancestors, median);
      expect(atMedian.timestamp).toBe(median);
      expect(fixture.consensus.validateHeader(atMedian, ancestors, median)).toEqual({ status: 'valid' });

      const below = await sealAt(fixture, ancestors, median, median - 1);
      expect(fixture.consensus.validateHeader(below, ancestors, median)).toMatchObject({
        status: 'invalid',
        reason: 'timestamp-too-old',
      });
    });

    it('uses fewer ancestors near genesis: a child stamped before genesis is too old', async () => {
      const { fixture, chain } = await setup(0);
      const genesis = chain[0]!;
      const below = await sealAt(fixture, [genesis], genesis.timestamp, genesis.timestamp - 1);
      expect(fixture.consensus.validateHeader(below, [genesis], genesis.timestamp)).toMatchObject({
        status: 'invalid',
        reason: 'timestamp-too-old',
      });
    });

    it('answers with a verdict, never an exception, for arbitrary decoded headers', async () => {
      const { fixture, chain } = await setup(2);
      const consensus = fixture.consensus;
      const full = ancestorsOf(chain, consensus.ancestryDepth);
      const sealed = chain[2]!;
      const fullForSealed = ancestorsOf(chain.slice(0, 2), consensus.ancestryDepth);
      fc.assert(
        fc.property(arbHeader, fc.integer({ min: 0, max: 3 }), fc.maxSafeNat(), (header, ancestry, now) => {
          const decoded = decodeBlockHeader(encodeBlockHeader(header));
          const ancestors = [full, full.slice(0, 1), [], full.slice(1)][ancestry]!;
          expectVerdictShape(consensus.validateHeader(decoded, ancestors, now));
          expect(consensus.work(decoded)).toBeGreaterThan(0n);
          expect(typeof consensus.isFinal(decoded)).toBe('boolean');
          expect(Array.isArray(consensus.observe(decoded))).toBe(true);
        }),
        { numRuns: 150 },
      );
      // Headers close to a valid one get past the cheap checks and exercise the deeper ones.
      fc.assert(
        fc.property(
          arbHeader,
          fc.uniqueArray(fc.constantFrom(...(Object.keys(sealed) as (keyof BlockHeader)[])), { minLength: 1, maxLength: 3 }),
          (random, fields) => {
            const mixed: Record<string, unknown> = { ...sealed };
            for (const field of fields) mixed[field] = random[field];
            const decoded = decodeBlockHeader(encodeBlockHeader(mixed as unknown as BlockHeader));
            expectVerdictShape(consensus.validateHeader(decoded, fullForSealed, sealed.timestamp));
          },
        ),
        { numRuns: 150 },
      );
    });

    it('rejects seal with an AbortError when the signal has already fired', async () => {
      const { fixture, chain } = await setup(1);
      const ancestors = ancestorsOf(chain, fixture.consensus.ancestryDepth);
      const unsealed = buildBlock({ parent: chain[1]!, transactions: [], timestamp: chain[1]!.timestamp + 1000 }).header;
      const index = fixture.sealers.findIndex((s) => fixture.consensus.prepareHeader(unsealed, ancestors, s.publicKey, unsealed.timestamp) !== null);
      expect(index).toBeGreaterThanOrEqual(0);
      const sealer = fixture.sealers[index]!;
      const prepared = fixture.consensus.prepareHeader(unsealed, ancestors, sealer.publicKey, unsealed.timestamp)!;
      const controller = new AbortController();
      controller.abort(new Error('shutting down'));
      await expect(fixture.consensus.seal(prepared, sealer, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    });

    it('finds no equivocation on an honest chain and answers isFinal for each header', async () => {
      const { fixture, chain } = await setup(3);
      for (const header of chain.slice(1)) {
        expect(fixture.consensus.observe(header)).toEqual([]);
        expect(typeof fixture.consensus.isFinal(header)).toBe('boolean');
      }
      // Observing the same headers again is not equivocation either.
      for (const header of chain.slice(1)) expect(fixture.consensus.observe(header)).toEqual([]);
    });
  });
}

/**
 * A header prepared at `preparedAt` (so the proposer's turn is judged there), then stamped `timestamp` and sealed:
 * the way to make a sealed header that breaks a timestamp rule on purpose.
 */
async function sealAt(
  fixture: ConsensusComplianceFixture,
  ancestors: readonly BlockHeader[],
  preparedAt: number,
  timestamp: number,
): Promise<BlockHeader> {
  const unsealed = buildBlock({ parent: ancestors[0]!, transactions: [], timestamp: preparedAt }).header;
  for (let i = 0; i < fixture.sealers.length; i++) {
    const prepared = fixture.consensus.prepareHeader(unsealed, ancestors, fixture.sealers[i]!.publicKey, preparedAt);
    if (prepared === null) continue;
    let header = await fixture.consensus.seal({ ...prepared, timestamp }, fixture.sealers[i]!);
    for (let j = 0; j < fixture.sealers.length; j++) {
      if (j !== i) header = await fixture.consensus.seal(header, fixture.sealers[j]!);
    }
    return header;
  }
  throw new Error(`sealAt: no sealer may propose at ${preparedAt}`);
}
