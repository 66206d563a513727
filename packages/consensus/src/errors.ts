import { SafechainError } from '@safechain/core';

/**
 * Typed errors of `@safechain/consensus`: one class per condition, each with a literal `name`. Header validation
 * never throws (it answers with a verdict); these are for configuration, genesis and sealing.
 */

/** Chain spec bytes or a chain spec value are not a valid spec: not UTF-8, not JSON, or the wrong shape. */
export class InvalidChainSpecError extends SafechainError {
  override readonly name = 'InvalidChainSpecError' as const;
  /** The offending field as a JSON path (`consensus.engine`), or `$` for the whole document. */
  readonly field: string;

  constructor(field: string, detail: string, options?: { readonly cause?: unknown }) {
    super(`chain spec ${field}: ${detail}`, options);
    this.field = field;
  }
}

/**
 * Chain spec bytes are valid JSON but not its canonical form (whitespace, unsorted or repeated keys, another
 * spelling of a number or string). The genesis hash covers the bytes, so one spec must have one spelling.
 */
export class NonCanonicalChainSpecError extends SafechainError {
  override readonly name = 'NonCanonicalChainSpecError' as const;
}

/** A chain spec is larger than a header's extra data may hold, or nested deeper than the decoder allows. */
export class ChainSpecTooLargeError extends SafechainError {
  override readonly name = 'ChainSpecTooLargeError' as const;
}

/** A chain spec names a consensus engine the registry does not hold. */
export class UnknownConsensusEngineError extends SafechainError {
  override readonly name = 'UnknownConsensusEngineError' as const;
  readonly engine: string;

  constructor(engine: string, known: readonly string[]) {
    super(`unknown consensus engine "${engine}" (registered: ${known.join(', ') || 'none'})`);
    this.engine = engine;
  }
}

/** An engine was registered under a name the registry already holds. */
export class DuplicateConsensusEngineError extends SafechainError {
  override readonly name = 'DuplicateConsensusEngineError' as const;
}

/** An engine option is missing, unknown, of the wrong type or out of range. `option` names it. */
export class InvalidEngineOptionError extends SafechainError {
  override readonly name = 'InvalidEngineOptionError' as const;
  readonly engine: string;
  /** The option's path inside the engine options: `threshold`, `validators[2]`. */
  readonly option: string;

  constructor(engine: string, option: string, detail: string, options?: { readonly cause?: unknown }) {
    super(`${engine} consensus option "${option}": ${detail}`, options);
    this.engine = engine;
    this.option = option;
  }
}

/**
 * Sealing stopped because its `AbortSignal` fired. The name follows the platform's convention (`DOMException`
 * `AbortError`), so code that checks `error.name === 'AbortError'` works; the signal's reason is the `cause`.
 */
export class AbortError extends SafechainError {
  override readonly name = 'AbortError' as const;
}

/** `seal` was asked to sign with a key this engine does not accept as a sealer (not a producer or validator). */
export class UnauthorisedSealerError extends SafechainError {
  override readonly name = 'UnauthorisedSealerError' as const;
}

/** Proof of work: every value of `nonces[0]` from the start value up to 2^64 - 1 was tried without success. */
export class NonceSpaceExhaustedError extends SafechainError {
  override readonly name = 'NonceSpaceExhaustedError' as const;
}
