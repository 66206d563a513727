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

/** Another process (or another handle in this one) holds the store open; the message names the holder when known. */
export class StoreLockedError extends SafechainError {
  override readonly name = 'StoreLockedError' as const;
}

/** The store was written in a format version this library does not know (a newer release, or not a safechain store). */
export class StoreVersionError extends SafechainError {
  override readonly name = 'StoreVersionError' as const;
}

/**
 * The disk refused a read, write or sync for a reason other than being full. After a failed sync what reached the
 * disk is unknown, so the store refuses further commits until it is closed and opened again (which recovers).
 */
export class StoreIOError extends SafechainError {
  override readonly name = 'StoreIOError' as const;
}
