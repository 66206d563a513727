import { equalBytes, transactionId, type CryptoProvider, type Transaction } from '@safechain/core';
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
  /**
   * Payload arrays whose hash this node computed itself (signing, or verifying a peer's), by the key of their transaction: a
   * block holding that very array for that transaction need not hash its bytes again. Weak: it holds nothing alive.
   */
  readonly #hashedPayloads = new WeakMap<Uint8Array, string>();

  constructor(limit = 1_000_000) {
    this.#limit = limit;
  }

  /**
   * Remembers ids as valid. With `hashedPayloads` (the same order as `ids`), also remembers those payload arrays as
   * hashed: only for arrays whose bytes this node hashed itself, into the transaction's signed header when it signed
   * it, or against that header when it verified a peer's transaction (arrays are never written to once decoded).
   */
  remember(ids: readonly Uint8Array[], hashedPayloads?: readonly (Uint8Array | undefined)[]): void {
    for (let i = 0; i < ids.length; i++) {
      if (this.#ids.size >= this.#limit) {
        // Drop the oldest entry (insertion order): a miss only costs a full verification.
        const oldest = this.#ids.values().next();
        if (oldest.done !== true) this.#ids.delete(oldest.value);
      }
      const key = keyOf(ids[i]!);
      this.#ids.add(key);
      const payload = hashedPayloads?.[i];
      if (payload !== undefined) this.#hashedPayloads.set(payload, key);
    }
  }

  has(id: Uint8Array): boolean {
    return this.#ids.has(keyOf(id));
  }

  /** True when `id` is known and `payload` is the array this node hashed when it signed or verified that transaction. */
  hashedByUs(id: Uint8Array, payload: Uint8Array): boolean {
    const key = keyOf(id);
    return this.#ids.has(key) && this.#hashedPayloads.get(payload) === key;
  }

  /**
   * Forgets ids that no longer need the shortcut (their block is on the chain). Keeps the set at about the size of
   * the mempool: a set that only ever grows to its limit costs memory, garbage-collection time, and an eviction scan
   * on every insert once full.
   */
  forget(ids: readonly Uint8Array[]): void {
    for (const id of ids) this.#ids.delete(keyOf(id));
  }

  get size(): number {
    return this.#ids.size;
  }
}

/** A short map key for a 32-byte id (its bytes as latin1 text): cheaper to make and to hash than 64 hex digits. */
function keyOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
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
      const id = given?.[i] ?? transactionId(tx, provider);
      if (known.has(id)) {
        const p = tx.payload;
        verdicts[i] =
          p === undefined ||
          (p.length === tx.header.payloadSize && (known.hashedByUs(id, p) || equalBytes(provider.sha256(p), tx.header.payloadHash)));
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
