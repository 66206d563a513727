import { SafechainError } from '@safechain/core';

/**
 * Typed errors of `@safechain/chain`: one class per condition, each with a literal `name`. Bad blocks are not errors
 * here: `BlockTree.addBlock` answers them with an `invalid` result. These classes cover misuse and conditions a
 * caller must act on.
 */

/** The store holds a chain whose genesis is not the one this node was configured with. */
export class GenesisMismatchError extends SafechainError {
  override readonly name = 'GenesisMismatchError' as const;
}

/** The genesis block given to `BlockTree.open` is not a genesis block (height, previous hash or body). */
export class InvalidGenesisError extends SafechainError {
  override readonly name = 'InvalidGenesisError' as const;
}

/** The store's canonical chain is broken: a canonical block or its header cannot be read back. */
export class ChainStateError extends SafechainError {
  override readonly name = 'ChainStateError' as const;
}

/**
 * The mempool cannot take the batch without exceeding its count or byte bound. Nothing of the batch was added.
 * Retry after `retryAfterMs`, when the block producer will likely have drained some of it.
 */
export class MempoolFullError extends SafechainError {
  override readonly name = 'MempoolFullError' as const;
  /** Suggested wait before retrying, in milliseconds. */
  readonly retryAfterMs: number;
  /** Transactions and bytes the batch would have added. */
  readonly needed: { readonly count: number; readonly bytes: number };
  /** Room left when the batch was refused. */
  readonly available: { readonly count: number; readonly bytes: number };

  constructor(
    message: string,
    details: {
      readonly retryAfterMs: number;
      readonly needed: { readonly count: number; readonly bytes: number };
      readonly available: { readonly count: number; readonly bytes: number };
    },
  ) {
    super(message);
    this.retryAfterMs = details.retryAfterMs;
    this.needed = details.needed;
    this.available = details.available;
  }
}

/** The mempool was used after `close()`. */
export class MempoolClosedError extends SafechainError {
  override readonly name = 'MempoolClosedError' as const;
}
