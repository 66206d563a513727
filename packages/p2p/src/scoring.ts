import { InvalidArgumentError } from '@safechain/core';

/**
 * Peer scoring. Every connected peer has a score that starts at 0; misbehaviour subtracts a penalty per offence,
 * useful messages add a little (capped), and the score drifts back towards 0 over time so that rare honest mistakes
 * (a block that lost a race, one late answer) never add up to a ban. A peer whose score falls to the ban threshold
 * is disconnected and banned (by node key) for a while.
 */

/** Kinds of misbehaviour, each with its penalty. */
export type Offence =
  | 'malformed'
  | 'invalid-block'
  | 'invalid-transaction'
  | 'oversized'
  | 'flooding'
  | 'unsolicited'
  | 'request-flood'
  | 'invalid-response'
  | 'invalid-peer-record'
  | 'frame-authentication'
  | 'protocol-violation'
  | 'timeout';

/**
 * Default penalties. With the default threshold of -100: a peer is banned at once for a forged frame or an oversized
 * message; after 2 invalid blocks or 3 malformed messages; after 20 messages over its rate; after 10 invalid
 * transactions (not counting the recovery in between).
 */
export const DEFAULT_PENALTIES: Readonly<Record<Offence, number>> = {
  'malformed': 40,
  'invalid-block': 50,
  'invalid-transaction': 10,
  'oversized': 100,
  'flooding': 5,
  'unsolicited': 20,
  'request-flood': 10,
  'invalid-response': 40,
  'invalid-peer-record': 20,
  'frame-authentication': 100,
  'protocol-violation': 40,
  'timeout': 5,
};

export interface ScoringOptions {
  /** Penalty per offence; missing entries take the defaults. */
  readonly penalties?: Partial<Record<Offence, number>>;
  /** Score at or below which a peer is dropped and banned. Default -100. */
  readonly banThreshold?: number;
  /** How long a ban lasts, ms. Default 10 minutes. */
  readonly banDurationMs?: number;
  /** Points per second a score moves back towards 0. Default 1. */
  readonly recoveryPerSecond?: number;
  /** Highest score good behaviour can earn. Default 100. */
  readonly maxScore?: number;
}

/** Scoring options with every default applied. */
export interface ScoringPolicy {
  readonly penalties: Readonly<Record<Offence, number>>;
  readonly banThreshold: number;
  readonly banDurationMs: number;
  readonly recoveryPerSecond: number;
  readonly maxScore: number;
}

function finite(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new InvalidArgumentError(`${name}: expected a finite number >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** Applies defaults and checks values. @throws InvalidArgumentError */
export function scoringPolicy(options: ScoringOptions = {}): ScoringPolicy {
  const penalties: Record<Offence, number> = { ...DEFAULT_PENALTIES };
  for (const [offence, value] of Object.entries(options.penalties ?? {})) {
    if (!(offence in DEFAULT_PENALTIES)) throw new InvalidArgumentError(`penalties: unknown offence ${offence}`);
    penalties[offence as Offence] = finite(value, `penalties.${offence}`, 0);
  }
  const banThreshold = options.banThreshold ?? -100;
  if (typeof banThreshold !== 'number' || !Number.isFinite(banThreshold) || banThreshold >= 0) {
    throw new InvalidArgumentError(`banThreshold: expected a negative number, got ${String(banThreshold)}`);
  }
  return {
    penalties,
    banThreshold,
    banDurationMs: finite(options.banDurationMs ?? 10 * 60_000, 'banDurationMs', 0),
    recoveryPerSecond: finite(options.recoveryPerSecond ?? 1, 'recoveryPerSecond', 0),
    maxScore: finite(options.maxScore ?? 100, 'maxScore', 0),
  };
}

/** One peer's score. */
export class PeerScore {
  readonly #policy: ScoringPolicy;
  #value = 0;
  /** Time below 0 not yet turned into a whole point of recovery. */
  #recoveringMs = 0;

  constructor(policy: ScoringPolicy) {
    this.#policy = policy;
  }

  get value(): number {
    return Math.round(this.#value * 100) / 100;
  }

  /** True once the score is at or below the ban threshold. */
  get condemned(): boolean {
    return this.#value <= this.#policy.banThreshold;
  }

  /** Subtracts the penalty of `offence`, `times` times; returns the new score. */
  penalize(offence: Offence, times = 1): number {
    this.#value -= this.#policy.penalties[offence] * times;
    return this.#value;
  }

  /** Adds `points` (for useful messages), up to the maximum score. */
  reward(points = 1): void {
    this.#value = Math.min(this.#policy.maxScore, this.#value + points);
  }

  /**
   * Moves the score towards 0 for `elapsedMs` of time, in whole points: offences a few milliseconds apart count in
   * full whether or not a maintenance tick fell between them (two invalid blocks in a row ban, as documented).
   */
  recover(elapsedMs: number): void {
    const rate = this.#policy.recoveryPerSecond;
    if (this.#value >= 0 || rate <= 0) {
      this.#recoveringMs = 0;
      return;
    }
    this.#recoveringMs += Math.max(0, elapsedMs);
    const points = Math.floor((this.#recoveringMs * rate) / 1000);
    if (points <= 0) return;
    this.#recoveringMs -= (points * 1000) / rate;
    this.#value = Math.min(0, this.#value + points);
  }
}

/** Banned node keys with their expiry; bounded, oldest expiry evicted first when full. */
export class BanList {
  readonly #until = new Map<string, { until: number; reason: string }>();
  readonly #capacity: number;

  constructor(capacity = 4_096) {
    this.#capacity = capacity;
  }

  /** Bans `key` (hex) until `until` (ms) for `reason`; a longer existing ban stays. */
  ban(key: string, until: number, reason: string): void {
    const existing = this.#until.get(key);
    if (existing !== undefined && existing.until >= until) return;
    this.#until.delete(key);
    this.#until.set(key, { until, reason });
    if (this.#until.size > this.#capacity) {
      let oldestKey: string | undefined;
      let oldest = Infinity;
      for (const [k, v] of this.#until) if (v.until < oldest) [oldest, oldestKey] = [v.until, k];
      if (oldestKey !== undefined) this.#until.delete(oldestKey);
    }
  }

  isBanned(key: string, now: number): boolean {
    const entry = this.#until.get(key);
    if (entry === undefined) return false;
    if (entry.until > now) return true;
    this.#until.delete(key);
    return false;
  }

  unban(key: string): boolean {
    return this.#until.delete(key);
  }

  /** Current bans, expired ones dropped. */
  list(now: number): { readonly key: string; readonly until: number; readonly reason: string }[] {
    const out: { key: string; until: number; reason: string }[] = [];
    for (const [key, v] of this.#until) {
      if (v.until > now) out.push({ key, ...v });
      else this.#until.delete(key);
    }
    return out;
  }
}
