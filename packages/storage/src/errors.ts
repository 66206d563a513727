import { SafechainError } from '@safechain/core';

/** The store was used after `close()`. */
export class StoreClosedError extends SafechainError {
  override readonly name = 'StoreClosedError' as const;
}

/** A write would exceed the store's configured size limit or the disk is full; nothing of it was applied. */
export class StoreFullError extends SafechainError {
  override readonly name = 'StoreFullError' as const;
}

/** Stored data failed a checksum or structural check; the message names where. */
export class StoreCorruptError extends SafechainError {
  override readonly name = 'StoreCorruptError' as const;
}

/** A commit refers to something that is not there (a canonical hash of a block never stored, say). */
export class StoreConsistencyError extends SafechainError {
  override readonly name = 'StoreConsistencyError' as const;
}
