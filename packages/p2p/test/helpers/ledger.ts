import {
  blockHash,
  buildBlock,
  checkBlockBody,
  equalBytes,
  signBlockHeader,
  toHex,
  transactionId,
  verifyBlockSignatures,
  verifyTransaction,
  createTransaction,
  utf8,
  type Block,
  type BlockHeader,
  type NodeKey,
  type Transaction,
} from '@safechain/core';
import type { BlockVerdict, ChainTip, LedgerAdapter, PeerRef, TransactionVerdict } from '@safechain/p2p';

/**
 * A small, real ledger for the p2p tests: blocks sealed by one producer key, a canonical chain by height (fork
 * choice by length), a mempool. It validates what the network hands it (producer seal, Merkle root, transaction
 * signatures, chain id), so relaying an invalid block or transaction is observable. Not a mock: it is the simplest
 * correct chain, standing in for @safechain/chain in in-process tests.
 */
export class TestLedger implements LedgerAdapter {
  readonly chainId: Uint8Array;
  readonly producer: Uint8Array;
  readonly genesis: Block;
  readonly #blocks = new Map<string, { block: Block; height: number }>();
  readonly #canonical: string[] = [];
  readonly #mempool = new Map<string, Transaction>();
  readonly #included = new Map<string, Transaction>();
  readonly accepted: { block: number; tx: number } = { block: 0, tx: 0 };

  constructor(genesis: Block, producer: Uint8Array) {
    this.genesis = genesis;
    this.producer = producer;
    this.chainId = blockHash(genesis.header);
    const id = toHex(this.chainId);
    this.#blocks.set(id, { block: genesis, height: 0 });
    this.#canonical.push(id);
  }

  /** A genesis sealed by `producer`, and a ledger holding it. */
  static create(producer: NodeKey, timestamp = 1_700_000_000_000): TestLedger {
    const unsigned = buildBlock({ parent: null, transactions: [], timestamp, extraData: utf8('p2p-test') });
    const genesis = { header: signBlockHeader(unsigned.header, producer), data: [] };
    return new TestLedger(genesis, producer.publicKey);
  }

  /** Another node's ledger of the same chain. */
  fork(): TestLedger {
    return new TestLedger(this.genesis, this.producer);
  }

  get height(): number {
    return this.#canonical.length - 1;
  }

  get mempoolSize(): number {
    return this.#mempool.size;
  }

  tipHash(): string {
    return this.#canonical[this.#canonical.length - 1]!;
  }

  tip(): ChainTip {
    return { height: this.height, hash: Buffer.from(this.tipHash(), 'hex'), totalWork: BigInt(this.#canonical.length) };
  }

  headersFrom(height: number, max: number): BlockHeader[] {
    return this.#canonical.slice(height, height + max).map((id) => this.#blocks.get(id)!.block.header);
  }

  hasBlock(hash: Uint8Array): boolean {
    return this.#blocks.has(toHex(hash));
  }

  getBlock(hash: Uint8Array): Block | undefined {
    return this.#blocks.get(toHex(hash))?.block;
  }

  getTransaction(id: Uint8Array): Transaction | undefined {
    const hex = toHex(id);
    const tx = this.#included.get(hex) ?? this.#mempool.get(hex);
    return tx?.payload === undefined ? undefined : tx;
  }

  /** Ids (hex) of every transaction in canonical blocks. */
  includedIds(): Set<string> {
    const out = new Set<string>();
    for (const id of this.#canonical) for (const tx of this.#blocks.get(id)!.block.data) out.add(toHex(transactionId(tx)));
    return out;
  }

  knowsTransaction(id: string): boolean {
    return this.#mempool.has(id) || this.#included.has(id);
  }

  /** While true, new valid transactions are answered `busy` (a mempool with no room), not taken. */
  full = false;

  acceptTransactions(txs: readonly Transaction[], _from?: PeerRef): TransactionVerdict[] {
    return txs.map((tx) => {
      const id = toHex(transactionId(tx));
      if (this.#mempool.has(id) || this.#included.has(id)) return 'ignored';
      if (!verifyTransaction(tx, { chainId: this.chainId }).valid) return 'invalid';
      if (this.full) return 'busy';
      this.#mempool.set(id, tx);
      this.accepted.tx++;
      return 'accepted';
    });
  }

  pendingTransactions(max: number): Transaction[] {
    return [...this.#mempool.values()].slice(0, max);
  }

  acceptBlock(block: Block, _from?: PeerRef): BlockVerdict {
    const id = toHex(blockHash(block.header));
    if (this.#blocks.has(id)) return 'ignored';
    const parent = this.#blocks.get(toHex(block.header.previousHash));
    if (parent === undefined) return 'orphan';
    if (block.header.height !== parent.height + 1) return 'invalid';
    const seals = block.header.signatures;
    if (seals.length !== 1 || !equalBytes(seals[0]!.publicKey, this.producer) || !verifyBlockSignatures(block.header).valid) {
      return 'invalid';
    }
    if (!checkBlockBody(block).valid) return 'invalid';
    for (const tx of block.data) if (!verifyTransaction(tx, { chainId: this.chainId }).valid) return 'invalid';
    this.#blocks.set(id, { block, height: block.header.height });
    this.accepted.block++;
    if (block.header.height > this.height) this.#reorgTo(id);
    return 'accepted';
  }

  #reorgTo(id: string): void {
    const branch: string[] = [];
    let cursor: string | undefined = id;
    while (cursor !== undefined) {
      const entry: { block: Block; height: number } = this.#blocks.get(cursor)!;
      if (this.#canonical[entry.height] === cursor) break;
      branch.unshift(cursor);
      cursor = entry.height === 0 ? undefined : toHex(entry.block.header.previousHash);
    }
    const from = this.#blocks.get(branch[0]!)!.height;
    for (const old of this.#canonical.splice(from)) {
      for (const tx of this.#blocks.get(old)!.block.data) {
        const txId = toHex(transactionId(tx));
        this.#included.delete(txId);
        this.#mempool.set(txId, tx);
      }
    }
    for (const b of branch) {
      this.#canonical.push(b);
      for (const tx of this.#blocks.get(b)!.block.data) {
        const txId = toHex(transactionId(tx));
        this.#mempool.delete(txId);
        this.#included.set(txId, tx);
      }
    }
  }

  /** Seals a block of up to `max` mempool transactions on the tip (the ledger must hold the producer key). */
  produce(producer: NodeKey, max = 1_000, timestamp = Date.now()): Block {
    const parent = this.#blocks.get(this.tipHash())!.block.header;
    const txs = [...this.#mempool.values()].slice(0, max);
    const unsigned = buildBlock({ parent, transactions: txs, timestamp });
    const block = { header: signBlockHeader(unsigned.header, producer), data: txs };
    const verdict = this.acceptBlock(block);
    if (verdict !== 'accepted') throw new Error(`own block not accepted: ${verdict}`);
    return block;
  }
}

let sequence = 0;

/** A signed transaction on `chainId` with a payload of `size` bytes. */
export function makeTransaction(origin: NodeKey, chainId: Uint8Array, size = 64, label = 'rec'): Transaction {
  const payload = new Uint8Array(size);
  const text = utf8(`${label}-${sequence}-${Math.random()}`);
  payload.set(text.subarray(0, Math.min(size, text.length)));
  return createTransaction(
    { chainId, payload, sequence: sequence++, contentType: 'application/octet-stream', createdAt: 1_700_000_000_000 + sequence },
    origin,
  );
}
