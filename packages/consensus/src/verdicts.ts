import type { HeaderVerdict } from './consensus.js';

/**
 * The stable reason codes of `invalid` verdicts. Callers (the Block Tree, peer scoring, logs, metrics) branch on
 * these, never on the message, so a code is never renamed once released.
 *
 * | code | meaning |
 * |---|---|
 * | `malformed` | the header is not a well-formed header object (validation could not even read it) |
 * | `missing-ancestors` | fewer ancestors than `min(ancestryDepth, parent.height + 1)` were supplied |
 * | `bad-ancestry` | the supplied ancestors are not consecutive heights, parent first |
 * | `bad-parent` | height is not parent + 1, or previous hash is not the parent's block hash |
 * | `timestamp-too-old` | timestamp below the median of the last 11 ancestors' timestamps |
 * | `bad-difficulty` | difficulty differs from what the engine requires at this height |
 * | `bad-nonces` | the nonce list is not what the engine allows |
 * | `bad-extra-data` | extra data is not what the engine allows |
 * | `unexpected-seal` | a signature on a header the engine does not sign (proof of work) |
 * | `missing-seal` | no signature where one is required |
 * | `too-many-seals` | more signatures than the engine allows |
 * | `unsorted-seals` | signatures not in ascending public-key order |
 * | `duplicate-signer` | one key signed twice |
 * | `unknown-signer` | a signature by a key that is not a producer or validator |
 * | `bad-seal` | a signature that does not verify |
 * | `below-threshold` | fewer validator signatures than the threshold |
 * | `unknown-proposer` | the proposer named in the extra data is not a validator |
 * | `not-in-turn` | the proposer's turn had not come at the header's timestamp |
 * | `missing-proposer-seal` | the proposer named in the extra data did not sign |
 * | `insufficient-work` | the block hash is above the proof-of-work target |
 */
export type RejectReason =
  | 'malformed'
  | 'missing-ancestors'
  | 'bad-ancestry'
  | 'bad-parent'
  | 'timestamp-too-old'
  | 'bad-difficulty'
  | 'bad-nonces'
  | 'bad-extra-data'
  | 'unexpected-seal'
  | 'missing-seal'
  | 'too-many-seals'
  | 'unsorted-seals'
  | 'duplicate-signer'
  | 'unknown-signer'
  | 'bad-seal'
  | 'below-threshold'
  | 'unknown-proposer'
  | 'not-in-turn'
  | 'missing-proposer-seal'
  | 'insufficient-work';

/** The one `valid` verdict (frozen, so sharing it is safe). */
export const VALID: HeaderVerdict = Object.freeze({ status: 'valid' });

/** An `invalid` verdict with a stable code and a message for people. */
export function invalid(reason: RejectReason, message: string): HeaderVerdict {
  return { status: 'invalid', reason, message };
}
