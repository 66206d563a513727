import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileIngest } from '../../src/ingest/index.js';
import { ProcessingPool } from '../../src/processing/index.js';
import { FileLogSink } from './file-log-sink.js';
import { CHAIN_ID, SEED } from './ingest-fixtures.js';
const N = Number(process.argv[2] ?? 1000);
const root = await mkdtemp(join(tmpdir(), 'prof-'));
await mkdir(join(root, 'inbox'));
const pre = process.argv[4] === 'live' ? N / 2 : N;
for (let i = 0; i < pre; i++) await writeFile(join(root, 'inbox', `m${i}.csv`), 'x'.repeat(100));
await new Promise((r) => setTimeout(r, 100));
const pool = await ProcessingPool.start({ size: 1, seed: SEED });
const sink = await FileLogSink.open(join(root, 'sink.log'), pool, CHAIN_ID);
const timings = { sign: 0, commit: 0 };
const wrapped = {
  sign: async (r: any) => { const t = performance.now(); const x = await sink.sign(r); timings.sign += performance.now() - t; return x; },
  commit: async (t0: any) => { const t = performance.now(); await sink.commit(t0); timings.commit += performance.now() - t; },
};
const ingest = new FileIngest({ inbox: join(root, 'inbox'), stableMs: 50, rescanIntervalMs: 0, concurrency: Number(process.env.CONC ?? 16), watch: process.argv[3] !== 'nowatch' }, wrapped);
const t = performance.now();
await ingest.start();
const ts = performance.now();
const { rename } = await import('node:fs/promises');
for (let i = pre; i < N; i++) { await writeFile(join(root, 'inbox', `m${i}.csv.tmp`), 'x'.repeat(100)); await rename(join(root, 'inbox', `m${i}.csv.tmp`), join(root, 'inbox', `m${i}.csv`)); }
const tw = performance.now(); console.log('writes ms', tw - ts);
await ingest.idle();
const s = (performance.now() - t) / 1000;
console.log({ N, seconds: s, startMs: ts - t, filesPerSec: N / s, signAvgMs: timings.sign / N, commitAvgMs: timings.commit / N });
await ingest.stop(); await sink.close(); await pool.stop();
