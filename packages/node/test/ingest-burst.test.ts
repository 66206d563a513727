import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessingPool } from '../src/processing/index.js';
import { SEED, list, logTransactions, startHarness, type Harness } from './support/ingest-fixtures.js';

/**
 * A burst of small files: half already in the inbox at start (found by the initial listing), half written by another
 * process while the ingest runs (tmp + rename, found by the watcher). The paper's record size, 100 bytes. 20,000 files
 * by default; SAFECHAIN_BURST_FILES=100000 runs the full burst (several minutes: every file costs fsyncs).
 */
const FILES = Number(process.env.SAFECHAIN_BURST_FILES ?? 20_000);

describe('FileIngest burst', () => {
  let pool: ProcessingPool;
  let h: Harness | undefined;
  beforeAll(async () => {
    pool = await ProcessingPool.start({ size: 1, seed: SEED });
  });
  afterAll(async () => {
    await h?.close();
    await pool.stop();
  });

  it(`ingests ${FILES} files of 100 bytes with bounded memory`, async () => {
    const record = (i: number): string => `${String(i).padStart(8, '0')},${'r'.repeat(90)}\n`;
    const half = Math.floor(FILES / 2);
    let peakHeap = 0;
    let peakRss = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakHeap = Math.max(peakHeap, m.heapUsed);
      peakRss = Math.max(peakRss, m.rss);
    }, 100);
    const started = performance.now();
    h = await startHarness(pool, { concurrency: 16, stableMs: 50, progressIntervalMs: 500 }, async (inbox) => {
      for (let i = 0; i < half; i++) await writeFile(join(inbox, `m${i}.csv`), record(i));
    });
    const progress: number[] = [];
    h.ingest.on('ingest:progress', (p) => progress.push(p.ingested));
    const producer = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { writeFileSync, renameSync } from 'node:fs';
         const [dir, from, to] = process.argv.slice(1);
         for (let i = Number(from); i < Number(to); i++) {
           const name = dir + '/m' + i + '.csv';
           writeFileSync(name + '.tmp', String(i).padStart(8, '0') + ',' + 'r'.repeat(90) + '\\n');
           renameSync(name + '.tmp', name);
         }`,
        h.inbox,
        String(half),
        String(FILES),
      ],
      { stdio: 'inherit' },
    );
    expect(await new Promise((resolve) => producer.once('exit', resolve))).toBe(0);
    await h.ingest.rescan(); // the safety net, as the periodic rescan would
    await h.ingest.idle();
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);

    expect(h.ingest.progress()).toMatchObject({ ingested: FILES, rejected: 0, transactions: FILES });
    expect(await list(h.inbox)).toEqual([]);
    expect((await list(h.processed)).length).toBe(FILES * 2);
    const logged = await logTransactions(h.sink);
    expect(new Set(logged.map((l) => l.id)).size).toBe(FILES);
    expect(new Set(logged.map((l) => l.tx.header.source)).size).toBe(FILES);
    expect(progress.length).toBeGreaterThan(1);
    console.log(
      JSON.stringify({
        burstFiles: FILES,
        seconds: Math.round(seconds * 10) / 10,
        filesPerSec: Math.round(FILES / seconds),
        peakHeapMiB: Math.round(peakHeap / 2 ** 20),
        peakRssMiB: Math.round(peakRss / 2 ** 20),
      }),
    );
  }, 900_000);
});
