import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  InvalidArgumentError,
  MAX_PAYLOAD_BYTES,
  NodeKey,
  assertBytes,
  encodeTransaction,
  type Transaction,
  type TxHeader,
} from '@safechain/core';
import {
  NoSigningKeyError,
  ProcessingPoolStoppedError,
  ProcessingTaskError,
  WorkerCrashedError,
  WorkerStartError,
} from './errors.js';
import {
  SIGN_RESULT_BYTES,
  packItems,
  type SignMeta,
  type WorkerInit,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol.js';

/**
 * The Processing module of the paper: a configurable number of worker threads that do the node's parallelisable
 * crypto (sign, verify, hash) in batches, so the main thread, which runs sockets, the mempool and the block tree,
 * never stalls on a long run of signatures.
 *
 * Big batches are split into chunks spread over the workers. Bytes travel packed into one transferred buffer per
 * chunk. A worker that dies fails only the chunk it held (`WorkerCrashedError`) and is replaced.
 */

/** Everything a signed header needs except the origin (the pool's key) and the payload hash (computed). */
export interface RecordDraft {
  /** Genesis hash of the chain (32 bytes). */
  readonly chainId: Uint8Array;
  readonly payload: Uint8Array;
  /** Assigned by the caller: strictly increasing per origin. */
  readonly sequence: number;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  readonly contentType: string;
  readonly source?: string;
  readonly traceCodes: readonly string[];
}

/** A signed record and its transaction id. */
export interface SignedRecord {
  readonly transaction: Transaction;
  /** `transactionId(transaction)`. */
  readonly id: Uint8Array;
}

/** Where the pool reports a crashed worker. Compatible with the ingest logger. */
export interface ProcessingLogger {
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface ProcessingPoolOptions {
  /** Worker threads; default `os.availableParallelism()`. */
  readonly size?: number;
  /** The node key's 32-byte seed. Without it the pool verifies and hashes but cannot sign. Never logged. */
  readonly seed?: Uint8Array;
  /** Most items in one chunk sent to one worker (default 512): smaller chunks spread better, larger cost less. */
  readonly maxChunkItems?: number;
  /** Most bytes in one chunk (default 8 MiB); a single larger item goes alone. */
  readonly maxChunkBytes?: number;
  readonly logger?: ProcessingLogger;
  /** Enables `crashOnNextTaskForTesting`. Never set in production. */
  readonly testHooks?: boolean;
}

export interface VerifyOptions {
  /** When given, a transaction of another chain is not valid (as in core's `verifyTransaction`). */
  readonly chainId?: Uint8Array;
}

export interface ProcessingPoolStats {
  readonly size: number;
  /** Workers started and ready now. */
  readonly ready: number;
  /** Workers holding a chunk now. */
  readonly busy: number;
  /** Chunks waiting for a worker. */
  readonly queued: number;
  /** Workers that died since start (each was replaced). */
  readonly crashes: number;
  readonly threadIds: readonly number[];
}

interface Task {
  readonly request: WorkerRequest & { readonly id: number };
  readonly transfer: readonly ArrayBuffer[];
  readonly resolve: (response: WorkerResponse) => void;
  readonly reject: (error: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly threadId: number;
  task: Task | null;
  dead: boolean;
}

const DEFAULT_MAX_CHUNK_ITEMS = 512;
const DEFAULT_MAX_CHUNK_BYTES = 8 * 1024 * 1024;
/** Below this many items per worker, splitting costs more in messages than it saves. */
const MIN_CHUNK_ITEMS = 16;
/** Replacements that die before they are ready, in a row, before the pool gives up. */
const MAX_START_FAILURES = 3;

/**
 * Splits items of the given byte sizes into contiguous chunks `[start, end)`: about one chunk per worker, at least
 * `MIN_CHUNK_ITEMS` items per chunk, at most `maxItems` items and `maxBytes` bytes (an item larger than `maxBytes`
 * goes alone).
 */
export function planChunks(
  sizes: readonly number[],
  workers: number,
  maxItems: number = DEFAULT_MAX_CHUNK_ITEMS,
  maxBytes: number = DEFAULT_MAX_CHUNK_BYTES,
): Array<readonly [number, number]> {
  const n = sizes.length;
  const chunks: Array<readonly [number, number]> = [];
  const target = Math.max(1, Math.min(maxItems, Math.max(MIN_CHUNK_ITEMS, Math.ceil(n / Math.max(1, workers)))));
  let start = 0;
  while (start < n) {
    let end = start;
    let bytes = 0;
    while (end < n && end - start < target) {
      const size = sizes[end]!;
      if (end > start && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    chunks.push([start, end]);
    start = end;
  }
  return chunks;
}

interface WorkerEntry {
  readonly filename: string | URL;
  readonly options: WorkerOptions;
}

/**
 * Finds the worker module: `worker.ts` beside this file when running from TypeScript source (tests, tsx), or
 * `processing-worker.js` beside the bundle when running from the tsup build. From source the worker registers tsx
 * itself, because on Node 20 a loader registered in the main thread does not reach worker threads.
 * @throws WorkerStartError when neither is found.
 */
function workerEntry(): WorkerEntry {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  if (here.endsWith('.ts')) {
    const source = join(dir, 'worker.ts');
    let tsxApi: string;
    try {
      tsxApi = createRequire(import.meta.url).resolve('tsx/esm/api').replace(/index\.cjs$/, 'index.mjs');
    } catch (error) {
      throw new WorkerStartError('running the processing worker from TypeScript source needs the tsx package', {
        cause: error,
      });
    }
    const code =
      `import(${JSON.stringify(pathToFileURL(tsxApi).href)})` +
      `.then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(source).href)}); })`;
    return { filename: code, options: { eval: true, execArgv: ['--conditions=@safechain/source'] } };
  }
  for (const name of ['processing-worker.js', 'worker.js']) {
    const file = join(dir, name);
    if (existsSync(file)) return { filename: file, options: {} };
  }
  throw new WorkerStartError(`processing worker module not found beside ${here}`);
}

function describeExit(code: number): string {
  return `exited with code ${code}`;
}

export class ProcessingPool {
  /** The node identity the workers sign with, or null for a verify-only pool. */
  readonly publicKey: Uint8Array | null;
  readonly size: number;
  readonly #seed: Uint8Array | null;
  readonly #entry: WorkerEntry;
  readonly #maxChunkItems: number;
  readonly #maxChunkBytes: number;
  readonly #logger: ProcessingLogger | undefined;
  readonly #testHooks: boolean;
  readonly #slots = new Set<Slot>();
  readonly #idle: Slot[] = [];
  readonly #queue: Task[] = [];
  #nextId = 1;
  #crashes = 0;
  #startFailures = 0;
  #stopped = false;
  #broken: Error | null = null;

  private constructor(options: ProcessingPoolOptions, size: number, seed: Uint8Array | null, entry: WorkerEntry) {
    this.size = size;
    this.#seed = seed;
    this.publicKey = seed === null ? null : NodeKey.fromSeed(seed).publicKey;
    this.#entry = entry;
    this.#maxChunkItems = options.maxChunkItems ?? DEFAULT_MAX_CHUNK_ITEMS;
    this.#maxChunkBytes = options.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    this.#logger = options.logger;
    this.#testHooks = options.testHooks ?? false;
  }

  /**
   * Starts `size` workers and resolves once all are ready.
   * @throws InvalidArgumentError on a bad size, seed or chunk limit; WorkerStartError when a worker cannot start.
   */
  static async start(options: ProcessingPoolOptions = {}): Promise<ProcessingPool> {
    const size = options.size ?? availableParallelism();
    if (!Number.isSafeInteger(size) || size < 1 || size > 256) {
      throw new InvalidArgumentError(`size: expected an integer from 1 to 256, got ${String(size)}`);
    }
    for (const [name, value] of [
      ['maxChunkItems', options.maxChunkItems],
      ['maxChunkBytes', options.maxChunkBytes],
    ] as const) {
      if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) {
        throw new InvalidArgumentError(`${name}: expected a positive integer, got ${String(value)}`);
      }
    }
    let seed: Uint8Array | null = null;
    if (options.seed !== undefined) {
      assertBytes(options.seed, 'seed', 32);
      seed = options.seed.slice();
    }
    const pool = new ProcessingPool(options, size, seed, workerEntry());
    const started = await Promise.allSettled(Array.from({ length: size }, () => pool.#spawn()));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) {
      await pool.stop();
      throw failure.reason instanceof Error ? failure.reason : new WorkerStartError(String(failure.reason));
    }
    return pool;
  }

  /**
   * Signs drafts with the node key, in order: result `i` is the transaction of `drafts[i]`, byte for byte what core's
   * `createTransaction` makes of the same input. Inputs are read when called; later changes do not matter.
   * @throws (rejects) NoSigningKeyError without a seed; InvalidArgumentError naming the draft and field;
   *   WorkerCrashedError when a worker died holding part of the batch; ProcessingPoolStoppedError after `stop()`.
   */
  async signRecords(drafts: readonly RecordDraft[]): Promise<Transaction[]> {
    return (await this.signRecordsWithIds(drafts)).map((s) => s.transaction);
  }

  /**
   * `signRecords`, with each transaction's id (`transactionId`), hashed on the worker that signed it.
   * @throws as `signRecords`.
   */
  async signRecordsWithIds(drafts: readonly RecordDraft[]): Promise<SignedRecord[]> {
    this.#assertRunning();
    const origin = this.publicKey;
    if (origin === null) throw new NoSigningKeyError('this processing pool was started without a node key seed');
    if (!Array.isArray(drafts)) throw new InvalidArgumentError('drafts: expected an array');
    const metas: SignMeta[] = [];
    drafts.forEach((draft, i) => {
      if (typeof draft !== 'object' || draft === null) throw new InvalidArgumentError(`drafts[${i}]: expected object`);
      assertBytes(draft.chainId, `drafts[${i}].chainId`, 32);
      assertBytes(draft.payload, `drafts[${i}].payload`);
      if (draft.payload.length > MAX_PAYLOAD_BYTES) {
        throw new InvalidArgumentError(`drafts[${i}].payload: expected at most ${MAX_PAYLOAD_BYTES} bytes`);
      }
      if (!Array.isArray(draft.traceCodes)) throw new InvalidArgumentError(`drafts[${i}].traceCodes: expected array`);
      metas.push({
        sequence: draft.sequence,
        createdAt: draft.createdAt,
        contentType: draft.contentType,
        source: draft.source ?? null,
        traceCodes: [...draft.traceCodes],
      });
    });
    const chunks = planChunks(
      drafts.map((d) => d.payload.length + 32),
      this.size,
      this.#maxChunkItems,
      this.#maxChunkBytes,
    );
    const parts = await Promise.all(
      chunks.map(async ([start, end]) => {
        const slice = drafts.slice(start, end);
        const batch = packItems(
          slice.map((d) => d.payload),
          slice.map((d) => d.chainId),
        );
        const meta = metas.slice(start, end);
        const response = await this.#run({ type: 'sign', id: 0, batch, meta }, [batch.data], start);
        if (response.type !== 'signed') throw new ProcessingTaskError(`unexpected worker answer ${response.type}`);
        // Both buffers belong to this call alone (packed here, transferred to the worker and back), so the
        // transactions take views into them instead of copies: one allocation per chunk, not four per record.
        const out = new Uint8Array(response.out);
        const data = new Uint8Array(response.data);
        return meta.map((m, k): SignedRecord => {
          const at = batch.offsets[k]!;
          const payloadEnd = batch.offsets[k + 1]!;
          const base = {
            chainId: data.subarray(at, at + 32),
            origin,
            sequence: m.sequence,
            createdAt: m.createdAt,
            contentType: m.contentType,
            traceCodes: m.traceCodes,
            payloadHash: out.subarray(k * SIGN_RESULT_BYTES + 64, k * SIGN_RESULT_BYTES + 96),
            payloadSize: payloadEnd - at - 32,
          };
          const header: TxHeader = m.source === null ? base : { ...base, source: m.source };
          const transaction: Transaction = {
            header,
            signature: out.subarray(k * SIGN_RESULT_BYTES, k * SIGN_RESULT_BYTES + 64),
            payload: data.subarray(at + 32, payloadEnd),
          };
          return { transaction, id: out.subarray(k * SIGN_RESULT_BYTES + 96, (k + 1) * SIGN_RESULT_BYTES) };
        });
      }),
    );
    return parts.flat();
  }

  /**
   * Verifies transactions: verdict `i` is `verifyTransaction(txs[i], options).valid` from core. Where core would
   * throw (a header it refuses to encode), the verdict is false: such a transaction can never be valid.
   * @throws (rejects) WorkerCrashedError when a worker died holding part of the batch; ProcessingPoolStoppedError.
   */
  async verifyTransactions(txs: readonly Transaction[], options: VerifyOptions = {}): Promise<boolean[]> {
    this.#assertRunning();
    if (!Array.isArray(txs)) throw new InvalidArgumentError('txs: expected an array');
    const encoded: Array<Uint8Array | null> = txs.map((tx) => {
      try {
        return encodeTransaction(tx);
      } catch {
        return null;
      }
    });
    return this.#verifyEncodedOrNull(encoded, options);
  }

  /**
   * Verifies encoded transactions as received from a peer: a verdict is true when the bytes decode as exactly one
   * canonical transaction and it verifies. Saves re-encoding on the main thread.
   * @throws (rejects) WorkerCrashedError; ProcessingPoolStoppedError.
   */
  async verifyEncoded(encoded: readonly Uint8Array[], options: VerifyOptions = {}): Promise<boolean[]> {
    this.#assertRunning();
    if (!Array.isArray(encoded)) throw new InvalidArgumentError('encoded: expected an array');
    return this.#verifyEncodedOrNull(
      encoded.map((e) => (e instanceof Uint8Array ? e : null)),
      options,
    );
  }

  /**
   * SHA-256 of each item, computed in the workers: worth it for large payloads (CAD files) or many items.
   * @throws (rejects) InvalidArgumentError when an item is not a Uint8Array; WorkerCrashedError;
   *   ProcessingPoolStoppedError.
   */
  async sha256Batch(items: readonly Uint8Array[]): Promise<Uint8Array[]> {
    this.#assertRunning();
    if (!Array.isArray(items)) throw new InvalidArgumentError('items: expected an array');
    items.forEach((item, i) => assertBytes(item, `items[${i}]`));
    const chunks = planChunks(
      items.map((item) => item.length),
      this.size,
      this.#maxChunkItems,
      this.#maxChunkBytes,
    );
    const parts = await Promise.all(
      chunks.map(async ([start, end]) => {
        const batch = packItems(items.slice(start, end));
        const response = await this.#run({ type: 'hash', id: 0, batch }, [batch.data], start);
        if (response.type !== 'hashed') throw new ProcessingTaskError(`unexpected worker answer ${response.type}`);
        const out = new Uint8Array(response.out);
        return Array.from({ length: end - start }, (_, k) => out.slice(k * 32, k * 32 + 32));
      }),
    );
    return parts.flat();
  }

  /** Counts for metrics and tests. */
  stats(): ProcessingPoolStats {
    const slots = [...this.#slots];
    return {
      size: this.size,
      ready: slots.length,
      busy: slots.filter((s) => s.task !== null).length,
      queued: this.#queue.length,
      crashes: this.#crashes,
      threadIds: slots.map((s) => s.threadId),
    };
  }

  /**
   * Makes the worker with `threadId` crash (uncaught exception, or `process.exit`) when it receives its next task, so
   * tests can watch detection and replacement on a real thread. Only with the `testHooks` option.
   * @throws InvalidArgumentError without `testHooks` or for an unknown thread id.
   */
  crashOnNextTaskForTesting(threadId: number, mode: 'throw' | 'exit'): void {
    if (!this.#testHooks) throw new InvalidArgumentError('crashOnNextTaskForTesting needs the testHooks option');
    const slot = [...this.#slots].find((s) => s.threadId === threadId);
    if (slot === undefined) throw new InvalidArgumentError(`no live worker with thread id ${threadId}`);
    slot.worker.postMessage({ type: 'crash-on-next-task', mode } satisfies WorkerRequest);
  }

  /**
   * Stops every worker. Work not yet answered fails with ProcessingPoolStoppedError. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const stopped = new ProcessingPoolStoppedError('processing pool stopped');
    for (const task of this.#queue.splice(0)) task.reject(stopped);
    const slots = [...this.#slots];
    this.#slots.clear();
    this.#idle.length = 0;
    for (const slot of slots) {
      slot.dead = true;
      slot.task?.reject(stopped);
      slot.task = null;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #assertRunning(): void {
    if (this.#stopped) throw new ProcessingPoolStoppedError('processing pool stopped');
    if (this.#broken !== null) throw this.#broken;
  }

  async #verifyEncodedOrNull(encoded: ReadonlyArray<Uint8Array | null>, options: VerifyOptions): Promise<boolean[]> {
    const verdicts = new Array<boolean>(encoded.length).fill(false);
    const present: number[] = [];
    encoded.forEach((e, i) => {
      if (e !== null) present.push(i);
    });
    let chainId: Uint8Array | null = null;
    if (options.chainId !== undefined) {
      assertBytes(options.chainId, 'options.chainId');
      chainId = options.chainId.slice();
    }
    const chunks = planChunks(
      present.map((i) => encoded[i]!.length),
      this.size,
      this.#maxChunkItems,
      this.#maxChunkBytes,
    );
    await Promise.all(
      chunks.map(async ([start, end]) => {
        const indexes = present.slice(start, end);
        const batch = packItems(indexes.map((i) => encoded[i]!));
        const response = await this.#run({ type: 'verify', id: 0, batch, chainId }, [batch.data], start);
        if (response.type !== 'verified') throw new ProcessingTaskError(`unexpected worker answer ${response.type}`);
        const out = new Uint8Array(response.out);
        indexes.forEach((i, k) => {
          verdicts[i] = out[k] === 1;
        });
      }),
    );
    return verdicts;
  }

  /** Queues one chunk; `firstIndex` is where the chunk starts in the caller's array, for error messages. */
  #run(
    request: WorkerRequest & { readonly id: number },
    transfer: ArrayBuffer[],
    firstIndex: number,
  ): Promise<WorkerResponse> {
    this.#assertRunning();
    const id = this.#nextId++;
    return new Promise<WorkerResponse>((resolve, reject) => {
      this.#queue.push({
        request: { ...request, id },
        transfer,
        resolve: (response) => {
          if (response.type !== 'failed') return resolve(response);
          const where = response.index === undefined ? '' : `[${firstIndex + response.index}]`;
          const message = `record${where}: ${response.message}`;
          reject(
            response.errorName === 'InvalidArgumentError'
              ? new InvalidArgumentError(message)
              : new ProcessingTaskError(`${response.errorName}: ${message}`),
          );
        },
        reject,
      });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const slot = this.#idle.pop()!;
      const task = this.#queue.shift()!;
      slot.task = task;
      slot.worker.postMessage(task.request, [...task.transfer]);
    }
  }

  /** Starts one worker; resolves when it is ready. @throws WorkerStartError */
  #spawn(): Promise<Slot> {
    return new Promise<Slot>((resolve, reject) => {
      const init: WorkerInit = { seed: this.#seed, testHooks: this.#testHooks };
      let worker: Worker;
      try {
        worker = new Worker(this.#entry.filename, { ...this.#entry.options, workerData: init });
      } catch (error) {
        reject(new WorkerStartError('could not create a processing worker', { cause: error }));
        return;
      }
      let slot: Slot | null = null;
      worker.on('message', (message: WorkerResponse) => {
        if (slot === null) {
          if (message.type !== 'ready') return;
          if (this.publicKey !== null && !equalKey(message.publicKey, this.publicKey)) {
            void worker.terminate();
            reject(new WorkerStartError('processing worker derived a different public key from the seed'));
            return;
          }
          slot = { worker, threadId: worker.threadId, task: null, dead: false };
          if (this.#stopped) {
            void worker.terminate();
            reject(new ProcessingPoolStoppedError('processing pool stopped'));
            return;
          }
          this.#slots.add(slot);
          this.#idle.push(slot);
          this.#startFailures = 0;
          resolve(slot);
          this.#pump();
          return;
        }
        this.#onMessage(slot, message);
      });
      const onDeath = (detail: string, cause?: unknown): void => {
        if (slot === null) {
          reject(new WorkerStartError(`processing worker failed to start: ${detail}`, { cause }));
          return;
        }
        this.#onDeath(slot, detail, cause);
      };
      worker.on('error', (error) => onDeath(error.message, error));
      worker.on('exit', (code) => onDeath(describeExit(code)));
    });
  }

  #onMessage(slot: Slot, message: WorkerResponse): void {
    const task = slot.task;
    if (message.type === 'ready' || task === null || message.id !== task.request.id) return;
    slot.task = null;
    this.#idle.push(slot);
    task.resolve(message);
    this.#pump();
  }

  #onDeath(slot: Slot, detail: string, cause: unknown): void {
    if (slot.dead) return;
    slot.dead = true;
    this.#slots.delete(slot);
    const idle = this.#idle.indexOf(slot);
    if (idle >= 0) this.#idle.splice(idle, 1);
    if (this.#stopped) return;
    this.#crashes++;
    this.#logger?.warn('processing worker died; replacing it', { threadId: slot.threadId, detail });
    const task = slot.task;
    slot.task = null;
    task?.reject(new WorkerCrashedError(slot.threadId, detail, { cause }));
    this.#replace();
  }

  #replace(): void {
    if (this.#stopped) return;
    this.#spawn().catch((error: unknown) => {
      if (this.#stopped) return;
      this.#startFailures++;
      this.#logger?.warn('processing worker replacement failed to start', {
        attempt: this.#startFailures,
        detail: error instanceof Error ? error.message : String(error),
      });
      if (this.#startFailures < MAX_START_FAILURES) {
        setTimeout(() => this.#replace(), 100 * this.#startFailures).unref();
        return;
      }
      const broken = new WorkerStartError('processing workers keep failing to start; the pool is out of service', {
        cause: error,
      });
      this.#broken = broken;
      for (const t of this.#queue.splice(0)) t.reject(broken);
    });
  }
}

function equalKey(a: Uint8Array | null, b: Uint8Array): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}
