import { InvalidArgumentError, stripTransaction, toHex, type Block, type Transaction } from '@safechain/core';

/**
 * The retention filter: which transactions a node keeps in full. Headers and Merkle leaves are always kept; a
 * transaction the filter does not keep is stored stripped (signed header only), so it still verifies and can be
 * fetched in full from an archive later.
 *
 * Archive and full nodes keep everything. Other nodes keep their own transactions and those matching the
 * configured origins, content types or trace codes.
 */
export type RetentionConfig =
  | { readonly mode: 'archive' }
  | {
      readonly mode: 'filter';
      /** Origin keys (hex) kept in full; the node's own key belongs here. */
      readonly origins?: readonly string[];
      /** Content types kept in full; a trailing `*` matches a prefix (`text/*`). */
      readonly contentTypes?: readonly string[];
      /** Trace codes: a transaction carrying any of them is kept in full. */
      readonly traceCodes?: readonly string[];
    };

export interface RetentionFilter {
  /** True when `tx` is kept with its payload. */
  keeps(tx: Transaction): boolean;
  /** The block as this node stores it: kept transactions full, others stripped. */
  apply(block: Block): Block;
}

/**
 * Builds the filter for `config`. `ownKey` (hex) is always kept.
 * @throws InvalidArgumentError on a malformed configuration.
 */
export function createRetentionFilter(config: RetentionConfig, ownKey?: string): RetentionFilter {
  if (config.mode === 'archive') {
    return { keeps: () => true, apply: (block) => block };
  }
  if (config.mode !== 'filter') throw new InvalidArgumentError(`retention.mode: expected "archive" or "filter"`);
  const origins = new Set((config.origins ?? []).map((o) => o.toLowerCase()));
  if (ownKey !== undefined) origins.add(ownKey.toLowerCase());
  const exactTypes = new Set<string>();
  const typePrefixes: string[] = [];
  for (const t of config.contentTypes ?? []) {
    if (t.endsWith('*')) typePrefixes.push(t.slice(0, -1));
    else exactTypes.add(t);
  }
  const codes = new Set(config.traceCodes ?? []);
  const keeps = (tx: Transaction): boolean => {
    const h = tx.header;
    if (origins.size > 0 && origins.has(toHex(h.origin))) return true;
    if (exactTypes.has(h.contentType) || typePrefixes.some((p) => h.contentType.startsWith(p))) return true;
    return codes.size > 0 && h.traceCodes.some((c) => codes.has(c));
  };
  return {
    keeps,
    apply(block: Block): Block {
      let changed = false;
      const data = block.data.map((tx) => {
        if (tx.payload === undefined || keeps(tx)) return tx;
        changed = true;
        return stripTransaction(tx);
      });
      return changed ? { header: block.header, data } : block;
    },
  };
}
