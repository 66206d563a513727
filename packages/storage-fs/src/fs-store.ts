import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import {
  decodeBlockHeader,
  decodeTransaction,
  InvalidArgumentError,
  toHex,
  type Block,
  type Transaction,
} from '@safechain/core';
import {
  decodeStored,
  planCommit,
  StoreClosedError,
  StoreCorruptError,
  StoreFullError,
  StoreIOError,
  type CanonicalTip,
  type ChainStore,
  type Commit,
  type PendingTransaction,
  type StoredBlockInfo,
  type StoredTransaction,
} from '@safechain/storage';
import {
  checkSegmentHeader,
  encodeSegmentHeader,
  FRAME_HEADER_BYTES,
  frameCrc,
  parseSegmentFileName,
  RecordType,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  workFromBytes,
} from './format.js';
import { layOutGroup, prepareGroup, type Group } from './group.js';
import { HashIndex, KeyTable, NumberColumn } from './hash-index.js';
import { datasync, fromFsError, readAt, syncDirectory, writeFully } from './io.js';
import { DirectoryLock } from './lock.js';
import { checkTransactions, committedGroupAfter, scanSegment } from './scan.js';

export interface FsStoreOptions {
  /** The store's directory; created when missing. */
  readonly dir: string;
  /** Refuse a commit with StoreFullError when the segments would grow beyond this many bytes. */
  readonly maxBytes?: number;
  /** Start a new segment file once the current one would pass this size. Default 64 MiB; at least 4 KiB. */
  readonly segmentBytes?: number;
}

/** What opening found and did, for the node's log. */
export interface FsRecoveryReport {
  /** Segment files read. */
  readonly segments: number;
  /** Complete commits (record groups) replayed into the index. */
  readonly groups: number;
  /** Bytes of an unfinished commit cut off the last segment (0 when it ended cleanly). */
  readonly truncatedBytes: number;
  /** True when an empty segment left by a crash during its creation was removed. */
  readonly removedEmptySegment: boolean;
  /** Time spent opening and rebuilding the index, in milliseconds. */
  readonly millis: number;
}

interface Segment {
  readonly number: number;
  readonly path: string;
  /** Open descriptor, or -1. The last segment's is always open (read and write). */
  fd: number;
  size: number;
}

interface PendingLocation {
  readonly id: Uint8Array;
  readonly segment: number;
  readonly offset: number;
  readonly length: number;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Descriptors kept open for reading complete segments: a large archive has more segments than a process may open. */
const MAX_OPEN_SEGMENTS = 64;
const MIN_SEGMENT_BYTES = 4096;

/**
 * The supplied file-system database: append-only segment files of checksummed records (format.ts), with an
 * in-memory index rebuilt from them on open.
 *
 * Durability: a commit is one group of records closed by a COMMIT record, written at the end of the last segment and
 * made durable with fdatasync before `commit` resolves. A new segment is written with its header, synced, and its
 * directory entry synced before any commit goes into it. On open, every record but the transactions is read and
 * checked, and the last group (the only one a crash can have caught half-written) completely; a group cut short (no
 * COMMIT record, a torn frame, a torn transaction) is cut off and the file synced, every complete group is kept.
 * Damage anywhere else is reported as StoreCorruptError and nothing is cut; a damaged transaction record is
 * reported when it is read.
 *
 * Lookups: block hashes and transaction ids go through in-memory hash indexes (about 70 bytes per transaction, 120
 * per block), then one positional read of the record, whose checksum is verified on every read.
 */
export class FsStore implements ChainStore {
  readonly kind = 'fs';
  readonly dir: string;
  readonly #maxBytes: number | undefined;
  readonly #segmentBytes: number;
  readonly #lock: DirectoryLock;
  readonly #segments: Segment[] = [];
  /** Complete segments with an open descriptor, least recently used first. */
  readonly #readers = new Set<Segment>();
  #recovery: FsRecoveryReport = { segments: 0, groups: 0, truncatedBytes: 0, removedEmptySegment: false, millis: 0 };
  #sequence = 0;
  #closed = false;
  #failed: unknown;
  #queue: Promise<void> = Promise.resolve();

  // Blocks, by block number (order of writing).
  readonly #blockKeys = new KeyTable();
  readonly #blockIndex = new HashIndex(() => this.#blockKeys.bytes);
  readonly #blockHeight = new NumberColumn();
  readonly #blockSegment = new NumberColumn();
  readonly #blockOffset = new NumberColumn();
  readonly #blockInfoLength = new NumberColumn();
  readonly #blockSpan = new NumberColumn();
  readonly #blockTxCount = new NumberColumn();
  readonly #blockFirstEntry = new NumberColumn();
  /** Block numbers in ascending height. */
  readonly #byHeight: number[] = [];
  /** Block number at each canonical height. */
  readonly #canonical: number[] = [];

  // Transactions of every stored block, by entry number; a block's entries are consecutive.
  readonly #entryKeys = new KeyTable();
  readonly #entryIndex = new HashIndex(() => this.#entryKeys.bytes);
  readonly #entryBlock = new NumberColumn();
  readonly #entryOffset = new NumberColumn();
  readonly #entryLength = new NumberColumn();

  readonly #pending = new Map<string, PendingLocation>();
  readonly #meta = new Map<string, Uint8Array>();

  private constructor(dir: string, lock: DirectoryLock, maxBytes: number | undefined, segmentBytes: number) {
    this.dir = dir;
    this.#lock = lock;
    this.#maxBytes = maxBytes;
    this.#segmentBytes = segmentBytes;
  }

  /**
   * Opens the store in `options.dir`, creating it when missing, and recovers it: a torn last commit is cut off.
   * @throws InvalidArgumentError on bad options; StoreLockedError when another process (or handle) has it open;
   *   StoreVersionError for segments of an unknown format version; StoreCorruptError on damage a crash cannot
   *   explain (a missing segment, a bad record followed by committed ones); StoreIOError when the disk fails.
   */
  static async open(options: FsStoreOptions): Promise<FsStore> {
    if (typeof options !== 'object' || options === null || typeof options.dir !== 'string' || options.dir.length === 0) {
      throw new InvalidArgumentError('options.dir: expected a non-empty string');
    }
    const { maxBytes, segmentBytes = DEFAULT_SEGMENT_BYTES } = options;
    if (maxBytes !== undefined && (!Number.isSafeInteger(maxBytes) || maxBytes <= 0)) {
      throw new InvalidArgumentError(`options.maxBytes: expected a positive safe integer, got ${String(maxBytes)}`);
    }
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES) {
      throw new InvalidArgumentError(`options.segmentBytes: expected an integer of at least ${MIN_SEGMENT_BYTES}, got ${String(segmentBytes)}`);
    }
    const dir = resolve(options.dir);
    try {
      if (!existsSync(dir)) {
        mkdirSync(dir, { recursive: true });
        syncDirectory(dirname(dir));
      }
    } catch (error) {
      throw fromFsError(error, `creating ${dir}`);
    }
    const started = performance.now();
    let lock: DirectoryLock;
    try {
      lock = DirectoryLock.acquire(dir);
    } catch (error) {
      throw fromFsError(error, `locking ${dir}`);
    }
    const store = new FsStore(dir, lock, maxBytes, segmentBytes);
    try {
      const found = store.#recover();
      if (store.#segments.length === 0) store.#createSegment(1);
      store.#recovery = { ...found, groups: store.#sequence, millis: performance.now() - started };
      return store;
    } catch (error) {
      store.#releaseFiles();
      throw fromFsError(error, `opening ${dir}`);
    }
  }

  /** What this open found: segments read, commits replayed, bytes cut. */
  get recovery(): FsRecoveryReport {
    return this.#recovery;
  }

  #recover(): Omit<FsRecoveryReport, 'groups' | 'millis'> {
    let truncatedBytes = 0;
    let removedEmptySegment = false;
    const numbers = readdirSync(this.dir)
      .map(parseSegmentFileName)
      .filter((n): n is number => n !== undefined)
      .sort((a, b) => a - b);
    numbers.forEach((n, i) => {
      if (n !== i + 1) throw new StoreCorruptError(`${this.dir}: segment ${segmentFileName(i + 1)} is missing`);
    });
    const lastNumber = numbers[numbers.length - 1];
    if (lastNumber !== undefined) {
      const path = join(this.dir, segmentFileName(lastNumber));
      const probe: Segment = { number: lastNumber, path, fd: openSync(path, 'r'), size: 0 };
      probe.size = fstatSync(probe.fd).size;
      const torn = probe.size <= SEGMENT_HEADER_BYTES && !this.#validHeader(probe);
      closeSync(probe.fd);
      if (torn) {
        // A crash while the segment was being created: it never held a commit.
        unlinkSync(path);
        syncDirectory(this.dir);
        removedEmptySegment = true;
        numbers.pop();
      }
    }
    for (const n of numbers) {
      const path = join(this.dir, segmentFileName(n));
      const isLast = n === numbers.length;
      const fd = openSync(path, isLast ? 'r+' : 'r');
      const segment: Segment = { number: n, path, fd, size: fstatSync(fd).size };
      this.#segments.push(segment);
      checkSegmentHeader(readAt(fd, SEGMENT_HEADER_BYTES, 0), n, path);
      const result = scanSegment({
        fd,
        size: segment.size,
        segment: n,
        file: path,
        sequence: this.#sequence,
        onGroup: (group, number) => this.#apply(group, number, true),
      });
      this.#sequence = result.sequence;
      let end = result.end;
      if (result.torn !== undefined) {
        const where = `${path} at byte ${result.torn.at}: ${result.torn.reason}`;
        if (!isLast) throw new StoreCorruptError(`${where}, in a segment that was complete`);
        if (committedGroupAfter(fd, segment.size, result.end, n, this.#sequence)) {
          throw new StoreCorruptError(`${where}, and committed data follows: damage, not a torn write; nothing was cut`);
        }
      }
      if (result.held !== undefined) {
        // The store's last complete group was the last write: a crash may have torn it behind its COMMIT record.
        const lastWrite = isLast && result.torn === undefined;
        if (lastWrite && !checkTransactions(fd, segment.size, result.held.group)) {
          end = result.held.start;
          this.#sequence--;
        } else {
          this.#apply(result.held.group, n, true);
        }
      }
      if (end < segment.size) {
        ftruncateSync(fd, end);
        fsyncSync(fd);
        truncatedBytes += segment.size - end;
        segment.size = end;
      }
      // Complete segments are only read from now on, through the descriptor cache.
      if (!isLast) this.#closeSegment(segment);
    }
    return { segments: this.#segments.length, truncatedBytes, removedEmptySegment };
  }

  /** An open descriptor for reading `segment`: the last one's stays open; others come from a small LRU cache. */
  #fd(segment: Segment): number {
    if (segment.fd >= 0) {
      if (this.#readers.delete(segment)) this.#readers.add(segment);
      return segment.fd;
    }
    segment.fd = openSync(segment.path, 'r');
    this.#readers.add(segment);
    if (this.#readers.size > MAX_OPEN_SEGMENTS) {
      const oldest = this.#readers.values().next().value as Segment;
      this.#closeSegment(oldest);
    }
    return segment.fd;
  }

  #closeSegment(segment: Segment): void {
    this.#readers.delete(segment);
    if (segment.fd < 0) return;
    closeSync(segment.fd);
    segment.fd = -1;
  }

  #validHeader(segment: Segment): boolean {
    try {
      checkSegmentHeader(readAt(segment.fd, SEGMENT_HEADER_BYTES, 0), segment.number, segment.path);
      return true;
    } catch {
      return false;
    }
  }

  /** Creates segment `n` durably: header written and synced, then the directory entry synced. */
  #createSegment(n: number): void {
    const path = join(this.dir, segmentFileName(n));
    const fd = openSync(path, 'wx+');
    try {
      const header = encodeSegmentHeader(n);
      writeSync(fd, header, 0, header.length, 0);
      fsyncSync(fd);
      syncDirectory(this.dir);
    } catch (error) {
      closeSync(fd);
      try {
        unlinkSync(path);
      } catch {
        // Creation failed before the file existed.
      }
      throw error;
    }
    const previous = this.#segments[this.#segments.length - 1];
    // The previous segment is only read from now on, through the descriptor cache.
    if (previous !== undefined) this.#closeSegment(previous);
    this.#segments.push({ number: n, path, fd, size: SEGMENT_HEADER_BYTES });
  }

  /** Applies a durable group to the in-memory index. `replay`: from disk on open, where the checks can fail. */
  #apply(group: Group, segment: number, replay: boolean): void {
    for (const b of group.blocks) {
      if (this.#blockIndex.first(b.hash) >= 0) {
        if (replay) throw new StoreCorruptError(`${this.dir}: block ${toHex(b.hash)} is stored twice`);
        continue;
      }
      const n = this.#blockKeys.push(b.hash);
      this.#blockIndex.add(n);
      this.#blockHeight.set(n, b.height);
      this.#blockSegment.set(n, segment);
      this.#blockOffset.set(n, b.offset);
      this.#blockInfoLength.set(n, b.infoLength);
      this.#blockSpan.set(n, b.span);
      this.#blockTxCount.set(n, b.txCount);
      const first = this.#entryKeys.pushAll(b.ids, b.txCount);
      this.#blockFirstEntry.set(n, first);
      for (let i = 0; i < b.txCount; i++) {
        const e = first + i;
        this.#entryIndex.add(e);
        this.#entryBlock.set(e, n);
        this.#entryOffset.set(e, b.txOffsets[i]!);
        this.#entryLength.set(e, b.txLengths[i]!);
      }
      this.#insertByHeight(n, b.height);
    }
    if (group.canonical !== undefined) {
      const { fromHeight, hashes } = group.canonical;
      const numbers = hashes.map((hash, i) => {
        const n = this.#blockIndex.first(hash);
        if (n < 0 || this.#blockHeight.get(n) !== fromHeight + i || fromHeight > this.#canonical.length) {
          throw new StoreCorruptError(`${this.dir}: canonical record places ${toHex(hash)} at height ${fromHeight + i}, which does not fit`);
        }
        return n;
      });
      this.#canonical.length = Math.min(this.#canonical.length, fromHeight);
      for (const n of numbers) this.#canonical.push(n);
    }
    for (const p of group.pendingAdd) this.#pending.set(toHex(p.id), { id: p.id, segment, offset: p.offset, length: p.length });
    for (const id of group.pendingRemove) this.#pending.delete(toHex(id));
    for (const [key, value] of group.meta) this.#meta.set(key, value);
  }

  #insertByHeight(n: number, height: number): void {
    const list = this.#byHeight;
    if (list.length === 0 || this.#blockHeight.get(list[list.length - 1]!) <= height) {
      list.push(n);
      return;
    }
    list.splice(this.#firstAtOrAbove(height + 1), 0, n);
  }

  /** Index in #byHeight of the first block of height >= `height`. */
  #firstAtOrAbove(height: number): number {
    let lo = 0;
    let hi = this.#byHeight.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#blockHeight.get(this.#byHeight[mid]!) < height) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #check(): void {
    if (this.#closed) throw new StoreClosedError(`fs store ${this.dir} is closed`);
  }

  #totalBytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.size;
    return total;
  }

  /**
   * Appends `commit` as one group and syncs it (see the class comment for durability). Commits run one at a time.
   * @throws StoreClosedError; InvalidArgumentError on a malformed commit; StoreConsistencyError (nothing written);
   *   StoreFullError when `maxBytes` or the disk is exceeded (nothing kept); StoreIOError when the disk fails, after
   *   which the store refuses commits until reopened if it could not remove the partial write.
   */
  commit(commit: Commit): Promise<void> {
    try {
      this.#check();
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#queue.then(() => this.#commitNow(commit));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #commitNow(commit: Commit): Promise<void> {
    // No closed check here: a commit queued before `close` completes, and `close` waits for it.
    if (this.#failed !== undefined) {
      throw new StoreIOError(`${this.dir}: an earlier write failed and could not be undone; close and reopen the store`, { cause: this.#failed });
    }
    const plan = planCommit(commit, {
      canonicalLength: this.#canonical.length,
      storedHeight: (hash) => {
        const n = this.#blockIndex.first(hash);
        return n < 0 ? undefined : this.#blockHeight.get(n);
      },
    });
    if (plan.empty) return;
    const prepared = prepareGroup(plan);
    let segment = this.#segments[this.#segments.length - 1]!;
    const roll = segment.size > SEGMENT_HEADER_BYTES && segment.size + prepared.size > this.#segmentBytes;
    if (this.#maxBytes !== undefined) {
      const after = this.#totalBytes() + prepared.size + (roll ? SEGMENT_HEADER_BYTES : 0);
      if (after > this.#maxBytes) throw new StoreFullError(`commit of ${prepared.size} bytes would grow the store to ${after} bytes, above the limit of ${this.#maxBytes}`);
    }
    if (roll) {
      try {
        this.#createSegment(segment.number + 1);
      } catch (error) {
        throw fromFsError(error, `creating segment ${segment.number + 1}`);
      }
      segment = this.#segments[this.#segments.length - 1]!;
    }
    const start = segment.size;
    const { bytes, group } = layOutGroup(prepared, this.#sequence + 1, start, segment.number);
    try {
      await writeFully(segment.fd, bytes, start);
      await datasync(segment.fd);
    } catch (error) {
      // Take the partial group back off, so the next commit does not append after it.
      try {
        ftruncateSync(segment.fd, start);
        fsyncSync(segment.fd);
      } catch (undo) {
        this.#failed = undo;
      }
      throw fromFsError(error, `writing ${segment.path}`);
    }
    segment.size = start + bytes.length;
    this.#sequence++;
    this.#apply(group, segment.number, false);
  }

  #read(segment: number, offset: number, length: number): Buffer {
    const s = this.#segments[segment - 1];
    if (s === undefined) throw new StoreCorruptError(`${this.dir}: segment ${segment} is not open`);
    const bytes = readAt(this.#fd(s), length, offset);
    if (bytes.length !== length) throw new StoreCorruptError(`${s.path} at byte ${offset}: record cut short`);
    return bytes;
  }

  /** Checks the frame at `at` in `bytes` and returns its body (a view). */
  #body(bytes: Uint8Array, at: number, type: RecordType, where: string | (() => string), length?: number): Uint8Array {
    // `where` may be a function: the name is built only when something is wrong (lookups are the hot path).
    const place = (): string => (typeof where === 'string' ? where : where());
    if (bytes.length - at < FRAME_HEADER_BYTES) throw new StoreCorruptError(`${place()}: record cut short`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, FRAME_HEADER_BYTES);
    const bodyLength = view.getUint32(0);
    if (bytes[at + 4] !== type || (length !== undefined && bodyLength !== length) || at + FRAME_HEADER_BYTES + bodyLength > bytes.length) {
      throw new StoreCorruptError(`${place()}: record is not the one the index points at`);
    }
    if (frameCrc(bytes, at, bodyLength) !== view.getUint32(5)) throw new StoreCorruptError(`${place()}: checksum mismatch`);
    return bytes.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyLength);
  }

  #infoFrom(n: number, bytes: Uint8Array): StoredBlockInfo {
    const where = `block ${toHex(this.#blockKeys.key(n))}`;
    const body = this.#body(bytes, 0, RecordType.BLOCK, where);
    const workLength = body[36]!;
    if (body.length < 37 + workLength) throw new StoreCorruptError(`${where}: BLOCK record too short`);
    const totalWork = workFromBytes(body.subarray(37, 37 + workLength), where);
    let header;
    try {
      header = decodeBlockHeader(body.subarray(37 + workLength));
    } catch (error) {
      throw new StoreCorruptError(`${where}: header does not decode: ${(error as Error).message}`, { cause: error });
    }
    if (!this.#blockKeys.equals(n, body) || header.height !== this.#blockHeight.get(n)) {
      throw new StoreCorruptError(`${where}: BLOCK record is not the block the index points at`);
    }
    return { hash: this.#blockKeys.key(n), header, totalWork };
  }

  #info(n: number): StoredBlockInfo {
    return this.#infoFrom(n, this.#read(this.#blockSegment.get(n), this.#blockOffset.get(n), this.#blockInfoLength.get(n)));
  }

  async hasBlock(hash: Uint8Array): Promise<boolean> {
    this.#check();
    return this.#blockIndex.first(hash) >= 0;
  }

  /** @throws StoreClosedError; StoreCorruptError when the record fails its checksum. */
  async getBlockInfo(hash: Uint8Array): Promise<StoredBlockInfo | undefined> {
    this.#check();
    const n = this.#blockIndex.first(hash);
    return n < 0 ? undefined : this.#info(n);
  }

  /** @throws StoreClosedError; StoreCorruptError when a record fails its checksum. */
  async getBlock(hash: Uint8Array): Promise<Block | undefined> {
    this.#check();
    const n = this.#blockIndex.first(hash);
    if (n < 0) return undefined;
    const offset = this.#blockOffset.get(n);
    const bytes = this.#read(this.#blockSegment.get(n), offset, this.#blockSpan.get(n));
    const { header } = this.#infoFrom(n, bytes);
    const first = this.#blockFirstEntry.get(n);
    const data: Transaction[] = [];
    for (let i = 0; i < this.#blockTxCount.get(n); i++) {
      const e = first + i;
      const where = `block ${toHex(hash)} transaction ${i}`;
      const body = this.#body(bytes, this.#entryOffset.get(e) - offset, RecordType.TX, where, this.#entryLength.get(e));
      data.push(decodeStored(where, () => decodeTransaction(body)));
    }
    return { header, data };
  }

  async getLeaves(hash: Uint8Array): Promise<readonly Uint8Array[] | undefined> {
    this.#check();
    const n = this.#blockIndex.first(hash);
    if (n < 0) return undefined;
    const first = this.#blockFirstEntry.get(n);
    return Array.from({ length: this.#blockTxCount.get(n) }, (_, i) => this.#entryKeys.key(first + i));
  }

  /** @throws StoreClosedError; StoreCorruptError when a record fails its checksum. */
  async *blockInfos(fromHeight = 0): AsyncIterable<StoredBlockInfo> {
    this.#check();
    const blocks = this.#byHeight.slice(this.#firstAtOrAbove(fromHeight));
    for (const n of blocks) {
      this.#check();
      yield this.#info(n);
    }
  }

  async getCanonicalHash(height: number): Promise<Uint8Array | undefined> {
    this.#check();
    const n = this.#canonical[height];
    return n === undefined ? undefined : this.#blockKeys.key(n);
  }

  async getTip(): Promise<CanonicalTip | undefined> {
    this.#check();
    const height = this.#canonical.length - 1;
    return height < 0 ? undefined : { hash: this.#blockKeys.key(this.#canonical[height]!), height };
  }

  /** @throws StoreClosedError; StoreCorruptError when the record fails its checksum. */
  async getTransaction(id: Uint8Array): Promise<StoredTransaction | undefined> {
    this.#check();
    for (let e = this.#entryIndex.first(id); e >= 0; e = this.#entryIndex.next(e)) {
      const n = this.#entryBlock.get(e);
      const height = this.#blockHeight.get(n);
      if (this.#canonical[height] !== n) continue;
      const length = this.#entryLength.get(e);
      const where = (): string => `transaction ${toHex(id)}`;
      const bytes = this.#read(this.#blockSegment.get(n), this.#entryOffset.get(e), FRAME_HEADER_BYTES + length);
      const transaction = decodeStored(where, () => decodeTransaction(this.#body(bytes, 0, RecordType.TX, where, length)));
      const index = e - this.#blockFirstEntry.get(n);
      return { id: this.#entryKeys.key(e), blockHash: this.#blockKeys.key(n), height, index, transaction };
    }
    return undefined;
  }

  /** From the in-memory index alone: no record is read. */
  async canonicalHeights(ids: readonly Uint8Array[]): Promise<(number | undefined)[]> {
    this.#check();
    return ids.map((id) => {
      for (let e = this.#entryIndex.first(id); e >= 0; e = this.#entryIndex.next(e)) {
        const n = this.#entryBlock.get(e);
        const height = this.#blockHeight.get(n);
        if (this.#canonical[height] === n) return height;
      }
      return undefined;
    });
  }

  /** @throws StoreClosedError; StoreCorruptError when a record fails its checksum. */
  async *pending(): AsyncIterable<PendingTransaction> {
    this.#check();
    for (const p of [...this.#pending.values()]) {
      this.#check();
      const where = `pending transaction ${toHex(p.id)}`;
      const bytes = this.#read(p.segment, p.offset, FRAME_HEADER_BYTES + p.length);
      const body = this.#body(bytes, 0, RecordType.PENDING_ADD, where, p.length);
      yield { id: p.id.slice(), transaction: decodeStored(where, () => decodeTransaction(body.subarray(32))) };
    }
  }

  async getMeta(key: string): Promise<Uint8Array | undefined> {
    this.#check();
    return this.#meta.get(key)?.slice();
  }

  /** Bytes of all segment files. */
  async sizeBytes(): Promise<number> {
    this.#check();
    return this.#totalBytes();
  }

  /** Waits for the commit in progress, closes the files and releases the directory lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    this.#releaseFiles();
  }

  #releaseFiles(): void {
    this.#readers.clear();
    for (const s of this.#segments) {
      if (s.fd < 0) continue;
      try {
        closeSync(s.fd);
      } catch {
        // Closing a read-only descriptor cannot lose data.
      }
      s.fd = -1;
    }
    this.#lock.release();
  }
}

