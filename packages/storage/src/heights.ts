import { InvalidArgumentError } from '@safechain/core';
import type { ChainStore } from './store.js';

/**
 * For each id, the height of the canonical block holding it, or undefined. Uses the store's own `canonicalHeights`
 * when it has one (no transaction is read), else one `getTransaction` per id.
 * @throws InvalidArgumentError when the store answers a different number of heights; the store's errors
 */
export async function canonicalHeights(store: ChainStore, ids: readonly Uint8Array[]): Promise<(number | undefined)[]> {
  if (ids.length === 0) return [];
  if (store.canonicalHeights !== undefined) {
    const heights = await store.canonicalHeights(ids);
    if (heights.length !== ids.length) throw new InvalidArgumentError(`canonicalHeights: the store answered ${heights.length} heights for ${ids.length} ids`);
    return heights;
  }
  const out: (number | undefined)[] = [];
  for (const id of ids) out.push((await store.getTransaction(id))?.height);
  return out;
}
