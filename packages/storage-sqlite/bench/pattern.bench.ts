/**
 * The node's store pattern: `pnpm bench:store-pattern [--quick] [--stored N] [--rounds N]`.
 *
 * What a full node asks of its SQLite store per record it takes in, on a store that already holds `--stored`
 * transactions (default 980,000; 140,000 with --quick): an id check (`canonicalHeights`) and a mempool commit per batch
 * of 500 records, two more id checks per record when its block is cut and accepted (producer, Block Tree), then the
 * block's commit (7,000 transactions of 1 kB, removing their mempool entries). Reports microseconds per record for each
 * part, CPU and wall time per record, over several rounds of 20 blocks, each round on a store built afresh.
 * Prints a table, then one JSON line (the last line).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFillSync } from 'node:crypto';
import type { BlockWrite } from '@safechain/storage';
import { median } from '../../../bench/lib/stats.js';
import { ChainFixture } from '../../storage/src/fixtures.js';
import { SqliteStore } from '../src/index.js';

const quick = process.argv.includes('--quick');
const option = (name: string, fallback: number): number => {
  const at = process.argv.indexOf(name);
  const value = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer`);
  return value;
};
const PER_BLOCK = 7000;
const BATCH = 500;
const MEASURED_BLOCKS = 20;
const preloadBlocks = Math.round(option('--stored', quick ? 140_000 : 980_000) / PER_BLOCK);
const rounds = option('--rounds', quick ? 1 : 3);

// 7,000 real signed transactions, reused in every block under fresh random ids (a store keys rows by the ids it is
// given): real bytes, synthetic ids.
const fx = new ChainFixture('store pattern');
const transactions = fx.transactions(PER_BLOCK, 1024);
function chain(count: number): BlockWrite[] {
  const out: BlockWrite[] = [];
  let parent: BlockWrite | null = null;
  for (let b = 0; b < count; b++) {
    const write = fx.block(parent, transactions);
    const ids = transactions.map(() => randomFillSync(new Uint8Array(32)));
    out.push({ ...write, ids });
    parent = write;
  }
  return out;
}

interface Round {
  preloadPerSec: number;
  idChecksUs: number;
  mempoolCommitsUs: number;
  blockCommitsUs: number;
  cpuUs: number;
  wallUs: number;
}

async function round(): Promise<Round> {
  const blocks = chain(preloadBlocks + MEASURED_BLOCKS);
  const dir = mkdtempSync(join(tmpdir(), 'safechain-bench-pattern-'));
  try {
    const store = await SqliteStore.open({ path: join(dir, 'chain.db') });
    let t = performance.now();
    for (let h = 0; h < preloadBlocks; h++) await store.commit({ blocks: [blocks[h]!], canonical: { fromHeight: h, hashes: [blocks[h]!.hash] } });
    const preloadPerSec = (preloadBlocks * PER_BLOCK) / ((performance.now() - t) / 1000);
    let checks = 0;
    let mempool = 0;
    let block = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let h = preloadBlocks; h < blocks.length; h++) {
      const w = blocks[h]!;
      for (let i = 0; i < PER_BLOCK; i += BATCH) {
        const ids = w.ids.slice(i, i + BATCH);
        t = performance.now();
        await store.canonicalHeights(ids);
        checks += performance.now() - t;
        t = performance.now();
        await store.commit({ pendingAdd: w.block.data.slice(i, i + BATCH).map((transaction, k) => ({ id: ids[k]!, transaction })) });
        mempool += performance.now() - t;
      }
      t = performance.now();
      await store.canonicalHeights(w.ids);
      await store.canonicalHeights(w.ids);
      checks += performance.now() - t;
      t = performance.now();
      await store.commit({ blocks: [w], canonical: { fromHeight: h, hashes: [w.hash] }, pendingRemove: w.ids });
      block += performance.now() - t;
    }
    const wall = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    await store.close();
    const n = MEASURED_BLOCKS * PER_BLOCK;
    return {
      preloadPerSec,
      idChecksUs: (checks * 1000) / n,
      mempoolCommitsUs: (mempool * 1000) / n,
      blockCommitsUs: (block * 1000) / n,
      cpuUs: (cpu.user + cpu.system) / n,
      wallUs: (wall * 1000) / n,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const log = (line: string): void => void process.stdout.write(`${line}\n`);
log(`store pattern benchmark${quick ? ' (--quick)' : ''}: ${availableParallelism()} cores, Node ${process.version}`);
log(`${preloadBlocks * PER_BLOCK} transactions stored first, then ${MEASURED_BLOCKS} blocks of ${PER_BLOCK} measured; ${rounds} round(s)`);
const results: Round[] = [];
for (let r = 0; r < rounds; r++) results.push(await round());
const keys = ['preloadPerSec', 'idChecksUs', 'mempoolCommitsUs', 'blockCommitsUs', 'cpuUs', 'wallUs'] as const;
const labels: Record<(typeof keys)[number], string> = {
  preloadPerSec: 'building the stored part (tx/s)',
  idChecksUs: 'id checks (3 per record), us/record',
  mempoolCommitsUs: 'mempool commits, us/record',
  blockCommitsUs: 'block commits, us/record',
  cpuUs: 'CPU, us/record',
  wallUs: 'wall, us/record',
};
log('');
log(`${'figure'.padEnd(38)} ${'median'.padStart(10)}   min .. max`);
const summary: Record<string, number> = {};
for (const key of keys) {
  const values = results.map((r) => r[key]);
  const digits = key === 'preloadPerSec' ? 0 : 1;
  summary[key] = Number(median(values).toFixed(digits));
  log(`${labels[key].padEnd(38)} ${median(values).toFixed(digits).padStart(10)}   ${Math.min(...values).toFixed(digits)} .. ${Math.max(...values).toFixed(digits)}`);
}
log(JSON.stringify({ bench: 'store-pattern', quick, cores: availableParallelism(), node: process.version, stored: preloadBlocks * PER_BLOCK, rounds, ...summary }));
