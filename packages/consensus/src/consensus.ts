import type { BlockHeader, Ed25519Signer } from '@safechain/core';

/**
 * The generic interface that decides block validity and block work (the paper's "generic interface that governs
 * block validity and block work"). The Block Tree asks it about every header; the Block Producer asks it to prepare
 * and seal the headers this node makes. Engines are chosen by name in the chain's genesis (see `chain-spec.ts`).
 *
 * Trust assumptions: `validateHeader` receives untrusted headers whose structure is already decoded and whose
 * height and previous hash have been checked against `ancestors[0]` by the Block Tree. Everything else (seals,
 * timestamps, difficulty) is the engine's to check.
 */

/** Outcome of validating a header. `future` is not a rejection: the header is held and retried at `retryAt`. */
export type HeaderVerdict =
  | { readonly status: 'valid' }
  | { readonly status: 'invalid'; readonly reason: string; readonly message: string }
  | { readonly status: 'future'; readonly retryAt: number; readonly message: string };

/** Proof that a validator signed two different blocks at one height (proof of authority). */
export interface EquivocationEvidence {
  /** The validator's public key, hex. */
  readonly validator: string;
  readonly height: number;
  /** The two conflicting headers, both carrying the validator's valid signature. */
  readonly first: BlockHeader;
  readonly second: BlockHeader;
}

export interface Consensus {
  /** The engine's name as written in genesis: `single`, `poa`, `pow`, or a company's own. */
  readonly name: string;
  /**
   * How many ancestors, parent first, `validateHeader` and `prepareHeader` need (11 for the median time past,
   * more for a difficulty window). The Block Tree passes `min(ancestryDepth, parent.height + 1)` headers.
   */
  readonly ancestryDepth: number;

  /**
   * Consensus validity of `header` as a child of `ancestors[0]`: seal, timestamp rules, difficulty.
   * `now` is the local clock in milliseconds. Must not throw on any decoded header. `invalid` carries a stable
   * `reason` code (`RejectReason` in `verdicts.ts`); `future` is only given to a header that is valid in every other
   * respect (see `header-rules.ts`).
   */
  validateHeader(header: BlockHeader, ancestors: readonly BlockHeader[], now: number): HeaderVerdict;

  /** The work a valid header adds to its chain (> 0). Canonical chain = most total work. */
  work(header: BlockHeader): bigint;

  /**
   * Fills the consensus fields (difficulty, nonces, extra data) of an unsealed header built on `ancestors[0]` by the
   * producer `producer` (public key), or answers `null` when that producer may not propose at this height now
   * (proposer rotation). The built-in engines also clear any seals and raise a timestamp below the median time past
   * to it. Throws InvalidArgumentError when `header` is not a child of `ancestors[0]`.
   */
  prepareHeader(header: BlockHeader, ancestors: readonly BlockHeader[], producer: Uint8Array, now: number): BlockHeader | null;

  /**
   * Seals a prepared header: signs it (single, poa) or searches a nonce (pow). Resolves with the sealed header;
   * rejects with an AbortError (the `AbortError` class of `errors.ts`, `name === 'AbortError'`) when `signal`
   * aborts. For poa, one call adds this validator's signature; the header is valid once `threshold` validators
   * have signed.
   */
  seal(header: BlockHeader, signer: Ed25519Signer, signal?: AbortSignal): Promise<BlockHeader>;

  /**
   * True when a valid header can never be reorganised away (poa: it carries the threshold of signatures).
   * The Block Tree refuses any reorg that would abandon a final block.
   */
  isFinal(header: BlockHeader): boolean;

  /**
   * Observes a valid header; returns evidence when it proves misbehaviour together with one seen earlier
   * (a validator signing two different blocks at one height). Engines without such rules return `[]`.
   */
  observe(header: BlockHeader): readonly EquivocationEvidence[];
}
