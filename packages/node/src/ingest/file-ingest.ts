import { EventEmitter } from 'node:events';
import { constants, watch as watchDirectory, type FSWatcher as DirectoryWatcher } from 'node:fs';
import { mkdir, open, opendir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { watch as chokidarWatch, type FSWatcher as ChokidarWatcher } from 'chokidar';
import { MAX_SOURCE_BYTES, sha256, toHex, transactionId, utf8, type Transaction } from '@safechain/core';
import { compileCriteria, isIncompleteName, type CompiledCriteria, type IntakeCriteria } from './criteria.js';
import {
  EmptyFileError,
  FileNameTooLongError,
  FileTooLargeError,
  FileUnreadableError,
  IngestConfigError,
  IngestRecoveryError,
  IngestRejection,
  UnsafePathError,
} from './errors.js';
import { DirSyncer, exists, moveFile, removeStaleTemporaries, uniqueName, writeFileDurable } from './fsutil.js';
import {
  listJournalEntries,
  readJournalEntry,
  writeJournalEntry,
  type JournalEntry,
  type JournalHeader,
} from './journal.js';
import { assertMode, batchLines, type IngestMode } from './lines.js';
import { silentLogger, type IngestLogger } from './logger.js';
import { assertInsideInbox, lookAt, sameFile, type Look } from './paths.js';
import { addTraceCodes, compileRules, type CompiledRules, type IngestRules } from './rules.js';
import type { IngestRecord, IngestSink } from './sink.js';

/**
 * File ingest (the paper's simplest ingest interface): watches an inbox folder and turns every complete file that
 * matches the intake criteria into signed transactions, then acknowledges the file by moving it to `processed/` with a
 * receipt naming its transaction ids. A file is acknowledged only once its transactions are durable (invariant 4),
 * and is ingested exactly once even across a crash (see `journal.ts`).
 *
 * Writers should write `NAME.tmp` (or a dot-file) and rename it when complete; a file that is still changing is
 * waited for until it has been unchanged for `stableMs`. Bad files (too big, unreadable, not UTF-8 or not JSON in
 * line mode, symbolic links) go to `rejected/` with `NAME.reason.txt`; the ingest itself never stops on a bad file.
 *
 * Memory stays bounded in a burst: the queue holds names only, at most `concurrency` files are read at once, and
 * each is at most `maxFileBytes`.
 */

export interface FileIngestOptions {
  /** The folder watched. Only its direct entries are taken; subfolders are ignored. */
  readonly inbox: string;
  /** Where ingested files and their receipts go; default `processed` beside the inbox. */
  readonly processedDir?: string;
  /** Where refused files and their reasons go; default `rejected` beside the inbox. */
  readonly rejectedDir?: string;
  /** The exactly-once journal; default `.ingest-journal` beside the inbox. */
  readonly journalDir?: string;
  /** After ingestion: move the file to processed/ (default) or delete it (its receipt still goes to processed/). */
  readonly afterIngest?: 'move' | 'delete';
  readonly criteria?: IntakeCriteria;
  /** One transaction per file (default), or per N JSON lines or CSV rows. */
  readonly mode?: IngestMode;
  readonly rules?: IngestRules;
  /** A file must be unchanged this long before it is read (default 500 ms). */
  readonly stableMs?: number;
  /** Period of the safety-net rescan of the inbox (default 30 s; 0 turns it off). */
  readonly rescanIntervalMs?: number;
  /** Files worked on at once (default 8). */
  readonly concurrency?: number;
  /** More transactions than this from one file rejects it (default 10,000). */
  readonly maxTransactionsPerFile?: number;
  /** Pause after the sink or the disk fails before trying again (default 1 s). */
  readonly retryDelayMs?: number;
  /** Period of `ingest:progress` events while counts change (default 1 s); a rescan also reports every 1000 names. */
  readonly progressIntervalMs?: number;
  /**
   * How new files are noticed between rescans. `native` (default, also `true`): one `fs.watch` on the inbox folder,
   * one inotify watch whatever the number of files. `chokidar`: chokidar, which also watches every file on its own
   * (an inotify watch per file, and it re-reads the folder), so it suits small inboxes only. `false`: rescans only, the
   * choice for network shares (SMB, NFS) where change events do not arrive; set `rescanIntervalMs` low then.
   */
  readonly watch?: boolean | 'native' | 'chokidar';
  readonly logger?: IngestLogger;
}

export interface IngestProgress {
  /** `rescan` while a rescan lists the inbox, `working` while files are queued or in hand, else `idle`. */
  readonly phase: 'rescan' | 'working' | 'idle';
  /** Names listed by the running (or last) rescan. */
  readonly scanned: number;
  readonly queued: number;
  /** Files being read, or waiting for or in a batch. */
  readonly active: number;
  /** Files seen but still being written. */
  readonly waiting: number;
  /** Files ingested since start (including those finished from the journal). */
  readonly ingested: number;
  readonly rejected: number;
  /** Transactions committed since start. */
  readonly transactions: number;
}

export interface FileIngestedEvent {
  readonly name: string;
  /** Name in processed/ (the receipt is `target + '.receipt.json'`). */
  readonly target: string;
  /** Transaction ids, hex, in file order. */
  readonly transactions: readonly string[];
}

export interface FileRejectedEvent {
  readonly name: string;
  /** Name in rejected/ (the reason is `target + '.reason.txt'`). */
  readonly target: string;
  readonly reason: string;
}

export interface IngestEvents {
  'ingest:progress': [IngestProgress];
  'file:ingested': [FileIngestedEvent];
  'file:rejected': [FileRejectedEvent];
}

/** The receipt written beside an ingested file. */
export interface IngestReceipt {
  readonly file: string;
  readonly size: number;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
  /** Transaction ids, hex, in file order. */
  readonly transactions: readonly string[];
}

export const RECEIPT_SUFFIX = '.receipt.json';
export const REASON_SUFFIX = '.reason.txt';

const MODE_CONTENT_TYPES = { jsonl: 'application/jsonl', csv: 'text/csv' } as const;
/** Worst-case encoded size of one transaction besides its payload (header, 32 trace codes of 256 bytes, source). */
const TX_OVERHEAD_BYTES = 10 * 1024;
const RETRYABLE_READ_ERRORS = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

function intOption(value: number | undefined, fallback: number, name: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) {
    throw new IngestConfigError(`${name}: expected an integer of at least ${min}, got ${String(value)}`);
  }
  return v;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** A file read, checked and split into records, waiting for its batch. */
interface PreparedFile {
  readonly name: string;
  readonly look: Look;
  readonly sha256: string;
  readonly records: readonly IngestRecord[];
}

type ReadResult = { readonly bytes: Uint8Array } | { readonly changed: Look | null };

/**
 * Reads a file whose look said it is complete, through a handle opened without following links, and checks it is
 * still the same file at the same size when done. `changed` when it is not (it is waited for again).
 */
async function readComplete(path: string, look: Look): Promise<ReadResult> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ELOOP' || errorCode(error) === 'ENOENT') return { changed: null };
    throw error;
  }
  try {
    const before = await handle.stat();
    if (!before.isFile() || before.ino !== look.ino || before.dev !== look.dev) return { changed: null };
    if (before.size !== look.size || before.mtimeMs !== look.mtimeMs) return { changed: null };
    const bytes = new Uint8Array(before.size);
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await handle.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) return { changed: null };
      at += bytesRead;
    }
    const probe = await handle.read(new Uint8Array(1), 0, 1, bytes.length);
    const after = await handle.stat();
    if (probe.bytesRead !== 0 || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      return { changed: null };
    }
    return { bytes };
  } finally {
    await handle.close();
  }
}

export class FileIngest extends EventEmitter<IngestEvents> {
  readonly #sink: IngestSink;
  readonly #log: IngestLogger;
  readonly #inboxPath: string;
  readonly #processedDir: string;
  readonly #rejectedDir: string;
  readonly #journalDir: string;
  readonly #afterIngest: 'move' | 'delete';
  readonly #criteria: CompiledCriteria;
  readonly #mode: IngestMode;
  readonly #rules: CompiledRules;
  readonly #stableMs: number;
  readonly #rescanIntervalMs: number;
  readonly #concurrency: number;
  readonly #maxTransactions: number;
  readonly #retryDelayMs: number;
  readonly #progressIntervalMs: number;
  readonly #watchMode: 'native' | 'chokidar' | false;

  #inbox = '';
  #syncInbox: DirSyncer | null = null;
  #syncProcessed: DirSyncer | null = null;
  #syncRejected: DirSyncer | null = null;
  #syncJournal: DirSyncer | null = null;
  #watcher: { close(): Promise<void> | void } | null = null;
  #started = false;
  #stopping = false;

  // Work state: names only.
  #queue: string[] = [];
  #queueHead = 0;
  readonly #queued = new Set<string>();
  readonly #active = new Map<string, Promise<void>>();
  readonly #again = new Set<string>();
  readonly #waiting = new Map<string, NodeJS.Timeout>();
  readonly #looks = new Map<string, Look>();
  readonly #journalled = new Map<string, JournalEntry>();
  readonly #reservedProcessed = new Set<string>();
  readonly #reservedRejected = new Set<string>();
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | null = null;
  #rescanTimer: NodeJS.Timeout | null = null;
  #progressTimer: NodeJS.Timeout | null = null;
  #rescanning: Promise<number> | null = null;
  /** Files read and waiting for the next batch (at most `concurrency`), and the batch being made durable. */
  #prepared: PreparedFile[] = [];
  #batch: Promise<void> | null = null;
  readonly #inBatch = new Set<string>();
  #idleWaiters: Array<() => void> = [];

  // Counters.
  #scanned = 0;
  #ingested = 0;
  #rejected = 0;
  #transactions = 0;
  #lastProgress = '';

  /**
   * Checks the options; nothing is touched on disk before `start()`.
   * @throws IngestConfigError
   */
  constructor(options: FileIngestOptions, sink: IngestSink) {
    super();
    if (typeof options !== 'object' || options === null) throw new IngestConfigError('options: expected object');
    if (typeof options.inbox !== 'string' || options.inbox.length === 0) {
      throw new IngestConfigError('inbox: expected a folder path');
    }
    if (typeof sink?.sign !== 'function' || typeof sink.commit !== 'function') {
      throw new IngestConfigError('sink: expected an IngestSink with sign() and commit()');
    }
    this.#sink = sink;
    this.#log = options.logger ?? silentLogger;
    this.#inboxPath = resolve(options.inbox);
    const parent = dirname(this.#inboxPath);
    this.#processedDir = resolve(options.processedDir ?? join(parent, 'processed'));
    this.#rejectedDir = resolve(options.rejectedDir ?? join(parent, 'rejected'));
    this.#journalDir = resolve(options.journalDir ?? join(parent, '.ingest-journal'));
    const dirs = [this.#inboxPath, this.#processedDir, this.#rejectedDir, this.#journalDir];
    if (new Set(dirs).size !== dirs.length) {
      throw new IngestConfigError('inbox, processedDir, rejectedDir and journalDir must be four different folders');
    }
    this.#afterIngest = options.afterIngest ?? 'move';
    if (this.#afterIngest !== 'move' && this.#afterIngest !== 'delete') {
      throw new IngestConfigError('afterIngest: expected "move" or "delete"');
    }
    this.#criteria = compileCriteria(options.criteria);
    this.#mode = options.mode ?? { kind: 'file' };
    assertMode(this.#mode);
    this.#rules = compileRules(options.rules);
    this.#stableMs = intOption(options.stableMs, 500, 'stableMs', 0);
    this.#rescanIntervalMs = intOption(options.rescanIntervalMs, 30_000, 'rescanIntervalMs', 0);
    this.#concurrency = intOption(options.concurrency, 8, 'concurrency');
    this.#maxTransactions = intOption(options.maxTransactionsPerFile, 10_000, 'maxTransactionsPerFile');
    this.#retryDelayMs = intOption(options.retryDelayMs, 1000, 'retryDelayMs', 0);
    this.#progressIntervalMs = intOption(options.progressIntervalMs, 1000, 'progressIntervalMs');
    const watchMode = options.watch ?? 'native';
    if (![true, false, 'native', 'chokidar'].includes(watchMode)) {
      throw new IngestConfigError('watch: expected "native", "chokidar" or false');
    }
    this.#watchMode = watchMode === true ? 'native' : watchMode;
  }

  /**
   * Creates the folders, finishes every file a previous run had journalled (commit, receipt, move), then starts
   * watching and lists the inbox, so files already there are ingested. Resolves once watching; the initial listing
   * goes on in the background (see `idle()`).
   * @throws IngestConfigError when the inbox is not a folder or `start` was called twice; IngestRecoveryError when
   *   journalled transactions cannot be committed.
   */
  async start(): Promise<void> {
    if (this.#started) throw new IngestConfigError('FileIngest.start: already started');
    this.#started = true;
    try {
      const real = await realpath(this.#inboxPath);
      if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
      this.#inbox = real;
    } catch (error) {
      throw new IngestConfigError(`inbox ${this.#inboxPath}: ${(error as Error).message}`, { cause: error });
    }
    for (const dir of [this.#processedDir, this.#rejectedDir, this.#journalDir]) await mkdir(dir, { recursive: true });
    this.#syncInbox = new DirSyncer(this.#inbox);
    this.#syncProcessed = new DirSyncer(this.#processedDir);
    this.#syncRejected = new DirSyncer(this.#rejectedDir);
    this.#syncJournal = new DirSyncer(this.#journalDir);
    const stale = await removeStaleTemporaries(this.#processedDir);
    if (stale > 0) this.#log.info('ingest removed temporaries of a killed run', { dir: this.#processedDir, count: stale });
    await this.#recover();
    if (this.#watchMode === 'native') this.#startNativeWatcher();
    else if (this.#watchMode === 'chokidar') await this.#startChokidar();
    if (this.#rescanIntervalMs > 0) {
      this.#rescanTimer = setInterval(() => void this.rescan(), this.#rescanIntervalMs);
      this.#rescanTimer.unref();
    }
    this.#progressTimer = setInterval(() => this.#emitProgress(false), this.#progressIntervalMs);
    this.#progressTimer.unref();
    void this.rescan();
  }

  /**
   * Stops watching and waits for the files in hand to finish (each either fully acknowledged or left for the
   * journal). Files queued or being waited for stay in the inbox for the next start. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const timer of [this.#rescanTimer, this.#progressTimer, this.#pauseTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    for (const timer of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
    this.#queue = [];
    this.#queueHead = 0;
    this.#queued.clear();
    await this.#watcher?.close();
    await this.#rescanning?.catch(() => undefined);
    await Promise.allSettled([...this.#active.values()]);
    // Files read but not yet signed stay in the inbox; a batch already signing is finished or left to the journal.
    for (const p of this.#prepared.splice(0)) this.#inBatch.delete(p.name);
    await this.#batch;
    this.#checkIdle();
  }

  /**
   * Lists the inbox and queues every name the criteria accept (the safety net for missed watch events). Concurrent
   * calls share one listing. Resolves to the number of names queued.
   */
  rescan(): Promise<number> {
    if (this.#rescanning !== null) return this.#rescanning;
    const run = this.#rescan().finally(() => {
      this.#rescanning = null;
      this.#emitProgress(true);
      this.#checkIdle();
    });
    this.#rescanning = run;
    return run;
  }

  /**
   * Resolves when nothing is queued, in hand, waited for or being listed. A file that keeps changing, or a sink that
   * keeps failing, keeps it pending.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Current counts. */
  progress(): IngestProgress {
    const queued = this.#queue.length - this.#queueHead;
    const active = this.#active.size + this.#inBatch.size;
    return {
      phase: this.#rescanning !== null ? 'rescan' : queued + active + this.#waiting.size > 0 ? 'working' : 'idle',
      scanned: this.#scanned,
      queued,
      active,
      waiting: this.#waiting.size,
      ingested: this.#ingested,
      rejected: this.#rejected,
      transactions: this.#transactions,
    };
  }

  // --- start-up -------------------------------------------------------------------------------------------------

  async #recover(): Promise<void> {
    const paths = await listJournalEntries(this.#journalDir);
    const maxBytes = 2 * this.#criteria.maxFileBytes + this.#maxTransactions * TX_OVERHEAD_BYTES + 1024 * 1024;
    for (const path of paths) {
      let entry: JournalEntry;
      try {
        entry = await readJournalEntry(path, maxBytes);
      } catch (error) {
        // Written through fsync + rename, an entry is never torn; this is media damage or tampering. Its file cannot be
        // told, so the entry is set aside for an operator rather than deleted.
        const aside = join(this.#journalDir, 'corrupt');
        await mkdir(aside, { recursive: true });
        await rename(path, join(aside, `${Date.now()}-${path.slice(this.#journalDir.length + 1)}`));
        this.#log.error('ingest journal entry unreadable; set aside', { path, error: describeError(error) });
        continue;
      }
      this.#journalled.set(entry.header.name, entry);
      this.#reservedProcessed.add(entry.header.target);
    }
    if (this.#journalled.size > 0) {
      this.#log.info('finishing files journalled by a previous run', { files: this.#journalled.size });
    }
    if (this.#journalled.size === 0) return;
    let failures: Array<{ name: string; error: unknown }>;
    try {
      failures = await this.#finish([...this.#journalled.values()]);
    } catch (error) {
      throw new IngestRecoveryError(`could not commit journalled transactions: ${describeError(error)}`, {
        cause: error,
      });
    }
    if (failures.length > 0) {
      const first = failures[0]!;
      throw new IngestRecoveryError(`could not finish journalled file ${first.name}: ${describeError(first.error)}`, {
        cause: first.error,
      });
    }
  }

  /**
   * One `fs.watch` on the inbox folder: every event names the entry that changed, which is queued (our own moves out
   * of the inbox come back as events too and are dropped after one lstat). An event without a name, or a watcher
   * error, falls back to a rescan; the periodic rescan covers events the platform dropped.
   */
  #startNativeWatcher(): void {
    let watcher: DirectoryWatcher;
    try {
      watcher = watchDirectory(this.#inbox, { persistent: true });
    } catch (error) {
      this.#log.warn('cannot watch the inbox; relying on rescans', { error: describeError(error) });
      return;
    }
    watcher.on('change', (_event, filename) => {
      const name = typeof filename === 'string' ? filename : filename?.toString('utf8');
      if (name === undefined || name.length === 0) {
        void this.rescan();
        return;
      }
      if (!name.includes(sep) && this.#criteria.accepts(name)) this.#enqueue(name);
    });
    watcher.on('error', (error) => {
      this.#log.warn('inbox watcher failed; relying on rescans', { error: describeError(error) });
      watcher.close();
      if (this.#watcher === watcher) this.#watcher = null;
    });
    this.#watcher = watcher;
  }

  async #startChokidar(): Promise<void> {
    const inbox = this.#inbox;
    const watcher: ChokidarWatcher = chokidarWatch(inbox, {
      depth: 0,
      ignoreInitial: true,
      followSymlinks: false,
      persistent: true,
      ignored: (path: string) => path !== inbox && isIncompleteName(path.slice(path.lastIndexOf(sep) + 1)),
    });
    this.#watcher = watcher;
    const onPath = (path: string): void => {
      const name = relative(inbox, path);
      if (name.length === 0 || name.includes(sep) || name.startsWith('..')) return;
      if (this.#criteria.accepts(name)) this.#enqueue(name);
    };
    watcher.on('add', onPath);
    watcher.on('change', onPath);
    watcher.on('error', (error) => this.#log.warn('inbox watcher error', { error: describeError(error) }));
    await new Promise<void>((resolveReady) => watcher.once('ready', () => resolveReady()));
  }

  /** Never rejects: a failed listing (inbox gone, permissions) is logged and tried at the next rescan. */
  async #rescan(): Promise<number> {
    let queued = 0;
    this.#scanned = 0;
    try {
      const dir = await opendir(this.#inbox, { bufferSize: 256 });
      for await (const entry of dir) {
        if (this.#stopping) break;
        if (!this.#criteria.accepts(entry.name)) continue;
        this.#scanned++;
        if (this.#enqueue(entry.name)) queued++;
        if (this.#scanned % 1000 === 0) this.#emitProgress(false);
      }
    } catch (error) {
      this.#log.error('inbox listing failed', { inbox: this.#inbox, error: describeError(error) });
    }
    return queued;
  }

  // --- queue ----------------------------------------------------------------------------------------------------

  /** Queues a name unless it is queued, waited for or stopping; true when queued now. */
  #enqueue(name: string): boolean {
    if (this.#stopping || this.#queued.has(name) || this.#waiting.has(name)) return false;
    if (this.#active.has(name) || this.#inBatch.has(name)) {
      this.#again.add(name);
      return false;
    }
    this.#queue.push(name);
    this.#queued.add(name);
    this.#pump();
    return true;
  }

  #dequeue(): string | undefined {
    if (this.#queueHead >= this.#queue.length) return undefined;
    const name = this.#queue[this.#queueHead++]!;
    if (this.#queueHead > 4096 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    this.#queued.delete(name);
    return name;
  }

  #pump(): void {
    // Bounded: at most `concurrency` files being read, as many waiting for a batch, and one batch.
    while (!this.#stopping && this.#active.size < this.#concurrency && this.#prepared.length < this.#concurrency) {
      const wait = this.#pausedUntil - Date.now();
      if (wait > 0) {
        if (this.#pauseTimer === null && this.#queueHead < this.#queue.length) {
          this.#pauseTimer = setTimeout(() => {
            this.#pauseTimer = null;
            this.#pump();
          }, wait);
        }
        return;
      }
      const name = this.#dequeue();
      if (name === undefined) break;
      const work = this.#handle(name)
        .catch((error: unknown) => this.#log.error('ingest failed on a file', { name, error: describeError(error) }))
        .finally(() => {
          this.#active.delete(name);
          if (this.#again.delete(name)) this.#enqueue(name);
          this.#pump();
          this.#checkIdle();
        });
      this.#active.set(name, work);
    }
    this.#checkIdle();
  }

  /** Looks at `name` again after `ms` (still being written, or a retry after a failure). */
  #later(name: string, ms: number): void {
    if (this.#stopping || this.#waiting.has(name)) return;
    const timer = setTimeout(() => {
      this.#waiting.delete(name);
      this.#enqueue(name);
      this.#checkIdle();
    }, ms);
    this.#waiting.set(name, timer);
  }

  /** The sink or the disk failed: no new file starts for `retryDelayMs`, and this one is tried again after it. */
  #backOff(name: string, what: string, error: unknown): void {
    this.#log.error(`ingest ${what} failed; will retry`, { name, error: describeError(error) });
    this.#pausedUntil = Date.now() + this.#retryDelayMs;
    this.#later(name, this.#retryDelayMs);
  }

  #isIdle(): boolean {
    return (
      this.#queueHead >= this.#queue.length &&
      this.#active.size === 0 &&
      this.#prepared.length === 0 &&
      this.#batch === null &&
      this.#waiting.size === 0 &&
      this.#rescanning === null
    );
  }

  #checkIdle(): void {
    if (!this.#isIdle() && !this.#stopping) return;
    if (this.#isIdle()) this.#emitProgress(false);
    for (const resolveIdle of this.#idleWaiters.splice(0)) resolveIdle();
  }

  #emitProgress(force: boolean): void {
    const progress = this.progress();
    const key = JSON.stringify(progress);
    if (!force && key === this.#lastProgress) return;
    this.#lastProgress = key;
    this.#emitSafely('ingest:progress', progress);
  }

  /** A listener that throws must not break the ingest: it is logged. */
  #emitSafely<K extends keyof IngestEvents>(event: K, ...args: IngestEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: IngestEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.#log.error('an ingest event listener threw', { event, error: describeError(error) });
    }
  }

  // --- one file -------------------------------------------------------------------------------------------------

  async #handle(name: string): Promise<void> {
    const journalled = this.#journalled.get(name);
    if (journalled !== undefined) {
      await this.#finishOrBackOff([journalled]);
      // A new file of the same name may have replaced the journalled one: look again once this one is done.
      this.#again.add(name);
      return;
    }

    let look: Look | null;
    try {
      look = await lookAt(this.#inbox, name);
    } catch (error) {
      if (error instanceof UnsafePathError) {
        this.#log.warn('refused a name that is not a plain file name', { name });
        return;
      }
      this.#backOff(name, 'looking at a file', error);
      return;
    }
    if (look === null || look.kind === 'directory' || !this.#criteria.accepts(name)) {
      this.#looks.delete(name);
      return;
    }
    if (look.kind === 'symlink') return this.#reject(name, new UnsafePathError('symbolic links are refused'));
    if (look.kind !== 'file') return this.#reject(name, new UnsafePathError('not a regular file'));
    try {
      await assertInsideInbox(this.#inbox, name);
    } catch (error) {
      if (error instanceof UnsafePathError) return this.#reject(name, error);
      throw error;
    }
    // Complete once unchanged for stableMs: its mtime is that old, or two looks that far apart saw the same file.
    const previous = this.#looks.get(name);
    const settled =
      look.at - look.mtimeMs >= this.#stableMs ||
      (previous !== undefined && sameFile(previous, look) && look.at - previous.at >= this.#stableMs);
    if (!settled) {
      if (previous === undefined || !sameFile(previous, look)) this.#looks.set(name, look);
      this.#later(name, this.#stableMs);
      return;
    }
    this.#looks.delete(name);
    // Checked once complete, so a file is never moved away under a writer that is still at it.
    if (look.size > this.#criteria.maxFileBytes) {
      return this.#reject(
        name,
        new FileTooLargeError(`file is ${look.size} bytes; the intake limit is ${this.#criteria.maxFileBytes}`),
      );
    }

    let read: ReadResult;
    try {
      read = await readComplete(join(this.#inbox, name), look);
    } catch (error) {
      const code = errorCode(error);
      if (code !== undefined && RETRYABLE_READ_ERRORS.has(code)) {
        this.#later(name, this.#retryDelayMs);
        return;
      }
      return this.#reject(name, new FileUnreadableError(`cannot read: ${describeError(error)}`, { cause: error }));
    }
    if (!('bytes' in read)) {
      this.#later(name, this.#stableMs);
      return;
    }
    const bytes = read.bytes;

    let records: IngestRecord[];
    try {
      records = this.#records(name, bytes);
      if (this.#criteria.rejectEmpty && (bytes.length === 0 || records.length === 0)) {
        throw new EmptyFileError(bytes.length === 0 ? 'file is empty' : 'file holds no records');
      }
    } catch (error) {
      if (error instanceof IngestRejection) return this.#reject(name, error);
      throw error;
    }

    this.#prepared.push({ name, look, sha256: toHex(sha256(bytes)), records });
    this.#inBatch.add(name);
    this.#startBatch();
  }

  /**
   * Group commit: files read while a batch is being made durable wait and go together in the next one, so their
   * fsyncs (journal entries, receipts) run side by side and the sink commits once per batch, not once per file.
   * One batch runs at a time; a batch holds at most `concurrency` files.
   */
  #startBatch(): void {
    if (this.#batch !== null || this.#prepared.length === 0) return;
    const batch = this.#prepared.splice(0, this.#concurrency);
    this.#batch = this.#runBatch(batch)
      .catch((error: unknown) => {
        for (const p of batch) this.#backOff(p.name, 'ingesting', error);
      })
      .finally(() => {
        this.#batch = null;
        for (const p of batch) {
          this.#inBatch.delete(p.name);
          if (this.#again.delete(p.name)) this.#enqueue(p.name);
        }
        if (!this.#stopping) this.#startBatch();
        this.#pump();
        this.#checkIdle();
      });
    this.#pump();
  }

  async #runBatch(batch: readonly PreparedFile[]): Promise<void> {
    const records = batch.flatMap((p) => p.records);
    let transactions: readonly Transaction[];
    try {
      transactions = records.length === 0 ? [] : await this.#sink.sign(records);
      if (transactions.length !== records.length) {
        throw new Error(`sink signed ${transactions.length} transactions for ${records.length} records`);
      }
    } catch (error) {
      for (const p of batch) this.#backOff(p.name, 'signing', error);
      return;
    }
    let at = 0;
    const written = await Promise.all(
      batch.map(async (p): Promise<JournalEntry | null> => {
        const mine = transactions.slice(at, (at += p.records.length));
        let target: string | undefined;
        try {
          target = await uniqueName(this.#processedDir, p.name, RECEIPT_SUFFIX, this.#reservedProcessed);
          this.#reservedProcessed.add(target);
          const { size, mtimeMs, ino, dev } = p.look;
          const header: JournalHeader = { name: p.name, target, size, mtimeMs, ino, dev, sha256: p.sha256 };
          const path = await writeJournalEntry(this.#journalDir, header, mine);
          const entry: JournalEntry = { path, header, transactions: mine };
          this.#journalled.set(p.name, entry);
          return entry;
        } catch (error) {
          // Not journalled: these signatures were never committed anywhere, so the file is signed again later.
          if (target !== undefined) this.#reservedProcessed.delete(target);
          this.#backOff(p.name, 'journalling', error);
          return null;
        }
      }),
    );
    await this.#finishOrBackOff(written.filter((e): e is JournalEntry => e !== null));
  }

  /** `#finish`, backing off every file it could not finish. */
  async #finishOrBackOff(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    try {
      for (const failure of await this.#finish(entries)) this.#backOff(failure.name, 'finishing', failure.error);
    } catch (error) {
      for (const e of entries) this.#backOff(e.header.name, 'committing', error);
    }
  }

  /** One transaction per file, or per batch of lines. @throws an IngestRejection */
  #records(name: string, bytes: Uint8Array): IngestRecord[] {
    const createdAt = Date.now();
    const traceCodes = this.#rules.traceCodes(name);
    const mode = this.#mode;
    if (mode.kind === 'file') {
      if (utf8(name).length > MAX_SOURCE_BYTES) {
        throw new FileNameTooLongError(`name longer than ${MAX_SOURCE_BYTES} bytes`);
      }
      return [{ payload: bytes, contentType: this.#rules.contentType(name), source: name, traceCodes, createdAt }];
    }
    const contentType = this.#rules.contentType(name, MODE_CONTENT_TYPES[mode.kind]);
    return batchLines(bytes, mode, this.#maxTransactions).map((batch) => {
      const source = `${name}#L${batch.firstLine}-L${batch.lastLine}`;
      if (utf8(source).length > MAX_SOURCE_BYTES) {
        throw new FileNameTooLongError(`source ${source.slice(0, 64)}... longer than ${MAX_SOURCE_BYTES} bytes`);
      }
      const codes = [...traceCodes];
      addTraceCodes(codes, batch.traceCodes);
      return { payload: utf8(batch.text), contentType, source, traceCodes: codes, createdAt };
    });
  }

  /**
   * Finishes journalled files: make their entries durable, commit (again, after a crash: the sink ignores known ids),
   * then for each a receipt and the move (or delete), and only then forget the entry. The receipt is written before
   * the move, so a moved file always has one.
   * @throws what the sink's commit throws (no file was finished then); per-file failures after the commit are
   *   returned, their entries stay and those files are tried again.
   */
  async #finish(entries: readonly JournalEntry[]): Promise<Array<{ name: string; error: unknown }>> {
    await this.#syncJournal!.sync();
    await this.#sink.commit(entries.flatMap((e) => e.transactions));
    const placed = await Promise.allSettled(entries.map((e) => this.#placeReceipt(e)));
    await Promise.all([this.#syncProcessed!.sync(), this.#syncInbox!.sync()]);
    const failures: Array<{ name: string; error: unknown }> = [];
    await Promise.all(
      entries.map(async (entry, i) => {
        const result = placed[i]!;
        const { name, target } = entry.header;
        if (result.status === 'rejected') {
          failures.push({ name, error: result.reason });
          return;
        }
        try {
          // Only now may the entry go: the file is out of the inbox for good, so it will not be signed again.
          await unlink(entry.path);
        } catch (error) {
          failures.push({ name, error });
          return;
        }
        this.#journalled.delete(name);
        this.#reservedProcessed.delete(target);
        this.#ingested++;
        this.#transactions += result.value.length;
        this.#log.debug('file ingested', { name, target, transactions: result.value.length });
        this.#emitSafely('file:ingested', { name, target, transactions: result.value });
      }),
    );
    return failures;
  }

  /** Writes a committed file's receipt and moves (or deletes) the file; the caller fsyncs the folders. */
  async #placeReceipt(entry: JournalEntry): Promise<string[]> {
    const { name, target } = entry.header;
    const ids = entry.transactions.map((tx) => toHex(transactionId(tx)));
    const { size, sha256: fileHash } = entry.header;
    const receipt: IngestReceipt = { file: name, size, sha256: fileHash, transactions: ids };
    const receiptPath = join(this.#processedDir, target + RECEIPT_SUFFIX);
    const receiptText = `${JSON.stringify(receipt, null, 2)}\n`;
    const look = await lookAt(this.#inbox, name);
    const stillHere =
      look !== null &&
      look.kind === 'file' &&
      look.ino === entry.header.ino &&
      look.dev === entry.header.dev &&
      look.size === entry.header.size &&
      look.mtimeMs === entry.header.mtimeMs;
    if (stillHere) {
      await writeFileDurable(receiptPath, receiptText);
      if (this.#afterIngest === 'move') await moveFile(join(this.#inbox, name), join(this.#processedDir, target));
      else await unlink(join(this.#inbox, name));
    } else if (!(await exists(receiptPath))) {
      // Moved before a crash (its receipt is there then), or removed by someone else: the receipt is still owed.
      await writeFileDurable(receiptPath, receiptText);
    }
    return ids;
  }

  /** Moves a refused file to rejected/ beside a `.reason.txt`. Never throws: failures are logged. */
  async #reject(name: string, reason: IngestRejection): Promise<void> {
    let target: string | undefined;
    try {
      target = await uniqueName(this.#rejectedDir, name, REASON_SUFFIX, this.#reservedRejected);
      this.#reservedRejected.add(target);
      await writeFileDurable(join(this.#rejectedDir, target + REASON_SUFFIX), `${reason.name}: ${reason.message}\n`);
      const from = join(this.#inbox, name);
      const to = join(this.#rejectedDir, target);
      // A link is moved as the link itself; it is never copied across file systems, which would follow it.
      if (reason instanceof UnsafePathError) await rename(from, to);
      else await moveFile(from, to);
      await Promise.all([this.#syncRejected!.sync(), this.#syncInbox!.sync()]);
      this.#rejected++;
      this.#log.warn('file rejected', { name, target, reason: reason.name, detail: reason.message });
      this.#emitSafely('file:rejected', { name, target, reason: `${reason.name}: ${reason.message}` });
    } catch (error) {
      if (target !== undefined && errorCode(error) === 'ENOENT') {
        await unlink(join(this.#rejectedDir, target + REASON_SUFFIX)).catch(() => undefined);
        return;
      }
      this.#log.error('could not move a rejected file; it stays in the inbox', {
        name,
        reason: reason.name,
        error: describeError(error),
      });
    } finally {
      if (target !== undefined) this.#reservedRejected.delete(target);
    }
  }
}

