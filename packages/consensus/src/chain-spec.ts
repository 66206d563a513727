import { assertBytes, MAX_EXTRA_DATA_BYTES, utf8 } from '@safechain/core';
import { canonicalJson, parseCanonicalJson, type JsonValue } from './canonical-json.js';
import { ChainSpecTooLargeError, InvalidChainSpecError } from './errors.js';

/**
 * The chain spec: a chain's parameters, written once into the genesis block header's extra data as canonical JSON.
 * The genesis hash covers those bytes, so the genesis hash names the chain together with its rules: two nodes that
 * agree on the genesis hash agree on the consensus engine and every one of its options.
 *
 * ```json
 * {"consensus":{"engine":"poa","threshold":2,"validators":["…","…","…"]},"name":"plant-7"}
 * ```
 */

/** The consensus section: the engine's registered name and its options (see each engine for the options). */
export interface ConsensusSpec {
  readonly engine: string;
  readonly [option: string]: JsonValue;
}

export interface ChainSpec {
  /** A human name for the chain ("plant-7"). Not an identifier: the genesis hash is. */
  readonly name: string;
  readonly consensus: ConsensusSpec;
  /** How far a header's timestamp may run ahead of the local clock before it is held back. Default 15 000 ms. */
  readonly maxFutureDriftMs?: number;
}

/** Longest chain name, in UTF-16 code units. */
export const MAX_CHAIN_NAME_LENGTH = 128;
/** Largest `maxFutureDriftMs`: one day. More would let a header claim a timestamp far ahead of every clock. */
export const MAX_FUTURE_DRIFT_LIMIT_MS = 86_400_000;
/** Engine names: lower-case letters, digits and dashes, starting with a letter, at most 32 characters. */
export const ENGINE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const TOP_LEVEL_KEYS = new Set(['name', 'consensus', 'maxFutureDriftMs']);

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks the shape of a chain spec value (the JSON-ness of option values is checked when it is encoded).
 * @throws InvalidChainSpecError naming the first offending field.
 */
export function assertChainSpec(value: unknown): asserts value is ChainSpec {
  if (!isRecord(value)) throw new InvalidChainSpecError('$', 'expected an object');
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) {
      throw new InvalidChainSpecError(key, 'unknown field (expected name, consensus, maxFutureDriftMs)');
    }
  }
  const { name, consensus, maxFutureDriftMs } = value;
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_CHAIN_NAME_LENGTH) {
    throw new InvalidChainSpecError('name', `expected a string of 1 to ${MAX_CHAIN_NAME_LENGTH} characters`);
  }
  if (!isRecord(consensus)) throw new InvalidChainSpecError('consensus', 'expected an object');
  const engine = consensus['engine'];
  if (typeof engine !== 'string' || !ENGINE_NAME_PATTERN.test(engine)) {
    throw new InvalidChainSpecError('consensus.engine', `expected an engine name matching ${ENGINE_NAME_PATTERN}`);
  }
  if (
    maxFutureDriftMs !== undefined &&
    (typeof maxFutureDriftMs !== 'number' ||
      !Number.isSafeInteger(maxFutureDriftMs) ||
      maxFutureDriftMs < 0 ||
      maxFutureDriftMs > MAX_FUTURE_DRIFT_LIMIT_MS)
  ) {
    throw new InvalidChainSpecError('maxFutureDriftMs', `expected an integer from 0 to ${MAX_FUTURE_DRIFT_LIMIT_MS}`);
  }
  if ('maxFutureDriftMs' in value && maxFutureDriftMs === undefined) {
    throw new InvalidChainSpecError('maxFutureDriftMs', 'present but undefined: omit it instead');
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * The canonical bytes of a chain spec: what goes into the genesis header's extra data.
 * @throws InvalidChainSpecError on a wrong shape or a value JSON cannot carry; ChainSpecTooLargeError when the
 *   bytes exceed a header's extra data limit (MAX_EXTRA_DATA_BYTES).
 */
export function encodeChainSpec(spec: ChainSpec): Uint8Array {
  assertChainSpec(spec);
  const bytes = utf8(canonicalJson(spec));
  if (bytes.length > MAX_EXTRA_DATA_BYTES) {
    throw new ChainSpecTooLargeError(`chain spec: ${bytes.length} bytes, limit ${MAX_EXTRA_DATA_BYTES}`);
  }
  return bytes;
}

/**
 * Decodes chain spec bytes (from a genesis header, a file, a peer). The result is deeply frozen.
 * @throws InvalidArgumentError (core) when `bytes` is not a Uint8Array; ChainSpecTooLargeError above
 *   MAX_EXTRA_DATA_BYTES (before decoding) or nested too deep;
 *   InvalidChainSpecError when not UTF-8, not JSON or of the wrong shape; NonCanonicalChainSpecError when
 *   the JSON is not in canonical form.
 */
export function decodeChainSpec(bytes: Uint8Array): ChainSpec {
  assertBytes(bytes, 'bytes');
  const value = parseCanonicalJson(bytes, MAX_EXTRA_DATA_BYTES);
  assertChainSpec(value);
  return deepFreeze(value);
}
