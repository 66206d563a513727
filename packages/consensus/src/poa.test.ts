import { buildBlock, signBlockHeader, toHex, type BlockHeader, type NodeKey } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { InvalidEngineOptionError, UnauthorisedSealerError } from './errors.js';
import { poaConsensus, type PoaConsensusOptions } from './poa.js';
import { deterministicKey, produceHeader, runConsensusCompliance } from './testing.js';

const keys = [deterministicKey(11), deterministicKey(12), deterministicKey(13)];
const outsider = deterministicKey(14);
const validators = keys.map((k) => k.id);

runConsensusCompliance('poa (2 of 3)', () => ({
  consensus: poaConsensus({ validators, threshold: 2 }),
  sealers: keys,
  maxFutureDriftMs: 15_000,
}));

runConsensusCompliance('poa (1 of 1)', () => ({
  consensus: poaConsensus({ validators: [keys[0]!.id], threshold: 1, maxFutureDriftMs: 1_000, proposerTimeoutMs: 5_000 }),
  sealers: [keys[0]!],
  maxFutureDriftMs: 1_000,
}));

const TIMEOUT = 30_000;
const genesis = buildBlock({ parent: null, transactions: [], timestamp: 1_000_000 }).header;

function engine(extra: Partial<PoaConsensusOptions> = {}): ReturnType<typeof poaConsensus> {
  return poaConsensus({ validators, threshold: 2, ...extra });
}

/** The NodeKeys in rotation order (ascending public key). */
function inRotationOrder(consensus: ReturnType<typeof poaConsensus>): NodeKey[] {
  return consensus.validators.map((v) => keys.find((k) => k.id === toHex(v))!);
}

/** A header at height 1 named as proposed by `proposer`, sealed by `signers` (no turn checks). */
function handMade(proposer: NodeKey, signers: readonly NodeKey[], timestamp = genesis.timestamp + 1_000): BlockHeader {
  let header: BlockHeader = {
    ...buildBlock({ parent: genesis, transactions: [], timestamp }).header,
    extraData: proposer.publicKey,
  };
  for (const s of signers) header = signBlockHeader(header, s);
  return header;
}

describe('poaConsensus: seals and threshold', () => {
  const consensus = engine();
  const [first, second, third] = inRotationOrder(consensus) as [NodeKey, NodeKey, NodeKey];
  // Height 1: the in-turn proposer is validator 1 mod 3 = `second`.
  const check = (header: BlockHeader): ReturnType<typeof consensus.validateHeader> =>
    consensus.validateHeader(header, [genesis], header.timestamp);

  it('accepts a block with exactly the threshold of validator seals, the proposer among them', () => {
    expect(check(handMade(second, [second, third]))).toEqual({ status: 'valid' });
    expect(check(handMade(second, [second, first, third]))).toEqual({ status: 'valid' });
  });

  it('rejects a block one seal short of the threshold', () => {
    expect(check(handMade(second, [second]))).toMatchObject({ status: 'invalid', reason: 'below-threshold' });
  });

  it('rejects a block with a seal by a non-validator, even above the threshold', () => {
    const header = signBlockHeader(handMade(second, [second, first, third]), outsider);
    expect(check(header)).toMatchObject({ status: 'invalid', reason: 'unknown-signer' });
  });

  it('does not count a duplicated signer twice', () => {
    const once = handMade(second, [second]);
    const seal = once.signatures[0]!;
    expect(check({ ...once, signatures: [seal, seal] })).toMatchObject({ status: 'invalid', reason: 'duplicate-signer' });
  });

  it('rejects seals out of key order, and a seal that does not verify', () => {
    const header = handMade(second, [second, third]);
    expect(check({ ...header, signatures: [...header.signatures].reverse() })).toMatchObject({ reason: 'unsorted-seals' });
    const forged = { ...header, signatures: header.signatures.map((s) => ({ ...s, signature: s.signature.map((b) => b ^ 1) })) };
    expect(check(forged)).toMatchObject({ reason: 'bad-seal' });
  });

  it('requires the proposer named in extra data to be a validator that sealed', () => {
    expect(check(handMade(second, [first, third]))).toMatchObject({ reason: 'missing-proposer-seal' });
    expect(check(handMade(outsider, [second, third]))).toMatchObject({ reason: 'unknown-proposer' });
    const short = { ...handMade(second, []), extraData: second.publicKey.subarray(0, 31) };
    expect(check(signBlockHeader(signBlockHeader(short, second), third))).toMatchObject({ reason: 'bad-extra-data' });
  });

  it('rejects proof-of-work fields', () => {
    let header: BlockHeader = { ...handMade(second, []), difficulty: 5n };
    header = signBlockHeader(signBlockHeader(header, second), third);
    expect(check(header)).toMatchObject({ reason: 'bad-difficulty' });
    let withNonce: BlockHeader = { ...handMade(second, []), nonces: [1n] };
    withNonce = signBlockHeader(signBlockHeader(withNonce, second), third);
    expect(check(withNonce)).toMatchObject({ reason: 'bad-nonces' });
  });

  it('is final with the threshold of validator seals, not below', () => {
    expect(consensus.isFinal(handMade(second, [second, third]))).toBe(true);
    expect(consensus.isFinal(handMade(second, [second]))).toBe(false);
    expect(consensus.isFinal(signBlockHeader(handMade(second, [second]), outsider))).toBe(false);
  });

  it('seals only with validator keys, adding one seal per call', async () => {
    await expect(consensus.seal(handMade(second, []), outsider)).rejects.toBeInstanceOf(UnauthorisedSealerError);
    const one = await consensus.seal(handMade(second, []), second);
    const two = await consensus.seal(one, third);
    expect(one.signatures).toHaveLength(1);
    expect(two.signatures).toHaveLength(2);
    expect(check(two)).toEqual({ status: 'valid' });
  });
});

describe('poaConsensus: proposer rotation and fallback', () => {
  const consensus = engine();
  const order = inRotationOrder(consensus);
  const unsealed = (timestamp: number): BlockHeader => buildBlock({ parent: genesis, transactions: [], timestamp }).header;

  it('rotates the proposer through the validators in key order', () => {
    expect(order.map((k) => k.id)).toEqual([...validators].sort());
    for (let h = 0; h < 7; h++) expect(consensus.proposerOf(h)).toEqual(order[h % 3]!.publicKey);
  });

  it('lets only the in-turn validator propose before the timeout', () => {
    const at = genesis.timestamp + TIMEOUT - 1;
    const allowed = order.filter((k) => consensus.prepareHeader(unsealed(at), [genesis], k.publicKey, at) !== null);
    expect(allowed.map((k) => k.id)).toEqual([order[1]!.id]);
    expect(consensus.prepareHeader(unsealed(at), [genesis], outsider.publicKey, at)).toBeNull();
  });

  it('passes the turn on after each timeout, measured from the parent timestamp', () => {
    const allowedAt = (at: number): string[] =>
      order.filter((k) => consensus.prepareHeader(unsealed(at), [genesis], k.publicKey, at) !== null).map((k) => k.id);
    expect(allowedAt(genesis.timestamp + TIMEOUT)).toEqual([order[1]!.id, order[2]!.id]);
    expect(allowedAt(genesis.timestamp + 2 * TIMEOUT - 1)).toEqual([order[1]!.id, order[2]!.id]);
    expect(allowedAt(genesis.timestamp + 2 * TIMEOUT).sort()).toEqual(order.map((k) => k.id).sort());
    expect(consensus.turnOffset(1, order[1]!.publicKey)).toBe(0);
    expect(consensus.turnOffset(1, order[2]!.publicKey)).toBe(1);
    expect(consensus.turnOffset(1, order[0]!.publicKey)).toBe(2);
    expect(consensus.turnOffset(1, outsider.publicKey)).toBeNull();
  });

  it('accepts a fallback proposer from its turn on and rejects it before', async () => {
    const [, inTurn, next] = order as [NodeKey, NodeKey, NodeKey];
    const atTimeout = genesis.timestamp + TIMEOUT;
    // The in-turn proposer is dead: the next one proposes, the third co-signs.
    const fallback = await produceHeader(consensus, [next, order[0]!], [genesis], atTimeout);
    expect(fallback.extraData).toEqual(next.publicKey);
    expect(consensus.validateHeader(fallback, [genesis], atTimeout)).toEqual({ status: 'valid' });
    const early = handMade(next, [next, order[0]!], atTimeout - 1);
    expect(consensus.validateHeader(early, [genesis], atTimeout)).toMatchObject({ status: 'invalid', reason: 'not-in-turn' });
    // The in-turn proposer keeps its right after the timeout.
    expect(consensus.validateHeader(handMade(inTurn, [inTurn, next], atTimeout + 5), [genesis], atTimeout + 5)).toEqual({ status: 'valid' });
  });

  it('holds, rather than accepts, a fallback header stamped ahead of the clock to claim the turn early', async () => {
    const next = order[2]!;
    const atTimeout = genesis.timestamp + TIMEOUT;
    const header = await produceHeader(consensus, [next, order[0]!], [genesis], atTimeout);
    const now = atTimeout - 15_001; // the proposer's clock runs ahead of ours by more than the drift
    expect(consensus.validateHeader(header, [genesis], now)).toMatchObject({ status: 'future', retryAt: atTimeout - 15_000 });
  });
});

describe('poaConsensus: equivocation', () => {
  async function twoBlocksAtHeightOne(consensus: ReturnType<typeof poaConsensus>, offset = 0): Promise<[BlockHeader, BlockHeader]> {
    const a = await produceHeader(consensus, keys, [genesis], genesis.timestamp + 1_000 + offset);
    const b = await produceHeader(consensus, keys, [genesis], genesis.timestamp + 2_000 + offset);
    return [a, b];
  }

  it('reports each validator that signed two different blocks at one height', async () => {
    const consensus = engine();
    const [a, b] = await twoBlocksAtHeightOne(consensus);
    expect(consensus.observe(a)).toEqual([]);
    const evidence = consensus.observe(b);
    expect(evidence.map((e) => e.validator).sort()).toEqual([...validators].sort());
    for (const e of evidence) {
      expect(e.height).toBe(1);
      expect(e.first).toBe(a);
      expect(e.second).toBe(b);
    }
    expect(consensus.evidence()).toHaveLength(3);
    expect(consensus.observe(b)).toEqual([]); // the same conflict is reported once
    expect(consensus.evidence()).toHaveLength(3);
  });

  it('does not report a validator that signed only one of the two blocks', async () => {
    const consensus = engine();
    const order = inRotationOrder(consensus);
    const a = handMade(order[1]!, [order[1]!, order[2]!]);
    const b = handMade(order[1]!, [order[1]!, order[0]!], genesis.timestamp + 5_000);
    consensus.observe(a);
    expect(consensus.observe(b).map((e) => e.validator)).toEqual([order[1]!.id]);
  });

  it('does not take a forged earlier seal as evidence', async () => {
    const consensus = engine();
    const [a, b] = await twoBlocksAtHeightOne(consensus);
    const forged = { ...a, signatures: a.signatures.map((s) => ({ ...s, signature: new Uint8Array(64).fill(7) })) };
    expect(consensus.observe(forged)).toEqual([]);
    expect(consensus.observe(b)).toEqual([]);
    expect(consensus.observe(a)).toHaveLength(3);
  });

  it('keeps a bounded amount of evidence, dropping the oldest', async () => {
    const consensus = engine({ evidenceLimit: 4 });
    const [a, b] = await twoBlocksAtHeightOne(consensus);
    const c = await produceHeader(consensus, keys, [genesis], genesis.timestamp + 3_000);
    consensus.observe(a);
    consensus.observe(b);
    const latest = consensus.observe(c);
    expect(latest).toHaveLength(3);
    const kept = consensus.evidence();
    expect(kept).toHaveLength(4);
    expect(kept.slice(1)).toEqual(latest);
  });

  it('forgets heights more than the window below the highest observed', async () => {
    const consensus = engine({ equivocationWindow: 2 });
    const [a, b] = await twoBlocksAtHeightOne(consensus);
    consensus.observe(a);
    let parent = a;
    const chain = [genesis, a];
    for (let i = 0; i < 3; i++) {
      parent = await produceHeader(consensus, keys, chain.slice(-11).reverse(), parent.timestamp + 1_000);
      chain.push(parent);
      consensus.observe(parent);
    }
    expect(consensus.observe(b)).toEqual([]);
  });
});

describe('poaConsensus: options', () => {
  it('validates its options strictly, naming the option', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ validators, threshold: 0 }, 'threshold'],
      [{ validators, threshold: 4 }, 'threshold'],
      [{ validators, threshold: 1.5 }, 'threshold'],
      [{ validators }, 'threshold'],
      [{ validators: [], threshold: 1 }, 'validators'],
      [{ validators: [validators[0], validators[0]], threshold: 1 }, 'validators[1]'],
      [{ validators: [validators[0], 42], threshold: 1 }, 'validators[1]'],
      [{ validators, threshold: 2, proposerTimeoutMs: 15_000 }, 'proposerTimeoutMs'],
      [{ validators, threshold: 2, maxFutureDriftMs: 40_000 }, 'proposerTimeoutMs'],
      [{ validators, threshold: 2, proposerTimeoutMs: 0 }, 'proposerTimeoutMs'],
      [{ validators, threshold: 2, evidenceLimit: 0 }, 'evidenceLimit'],
      [{ validators, threshold: 2, quorum: 2 }, 'quorum'],
    ];
    for (const [options, option] of cases) {
      let error: unknown;
      try {
        poaConsensus(options as unknown as PoaConsensusOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidEngineOptionError);
      expect({ options, option: (error as InvalidEngineOptionError).option }).toEqual({ options, option });
    }
  });
});
