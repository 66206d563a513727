import {
  assertBlockHeader,
  assertBytes,
  blockHash,
  equalBytes,
  InvalidArgumentError,
  MAX_BLOCK_SIGNATURES,
  type BlockHeader,
  type CryptoProvider,
} from '@safechain/core';
import type { HeaderVerdict } from './consensus.js';
import { invalid, VALID } from './verdicts.js';

/**
 * The rules every engine shares: the link to the parent, the timestamp rules, and the order in which checks run.
 *
 * Timestamps:
 * - not older than the median time past: the median of the last 11 ancestors' timestamps (fewer near genesis).
 *   `>=` the median, not `>`: blocks may come faster than one per millisecond and a producer must never have to
 *   invent a later time than its clock shows. The median still never moves backwards, so a minority of producers
 *   with wrong clocks cannot drag the chain's time back;
 * - not later than the local clock plus `maxFutureDriftMs`. Such a header is not invalid: it gets `future` with
 *   `retryAt`, the moment it stops being early, because its producer's clock may just be ahead.
 *
 * Order of checks: parent link, timestamp too old, then the engine's own rules (seals, difficulty, work), and the
 * future check last. So `future` means "valid in every respect except that it is early": the Block Tree may hold
 * such a header without holding junk, because nobody can get one held without a real seal.
 */

/** How many ancestors the median time past looks at. */
export const MEDIAN_TIME_SPAN = 11;
/** Default for `maxFutureDriftMs`. */
export const DEFAULT_MAX_FUTURE_DRIFT_MS = 15_000;

/**
 * The median of the timestamps of the first `min(11, ancestors.length)` ancestors (parent first). For an even
 * count it is the upper of the two middle values.
 * @throws InvalidArgumentError when `ancestors` is empty.
 */
export function medianTimePast(ancestors: readonly BlockHeader[]): number {
  if (ancestors.length === 0) throw new InvalidArgumentError('ancestors: expected at least the parent, got none');
  const times = ancestors.slice(0, MEDIAN_TIME_SPAN).map((a) => a.timestamp);
  times.sort((a, b) => a - b);
  return times[times.length >> 1]!;
}

/**
 * Checks that `ancestors` holds the parent of `header` and enough consecutive ancestors, parent first.
 * Returns `null` when the link is sound.
 */
export function checkAncestry(
  header: BlockHeader,
  ancestors: readonly BlockHeader[],
  ancestryDepth: number,
  provider: CryptoProvider,
): HeaderVerdict | null {
  const parent = ancestors[0];
  if (parent === undefined) return invalid('missing-ancestors', 'no parent header supplied');
  const required = Math.min(ancestryDepth, parent.height + 1);
  if (ancestors.length < required) {
    return invalid('missing-ancestors', `expected ${required} ancestors, got ${ancestors.length}`);
  }
  for (let i = 1; i < ancestors.length; i++) {
    if (ancestors[i]!.height !== parent.height - i) {
      return invalid('bad-ancestry', `ancestor ${i} has height ${ancestors[i]!.height}, expected ${parent.height - i}`);
    }
  }
  if (header.height !== parent.height + 1) {
    return invalid('bad-parent', `height ${header.height} does not follow parent height ${parent.height}`);
  }
  if (!equalBytes(header.previousHash, blockHash(parent, provider))) {
    return invalid('bad-parent', 'previous hash is not the parent block hash');
  }
  return null;
}

/** `timestamp-too-old` when the header is older than the median time past, else `null`. */
export function checkTimestampNotTooOld(header: BlockHeader, ancestors: readonly BlockHeader[]): HeaderVerdict | null {
  const median = medianTimePast(ancestors);
  if (header.timestamp < median) {
    return invalid('timestamp-too-old', `timestamp ${header.timestamp} is below the median time past ${median}`);
  }
  return null;
}

/** `future` when the header's timestamp is more than `maxFutureDriftMs` ahead of `now`, else `null`. */
export function checkNotInFuture(header: BlockHeader, now: number, maxFutureDriftMs: number): HeaderVerdict | null {
  if (header.timestamp > now + maxFutureDriftMs) {
    const retryAt = header.timestamp - maxFutureDriftMs;
    return {
      status: 'future',
      retryAt,
      message: `timestamp ${header.timestamp} is more than ${maxFutureDriftMs} ms ahead of the local clock ${now}`,
    };
  }
  return null;
}

/**
 * Every field of a header well-formed, except that seal order is left to the engines, which report unsorted and
 * duplicated signers with their own codes (`unsorted-seals`, `duplicate-signer`) instead of `malformed`.
 */
function assertHeaderShape(header: BlockHeader): void {
  assertBlockHeader({ ...header, signatures: [] });
  const seals: unknown = header.signatures;
  if (!Array.isArray(seals) || seals.length > MAX_BLOCK_SIGNATURES) {
    throw new InvalidArgumentError(`header.signatures: expected an array of at most ${MAX_BLOCK_SIGNATURES}`);
  }
  seals.forEach((seal: BlockHeader['signatures'][number], i) => {
    assertBytes(seal?.publicKey, `header.signatures[${i}].publicKey`, 32);
    assertBytes(seal?.signature, `header.signatures[${i}].signature`, 64);
  });
}

/** What `validateHeaderWith` needs to know about an engine. */
export interface HeaderRuleSettings {
  readonly ancestryDepth: number;
  readonly maxFutureDriftMs: number;
  readonly provider: CryptoProvider;
}

/**
 * Runs the shared rules around an engine's own check, in the documented order, and turns anything thrown into a
 * `malformed` verdict: `validateHeader` must answer, never throw, whatever a peer sent.
 */
export function validateHeaderWith(
  header: BlockHeader,
  ancestors: readonly BlockHeader[],
  now: number,
  settings: HeaderRuleSettings,
  engineRules: () => HeaderVerdict | null,
): HeaderVerdict {
  try {
    assertHeaderShape(header);
    return (
      checkAncestry(header, ancestors, settings.ancestryDepth, settings.provider) ??
      checkTimestampNotTooOld(header, ancestors) ??
      engineRules() ??
      checkNotInFuture(header, now, settings.maxFutureDriftMs) ??
      VALID
    );
  } catch (error) {
    return invalid('malformed', `header could not be validated: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Checks what every `prepareHeader` needs and returns the header with the timestamp raised to the median time past
 * when the local clock is behind it (a block stamped below it would be invalid), signatures cleared.
 * @throws InvalidArgumentError when `header` is not a well-formed header, `ancestors` is empty, or `header` is not
 *   at the parent's height + 1.
 */
export function prepareCommon(header: BlockHeader, ancestors: readonly BlockHeader[]): BlockHeader {
  assertBlockHeader(header);
  const parent = ancestors[0];
  if (parent === undefined) throw new InvalidArgumentError('ancestors: expected at least the parent, got none');
  if (header.height !== parent.height + 1) {
    throw new InvalidArgumentError(`header.height: expected ${parent.height + 1} (parent + 1), got ${header.height}`);
  }
  const earliest = medianTimePast(ancestors);
  return { ...header, timestamp: Math.max(header.timestamp, earliest), signatures: [] };
}
