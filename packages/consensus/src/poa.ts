import {
  equalBytes,
  InvalidArgumentError,
  signBlockHeader,
  toHex,
  type BlockHeader,
  type CryptoProvider,
  type Ed25519Signer,
} from '@safechain/core';
import { throwIfAborted } from './abort.js';
import type { Consensus, EquivocationEvidence, HeaderVerdict } from './consensus.js';
import { EquivocationDetector } from './equivocation.js';
import { InvalidEngineOptionError, UnauthorisedSealerError } from './errors.js';
import { MEDIAN_TIME_SPAN, prepareCommon, validateHeaderWith } from './header-rules.js';
import { assertOptionsObject, driftOption, integerOption, keySetOption, providerOption } from './options.js';
import type { ConsensusEngineDefinition } from './registry.js';
import { checkSealSignatures, checkSealSigners, signerId } from './seals.js';
import { invalid } from './verdicts.js';

/**
 * Proof of authority: a fixed set of validators; a block is valid with valid seals of at least `threshold` distinct
 * validators and no seal by anyone else. With the threshold it is final: the Block Tree never reorganises it away.
 *
 * Proposer rotation. Validators are ordered by public key (bytes ascending). The in-turn proposer of height `h` is
 * validator `h mod n`. So that a dead proposer cannot stall the chain, the turn passes on by timeout, measured from
 * the parent's timestamp: the validator `k > 0` places after the in-turn one may propose a header whose timestamp is
 * at least `parent.timestamp + k * proposerTimeoutMs` (the in-turn proposer is bound by the median-time-past rule
 * only). Earlier proposers keep their right, so after `n - 1` timeouts every validator may propose. Only timestamps decide, so every node reaches the same verdict; a proposer cannot
 * claim a later turn early because a header stamped ahead of the clock is held back (`future`), which is why
 * `proposerTimeoutMs` must exceed `maxFutureDriftMs`.
 *
 * The proposer writes its public key (32 bytes) into the header's extra data and seals first; other validators
 * co-sign the same header (`seal` adds one seal per call). Difficulty is 1 and the nonce list empty.
 *
 * Work is 1 per block: the longest chain wins among non-final branches, and finality does the rest. With
 * `threshold > n / 2` two conflicting final blocks need a validator to sign both, which `observe` reports as
 * equivocation evidence; a lower threshold is allowed but gives that guarantee up.
 */

export const POA_ENGINE = 'poa';
/** Most validators: one header carries at most 256 seals. */
export const MAX_POA_VALIDATORS = 256;
/** Default of `proposerTimeoutMs`. */
export const DEFAULT_PROPOSER_TIMEOUT_MS = 30_000;
/** Largest `proposerTimeoutMs`: one day. */
export const MAX_PROPOSER_TIMEOUT_MS = 86_400_000;

export interface PoaConsensusOptions {
  /** Validator public keys, lower-case hex; order does not matter (rotation uses key order). */
  readonly validators: readonly string[];
  /** Distinct validator seals a block needs, 1 to `validators.length`. */
  readonly threshold: number;
  /** How long after the parent's timestamp the turn passes to the next validator. Default 30 000. */
  readonly proposerTimeoutMs?: number;
  /** Default 15 000; must be below `proposerTimeoutMs`. */
  readonly maxFutureDriftMs?: number;
  /** Heights back from the highest observed for which equivocation is tracked. Default 1024. */
  readonly equivocationWindow?: number;
  /** Most evidence kept by `evidence()`, oldest dropped first. Default 1024. */
  readonly evidenceLimit?: number;
  /** Default: the registered provider of `@safechain/core`. */
  readonly provider?: CryptoProvider;
}

export interface PoaConsensus extends Consensus {
  /** Validator keys in rotation order (ascending bytes). */
  readonly validators: readonly Uint8Array[];
  readonly threshold: number;
  readonly proposerTimeoutMs: number;
  /** The in-turn proposer of `height`: validator `height mod n`. @throws InvalidArgumentError on a bad height. */
  proposerOf(height: number): Uint8Array;
  /**
   * How many places after the in-turn proposer of `height` the validator `proposer` comes (0: in turn), or `null`
   * when it is not a validator. At offset `k > 0` it may propose a header stamped at least
   * `parent.timestamp + k * proposerTimeoutMs`; in turn, only the median-time-past rule applies.
   * @throws InvalidArgumentError (core) on a bad height or key.
   */
  turnOffset(height: number, proposer: Uint8Array): number | null;
  /** Equivocation evidence found by `observe`, oldest first. */
  evidence(): readonly EquivocationEvidence[];
}

const POA_OPTIONS = [
  'validators',
  'threshold',
  'proposerTimeoutMs',
  'maxFutureDriftMs',
  'equivocationWindow',
  'evidenceLimit',
  'provider',
] as const;

/**
 * A proof-of-authority engine.
 * @throws InvalidEngineOptionError naming the option when an option is missing, unknown or out of range.
 */
export function poaConsensus(options: PoaConsensusOptions): PoaConsensus {
  assertOptionsObject(POA_ENGINE, options, POA_OPTIONS);
  const validators = keySetOption(POA_ENGINE, 'validators', options.validators, MAX_POA_VALIDATORS);
  const n = validators.sorted.length;
  const threshold = integerOption(POA_ENGINE, 'threshold', options.threshold, 1, n);
  const maxFutureDriftMs = driftOption(POA_ENGINE, options.maxFutureDriftMs);
  const proposerTimeoutMs =
    options.proposerTimeoutMs === undefined
      ? DEFAULT_PROPOSER_TIMEOUT_MS
      : integerOption(POA_ENGINE, 'proposerTimeoutMs', options.proposerTimeoutMs, 1, MAX_PROPOSER_TIMEOUT_MS);
  if (proposerTimeoutMs <= maxFutureDriftMs) {
    throw new InvalidEngineOptionError(
      POA_ENGINE,
      'proposerTimeoutMs',
      `must exceed maxFutureDriftMs (${maxFutureDriftMs}), or a proposer could claim the next turn early; got ${proposerTimeoutMs}`,
    );
  }
  const heightWindow =
    options.equivocationWindow === undefined ? 1024 : integerOption(POA_ENGINE, 'equivocationWindow', options.equivocationWindow, 1, 1 << 20);
  const evidenceLimit =
    options.evidenceLimit === undefined ? 1024 : integerOption(POA_ENGINE, 'evidenceLimit', options.evidenceLimit, 1, 1 << 20);
  const provider = providerOption(POA_ENGINE, options.provider);
  const settings = { ancestryDepth: MEDIAN_TIME_SPAN, maxFutureDriftMs, provider };
  const detector = new EquivocationDetector({ validators, heightWindow, evidenceLimit, provider });

  /** Places after the in-turn proposer of `height`, or -1 for a non-validator. */
  function offsetOf(height: number, proposerHex: string): number {
    const index = validators.index.get(proposerHex);
    if (index === undefined) return -1;
    return (index - (height % n) + n) % n;
  }

  /** The turn of a proposer `offset` places after the in-turn one starts this long after the parent's timestamp. */
  function turnStarts(parent: BlockHeader, offset: number): number {
    return offset === 0 ? Number.NEGATIVE_INFINITY : parent.timestamp + offset * proposerTimeoutMs;
  }

  function engineRules(header: BlockHeader, parent: BlockHeader): HeaderVerdict | null {
    if (header.difficulty !== 1n) return invalid('bad-difficulty', `difficulty must be 1, got ${header.difficulty}`);
    if (header.nonces.length !== 0) return invalid('bad-nonces', 'a proof-of-authority header carries no nonces');
    if (header.extraData.length !== 32) {
      return invalid('bad-extra-data', `extra data must be the proposer's 32-byte key, got ${header.extraData.length} bytes`);
    }
    const proposer = toHex(header.extraData);
    const offset = offsetOf(header.height, proposer);
    if (offset < 0) return invalid('unknown-proposer', `proposer ${proposer} is not a validator`);
    const earliest = turnStarts(parent, offset);
    if (header.timestamp < earliest) {
      return invalid('not-in-turn', `proposer ${proposer} may propose height ${header.height} from ${earliest}, header says ${header.timestamp}`);
    }
    const signers = checkSealSigners(header, validators);
    if (signers !== null) return signers;
    if (!header.signatures.some((s) => equalBytes(s.publicKey, header.extraData))) {
      return invalid('missing-proposer-seal', `proposer ${proposer} did not seal the header`);
    }
    if (header.signatures.length < threshold) {
      return invalid('below-threshold', `${header.signatures.length} validator seals, threshold ${threshold}`);
    }
    return checkSealSignatures(header, provider);
  }

  return {
    name: POA_ENGINE,
    ancestryDepth: MEDIAN_TIME_SPAN,
    validators: validators.sorted.map((k) => k.slice()),
    threshold,
    proposerTimeoutMs,

    validateHeader(header: BlockHeader, ancestors: readonly BlockHeader[], now: number): HeaderVerdict {
      return validateHeaderWith(header, ancestors, now, settings, () => engineRules(header, ancestors[0]!));
    },

    work(): bigint {
      return 1n;
    },

    /**
     * `null` when `producer` is not a validator or its turn has not come at the header's timestamp (the producer
     * stamps the header with its clock, so that is "now"; judging by the header keeps prepare and validate in step).
     * @throws InvalidArgumentError (core) on a malformed header or producer key, no ancestors, or a height other
     *   than parent + 1.
     */
    prepareHeader(header: BlockHeader, ancestors: readonly BlockHeader[], producer: Uint8Array): BlockHeader | null {
      const prepared = prepareCommon(header, ancestors);
      const id = signerId({ publicKey: producer }, validators);
      if (id === null) return null;
      if (prepared.timestamp < turnStarts(ancestors[0]!, offsetOf(prepared.height, id))) return null;
      return { ...prepared, difficulty: 1n, nonces: [], extraData: producer.slice() };
    },

    /**
     * Adds `signer`'s seal to those already on the header (the proposer seals first, co-signers after).
     * @throws AbortError when `signal` has fired; UnauthorisedSealerError when `signer` is not a validator;
     *   InvalidArgumentError (core) on a malformed header or signer.
     */
    async seal(header: BlockHeader, signer: Ed25519Signer, signal?: AbortSignal): Promise<BlockHeader> {
      throwIfAborted(signal);
      if (signerId(signer, validators) === null) {
        throw new UnauthorisedSealerError(`${toHex(signer.publicKey)} is not a validator of this chain`);
      }
      return signBlockHeader(header, signer, provider);
    },

    /** True when at least `threshold` distinct validators sealed the header (its seals already verified). */
    isFinal(header: BlockHeader): boolean {
      const signers = new Set<string>();
      for (const seal of header.signatures) {
        const id = toHex(seal.publicKey);
        if (validators.index.has(id)) signers.add(id);
      }
      return signers.size >= threshold;
    },

    observe(header: BlockHeader): readonly EquivocationEvidence[] {
      try {
        return detector.observe(header);
      } catch {
        return []; // a header that cannot even be hashed proves nothing
      }
    },

    evidence(): readonly EquivocationEvidence[] {
      return detector.evidence();
    },

    /** @throws InvalidArgumentError (core) when `height` is not a non-negative safe integer. */
    proposerOf(height: number): Uint8Array {
      if (!Number.isSafeInteger(height) || height < 0) {
        throw new InvalidArgumentError(`height: expected a non-negative safe integer, got ${String(height)}`);
      }
      return validators.sorted[height % n]!.slice();
    },

    turnOffset(height: number, proposer: Uint8Array): number | null {
      if (!Number.isSafeInteger(height) || height < 0) {
        throw new InvalidArgumentError(`height: expected a non-negative safe integer, got ${String(height)}`);
      }
      const id = signerId({ publicKey: proposer }, validators);
      return id === null ? null : offsetOf(height, id);
    },
  };
}

/** Registry entry: options `{ "validators": [hex, ...], "threshold": n, "proposerTimeoutMs"?: ms }`. */
export const poaEngine: ConsensusEngineDefinition = {
  name: POA_ENGINE,
  create(options, context) {
    assertOptionsObject(POA_ENGINE, options, ['validators', 'threshold', 'proposerTimeoutMs']);
    const proposerTimeoutMs = options['proposerTimeoutMs'];
    return poaConsensus({
      validators: options['validators'] as readonly string[],
      threshold: options['threshold'] as number,
      ...(proposerTimeoutMs === undefined ? {} : { proposerTimeoutMs: proposerTimeoutMs as number }),
      maxFutureDriftMs: context.maxFutureDriftMs,
    });
  },
};
