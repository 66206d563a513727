import { encodeUnsignedBlockHeader, equalBytes, type BlockHeader, type CryptoProvider } from '@safechain/core';
import { throwIfAborted, yieldToEventLoop } from './abort.js';
import { meetsTarget, powTargetBytes } from './difficulty.js';
import { NonceSpaceExhaustedError } from './errors.js';
import { NonceHasher } from './sha256-midstate.js';

/**
 * The proof-of-work nonce search. The sealing bytes are encoded once; each attempt rewrites only the eight bytes of
 * `nonces[0]` in place and hashes again, allocating nothing.
 * The search runs in slices of about `sliceMs` and yields to the event loop between slices, checking the abort
 * signal each time, so a node mining a block keeps answering its peers.
 */

const U64_MAX = (1n << 64n) - 1n;
/** Attempts between two looks at the clock. */
const ATTEMPTS_PER_CHECK = 1024;

export interface NonceSearchOptions {
  readonly provider: CryptoProvider;
  readonly signal?: AbortSignal | undefined;
  /** Longest stretch of hashing without yielding to the event loop, in ms. Default 10. */
  readonly sliceMs?: number;
  /** Called after each slice with the number of hashes tried so far (for hash-rate figures). */
  readonly onProgress?: (hashes: number) => void;
}

/**
 * Where `nonces[0]` sits in the sealing bytes: found by encoding the header with two different values and looking
 * for the eight bytes that differ, so this module does not repeat the header layout of `@safechain/core`.
 */
function nonceOffset(low: Uint8Array, high: Uint8Array): number {
  let first = 0;
  while (first < low.length && low[first] === high[first]) first++;
  let last = low.length - 1;
  while (last >= 0 && low[last] === high[last]) last--;
  if (low.length !== high.length || last - first !== 7) {
    throw new Error('nonce search: the sealing bytes do not hold nonces[0] as eight bytes'); // a format change in core
  }
  return first;
}

/** The target as eight unsigned big-endian words, for comparing with `NonceHasher.digest`. */
function targetWords(target: Uint8Array): Uint32Array {
  const view = new DataView(target.buffer, target.byteOffset, 32);
  return Uint32Array.from({ length: 8 }, (_, i) => view.getUint32(4 * i));
}

function wordsMeetTarget(digest: Int32Array, target: Uint32Array): boolean {
  for (let i = 0; i < 8; i++) {
    const d = digest[i]! >>> 0;
    const t = target[i]!;
    if (d !== t) return d < t;
  }
  return true;
}

/**
 * Searches `nonces[0]` upward from its current value (0 when the list is empty) for a header whose block hash
 * meets its difficulty's target. Other nonces stay as they are; signatures are dropped (proof of work has none).
 *
 * Candidates come from `NonceHasher` (SHA-256 with a precomputed midstate) once a probe shows it agrees with the
 * provider; each candidate is confirmed with the provider before it is returned. A provider that disagrees (one that
 * is not plain SHA-256) gets every attempt hashed by itself instead.
 * @throws AbortError when `signal` fires; NonceSpaceExhaustedError when no value up to 2^64 - 1 works;
 *   InvalidArgumentError (core) on a malformed header or a difficulty of 0.
 */
export async function searchNonce(header: BlockHeader, options: NonceSearchOptions): Promise<BlockHeader> {
  const { provider, signal, onProgress } = options;
  const sliceMs = options.sliceMs ?? 10;
  throwIfAborted(signal);
  const rest = header.nonces.slice(1);
  const start = header.nonces[0] ?? 0n;
  const base: BlockHeader = { ...header, nonces: [start, ...rest], signatures: [] };
  const target = powTargetBytes(header.difficulty);
  const words = targetWords(target);
  const buffer = encodeUnsignedBlockHeader({ ...base, nonces: [0n, ...rest] });
  const offset = nonceOffset(buffer, encodeUnsignedBlockHeader({ ...base, nonces: [U64_MAX, ...rest] }));
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let hi = Number(start >> 32n);
  let lo = Number(start & 0xffff_ffffn);

  /** The provider's own verdict on the current nonce. */
  const providerMeets = (): boolean => {
    view.setUint32(offset, hi);
    view.setUint32(offset + 4, lo);
    return meetsTarget(provider.sha256(buffer), target);
  };

  let hasher: NonceHasher | null = new NonceHasher(buffer, offset);
  hasher.setNonce(hi, lo);
  hasher.hash();
  view.setUint32(offset, hi);
  view.setUint32(offset + 4, lo);
  if (!equalBytes(hasher.digestBytes(), provider.sha256(buffer))) hasher = null;

  let tried = 0;
  for (;;) {
    const until = performance.now() + sliceMs;
    do {
      for (let i = 0; i < ATTEMPTS_PER_CHECK; i++) {
        let found: boolean;
        if (hasher !== null) {
          hasher.setNonce(hi, lo);
          hasher.hash();
          found = wordsMeetTarget(hasher.digest, words);
          if (found && !providerMeets()) {
            hasher = null; // cannot happen with a SHA-256 provider; from here on the provider hashes every attempt
            found = false;
          }
        } else {
          found = providerMeets();
        }
        if (found) return { ...base, nonces: [(BigInt(hi) << 32n) | BigInt(lo), ...rest] };
        if (lo !== 0xffff_ffff) {
          lo++;
        } else if (hi !== 0xffff_ffff) {
          hi++;
          lo = 0;
        } else {
          throw new NonceSpaceExhaustedError(`no nonces[0] from ${start} to 2^64 - 1 meets difficulty ${header.difficulty}`);
        }
      }
      tried += ATTEMPTS_PER_CHECK;
    } while (performance.now() < until);
    onProgress?.(tried);
    await yieldToEventLoop();
    throwIfAborted(signal);
  }
}
