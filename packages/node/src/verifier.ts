import { equalBytes, toHex, transactionId, type CryptoProvider, type Transaction } from '@safechain/core';
import type { TransactionVerifier } from '@safechain/chain';

/**
 * The Block Tree's transaction verifier on a node. Transactions this node signed itself, or already verified when
 * they entered its mempool, are remembered by id, so a block of them does not cost a second round of signature
 * checks: only the payload is checked against the signed hash (the id covers the signed header, not the payload).
 * Everything else goes to the worker pool.
 */
export class KnownValidTransactions {
  readonly #ids = new Set<string>();
  readonly #limit: number;

  constructor(limit = 1_000_000) {
    this.#limit = limit;
  }

  remember(ids: readonly Uint8Array[]): void {
    for (const id of ids) {
      if (this.#ids.size >= this.#limit) {
        // Drop the oldest entry (insertion order): a miss only costs a full verification.
        const oldest = this.#ids.values().next();
        if (oldest.done !== true) this.#ids.delete(oldest.value);
      }
      this.#ids.add(toHex(id));
    }
  }

  has(id: Uint8Array): boolean {
    return this.#ids.has(toHex(id));
  }

  /**
   * Forgets ids that no longer need the shortcut (their block is on the chain). Keeps the set at about the size of
   * the mempool: a set that only ever grows to its limit costs memory, garbage-collection time, and an eviction scan
   * on every insert once full.
   */
  forget(ids: readonly Uint8Array[]): void {
    for (const id of ids) this.#ids.delete(toHex(id));
  }

  get size(): number {
    return this.#ids.size;
  }
}

export function cachedVerifier(
  known: KnownValidTransactions,
  verifyMany: (txs: readonly Transaction[]) => Promise<readonly boolean[]>,
  provider: CryptoProvider,
): TransactionVerifier {
  return async (txs: readonly Transaction[], ids?: readonly Uint8Array[]): Promise<readonly boolean[]> => {
    const verdicts: boolean[] = new Array<boolean>(txs.length).fill(false);
    const rest: Transaction[] = [];
    const restIndex: number[] = [];
    // The Block Tree hands over the ids it computed checking the block body; anyone else gets them computed here.
    const given = ids !== undefined && ids.length === txs.length ? ids : undefined;
    txs.forEach((tx, i) => {
      if (known.has(given?.[i] ?? transactionId(tx, provider))) {
        const p = tx.payload;
        verdicts[i] = p === undefined || (p.length === tx.header.payloadSize && equalBytes(provider.sha256(p), tx.header.payloadHash));
      } else {
        rest.push(tx);
        restIndex.push(i);
      }
    });
    if (rest.length > 0) {
      const more = await verifyMany(rest);
      more.forEach((ok, j) => {
        verdicts[restIndex[j]!] = ok;
      });
    }
    return verdicts;
  };
}
