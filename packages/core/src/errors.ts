/**
 * Typed errors of `@safechain/core`: one class per condition, each with a literal `name`, so callers branch on
 * `instanceof` or `name` and never on message text.
 */

/** Base of every error this library throws on purpose. */
export abstract class SafechainError extends Error {
  abstract override readonly name: string;

  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
  }
}

/** A public function was called with a value of the wrong type or shape ("expected X, got Y"). */
export class InvalidArgumentError extends SafechainError {
  override readonly name = 'InvalidArgumentError' as const;
}

/** Base of the decoder errors: every one names the field being read and the byte offset where reading failed. */
export abstract class DecodeError extends SafechainError {
  readonly field: string;
  readonly offset: number;
  /** What is wrong, without the field and offset the message starts with. */
  readonly detail: string;

  constructor(field: string, offset: number, detail: string) {
    super(`${field} at byte ${offset}: ${detail}`);
    this.field = field;
    this.offset = offset;
    this.detail = detail;
  }
}

/** The input ended before the field was complete. */
export class TruncatedInputError extends DecodeError {
  override readonly name = 'TruncatedInputError' as const;
}

/** Bytes remain after a complete value: a canonical encoding has none. */
export class TrailingBytesError extends DecodeError {
  override readonly name = 'TrailingBytesError' as const;
}

/** A length or count was written with more bytes than needed; only the minimal form is canonical. */
export class NonMinimalLengthError extends DecodeError {
  override readonly name = 'NonMinimalLengthError' as const;
}

/** A length, count or number is above its limit; raised before any memory is allocated for it. */
export class LengthLimitError extends DecodeError {
  override readonly name = 'LengthLimitError' as const;
}

/** A structure's kind byte is not the one expected here (a block header where a transaction was expected). */
export class UnexpectedKindError extends DecodeError {
  override readonly name = 'UnexpectedKindError' as const;
}

/** A structure carries a format version this library does not know. */
export class UnknownVersionError extends DecodeError {
  override readonly name = 'UnknownVersionError' as const;
}

/** A field holds a value its type does not allow: a flag other than 0 or 1, invalid UTF-8, an integer out of range. */
export class InvalidValueError extends DecodeError {
  override readonly name = 'InvalidValueError' as const;
}

/** Block signatures are not in strictly ascending public-key order (unsorted or duplicated): not canonical. */
export class NonCanonicalOrderError extends DecodeError {
  override readonly name = 'NonCanonicalOrderError' as const;
}

/** Text that should be hex, base64 or PEM is not in that encoding's canonical form. */
export class InvalidTextEncodingError extends SafechainError {
  override readonly name = 'InvalidTextEncodingError' as const;
}

/** Key material has the wrong length or format (raw hex, PEM, DER). */
export class InvalidKeyError extends SafechainError {
  override readonly name = 'InvalidKeyError' as const;
}

/** A payload does not hash to the payload hash in the transaction's signed header. */
export class PayloadMismatchError extends SafechainError {
  override readonly name = 'PayloadMismatchError' as const;
}

/** A Merkle leaf index is outside the tree. */
export class LeafIndexError extends SafechainError {
  override readonly name = 'LeafIndexError' as const;
}

/** The value is not a safechain proof bundle (wrong format tag, not an object, not JSON). */
export class NotAProofBundleError extends SafechainError {
  override readonly name = 'NotAProofBundleError' as const;
}

/** The proof bundle's format version is not one this library verifies. */
export class UnsupportedProofVersionError extends SafechainError {
  override readonly name = 'UnsupportedProofVersionError' as const;
}
