import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { REPO_ROOT } from './report.js';

/**
 * The two baselines of bench:max, measured in the same run as the node:
 * - a plain SQLite table (better-sqlite3, the same pragmas and durability as the node's store, no signatures, no
 *   chain): what a company's central database does with the same records today;
 * - the machine's raw ed25519 rate with node:crypto on every core: the ceiling for anything that signs each record.
 */

// better-sqlite3 is a dependency of the SQLite store package; the benchmark borrows it from there.
const requireFromStore = createRequire(join(REPO_ROOT, 'packages', 'storage-sqlite', 'package.json'));
const Database = requireFromStore('better-sqlite3') as typeof BetterSqlite3;

export interface SqliteBaseline {
  readonly recordsPerSec: number;
  readonly records: number;
  readonly batch: number;
  readonly seconds: number;
}

/**
 * Inserts `recordBytes`-byte random records in transactions of `batch` rows for `durationMs`: WAL, synchronous FULL
 * (an fsync of the log per commit, the durability `SqliteStore` gets by syncing the log itself off the event loop),
 * exclusive locking, 16 KiB pages, a 64 MiB cache and 256 MiB of memory-mapped reads, as `SqliteStore` opens its database.
 * Each row is (sequence, time, payload), nothing else: unsigned and unindexed beyond the primary key.
 */
export function sqliteBaseline(options: { readonly recordBytes: number; readonly batch: number; readonly durationMs: number }): SqliteBaseline {
  const dir = mkdtempSync(join(tmpdir(), 'safechain-bench-sqlite-'));
  const db = new Database(join(dir, 'records.db'), { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('page_size = 16384');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = ${-64 * 1024}`);
    db.pragma('journal_size_limit = 67108864');
    db.pragma('mmap_size = 268435456');
    db.exec('CREATE TABLE records (seq INTEGER PRIMARY KEY, created_at INTEGER NOT NULL, payload BLOB NOT NULL) STRICT');
    const insert = db.prepare('INSERT INTO records (created_at, payload) VALUES (?, ?)');
    // Fresh random bytes for every record, made before the clock starts for each batch's share.
    const pool = randomBytes(options.recordBytes * 4096);
    const insertBatch = db.transaction((rows: readonly Buffer[], now: number) => {
      for (const r of rows) insert.run(now, r);
    });
    let records = 0;
    let round = 0;
    const started = performance.now();
    const deadline = started + options.durationMs;
    while (performance.now() < deadline && records < 50_000_000) {
      const rows: Buffer[] = [];
      for (let i = 0; i < options.batch; i++) {
        const at = ((round * options.batch + i) % 4096) * options.recordBytes;
        const row = Buffer.from(pool.subarray(at, at + options.recordBytes));
        row.writeUInt32BE(records + i, 0); // unique, like the node's records
        rows.push(row);
      }
      insertBatch(rows, Date.now());
      records += rows.length;
      round++;
    }
    const seconds = (performance.now() - started) / 1000;
    return { recordsPerSec: records / seconds, records, batch: options.batch, seconds };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const SIGN_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const messages = Array.from({ length: 64 }, () => crypto.randomBytes(workerData.messageBytes));
const started = performance.now();
const deadline = started + workerData.durationMs;
let n = 0;
while (performance.now() < deadline) {
  for (let i = 0; i < 64; i++) {
    const m = messages[i];
    const s = crypto.sign(null, m, privateKey);
    if (workerData.verify && !crypto.verify(null, m, publicKey, s)) throw new Error('verify failed');
  }
  n += 64;
}
parentPort.postMessage(n / ((performance.now() - started) / 1000));
`;

/**
 * ed25519 with node:crypto on `threads` worker threads at once for `durationMs`: sign, and with `verify` also
 * verify, a `messageBytes`-byte message (a transaction's signing message is about 200 bytes). Operations per second,
 * all threads together.
 */
export async function rawEd25519Rate(options: {
  readonly threads: number;
  readonly durationMs: number;
  readonly verify: boolean;
  readonly messageBytes?: number;
}): Promise<number> {
  const rates = await Promise.all(
    Array.from(
      { length: options.threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(SIGN_WORKER, {
            eval: true,
            workerData: { durationMs: options.durationMs, verify: options.verify, messageBytes: options.messageBytes ?? 200 },
          });
          w.once('message', (perSecond: number) => {
            resolve(perSecond);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  // Each thread times its own loop (key generation and thread start excluded); the threads ran side by side.
  return rates.reduce((a, b) => a + b, 0);
}
