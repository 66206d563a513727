import { constants } from 'node:fs';
import { open, readFile, truncate, type FileHandle } from 'node:fs/promises';
import {
  concatBytes,
  decodeTransaction,
  encodeTransaction,
  equalBytes,
  sha256,
  toHex,
  transactionId,
  type Transaction,
} from '@safechain/core';
import type { IngestRecord, IngestSink } from '../../src/ingest/index.js';
import type { ProcessingPool } from '../../src/processing/index.js';

/**
 * A real, durable ingest sink for tests: signs with a ProcessingPool and appends committed transactions to a log
 * file with fsync (group commit: concurrent commits share one write and one fsync). Commit is idempotent on ids.
 * A record is `u32 length | encoded transaction | first 4 bytes of its SHA-256`; a torn tail left by a kill is cut
 * off at open.
 */
export class FileLogSink implements IngestSink {
  readonly path: string;
  readonly #pool: ProcessingPool;
  readonly #chainId: Uint8Array;
  readonly #handle: FileHandle;
  readonly #ids = new Set<string>();
  readonly #pending = new Map<string, Promise<void>>();
  #nextSequence: number;
  #buffer: Uint8Array[] = [];
  #waiters: Array<{ resolve: () => void; reject: (e: unknown) => void; ids: string[] }> = [];
  #flushing: Promise<void> | null = null;
  /** Commit calls that failed on purpose (see `failNextCommits`). */
  #failCommits = 0;
  #commitDelayMs = 0;

  private constructor(path: string, pool: ProcessingPool, chainId: Uint8Array, handle: FileHandle, txs: Transaction[]) {
    this.path = path;
    this.#pool = pool;
    this.#chainId = chainId;
    this.#handle = handle;
    let max = -1;
    for (const tx of txs) {
      this.#ids.add(toHex(transactionId(tx)));
      max = Math.max(max, tx.header.sequence);
    }
    this.#nextSequence = max + 1;
  }

  /** `commitDelayMs` makes every commit wait before writing, like a slow disk: it widens the crash windows. */
  static async open(
    path: string,
    pool: ProcessingPool,
    chainId: Uint8Array,
    options: { readonly commitDelayMs?: number } = {},
  ): Promise<FileLogSink> {
    const { transactions, validBytes, totalBytes } = await FileLogSink.readLog(path);
    if (validBytes < totalBytes) await truncate(path, validBytes);
    const handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    const sink = new FileLogSink(path, pool, chainId, handle, transactions);
    sink.#commitDelayMs = options.commitDelayMs ?? 0;
    return sink;
  }

  /** Every complete record of the log, in order. */
  static async readLog(path: string): Promise<{ transactions: Transaction[]; validBytes: number; totalBytes: number }> {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { transactions: [], validBytes: 0, totalBytes: 0 };
      throw error;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const transactions: Transaction[] = [];
    let at = 0;
    while (at + 4 <= bytes.length) {
      const length = view.getUint32(at);
      const end = at + 4 + length + 4;
      if (end > bytes.length) break;
      const encoded = bytes.subarray(at + 4, at + 4 + length);
      if (!equalBytes(sha256(encoded).subarray(0, 4), bytes.subarray(end - 4, end))) break;
      transactions.push(decodeTransaction(encoded));
      at = end;
    }
    return { transactions, validBytes: at, totalBytes: bytes.length };
  }

  /** Makes the next `n` commit calls fail before writing anything, to test retries. */
  failNextCommits(n: number): void {
    this.#failCommits = n;
  }

  async sign(records: readonly IngestRecord[]): Promise<readonly Transaction[]> {
    const drafts = records.map((r) => ({
      chainId: this.#chainId,
      payload: r.payload,
      sequence: this.#nextSequence++,
      createdAt: r.createdAt,
      contentType: r.contentType,
      source: r.source,
      traceCodes: r.traceCodes,
    }));
    return this.#pool.signRecords(drafts);
  }

  async commit(transactions: readonly Transaction[]): Promise<void> {
    if (this.#failCommits > 0) {
      this.#failCommits--;
      throw new Error('commit failure injected by the test');
    }
    if (this.#commitDelayMs > 0) await new Promise((r) => setTimeout(r, this.#commitDelayMs));
    const waits: Promise<void>[] = [];
    const fresh: string[] = [];
    for (const tx of transactions) {
      // A journalled transaction committed after a restart may carry a number above those in the log at open.
      this.#nextSequence = Math.max(this.#nextSequence, tx.header.sequence + 1);
      const id = toHex(transactionId(tx));
      if (this.#ids.has(id) || fresh.includes(id)) continue;
      const pending = this.#pending.get(id);
      if (pending !== undefined) {
        waits.push(pending);
        continue;
      }
      const encoded = encodeTransaction(tx);
      const length = new Uint8Array(4);
      new DataView(length.buffer).setUint32(0, encoded.length);
      this.#buffer.push(length, encoded, sha256(encoded).subarray(0, 4));
      fresh.push(id);
    }
    if (fresh.length > 0) {
      const durable = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject, ids: fresh }));
      for (const id of fresh) this.#pending.set(id, durable);
      waits.push(durable);
      this.#flushing ??= this.#flush();
    }
    await Promise.all(waits);
  }

  async #flush(): Promise<void> {
    // Let concurrent commits of this tick join the batch.
    await new Promise((r) => setImmediate(r));
    while (this.#buffer.length > 0) {
      const data = concatBytes(...this.#buffer);
      const waiters = this.#waiters;
      this.#buffer = [];
      this.#waiters = [];
      try {
        await this.#handle.write(data);
        await this.#handle.sync();
        for (const w of waiters) {
          for (const id of w.ids) {
            this.#ids.add(id);
            this.#pending.delete(id);
          }
          w.resolve();
        }
      } catch (error) {
        for (const w of waiters) {
          for (const id of w.ids) this.#pending.delete(id);
          w.reject(error);
        }
      }
    }
    this.#flushing = null;
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.#handle.close();
  }
}
