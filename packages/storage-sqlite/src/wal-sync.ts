import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreIOError } from '@safechain/storage';

/**
 * Makes committed SQLite transactions durable without blocking the event loop: group commit.
 *
 * With `synchronous = FULL` SQLite fsyncs the write-ahead log inside COMMIT, on the calling thread: the whole node
 * stops for the length of an fsync on every commit. The store instead runs SQLite with `synchronous = NORMAL` (COMMIT
 * writes the log but does not sync it) and, before a commit is reported, syncs the log file here, on libuv's thread
 * pool. That is the same durability FULL gives, because FULL's extra step is exactly this sync of the log after the
 * commit's frames are written; and concurrent commits share one sync.
 *
 * Ordering: a `sync()` resolves only after an fdatasync that began after `sync()` was called, so it covers every
 * frame written before the call. The log is one file that SQLite appends to, or rewrites from its start after a
 * checkpoint (which SQLite itself syncs, log first and database after, in NORMAL mode too); in exclusive locking mode
 * it is neither deleted nor replaced while the connection is open, so one handle serves for the store's lifetime.
 * The directory is synced once, after the log file is first seen, so that its name survives a power loss as well.
 *
 * After a failed sync nothing written since the last good one can be trusted to be on disk (the kernel may have
 * dropped the dirty pages), so every later `sync()` fails too: the store must be reopened.
 */
export class WalSyncer {
  readonly #walPath: string;
  #handle: FileHandle | null = null;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  #failed: StoreIOError | null = null;

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
  }

  /** Resolves once everything written to the log before this call is on disk. @throws StoreIOError */
  sync(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#next !== null) return this.#next;
    if (this.#running === null) return this.#start();
    const next = this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = null;
        return this.#start();
      });
    this.#next = next;
    return next;
  }

  #start(): Promise<void> {
    const running = this.#syncOnce().finally(() => {
      if (this.#running === running) this.#running = null;
    });
    this.#running = running;
    return running;
  }

  async #syncOnce(): Promise<void> {
    if (this.#failed !== null) throw this.#failed;
    try {
      if (this.#handle === null) {
        const handle = await open(this.#walPath, constants.O_RDONLY);
        const dir = await open(dirname(this.#walPath), constants.O_RDONLY);
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
        this.#handle = handle;
      }
      await this.#handle.datasync();
    } catch (error) {
      this.#failed = new StoreIOError(`syncing the write-ahead log ${this.#walPath}: ${(error as Error).message}`, { cause: error });
      throw this.#failed;
    }
  }

  /** Waits for a sync in flight, then releases the file handle. */
  async close(): Promise<void> {
    await this.#next?.catch(() => undefined);
    await this.#running?.catch(() => undefined);
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }
}
