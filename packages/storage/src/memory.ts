import { compareBytes, toHex, type Block } from '@safechain/core';
import { planCommit } from './commit.js';
import { StoreClosedError } from './errors.js';
import type {
  BlockWrite,
  CanonicalTip,
  ChainStore,
  Commit,
  PendingTransaction,
  StoredBlockInfo,
  StoredTransaction,
  TransactionLocation,
} from './store.js';

/**
 * An in-memory ChainStore: for tests, tools and short-lived nodes. Nothing survives the process, so "durable" here
 * means "applied"; it keeps every other promise of the contract, atomicity included (a commit is checked whole
 * before anything changes).
 */
export class MemoryStore implements ChainStore {
  readonly kind = 'memory';
  readonly #blocks = new Map<string, BlockWrite>();
  readonly #canonical: Uint8Array[] = [];
  readonly #txIndex = new Map<string, TransactionLocation & { readonly id: Uint8Array }>();
  readonly #pending = new Map<string, PendingTransaction>();
  readonly #meta = new Map<string, Uint8Array>();
  #closed = false;

  #check(): void {
    if (this.#closed) throw new StoreClosedError('store is closed');
  }

  async commit(commit: Commit): Promise<void> {
    this.#check();
    const plan = planCommit(commit, {
      canonicalLength: this.#canonical.length,
      storedHeight: (hash) => this.#blocks.get(toHex(hash))?.block.header.height,
    });
    // Checked: apply. Nothing below can fail, so the commit is all or nothing.
    for (const b of plan.blocks) this.#blocks.set(toHex(b.hash), b);
    if (plan.canonical !== undefined) {
      const { fromHeight, hashes } = plan.canonical;
      for (let h = fromHeight; h < this.#canonical.length; h++) this.#unindex(this.#canonical[h]!);
      this.#canonical.length = fromHeight;
      for (const hash of hashes) {
        this.#canonical.push(hash);
        this.#index(hash);
      }
    }
    for (const p of plan.pendingAdd) this.#pending.set(toHex(p.id), p);
    for (const id of plan.pendingRemove) this.#pending.delete(toHex(id));
    for (const [k, v] of plan.meta) this.#meta.set(k, v);
  }

  #index(hash: Uint8Array): void {
    const b = this.#blocks.get(toHex(hash))!;
    b.ids.forEach((id, index) => this.#txIndex.set(toHex(id), { id, blockHash: b.hash, height: b.block.header.height, index }));
  }

  #unindex(hash: Uint8Array): void {
    const b = this.#blocks.get(toHex(hash))!;
    for (const id of b.ids) this.#txIndex.delete(toHex(id));
  }

  async hasBlock(hash: Uint8Array): Promise<boolean> {
    this.#check();
    return this.#blocks.has(toHex(hash));
  }

  async getBlockInfo(hash: Uint8Array): Promise<StoredBlockInfo | undefined> {
    this.#check();
    const b = this.#blocks.get(toHex(hash));
    return b && { hash: b.hash, header: b.block.header, totalWork: b.totalWork };
  }

  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    this.#check();
    return this.#blocks.get(toHex(hash))?.block;
  }

  async getLeaves(hash: Uint8Array): Promise<readonly Uint8Array[] | undefined> {
    this.#check();
    return this.#blocks.get(toHex(hash))?.ids;
  }

  async *blockInfos(fromHeight = 0): AsyncIterable<StoredBlockInfo> {
    this.#check();
    const all = [...this.#blocks.values()]
      .filter((b) => b.block.header.height >= fromHeight)
      .sort((a, b) => a.block.header.height - b.block.header.height || compareBytes(a.hash, b.hash));
    for (const b of all) yield { hash: b.hash, header: b.block.header, totalWork: b.totalWork };
  }

  async getCanonicalHash(height: number): Promise<Uint8Array | undefined> {
    this.#check();
    return this.#canonical[height];
  }

  async getTip(): Promise<CanonicalTip | undefined> {
    this.#check();
    const n = this.#canonical.length;
    return n === 0 ? undefined : { hash: this.#canonical[n - 1]!, height: n - 1 };
  }

  async getTransaction(id: Uint8Array): Promise<StoredTransaction | undefined> {
    this.#check();
    const loc = this.#txIndex.get(toHex(id));
    if (loc === undefined) return undefined;
    const transaction = this.#blocks.get(toHex(loc.blockHash))!.block.data[loc.index]!;
    return { ...loc, transaction };
  }

  async canonicalHeights(ids: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    this.#check();
    return ids.map((id) => this.#txIndex.get(toHex(id))?.height);
  }

  async *pending(): AsyncIterable<PendingTransaction> {
    this.#check();
    yield* [...this.#pending.values()];
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    return this.#meta.get(key)?.slice();
  }

  async sizeBytes(): Promise<number> {
    this.#check();
    return 0;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
