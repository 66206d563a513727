import { signBlockHeader, toHex, type BlockHeader, type CryptoProvider, type Ed25519Signer } from '@safechain/core';
import { throwIfAborted } from './abort.js';
import type { Consensus, EquivocationEvidence, HeaderVerdict } from './consensus.js';
import { UnauthorisedSealerError } from './errors.js';
import { MEDIAN_TIME_SPAN, prepareCommon, validateHeaderWith } from './header-rules.js';
import { assertOptionsObject, driftOption, keySetOption, providerOption } from './options.js';
import type { ConsensusEngineDefinition } from './registry.js';
import { checkSealSignatures, checkSealSigners, signerId } from './seals.js';
import { invalid } from './verdicts.js';

/**
 * Single trusted producer: the paper's private-network case where "the participating entities trust each other" and
 * no costly consensus is needed. A block is valid when exactly one of the configured producer keys sealed it. Any
 * listed producer may propose at any height (a standby producer takes over without coordination); the chain with
 * the most blocks wins, so blocks are never final.
 *
 * Header rules beyond the shared ones: difficulty 1, no nonces, no extra data, exactly one seal, by a producer.
 * Exactly one, because seals are outside the block hash: a second seal would give one block two encodings.
 */

export const SINGLE_ENGINE = 'single';
/** Most producers a chain may list. */
export const MAX_SINGLE_PRODUCERS = 256;

export interface SingleConsensusOptions {
  /** Public keys (lower-case hex) of the nodes that may produce blocks. */
  readonly producers: readonly string[];
  /** Default 15 000. */
  readonly maxFutureDriftMs?: number;
  /** Default: the registered provider of `@safechain/core`. */
  readonly provider?: CryptoProvider;
}

const EMPTY = new Uint8Array(0);

/**
 * A single-producer engine.
 * @throws InvalidEngineOptionError naming the option when an option is missing, unknown or out of range.
 */
export function singleConsensus(options: SingleConsensusOptions): Consensus {
  assertOptionsObject(SINGLE_ENGINE, options, ['producers', 'maxFutureDriftMs', 'provider']);
  const producers = keySetOption(SINGLE_ENGINE, 'producers', options.producers, MAX_SINGLE_PRODUCERS);
  const maxFutureDriftMs = driftOption(SINGLE_ENGINE, options.maxFutureDriftMs);
  const provider = providerOption(SINGLE_ENGINE, options.provider);
  const settings = { ancestryDepth: MEDIAN_TIME_SPAN, maxFutureDriftMs, provider };

  function engineRules(header: BlockHeader): HeaderVerdict | null {
    if (header.difficulty !== 1n) return invalid('bad-difficulty', `difficulty must be 1, got ${header.difficulty}`);
    if (header.nonces.length !== 0) return invalid('bad-nonces', 'a single-producer header carries no nonces');
    if (header.extraData.length !== 0) return invalid('bad-extra-data', 'a single-producer header carries no extra data');
    if (header.signatures.length === 0) return invalid('missing-seal', 'the header is not sealed');
    if (header.signatures.length > 1) return invalid('too-many-seals', `exactly one seal allowed, got ${header.signatures.length}`);
    return checkSealSigners(header, producers) ?? checkSealSignatures(header, provider);
  }

  return {
    name: SINGLE_ENGINE,
    ancestryDepth: MEDIAN_TIME_SPAN,

    validateHeader(header: BlockHeader, ancestors: readonly BlockHeader[], now: number): HeaderVerdict {
      return validateHeaderWith(header, ancestors, now, settings, () => engineRules(header));
    },

    work(): bigint {
      return 1n;
    },

    /**
     * `null` when `producer` is not a listed producer.
     * @throws InvalidArgumentError (core) on a malformed header or producer key, no ancestors, or a height other
     *   than parent + 1.
     */
    prepareHeader(header: BlockHeader, ancestors: readonly BlockHeader[], producer: Uint8Array): BlockHeader | null {
      const prepared = prepareCommon(header, ancestors);
      if (signerId({ publicKey: producer }, producers) === null) return null;
      return { ...prepared, difficulty: 1n, nonces: [], extraData: EMPTY };
    },

    /**
     * Replaces any seal with `signer`'s.
     * @throws AbortError when `signal` has fired; UnauthorisedSealerError when `signer` is not a producer;
     *   InvalidArgumentError (core) on a malformed header or signer.
     */
    async seal(header: BlockHeader, signer: Ed25519Signer, signal?: AbortSignal): Promise<BlockHeader> {
      throwIfAborted(signal);
      if (signerId(signer, producers) === null) {
        throw new UnauthorisedSealerError(`${toHex(signer.publicKey)} is not a producer of this chain`);
      }
      return signBlockHeader({ ...header, signatures: [] }, signer, provider);
    },

    isFinal(): boolean {
      return false;
    },

    observe(): readonly EquivocationEvidence[] {
      return [];
    },
  };
}

/** Registry entry: options `{ "producers": [hex, ...] }`. */
export const singleEngine: ConsensusEngineDefinition = {
  name: SINGLE_ENGINE,
  create(options, context) {
    assertOptionsObject(SINGLE_ENGINE, options, ['producers']);
    return singleConsensus({ producers: options['producers'] as readonly string[], maxFutureDriftMs: context.maxFutureDriftMs });
  },
};
