/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are held. Each message (or byte) takes tokens; a
 * message that finds too few is over the peer's rate.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, burst: number, now: number) {
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes `amount` tokens if there are enough; returns whether it did. */
  take(amount: number, now: number): boolean {
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.ratePerSecond) / 1000);
    if (this.#tokens < amount) return false;
    this.#tokens -= amount;
    return true;
  }
}
