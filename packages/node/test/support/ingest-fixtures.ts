import { mkdir, mkdtemp, readFile, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, transactionId, type Transaction } from '@safechain/core';
import { FileIngest, type FileIngestOptions, type IngestLogger, type IngestReceipt } from '../../src/ingest/index.js';
import type { ProcessingPool } from '../../src/processing/index.js';
import { FileLogSink } from './file-log-sink.js';

export const CHAIN_ID = new Uint8Array(32).fill(0x5c);
export const SEED = new Uint8Array(32).map((_, i) => 200 - i);

export interface Harness {
  readonly root: string;
  readonly inbox: string;
  readonly processed: string;
  readonly rejected: string;
  readonly journal: string;
  readonly sink: FileLogSink;
  readonly ingest: FileIngest;
  readonly logs: Array<{ level: string; message: string; fields?: unknown }>;
  /** Stops the ingest, closes the sink and removes the folder. */
  close(): Promise<void>;
}

/** A fresh inbox layout in a temp folder, a file-log sink on `pool`, and a started FileIngest. */
export async function startHarness(
  pool: ProcessingPool,
  options: Partial<FileIngestOptions> = {},
  before?: (inbox: string) => Promise<void>,
): Promise<Harness> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'safechain-ingest-')));
  const inbox = join(root, 'inbox');
  await mkdir(inbox);
  if (before !== undefined) await before(inbox);
  const sink = await FileLogSink.open(join(root, 'sink.log'), pool, CHAIN_ID);
  const logs: Harness['logs'] = [];
  const logger: IngestLogger = {
    debug: () => undefined,
    info: (message, fields) => logs.push({ level: 'info', message, fields }),
    warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    error: (message, fields) => logs.push({ level: 'error', message, fields }),
  };
  const ingest = new FileIngest({ inbox, stableMs: 100, rescanIntervalMs: 0, logger, ...options }, sink);
  await ingest.start();
  return {
    root,
    inbox,
    processed: join(root, 'processed'),
    rejected: join(root, 'rejected'),
    journal: join(root, '.ingest-journal'),
    sink,
    ingest,
    logs,
    async close() {
      await ingest.stop();
      await sink.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Writes like a well-behaved producer: `NAME.tmp`, then rename. */
export async function writeAtomic(dir: string, name: string, content: string | Uint8Array): Promise<void> {
  await writeFile(join(dir, `${name}.tmp`), content);
  await rename(join(dir, `${name}.tmp`), join(dir, name));
}

export async function readReceipt(processed: string, target: string): Promise<IngestReceipt> {
  return JSON.parse(await readFile(join(processed, `${target}.receipt.json`), 'utf8')) as IngestReceipt;
}

export async function logTransactions(sink: FileLogSink | string): Promise<Array<{ tx: Transaction; id: string }>> {
  const path = typeof sink === 'string' ? sink : sink.path;
  const { transactions } = await FileLogSink.readLog(path);
  return transactions.map((tx) => ({ tx, id: toHex(transactionId(tx)) }));
}

export async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
