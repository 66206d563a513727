/**
 * Shared fixtures of this package's unit tests: deterministic keys, real consensus engines with their genesis
 * blocks, signed transactions, and a block factory that builds, prepares and seals children of any known header
 * (so tests can grow forks side by side). Not exported from the package entry.
 */
import {
  blockHash,
  buildBlock,
  createTransaction,
  NodeKey,
  toHex,
  utf8,
  type Block,
  type BlockHeader,
  type Transaction,
} from '@safechain/core';
import { createGenesisBlock, poaConsensus, singleConsensus, type Consensus } from '@safechain/consensus';

/** Genesis timestamp of every test chain. */
export const T0 = 1_700_000_000_000;

/** A key from a one-byte seed: the same key in every run. */
export function keyOf(seed: number): NodeKey {
  return NodeKey.fromSeed(new Uint8Array(32).fill(seed));
}

/** A clock tests move by hand. */
export class ManualClock {
  value: number;
  constructor(start: number) {
    this.value = start;
  }
  readonly now = (): number => this.value;
  advance(ms: number): void {
    this.value += ms;
  }
}

export interface TestChain {
  readonly consensus: Consensus;
  readonly genesis: Block;
  readonly chainId: Uint8Array;
  /** Keys allowed to seal. */
  readonly sealers: readonly NodeKey[];
  /** Seals a block needs. */
  readonly threshold: number;
}

/** A chain with the single-producer engine: work 1 per block, nothing final. */
export function singleChain(producers: readonly NodeKey[] = [keyOf(1)]): TestChain {
  const ids = producers.map((k) => k.id);
  const genesis = createGenesisBlock({ name: 'test-single', consensus: { engine: 'single', producers: ids } }, T0);
  return { consensus: singleConsensus({ producers: ids }), genesis, chainId: blockHash(genesis.header), sealers: producers, threshold: 1 };
}

/** A proof-of-authority chain: every valid block carries `threshold` seals and is final. */
export function poaChain(validators: readonly NodeKey[], threshold: number): TestChain {
  const ids = validators.map((k) => k.id);
  const genesis = createGenesisBlock({ name: 'test-poa', consensus: { engine: 'poa', validators: ids, threshold } }, T0);
  return {
    consensus: poaConsensus({ validators: ids, threshold }),
    genesis,
    chainId: blockHash(genesis.header),
    sealers: validators,
    threshold,
  };
}

const origin = keyOf(200);
let sequence = 0;

/** A fresh signed transaction of `chainId` (by a fixed origin, increasing sequence). */
export function makeTx(chainId: Uint8Array, payload: string | Uint8Array = `record ${sequence}`, by: NodeKey = origin): Transaction {
  sequence++;
  return createTransaction(
    {
      chainId,
      payload: typeof payload === 'string' ? utf8(payload) : payload,
      sequence,
      createdAt: T0 + sequence,
      contentType: 'text/plain',
    },
    by,
  );
}

/** `n` fresh transactions. */
export function makeTxs(chainId: Uint8Array, n: number): Transaction[] {
  return Array.from({ length: n }, () => makeTx(chainId));
}

/**
 * Builds sealed blocks on any header it has seen, computing ancestors from its own memory. Timestamps default to
 * parent + 1000 ms; pass `timestamp` to make siblings differ or to build a block from the future.
 */
export class BlockFactory {
  readonly #headers = new Map<string, BlockHeader>();
  readonly #chain: TestChain;

  constructor(chain: TestChain) {
    this.#chain = chain;
    this.#headers.set(toHex(blockHash(chain.genesis.header)), chain.genesis.header);
  }

  ancestors(header: BlockHeader): BlockHeader[] {
    const out: BlockHeader[] = [header];
    let h = header;
    while (h.height > 0 && out.length < this.#chain.consensus.ancestryDepth) {
      const parent = this.#headers.get(toHex(h.previousHash));
      if (parent === undefined) throw new Error('factory: unknown ancestor');
      out.push(parent);
      h = parent;
    }
    return out;
  }

  /** A sealed child of `parent` holding `transactions`, sealed by `sealers` (default: what the engine needs). */
  async child(
    parent: BlockHeader | Block,
    transactions: readonly Transaction[] = [],
    options: { readonly timestamp?: number; readonly sealers?: readonly NodeKey[] } = {},
  ): Promise<Block> {
    const parentHeader = 'header' in parent ? parent.header : parent;
    const timestamp = options.timestamp ?? parentHeader.timestamp + 1000;
    const unsealed = buildBlock({ parent: parentHeader, transactions, timestamp });
    const ancestors = this.ancestors(parentHeader);
    const consensus = this.#chain.consensus;
    const sealers = options.sealers ?? this.#defaultSealers(unsealed.header.height);
    const prepared = consensus.prepareHeader(unsealed.header, ancestors, sealers[0]!.publicKey, timestamp);
    if (prepared === null) throw new Error('factory: the engine refused the proposer');
    let header = prepared;
    for (const key of sealers) header = await consensus.seal(header, key);
    this.#headers.set(toHex(blockHash(header)), header);
    return { header, data: transactions };
  }

  /** A chain of `n` blocks on `parent`, each with the transactions `txsAt(i)` gives. */
  async chain(parent: BlockHeader | Block, n: number, txsAt: (i: number) => readonly Transaction[] = () => []): Promise<Block[]> {
    const out: Block[] = [];
    let p = parent;
    for (let i = 0; i < n; i++) {
      const b = await this.child(p, txsAt(i));
      out.push(b);
      p = b;
    }
    return out;
  }

  #defaultSealers(height: number): NodeKey[] {
    const sealers = this.#chain.sealers;
    if (this.#chain.consensus.name !== 'poa') return [sealers[0]!];
    // The in-turn proposer first, then co-signers in key order, up to the threshold.
    const sorted = [...sealers].sort((a, b) => (a.id < b.id ? -1 : 1));
    const proposer = sorted[height % sorted.length]!;
    const others = sorted.filter((k) => k !== proposer);
    return [proposer, ...others.slice(0, this.#chain.threshold - 1)];
  }
}
