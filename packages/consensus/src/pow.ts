import { blockHash, type BlockHeader, type CryptoProvider, type Ed25519Signer } from '@safechain/core';
import type { Consensus, EquivocationEvidence, HeaderVerdict } from './consensus.js';
import { MAX_DIFFICULTY, meetsTarget, nextDifficulty, powTargetBytes, type DifficultyRule } from './difficulty.js';
import { InvalidEngineOptionError } from './errors.js';
import { MEDIAN_TIME_SPAN, prepareCommon, validateHeaderWith } from './header-rules.js';
import { searchNonce } from './nonce-search.js';
import { assertOptionsObject, driftOption, integerOption, providerOption } from './options.js';
import type { ConsensusEngineDefinition, EngineOptions } from './registry.js';
import { invalid } from './verdicts.js';

/**
 * Proof of work: a block is valid when its hash meets the target of its difficulty, and that difficulty is the one
 * the adjustment rule (`difficulty.ts`) computes from its ancestors. Work = difficulty, the expected number of
 * hashes, so the canonical chain is the one that cost the most hashing. Useful where producers do not trust each
 * other and no validator set can be agreed; entanglement with other companies' chains still protects history.
 *
 * Header rules beyond the shared ones: no seals (they are outside the block hash, so a seal would give one block a
 * second encoding), no extra data, the required difficulty, hash at most the target. The nonce list is free; the
 * producer searches `nonces[0]`.
 */

export const POW_ENGINE = 'pow';
/** Largest `adjustmentWindow`; the engine needs `adjustmentWindow + 1` ancestors for each validation. */
export const MAX_ADJUSTMENT_WINDOW = 4096;
/** Largest `maxAdjustmentFactor`. */
export const MAX_ADJUSTMENT_FACTOR = 1024;
/** Largest `targetBlockTimeMs`: one day. */
export const MAX_TARGET_BLOCK_TIME_MS = 86_400_000;

export interface PowConsensusOptions {
  /** Difficulty of the first blocks (and of the genesis header). 1 to 2^64 - 1. */
  readonly initialDifficulty: bigint;
  /** The block time the adjustment aims at, in ms. */
  readonly targetBlockTimeMs: number;
  /** Blocks between two adjustments, 1 to 4096. */
  readonly adjustmentWindow: number;
  /** Largest change per adjustment, up or down: an integer from 1 (fixed difficulty) to 1024. */
  readonly maxAdjustmentFactor: number;
  /** Default 15 000. */
  readonly maxFutureDriftMs?: number;
  /** Longest stretch of hashing between two yields to the event loop while sealing, in ms. Default 10. */
  readonly sealSliceMs?: number;
  /** Default: the registered provider of `@safechain/core`. */
  readonly provider?: CryptoProvider;
}

export interface PowConsensus extends Consensus {
  readonly rule: DifficultyRule;
  /** The difficulty the child of `ancestors[0]` must carry. @throws InvalidArgumentError when too few ancestors. */
  nextDifficulty(ancestors: readonly BlockHeader[]): bigint;
}

const EMPTY = new Uint8Array(0);

/**
 * A proof-of-work engine.
 * @throws InvalidEngineOptionError naming the option when an option is missing, unknown or out of range.
 */
export function powConsensus(options: PowConsensusOptions): PowConsensus {
  assertOptionsObject(POW_ENGINE, options, [
    'initialDifficulty',
    'targetBlockTimeMs',
    'adjustmentWindow',
    'maxAdjustmentFactor',
    'maxFutureDriftMs',
    'sealSliceMs',
    'provider',
  ]);
  const { initialDifficulty } = options;
  if (typeof initialDifficulty !== 'bigint' || initialDifficulty < 1n || initialDifficulty > MAX_DIFFICULTY) {
    throw new InvalidEngineOptionError(POW_ENGINE, 'initialDifficulty', `expected a bigint from 1 to 2^64 - 1, got ${typeof initialDifficulty} ${String(initialDifficulty)}`);
  }
  const rule: DifficultyRule = Object.freeze({
    initialDifficulty,
    targetBlockTimeMs: integerOption(POW_ENGINE, 'targetBlockTimeMs', options.targetBlockTimeMs, 1, MAX_TARGET_BLOCK_TIME_MS),
    adjustmentWindow: integerOption(POW_ENGINE, 'adjustmentWindow', options.adjustmentWindow, 1, MAX_ADJUSTMENT_WINDOW),
    maxAdjustmentFactor: integerOption(POW_ENGINE, 'maxAdjustmentFactor', options.maxAdjustmentFactor, 1, MAX_ADJUSTMENT_FACTOR),
  });
  const maxFutureDriftMs = driftOption(POW_ENGINE, options.maxFutureDriftMs);
  const sliceMs = options.sealSliceMs === undefined ? 10 : integerOption(POW_ENGINE, 'sealSliceMs', options.sealSliceMs, 1, 1000);
  const provider = providerOption(POW_ENGINE, options.provider);
  const ancestryDepth = Math.max(MEDIAN_TIME_SPAN, rule.adjustmentWindow + 1);
  const settings = { ancestryDepth, maxFutureDriftMs, provider };

  function engineRules(header: BlockHeader, ancestors: readonly BlockHeader[]): HeaderVerdict | null {
    if (header.signatures.length !== 0) return invalid('unexpected-seal', 'a proof-of-work header carries no seals');
    if (header.extraData.length !== 0) return invalid('bad-extra-data', 'a proof-of-work header carries no extra data');
    const required = nextDifficulty(ancestors, rule);
    if (header.difficulty !== required) {
      return invalid('bad-difficulty', `difficulty ${header.difficulty}, the adjustment rule requires ${required}`);
    }
    if (!meetsTarget(blockHash(header, provider), powTargetBytes(required))) {
      return invalid('insufficient-work', `block hash is above the target of difficulty ${required}`);
    }
    return null;
  }

  return {
    name: POW_ENGINE,
    ancestryDepth,
    rule,

    validateHeader(header: BlockHeader, ancestors: readonly BlockHeader[], now: number): HeaderVerdict {
      return validateHeaderWith(header, ancestors, now, settings, () => engineRules(header, ancestors));
    },

    /** The header's difficulty: the expected number of hashes it cost (at least 1). */
    work(header: BlockHeader): bigint {
      return header.difficulty > 0n ? header.difficulty : 1n;
    },

    nextDifficulty(ancestors: readonly BlockHeader[]): bigint {
      return nextDifficulty(ancestors, rule);
    },

    /**
     * Sets the required difficulty, a nonce list of at least one entry, and empty extra data. Any producer may mine.
     * @throws InvalidArgumentError (core) on a malformed header, too few ancestors, or a height other than parent + 1.
     */
    prepareHeader(header: BlockHeader, ancestors: readonly BlockHeader[]): BlockHeader | null {
      const prepared = prepareCommon(header, ancestors);
      const nonces = prepared.nonces.length > 0 ? prepared.nonces : [0n];
      return { ...prepared, difficulty: nextDifficulty(ancestors, rule), nonces, extraData: EMPTY };
    },

    /**
     * Searches `nonces[0]` from its current value; `signer` is not used (proof of work carries no seals).
     * @throws AbortError when `signal` fires (checked between slices of at most `sealSliceMs`);
     *   NonceSpaceExhaustedError; InvalidArgumentError (core) on a malformed header or difficulty 0.
     */
    seal(header: BlockHeader, _signer: Ed25519Signer, signal?: AbortSignal): Promise<BlockHeader> {
      return searchNonce(header, { provider, signal, sliceMs });
    },

    isFinal(): boolean {
      return false;
    },

    observe(): readonly EquivocationEvidence[] {
      return [];
    },
  };
}

/** A canonical decimal string: no sign, no leading zeros. JSON numbers cannot carry every u64 exactly. */
function decimalOption(options: EngineOptions, option: string): bigint {
  const value = options[option];
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]{0,19})$/.test(value)) {
    throw new InvalidEngineOptionError(POW_ENGINE, option, 'expected a decimal string such as "1000000"');
  }
  return BigInt(value);
}

/**
 * Registry entry: options `{ "initialDifficulty": "<decimal>", "targetBlockTimeMs": n, "adjustmentWindow": n,
 * "maxAdjustmentFactor": n }`. `initialDifficulty` is a decimal string because it is a u64.
 */
export const powEngine: ConsensusEngineDefinition = {
  name: POW_ENGINE,
  create(options, context) {
    assertOptionsObject(POW_ENGINE, options, ['initialDifficulty', 'targetBlockTimeMs', 'adjustmentWindow', 'maxAdjustmentFactor']);
    return powConsensus({
      initialDifficulty: decimalOption(options, 'initialDifficulty'),
      targetBlockTimeMs: options['targetBlockTimeMs'] as number,
      adjustmentWindow: options['adjustmentWindow'] as number,
      maxAdjustmentFactor: options['maxAdjustmentFactor'] as number,
      maxFutureDriftMs: context.maxFutureDriftMs,
    });
  },
  genesisDifficulty(options) {
    return decimalOption(options, 'initialDifficulty');
  },
};
