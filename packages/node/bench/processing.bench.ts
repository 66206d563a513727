/**
 * Micro-benchmark of the processing pool: signatures and verifications per second inline on the main thread and
 * through pools of 1 and 2 workers, with the main thread's event-loop utilisation while the pool works (how much of
 * the main thread the pool still takes: packing, encoding, rebuilding transactions).
 *
 *   node --conditions=@safechain/source --import tsx packages/node/bench/processing.bench.ts [records] [payloadBytes]
 *
 * Prints a table, then one JSON line for scripts. Records default to 20,000 of 100 bytes (the paper's record size).
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { NodeKey, createTransaction, verifyTransaction, type Transaction } from '@safechain/core';
import { ProcessingPool, type RecordDraft } from '../src/processing/index.js';

const records = Number(process.argv[2] ?? 20_000);
const payloadBytes = Number(process.argv[3] ?? 100);
const seed = new Uint8Array(32).fill(9);
const chainId = new Uint8Array(32).fill(1);
const drafts: RecordDraft[] = Array.from({ length: records }, (_, i) => ({
  chainId,
  payload: new Uint8Array(payloadBytes).fill(i & 0xff),
  sequence: i,
  createdAt: 1_700_000_000_000 + i,
  contentType: 'text/csv',
  source: `machine-${i % 8}.csv`,
  traceCodes: [`LOT-${i % 100}`],
}));

interface Row {
  readonly mode: string;
  readonly signPerSec: number;
  readonly verifyPerSec: number;
  readonly mainThreadUtilisation: number | null;
}

function rate(count: number, ms: number): number {
  return Math.round(count / (ms / 1000));
}

function inline(): { row: Row; txs: Transaction[] } {
  const key = NodeKey.fromSeed(seed);
  let t = performance.now();
  const txs = drafts.map((d) => createTransaction(d, key));
  const signMs = performance.now() - t;
  t = performance.now();
  for (const tx of txs) if (!verifyTransaction(tx).valid) throw new Error('inline verify failed');
  const verifyMs = performance.now() - t;
  return { row: { mode: 'inline', signPerSec: rate(records, signMs), verifyPerSec: rate(records, verifyMs), mainThreadUtilisation: 1 }, txs };
}

async function pooled(size: number, txs: readonly Transaction[]): Promise<Row> {
  const pool = await ProcessingPool.start({ size, seed });
  try {
    await pool.signRecords(drafts.slice(0, 1000)); // warm up
    const elu0 = performance.eventLoopUtilization();
    let t = performance.now();
    const signed = await pool.signRecords(drafts);
    const signMs = performance.now() - t;
    t = performance.now();
    const verdicts = await pool.verifyTransactions(txs);
    const verifyMs = performance.now() - t;
    const elu = performance.eventLoopUtilization(elu0);
    if (signed.length !== records || !verdicts.every(Boolean)) throw new Error('pool results are wrong');
    return {
      mode: `pool size ${size}`,
      signPerSec: rate(records, signMs),
      verifyPerSec: rate(records, verifyMs),
      mainThreadUtilisation: Math.round(elu.utilization * 100) / 100,
    };
  } finally {
    await pool.stop();
  }
}

const { row: inlineRow, txs } = inline();
const rows: Row[] = [inlineRow, await pooled(1, txs), await pooled(2, txs)];
console.log(`${records} records of ${payloadBytes} bytes, ${availableParallelism()} cores`);
console.log('mode          sign/s    verify/s  main-thread busy');
for (const r of rows) {
  console.log(
    `${r.mode.padEnd(12)} ${String(r.signPerSec).padStart(8)} ${String(r.verifyPerSec).padStart(10)}  ${r.mainThreadUtilisation ?? ''}`,
  );
}
console.log(
  JSON.stringify({
    cores: availableParallelism(),
    records,
    payloadBytes,
    signPerSec: Object.fromEntries(rows.map((r) => [r.mode.replace('pool size ', 'pool'), r.signPerSec])),
    verifyPerSec: Object.fromEntries(rows.map((r) => [r.mode.replace('pool size ', 'pool'), r.verifyPerSec])),
    mainThreadUtilisation: Object.fromEntries(rows.map((r) => [r.mode.replace('pool size ', 'pool'), r.mainThreadUtilisation])),
  }),
);
