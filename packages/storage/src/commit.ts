import { InvalidArgumentError, toHex } from '@safechain/core';
import { StoreConsistencyError } from './errors.js';
import type { BlockWrite, CanonicalUpdate, Commit, PendingTransaction } from './store.js';

/**
 * Checks shared by every adapter, so that all of them accept and refuse exactly the same commits. An adapter calls
 * `planCommit` before it writes anything: a commit that fails here changes nothing, which is half of atomicity (the
 * other half, a crash in the middle of writing, is the adapter's).
 */

/** Longest meta key, in UTF-8 bytes. */
export const MAX_META_KEY_BYTES = 1024;

/** What `planCommit` needs to know about the store as it is before the commit. */
export interface CommitView {
  /** Number of canonical heights: the tip's height + 1, or 0 for an empty chain. */
  readonly canonicalLength: number;
  /** Header height of the stored block `hash`, or undefined when no such block is stored. */
  storedHeight(hash: Uint8Array): number | undefined;
}

/** A checked commit: what an adapter writes. */
export interface CommitPlan {
  /** Blocks not stored yet, first occurrence of each hash, in commit order. Re-sent blocks are dropped: first write wins. */
  readonly blocks: readonly BlockWrite[];
  readonly canonical: CanonicalUpdate | undefined;
  readonly pendingAdd: readonly PendingTransaction[];
  readonly pendingRemove: readonly Uint8Array[];
  readonly meta: readonly (readonly [string, Uint8Array])[];
  /** True when applying the plan changes nothing (every part empty). */
  readonly empty: boolean;
}

/** A short description of a value's type for "expected X, got Y" messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  return typeof value;
}

function assertHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== 32) {
    throw new InvalidArgumentError(`${name}: expected a 32-byte Uint8Array, got ${describe(value)}`);
  }
}

function assertArray(value: unknown, name: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${name}: expected array, got ${describe(value)}`);
}

function assertObject(value: unknown, name: string): asserts value is object {
  if (typeof value !== 'object' || value === null) throw new InvalidArgumentError(`${name}: expected object, got ${describe(value)}`);
}

const encoder = new TextEncoder();

function checkBlockWrite(b: BlockWrite, name: string): void {
  assertObject(b, name);
  assertHash(b.hash, `${name}.hash`);
  assertObject(b.block, `${name}.block`);
  assertObject(b.block.header, `${name}.block.header`);
  assertArray(b.block.data, `${name}.block.data`);
  assertArray(b.ids, `${name}.ids`);
  const { height, txCount } = b.block.header;
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new InvalidArgumentError(`${name}.block.header.height: expected a non-negative safe integer, got ${String(height)}`);
  }
  if (b.ids.length !== txCount || b.block.data.length !== txCount) {
    throw new InvalidArgumentError(
      `${name}: header says ${String(txCount)} transactions, got ${b.block.data.length} transactions and ${b.ids.length} ids`,
    );
  }
  b.ids.forEach((id, i) => assertHash(id, `${name}.ids[${i}]`));
  if (typeof b.totalWork !== 'bigint' || b.totalWork < 0n) {
    throw new InvalidArgumentError(`${name}.totalWork: expected a non-negative bigint, got ${describe(b.totalWork)}`);
  }
}

/**
 * Validates `commit` against the store as `view` shows it and returns what to write.
 * @throws InvalidArgumentError when the commit is malformed (wrong types, id count not the header's txCount).
 * @throws StoreConsistencyError when the canonical update leaves a gap, names a block that is neither stored nor in
 *   the commit, or puts a block at a height other than its header's.
 */
export function planCommit(commit: Commit, view: CommitView): CommitPlan {
  assertObject(commit, 'commit');
  const incoming = new Map<string, BlockWrite>();
  const blocks: BlockWrite[] = [];
  if (commit.blocks !== undefined) {
    assertArray(commit.blocks, 'commit.blocks');
    commit.blocks.forEach((b, i) => {
      checkBlockWrite(b, `commit.blocks[${i}]`);
      const key = toHex(b.hash);
      if (incoming.has(key) || view.storedHeight(b.hash) !== undefined) return;
      incoming.set(key, b);
      blocks.push(b);
    });
  }

  let canonical: CanonicalUpdate | undefined;
  if (commit.canonical !== undefined) {
    const c = commit.canonical;
    assertObject(c, 'commit.canonical');
    if (!Number.isSafeInteger(c.fromHeight) || c.fromHeight < 0) {
      throw new InvalidArgumentError(`commit.canonical.fromHeight: expected a non-negative safe integer, got ${String(c.fromHeight)}`);
    }
    assertArray(c.hashes, 'commit.canonical.hashes');
    c.hashes.forEach((h, i) => assertHash(h, `commit.canonical.hashes[${i}]`));
    if (c.fromHeight > view.canonicalLength) {
      throw new StoreConsistencyError(
        `canonical update from height ${c.fromHeight} leaves a gap: the canonical chain ends at height ${view.canonicalLength - 1}`,
      );
    }
    c.hashes.forEach((hash, i) => {
      const key = toHex(hash);
      const height = incoming.get(key)?.block.header.height ?? view.storedHeight(hash);
      if (height === undefined) throw new StoreConsistencyError(`canonical block ${key} is not stored`);
      if (height !== c.fromHeight + i) {
        throw new StoreConsistencyError(`canonical block ${key} has height ${height}, placed at height ${c.fromHeight + i}`);
      }
    });
    // Restating the current chain from the tip upward with nothing new changes nothing.
    if (!(c.hashes.length === 0 && c.fromHeight === view.canonicalLength)) canonical = { fromHeight: c.fromHeight, hashes: [...c.hashes] };
  }

  const pendingAdd: PendingTransaction[] = [];
  if (commit.pendingAdd !== undefined) {
    assertArray(commit.pendingAdd, 'commit.pendingAdd');
    commit.pendingAdd.forEach((p, i) => {
      assertObject(p, `commit.pendingAdd[${i}]`);
      assertHash(p.id, `commit.pendingAdd[${i}].id`);
      assertObject(p.transaction, `commit.pendingAdd[${i}].transaction`);
      pendingAdd.push(p);
    });
  }
  const pendingRemove: Uint8Array[] = [];
  if (commit.pendingRemove !== undefined) {
    assertArray(commit.pendingRemove, 'commit.pendingRemove');
    commit.pendingRemove.forEach((id, i) => {
      assertHash(id, `commit.pendingRemove[${i}]`);
      pendingRemove.push(id);
    });
  }
  const meta: (readonly [string, Uint8Array])[] = [];
  if (commit.meta !== undefined) {
    assertArray(commit.meta, 'commit.meta');
    commit.meta.forEach((entry, i) => {
      assertArray(entry, `commit.meta[${i}]`);
      const [key, value] = entry;
      if (typeof key !== 'string' || !key.isWellFormed() || encoder.encode(key).length > MAX_META_KEY_BYTES) {
        throw new InvalidArgumentError(`commit.meta[${i}][0]: expected a well-formed string of at most ${MAX_META_KEY_BYTES} UTF-8 bytes`);
      }
      if (!(value instanceof Uint8Array)) throw new InvalidArgumentError(`commit.meta[${i}][1]: expected Uint8Array, got ${describe(value)}`);
      meta.push([key, value.slice()]);
    });
  }

  const empty = blocks.length === 0 && canonical === undefined && pendingAdd.length === 0 && pendingRemove.length === 0 && meta.length === 0;
  return { blocks, canonical, pendingAdd, pendingRemove, meta, empty };
}
