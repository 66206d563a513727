/**
 * A node-like process for the crash test: a FileIngest on `<root>/inbox` with a real ProcessingPool and a durable
 * file-log sink at `<root>/sink.log`. Killed with SIGKILL at random moments by the test; SIGTERM stops it cleanly.
 *
 *   node --conditions=@safechain/source --import tsx ingest-child.ts <root> [recordsPerTransaction] [commitDelayMs]
 */
import { join } from 'node:path';
import { FileIngest } from '../../src/ingest/index.js';
import { ProcessingPool } from '../../src/processing/index.js';
import { FileLogSink } from './file-log-sink.js';
import { CHAIN_ID, SEED } from './ingest-fixtures.js';

const root = process.argv[2];
const perTx = Number(process.argv[3] ?? 3);
const commitDelayMs = Number(process.argv[4] ?? 0);
if (root === undefined) throw new Error('usage: ingest-child.ts <root> [recordsPerTransaction]');

const pool = await ProcessingPool.start({ size: 1, seed: SEED });
const sink = await FileLogSink.open(join(root, 'sink.log'), pool, CHAIN_ID, { commitDelayMs });
const ingest = new FileIngest(
  {
    inbox: join(root, 'inbox'),
    mode: { kind: 'jsonl', recordsPerTransaction: perTx },
    stableMs: 20,
    rescanIntervalMs: 200,
    concurrency: 4,
    retryDelayMs: 50,
    logger: {
      debug: () => undefined,
      info: (m, f) => process.stdout.write(`info ${m} ${JSON.stringify(f)}\n`),
      warn: (m, f) => process.stderr.write(`warn ${m} ${JSON.stringify(f)}\n`),
      error: (m, f) => process.stderr.write(`error ${m} ${JSON.stringify(f)}\n`),
    },
  },
  sink,
);
ingest.on('file:ingested', (e) => process.stdout.write(`ingested ${e.name}\n`));
await ingest.start();
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  void (async () => {
    await ingest.stop();
    await sink.close();
    await pool.stop();
    process.exit(0);
  })();
});
