import { verifyTransaction, type Transaction } from '@safechain/core';

/**
 * Verifies transaction signatures (and payloads against their signed hashes) in bulk, answering one boolean per
 * transaction in order: true when `verifyTransaction` would answer valid. A node passes one backed by worker
 * threads; the default verifies inline. Must not throw for invalid transactions; a rejection is treated as a fault
 * of the verifier, not of the block.
 */
export type TransactionVerifier = (
  transactions: readonly Transaction[],
  /**
   * The transactions' ids, when the caller computed them already (the Block Tree does, checking the block body);
   * a verifier that needs ids takes them from here instead of hashing every header again.
   */
  ids?: readonly Uint8Array[],
) => Promise<readonly boolean[]>;

/** The inline verifier: `verifyTransaction` on this thread. */
export const inlineVerifier: TransactionVerifier = async (transactions) =>
  transactions.map((tx) => verifyTransaction(tx).valid);
