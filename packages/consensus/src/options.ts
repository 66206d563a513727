import {
  compareBytes,
  getCryptoProvider,
  publicKeyFromHex,
  toHex,
  type CryptoProvider,
} from '@safechain/core';
import { MAX_FUTURE_DRIFT_LIMIT_MS } from './chain-spec.js';
import { InvalidEngineOptionError } from './errors.js';
import { DEFAULT_MAX_FUTURE_DRIFT_MS } from './header-rules.js';

/**
 * Strict checks of engine options. Options come from a genesis header written by someone else or from a config
 * file, so every one is checked for type and range, unknown options are refused (a misspelt option must not fall
 * back to a default silently), and each error names the option.
 */

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/** Checks that `options` is an object holding no option outside `allowed`. */
export function assertOptionsObject(
  engine: string,
  options: unknown,
  allowed: readonly string[],
): asserts options is Readonly<Record<string, unknown>> {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidEngineOptionError(engine, '(options)', `expected an object, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      throw new InvalidEngineOptionError(engine, key, `unknown option (expected one of ${allowed.join(', ')})`);
    }
  }
}

/** A safe integer in `[min, max]`. */
export function integerOption(engine: string, option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidEngineOptionError(engine, option, `expected an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

/** `maxFutureDriftMs`, defaulting to 15 000 ms. */
export function driftOption(engine: string, value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_FUTURE_DRIFT_MS;
  return integerOption(engine, 'maxFutureDriftMs', value, 0, MAX_FUTURE_DRIFT_LIMIT_MS);
}

/** The optional crypto provider (TypeScript callers only; a chain spec cannot carry one). */
export function providerOption(engine: string, value: unknown): CryptoProvider {
  if (value === undefined) return getCryptoProvider();
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as CryptoProvider).sha256 !== 'function' ||
    typeof (value as CryptoProvider).ed25519Verify !== 'function'
  ) {
    throw new InvalidEngineOptionError(engine, 'provider', `expected a CryptoProvider, got ${describeValue(value)}`);
  }
  return value as CryptoProvider;
}

/** A key set: the validators or producers, sorted by key. */
export interface KeySet {
  /** The keys in ascending byte order: the canonical order of block signatures and of proposer rotation. */
  readonly sorted: readonly Uint8Array[];
  /** Hex key -> index in `sorted`. */
  readonly index: ReadonlyMap<string, number>;
}

/**
 * A non-empty list of distinct ed25519 public keys in lower-case hex, at most `max` of them.
 * Each key must be a canonical point of large order (the same rule signatures are verified under).
 */
export function keySetOption(engine: string, option: string, value: unknown, max: number): KeySet {
  if (!Array.isArray(value) || value.length === 0 || value.length > max) {
    throw new InvalidEngineOptionError(engine, option, `expected an array of 1 to ${max} public keys in hex, got ${describeValue(value)}`);
  }
  const keys: Uint8Array[] = [];
  const seen = new Set<string>();
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string') {
      throw new InvalidEngineOptionError(engine, `${option}[${i}]`, `expected a public key in hex, got ${describeValue(item)}`);
    }
    let key: Uint8Array;
    try {
      key = publicKeyFromHex(item);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new InvalidEngineOptionError(engine, `${option}[${i}]`, detail, { cause: error });
    }
    if (seen.has(item)) throw new InvalidEngineOptionError(engine, `${option}[${i}]`, `key ${item} is listed twice`);
    seen.add(item);
    keys.push(key);
  });
  keys.sort(compareBytes);
  return { sorted: keys, index: new Map(keys.map((k, i) => [toHex(k), i])) };
}
