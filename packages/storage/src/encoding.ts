import { Writer, writeTransaction, type Transaction } from '@safechain/core';
import { StoreCorruptError } from './errors.js';

/**
 * The canonical encodings of many transactions, written end to end into one buffer. Encoding each on its own
 * (`encodeTransaction`) allocates and copies two buffers per transaction, which costs adapters about three times as
 * much as the encoding itself for blocks of thousands of transactions.
 */
export interface EncodedTransactions {
  /** All encodings, end to end. */
  readonly bytes: Uint8Array;
  /** `ends[i]` is where transaction `i`'s encoding ends; it starts at `ends[i - 1]` (or 0). */
  readonly ends: Uint32Array;
}

/**
 * Encodes `transactions` in order (full or stripped, each exactly as `encodeTransaction` would).
 * @throws InvalidArgumentError when a transaction is malformed.
 */
export function encodeTransactions(transactions: readonly Transaction[]): EncodedTransactions {
  let estimate = 0;
  // Headers take at most a few hundred bytes beyond the payload; the writer grows if a guess falls short.
  for (const tx of transactions) estimate += 320 + ((tx as Transaction | undefined)?.payload?.length ?? 0);
  const w = new Writer(Math.max(64, estimate));
  const ends = new Uint32Array(transactions.length);
  for (let i = 0; i < transactions.length; i++) {
    writeTransaction(w, transactions[i]!);
    ends[i] = w.written().length;
  }
  return { bytes: w.written(), ends };
}

/** The encoding of transaction `i` in `encoded`, as a view. */
export function encodedAt(encoded: EncodedTransactions, i: number): Uint8Array {
  return encoded.bytes.subarray(i === 0 ? 0 : encoded.ends[i - 1]!, encoded.ends[i]!);
}

/**
 * Runs `decode` over bytes an adapter read back from disk; a decoder's refusal becomes StoreCorruptError naming the
 * place. `where` may be a function, called only when decoding fails (lookups are the hot path: no name is built for
 * every read).
 * @throws StoreCorruptError
 */
export function decodeStored<T>(where: string | (() => string), decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    const place = typeof where === 'string' ? where : where();
    throw new StoreCorruptError(`${place}: stored bytes do not decode: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
