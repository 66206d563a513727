import { InvalidArgumentError } from '@safechain/core';

/**
 * Exponential backoff with jitter for addresses that do not answer: the n-th consecutive failure waits a random time
 * between half and all of `min(maxMs, baseMs * 2^(n-1))`. The random half spreads the retries of many nodes that
 * lost the same peer at the same moment; the floor of one half keeps the growth exponential.
 */
export interface BackoffOptions {
  /** Delay after the first failure, ms. Default 500. */
  readonly baseMs?: number;
  /** Largest delay, ms. Default 60,000. */
  readonly maxMs?: number;
}

export class Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
  readonly #random: () => number;

  /** @throws InvalidArgumentError for a non-positive base or a max below the base */
  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.baseMs = options.baseMs ?? 500;
    this.maxMs = options.maxMs ?? 60_000;
    if (!Number.isFinite(this.baseMs) || this.baseMs <= 0) throw new InvalidArgumentError(`baseMs: expected > 0, got ${this.baseMs}`);
    if (!Number.isFinite(this.maxMs) || this.maxMs < this.baseMs) {
      throw new InvalidArgumentError(`maxMs: expected >= baseMs (${this.baseMs}), got ${this.maxMs}`);
    }
    this.#random = random;
  }

  /** The ceiling of the delay after `failures` consecutive failures (0 failures: no delay). */
  ceiling(failures: number): number {
    if (failures <= 0) return 0;
    // 2^(failures-1) overflows nothing: past ~40 doublings the max applies anyway.
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures - 1, 40));
  }

  /** A random delay in [ceiling/2, ceiling] after `failures` consecutive failures. */
  delay(failures: number): number {
    const ceiling = this.ceiling(failures);
    return ceiling / 2 + this.#random() * (ceiling / 2);
  }
}
