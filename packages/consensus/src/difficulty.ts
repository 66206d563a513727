import { InvalidArgumentError, type BlockHeader } from '@safechain/core';

/**
 * Proof-of-work difficulty: the target a block hash must meet, and the adjustment rule that keeps blocks near the
 * target block time as hashing power comes and goes.
 *
 * Target: a block hash, read as a 256-bit big-endian number, must be at most `floor((2^256 - 1) / difficulty)`.
 * A random hash meets it with probability about `1 / difficulty`, so the difficulty is the expected number of hashes
 * per block: the block's work.
 *
 * Adjustment (every `adjustmentWindow` blocks, at heights that are multiples of it):
 * - blocks 1 to `adjustmentWindow - 1` have `initialDifficulty` (the genesis header's difficulty does not count:
 *   a genesis may be written long before the first block, so its timestamp is also left out of the measurement);
 * - at a retarget height `h`, with `k = min(window, parent.height - 1)` intervals between the last `k + 1` blocks
 *   (all at height >= 1): `next = parent.difficulty * (k * targetBlockTimeMs) / max(1, actual span)`, then clamped
 *   to `[parent.difficulty / maxAdjustmentFactor, parent.difficulty * maxAdjustmentFactor]`, to at least 1 and to at
 *   most 2^64 - 1 (the header field is a u64). Integer arithmetic only, so every node computes the same value;
 * - at every other height the difficulty is the parent's.
 */

/** The largest difficulty a header can carry (u64). */
export const MAX_DIFFICULTY = (1n << 64n) - 1n;
const MAX_HASH = (1n << 256n) - 1n;

/**
 * `floor((2^256 - 1) / difficulty)`.
 * @throws InvalidArgumentError when `difficulty` is not a bigint from 1 to MAX_DIFFICULTY.
 */
export function powTarget(difficulty: bigint): bigint {
  if (typeof difficulty !== 'bigint' || difficulty < 1n || difficulty > MAX_DIFFICULTY) {
    throw new InvalidArgumentError(`difficulty: expected a bigint from 1 to 2^64 - 1, got ${String(difficulty)}`);
  }
  return MAX_HASH / difficulty;
}

/** The target as 32 big-endian bytes, so a hash is checked by comparing bytes. @throws InvalidArgumentError */
export function powTargetBytes(difficulty: bigint): Uint8Array {
  let target = powTarget(difficulty);
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(target & 0xffn);
    target >>= 8n;
  }
  return out;
}

/** True when the 32-byte `hash` is at most the 32-byte `target` (both big-endian). */
export function meetsTarget(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) {
    const h = hash[i]!;
    const t = target[i]!;
    if (h !== t) return h < t;
  }
  return true;
}

export interface DifficultyRule {
  readonly initialDifficulty: bigint;
  readonly targetBlockTimeMs: number;
  readonly adjustmentWindow: number;
  readonly maxAdjustmentFactor: number;
}

/**
 * The difficulty the child of `ancestors[0]` must carry.
 * @throws InvalidArgumentError when `ancestors` is empty or too short for a retarget (it needs
 *   `min(adjustmentWindow, parent.height - 1) + 1` headers at a retarget height).
 */
export function nextDifficulty(ancestors: readonly BlockHeader[], rule: DifficultyRule): bigint {
  const parent = ancestors[0];
  if (parent === undefined) throw new InvalidArgumentError('ancestors: expected at least the parent, got none');
  if (parent.height === 0) return rule.initialDifficulty;
  const height = parent.height + 1;
  if (height % rule.adjustmentWindow !== 0) return parent.difficulty;
  const intervals = Math.min(rule.adjustmentWindow, parent.height - 1);
  if (intervals < 1) return parent.difficulty;
  const first = ancestors[intervals];
  if (first === undefined) {
    throw new InvalidArgumentError(`ancestors: a retarget at height ${height} needs ${intervals + 1}, got ${ancestors.length}`);
  }
  const actual = BigInt(Math.max(1, parent.timestamp - first.timestamp));
  const expected = BigInt(intervals) * BigInt(rule.targetBlockTimeMs);
  const factor = BigInt(rule.maxAdjustmentFactor);
  const previous = parent.difficulty;
  let next = (previous * expected) / actual;
  const highest = previous * factor;
  const lowest = previous / factor;
  if (next > highest) next = highest;
  if (next < lowest) next = lowest;
  if (next < 1n) next = 1n;
  if (next > MAX_DIFFICULTY) next = MAX_DIFFICULTY;
  return next;
}
