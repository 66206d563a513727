import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StoreIOError } from '@safechain/storage';

/**
 * Makes committed SQLite transactions durable without blocking the event loop.
 *
 * With `synchronous = FULL` SQLite fsyncs the write-ahead log inside COMMIT, on the calling thread: the whole node
 * stops for the length of an fsync on every commit. The store instead runs SQLite with `synchronous = NORMAL` (COMMIT
 * writes the log but does not sync it) and, before a commit is reported, syncs the log file here, on libuv's thread
 * pool. That is the same durability FULL gives, because FULL's extra step is exactly this sync of the log after the
 * commit's frames are written.
 *
 * Ordering: syncs run one after another in call order, so the one a `sync()` call waits for began after the call and
 * covers every frame written before it. (The store runs one commit at a time anyway.) The log is one file that SQLite
 * appends to, or rewrites from its start after a checkpoint (which SQLite itself syncs, log first and database after,
 * in NORMAL mode too); in exclusive locking mode it is neither deleted nor replaced while the connection is open, so
 * one handle serves for the store's lifetime. The directory is synced once, after the log file is first seen, so
 * that its name survives a power loss as well.
 *
 * After a failed sync nothing written since the last good one can be trusted to be on disk (the kernel may have
 * dropped the dirty pages), so every later `sync()` fails too: the store must be reopened.
 */
export class WalSyncer {
  readonly #walPath: string;
  #handle: FileHandle | null = null;
  /** The last sync queued; the next starts when it settles. */
  #tail: Promise<void> = Promise.resolve();
  #failed: StoreIOError | null = null;

  constructor(databasePath: string) {
    this.#walPath = `${databasePath}-wal`;
  }

  /** Resolves once everything written to the log before this call is on disk. @throws StoreIOError */
  sync(): Promise<void> {
    const run = this.#tail.then(() => this.#syncOnce());
    this.#tail = run.catch(() => undefined);
    return run;
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

  /** Waits for the syncs queued, then releases the file handle. */
  async close(): Promise<void> {
    await this.#tail;
    const handle = this.#handle;
    this.#handle = null;
    await handle?.close();
  }
}
