/**
 * Store benchmark: `pnpm bench:store [--quick]`.
 *
 * 1. Write throughput: blocks of 1,000 transactions of 1 kB committed one block per commit (canonical extension)
 *    through SqliteStore and FsStore, and, as the baseline, the same rows (id + encoded transaction) inserted with
 *    plain better-sqlite3, one SQLite transaction per 1,000 rows, with the same durability settings (WAL,
 *    synchronous = FULL, 16 KiB pages). Several rounds, each into a fresh store, adapters interleaved.
 * 2. Lookups of random transaction ids in a store of 1,000,000 transactions (100,000 with --quick), and that store's
 *    size on disk. Each store is built here, then opened and read in a fresh child process, as a node reads its
 *    store after a start: the same ids for every subject, one lookup at a time.
 *
 * The 1,000 transactions are real (signed by a node key, made once with @safechain/core) and reused in every block;
 * each row gets its own id (SHA-256 of block and position), since a store keys rows by the ids it is given and never
 * recomputes them. So the stores here hold real bytes under synthetic ids: fine for speed, not for an integrity check.
 *
 * Prints a table, then one JSON line (the last line).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import {
  blockHash,
  createTransaction,
  decodeTransaction,
  encodeTransaction,
  merkleRoot,
  NodeKey,
  sha256,
  utf8,
  ZERO_HASH,
  type BlockHeader,
  type Transaction,
} from '@safechain/core';
import type { BlockWrite, ChainStore } from '@safechain/storage';
import { FsStore } from '../../storage-fs/src/index.js';
import { SqliteStore } from '../src/index.js';

const quick = process.argv.includes('--quick');
/** `--lookups-in SUBJECT DIR`: the child process that measures lookups in a store the parent built (see main). */
const lookupsAt = process.argv.indexOf('--lookups-in');
const lookupChild = lookupsAt >= 0 ? { subject: process.argv[lookupsAt + 1] ?? '', dir: process.argv[lookupsAt + 2] ?? '' } : undefined;
const TX_PER_BLOCK = 1000;
const PAYLOAD_BYTES = 1024;
const WRITE_ROUNDS = quick ? 5 : 7;
const WRITE_BLOCKS = quick ? 16 : 40;
const STORE_BLOCKS = quick ? 100 : 1000;
const LOOKUP_ROUNDS = quick ? 5 : 5;
const LOOKUPS = quick ? 25_000 : 200_000;

const scratch = lookupChild === undefined ? mkdtempSync(join(tmpdir(), 'safechain-bench-store-')) : '';
if (lookupChild === undefined) process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

// Real signed transactions, made once.
const key = NodeKey.fromSeed(sha256(utf8('bench store key')));
const chainId = sha256(utf8('bench store chain'));
const transactions: Transaction[] = Array.from({ length: TX_PER_BLOCK }, (_, i) => {
  const payload = sha256(utf8(`payload ${i}`));
  const body = new Uint8Array(PAYLOAD_BYTES);
  for (let k = 0; k < PAYLOAD_BYTES; k++) body[k] = payload[k % 32]! ^ (k & 0xff);
  return createTransaction({ chainId, payload: body, sequence: i, createdAt: 1_700_000_000_000 + i, contentType: 'application/json', traceCodes: [`batch-${i % 10}`] }, key);
});
const encoded = transactions.map((tx) => encodeTransaction(tx));
const txBytes = encoded.reduce((n, b) => n + b.length, 0) / encoded.length;

function idOf(block: number, index: number): Uint8Array {
  const seed = new Uint8Array(8);
  new DataView(seed.buffer).setUint32(0, block);
  new DataView(seed.buffer).setUint32(4, index);
  return sha256(seed);
}

/** The chain every store gets: block headers with true Merkle roots over the ids and true hash links. */
function buildChain(count: number): BlockWrite[] {
  const out: BlockWrite[] = [];
  let previous: BlockHeader | null = null;
  for (let b = 0; b < count; b++) {
    const ids = Array.from({ length: TX_PER_BLOCK }, (_, i) => idOf(b, i));
    const header: BlockHeader = {
      height: b,
      timestamp: 1_700_000_000_000 + b * 15_000,
      previousHash: previous === null ? ZERO_HASH : blockHash(previous),
      merkleRoot: merkleRoot(ids),
      txCount: TX_PER_BLOCK,
      difficulty: 1n,
      nonces: [],
      extraData: new Uint8Array(0),
      signatures: [],
    };
    out.push({ hash: blockHash(header), block: { header, data: transactions }, ids, totalWork: BigInt(b + 1) });
    previous = header;
  }
  return out;
}

/** The lookup child writes nothing: it does not make (and hold) a million ids it never uses. */
const chain = lookupChild === undefined ? buildChain(Math.max(STORE_BLOCKS, WRITE_BLOCKS)) : [];

interface Subject {
  readonly name: string;
  open(dir: string): Promise<Writer>;
}

interface Writer {
  write(block: BlockWrite): Promise<void>;
  lookup(id: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
  /** Bytes on disk after close. */
  size(): number;
}

function storeWriter(store: ChainStore, files: () => number): Writer {
  return {
    write: (b) => store.commit({ blocks: [b], canonical: { fromHeight: b.block.header.height, hashes: [b.hash] } }),
    lookup: async (id) => (await store.getTransaction(id)) !== undefined,
    close: () => store.close(),
    size: files,
  };
}

const fileSize = (path: string): number => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

const subjects: Subject[] = [
  {
    name: 'baseline',
    async open(dir) {
      const path = join(dir, 'baseline.db');
      const db = new Database(path);
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('page_size = 16384');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('cache_size = -65536');
      db.pragma('mmap_size = 268435456');
      db.exec('CREATE TABLE IF NOT EXISTS tx (id BLOB PRIMARY KEY, body BLOB NOT NULL)');
      const insert = db.prepare('INSERT INTO tx (id, body) VALUES (?, ?)');
      const select = db.prepare('SELECT body FROM tx WHERE id = ?').pluck();
      const batch = db.transaction((ids: readonly Uint8Array[]) => {
        for (let i = 0; i < ids.length; i++) insert.run(ids[i], encoded[i]);
      });
      return {
        write: async (b) => batch(b.ids),
        lookup: async (id) => {
          const body = select.get(id) as Buffer | undefined;
          return body !== undefined && decodeTransaction(body) !== undefined;
        },
        close: async () => void db.close(),
        size: () => fileSize(path) + fileSize(`${path}-wal`),
      };
    },
  },
  {
    name: 'sqlite',
    async open(dir) {
      const path = join(dir, 'chain.db');
      // The store moves rows into its id index in batches (default 65,536 rows): a write round of 40,000 rows would
      // not reach one and leave that work undone. Batches of 8,192 make every round pay for its index.
      return storeWriter(await SqliteStore.open({ path, indexBatchRows: 8_192 }), () => fileSize(path) + fileSize(`${path}-wal`));
    },
  },
  {
    name: 'fs',
    async open(dir) {
      const path = join(dir, 'fs');
      const store = await FsStore.open({ dir: path });
      return storeWriter(store, () => {
        let total = 0;
        for (let n = 1; ; n++) {
          const size = fileSize(join(path, `${String(n).padStart(8, '0')}.seg`));
          if (size === 0) return total;
          total += size;
        }
      });
    },
  },
];

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Heap and array buffers in MB, after collections when the runtime allows them (`--expose-gc`). */
async function memoryMb(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3 && gc !== undefined; i++) {
    gc();
    // Let finalizers release the backing stores of collected buffers.
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return (m.heapUsed + m.arrayBuffers) / 1e6;
}

/** CPU time of this process (user + system), ms: unlike wall time, not inflated by other processes on the machine. */
function cpuMillis(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const stat = (values: readonly number[]): Stat => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const spread = (s: Stat): string => `${fmt(s.min)} .. ${fmt(s.max)}`;

async function writeRound(subject: Subject, round: number): Promise<number> {
  const dir = mkdtempSync(join(scratch, `${subject.name}-w${round}-`));
  const writer = await subject.open(dir);
  const started = performance.now();
  for (let b = 0; b < WRITE_BLOCKS; b++) await writer.write(chain[b]!);
  const seconds = (performance.now() - started) / 1000;
  await writer.close();
  rmSync(dir, { recursive: true, force: true });
  return (WRITE_BLOCKS * TX_PER_BLOCK) / seconds;
}

/** Writes the lookup store; returns tx/s and its size on disk in MB. */
async function buildStore(subject: Subject, dir: string): Promise<{ build: number; mb: number }> {
  const builder = await subject.open(dir);
  const started = performance.now();
  for (let b = 0; b < STORE_BLOCKS; b++) await builder.write(chain[b]!);
  const build = (STORE_BLOCKS * TX_PER_BLOCK) / ((performance.now() - started) / 1000);
  await builder.close();
  return { build, mb: builder.size() / 1e6 };
}

async function main(): Promise<void> {
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  log(`store benchmark${quick ? ' (--quick)' : ''}: ${availableParallelism()} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  log(`transactions: ${TX_PER_BLOCK} per block, payload ${PAYLOAD_BYTES} B, ${Math.round(txBytes)} B encoded; signed once and reused, one id per row`);
  log(`write: ${WRITE_ROUNDS} rounds of ${WRITE_BLOCKS} blocks (${fmt(WRITE_BLOCKS * TX_PER_BLOCK)} tx) per subject, each into a fresh store`);

  const writes = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (let r = 0; r < WRITE_ROUNDS; r++) {
    // Rotate the order so no subject always runs first (cold caches) or last.
    for (let k = 0; k < subjects.length; k++) {
      const subject = subjects[(r + k) % subjects.length]!;
      writes.get(subject.name)!.push(await writeRound(subject, r));
    }
  }
  const w = new Map([...writes].map(([name, values]) => [name, stat(values)]));
  const base = w.get('baseline')!.median;
  log('');
  log('write throughput (tx/s)      median     min .. max                 vs baseline');
  for (const [name, s] of w) log(`  ${name.padEnd(10)} ${fmt(s.median).padStart(14)}   ${spread(s).padEnd(24)}   ${((s.median / base) * 100).toFixed(0)}%`);

  const storeTx = STORE_BLOCKS * TX_PER_BLOCK;
  log('');
  log(`lookups: store of ${fmt(storeTx)} transactions, ${LOOKUP_ROUNDS} rounds of ${fmt(LOOKUPS)} random ids`);
  log('  subject      build tx/s   lookups/s median   min .. max             per CPU-s   disk MB   open ms   memory MB');
  const results: Record<string, { build: number; lookups: Stat; cpuLookups: number; mb: number; openMs: number; indexMb: number }> = {};
  for (const subject of subjects) {
    const dir = mkdtempSync(join(scratch, `${subject.name}-store-`));
    const { build, mb } = await buildStore(subject, dir);
    // Measured in a fresh process that opens the store, as a node does after a start: not in this one, whose heap
    // holds the million ids and blocks it wrote (their collection would be charged to the lookups).
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), '--lookups-in', subject.name, dir, ...(quick ? ['--quick'] : [])],
      { maxBuffer: 1 << 20 },
    );
    const { rates, cpuRates, openMs, indexMb } = JSON.parse(stdout.trim().split('\n').pop()!) as LookupResult;
    rmSync(dir, { recursive: true, force: true });
    const lookups = stat(rates);
    const cpuLookups = median(cpuRates);
    results[subject.name] = { build, lookups, cpuLookups, mb, openMs, indexMb };
    log(
      `  ${subject.name.padEnd(10)} ${fmt(build).padStart(12)}   ${fmt(lookups.median).padStart(16)}   ${spread(lookups).padEnd(20)} ${fmt(cpuLookups).padStart(9)} ${mb.toFixed(0).padStart(9)}   ${openMs.toFixed(0).padStart(7)}   ${indexMb.toFixed(0).padStart(9)}`,
    );
  }
  const sqlite = results['sqlite']!;
  const fs = results['fs']!;
  const baseline = results['baseline']!;
  log('  (memory MB: heap and buffers the opened store holds; for fs, its in-memory index)');
  log('');
  log('targets: each adapter >= 60% of baseline writes; >= 100,000 lookups/s');
  const round = (n: number): number => Math.round(n);
  log(
    JSON.stringify({
      bench: 'store',
      quick,
      cores: availableParallelism(),
      node: process.version,
      txPerBlock: TX_PER_BLOCK,
      payloadBytes: PAYLOAD_BYTES,
      writeRounds: WRITE_ROUNDS,
      writeTxPerRound: WRITE_BLOCKS * TX_PER_BLOCK,
      sqliteTxPerSec: round(w.get('sqlite')!.median),
      fsTxPerSec: round(w.get('fs')!.median),
      baselineTxPerSec: round(base),
      sqliteTxPerSecRange: [round(w.get('sqlite')!.min), round(w.get('sqlite')!.max)],
      fsTxPerSecRange: [round(w.get('fs')!.min), round(w.get('fs')!.max)],
      baselineTxPerSecRange: [round(w.get('baseline')!.min), round(w.get('baseline')!.max)],
      sqliteVsBaseline: Number((w.get('sqlite')!.median / base).toFixed(2)),
      fsVsBaseline: Number((w.get('fs')!.median / base).toFixed(2)),
      storeTransactions: storeTx,
      lookupsPerSec: round(Math.min(sqlite.lookups.median, fs.lookups.median)),
      sqliteLookupsPerSec: round(sqlite.lookups.median),
      fsLookupsPerSec: round(fs.lookups.median),
      baselineLookupsPerSec: round(baseline.lookups.median),
      sqliteLookupsPerCpuSec: round(sqlite.cpuLookups),
      fsLookupsPerCpuSec: round(fs.cpuLookups),
      baselineLookupsPerCpuSec: round(baseline.cpuLookups),
      loadAverage: loadavg().map((l) => Number(l.toFixed(2))),
      storeMb1M: storeTx === 1_000_000 ? Number(sqlite.mb.toFixed(1)) : null,
      sqliteStoreMb: Number(sqlite.mb.toFixed(1)),
      fsStoreMb: Number(fs.mb.toFixed(1)),
      baselineStoreMb: Number(baseline.mb.toFixed(1)),
      fsOpenMs: round(fs.openMs),
      fsIndexMb: Number(fs.indexMb.toFixed(1)),
      sqliteOpenMs: round(sqlite.openMs),
    }),
  );
}

interface LookupResult {
  readonly rates: number[];
  readonly cpuRates: number[];
  readonly openMs: number;
  readonly indexMb: number;
}

/** The child's part: opens the store, looks up random stored ids in rounds, prints one JSON line. */
async function measureLookups(name: string, dir: string): Promise<void> {
  const subject = subjects.find((s) => s.name === name);
  if (subject === undefined) throw new Error(`--lookups-in: unknown subject ${name}`);
  // Every subject is asked the same ids.
  let seed = 12345;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const memoryBefore = await memoryMb();
  const opening = performance.now();
  const writer = await subject.open(dir);
  const openMs = performance.now() - opening;
  const indexMb = (await memoryMb()) - memoryBefore;
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let r = 0; r < LOOKUP_ROUNDS; r++) {
    const ids = Array.from({ length: LOOKUPS }, () => idOf(random(STORE_BLOCKS), random(TX_PER_BLOCK)));
    const t = performance.now();
    const c = cpuMillis();
    for (const id of ids) if (!(await writer.lookup(id))) throw new Error(`${subject.name}: a stored id was not found`);
    rates.push(LOOKUPS / ((performance.now() - t) / 1000));
    cpuRates.push(LOOKUPS / ((cpuMillis() - c) / 1000));
  }
  await writer.close();
  const result: LookupResult = { rates, cpuRates, openMs, indexMb };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (lookupChild === undefined) await main();
else await measureLookups(lookupChild.subject, lookupChild.dir);
