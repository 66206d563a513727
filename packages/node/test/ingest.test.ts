import { appendFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeKey, verifyTransaction } from '@safechain/core';
import { FileIngest, IngestConfigError, type FileIngestedEvent, type IngestProgress } from '../src/ingest/index.js';
import { ProcessingPool } from '../src/processing/index.js';
import {
  CHAIN_ID,
  SEED,
  list,
  logTransactions,
  readReceipt,
  startHarness,
  waitFor,
  writeAtomic,
  type Harness,
} from './support/ingest-fixtures.js';

const text = (bytes: Uint8Array | undefined): string => new TextDecoder().decode(bytes);

describe('FileIngest', () => {
  let pool: ProcessingPool;
  const open: Harness[] = [];

  beforeAll(async () => {
    pool = await ProcessingPool.start({ size: 1, seed: SEED });
  });
  afterEach(async () => {
    for (const h of open.splice(0)) await h.close();
  });
  afterAll(async () => {
    await pool.stop();
  });

  async function harness(...args: Parameters<typeof startHarness> extends [unknown, ...infer R] ? R : never): Promise<Harness> {
    const h = await startHarness(pool, ...args);
    open.push(h);
    return h;
  }

  it('ingests whole files written with tmp + rename, one transaction each, with receipts naming their ids', async () => {
    const h = await harness({
      rules: { traceCodeRules: [/^(?<code>LOT-\d+)_/], traceCodes: ['LINE-1'] },
    });
    const files = {
      'LOT-1_press.csv': 'ts,force\n1,200\n',
      'LOT-2_scan.json': '{"ok":true}',
      'report.bin': new Uint8Array([0, 1, 2, 255]),
    };
    for (const [name, content] of Object.entries(files)) await writeAtomic(h.inbox, name, content);
    await waitFor(async () => (await list(h.processed)).length === 6);
    await h.ingest.idle();
    expect(await list(h.inbox)).toEqual([]);
    const logged = await logTransactions(h.sink);
    expect(logged).toHaveLength(3);
    const origin = NodeKey.fromSeed(SEED).publicKey;
    for (const [name, content] of Object.entries(files)) {
      const receipt = await readReceipt(h.processed, name);
      const mine = logged.filter((l) => l.tx.header.source === name);
      expect(mine).toHaveLength(1);
      expect(receipt.transactions).toEqual([mine[0]!.id]);
      expect(receipt.file).toBe(name);
      const tx = mine[0]!.tx;
      expect(verifyTransaction(tx, { chainId: CHAIN_ID }).valid).toBe(true);
      expect(tx.header.origin).toEqual(origin);
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      expect(tx.payload).toEqual(bytes);
      expect(await readFile(join(h.processed, name))).toEqual(Buffer.from(bytes));
    }
    const byName = new Map(logged.map((l) => [l.tx.header.source, l.tx.header]));
    expect(byName.get('LOT-1_press.csv')).toMatchObject({ contentType: 'text/csv', traceCodes: ['LINE-1', 'LOT-1'] });
    expect(byName.get('LOT-2_scan.json')).toMatchObject({ contentType: 'application/json', traceCodes: ['LINE-1', 'LOT-2'] });
    expect(byName.get('report.bin')).toMatchObject({ contentType: 'application/octet-stream', traceCodes: ['LINE-1'] });
    expect(await list(h.journal)).toEqual([]);
  });

  it('notices new files with the native watcher and with chokidar, and with rescans only when not watching', async () => {
    for (const watch of ['native', 'chokidar'] as const) {
      const h = await harness({ watch });
      await writeAtomic(h.inbox, `${watch}.txt`, watch);
      await waitFor(async () => (await list(h.processed)).includes(`${watch}.txt`));
    }
    const h = await harness({ watch: false });
    await writeAtomic(h.inbox, 'unwatched.txt', 'found by a rescan');
    await new Promise((r) => setTimeout(r, 400));
    expect(await list(h.processed)).toEqual([]);
    expect(await h.ingest.rescan()).toBe(1);
    await waitFor(async () => (await list(h.processed)).includes('unwatched.txt'));
  });

  it('ingests files already in the inbox at start and reports progress', async () => {
    const progress: IngestProgress[] = [];
    const h = await harness({ progressIntervalMs: 10 }, async (inbox) => {
      for (let i = 0; i < 30; i++) await writeFile(join(inbox, `old-${i}.txt`), `record ${i}`);
    });
    h.ingest.on('ingest:progress', (p) => progress.push(p));
    await h.ingest.idle();
    expect((await list(h.processed)).filter((n) => n.endsWith('.receipt.json'))).toHaveLength(30);
    expect(await list(h.inbox)).toEqual([]);
    expect(h.ingest.progress()).toMatchObject({ phase: 'idle', ingested: 30, transactions: 30, queued: 0, active: 0 });
    expect(progress.at(-1)).toMatchObject({ phase: 'idle', ingested: 30 });
  });

  it('puts N JSON lines into each transaction (line mode)', async () => {
    const h = await harness({ mode: { kind: 'jsonl', recordsPerTransaction: 10, traceCodeFields: ['lot'] } });
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ i, lot: `LOT-${Math.floor(i / 10)}`, v: 'x'.repeat(80) }));
    await writeAtomic(h.inbox, 'sensor.jsonl', `${lines.join('\n')}\n`);
    await waitFor(async () => (await list(h.processed)).includes('sensor.jsonl'));
    const receipt = await readReceipt(h.processed, 'sensor.jsonl');
    const logged = await logTransactions(h.sink);
    expect(receipt.transactions).toEqual(logged.map((l) => l.id));
    expect(logged.map((l) => l.tx.header.source)).toEqual(['sensor.jsonl#L1-L10', 'sensor.jsonl#L11-L20', 'sensor.jsonl#L21-L25']);
    expect(logged.map((l) => text(l.tx.payload))).toEqual([
      lines.slice(0, 10).join('\n'),
      lines.slice(10, 20).join('\n'),
      lines.slice(20).join('\n'),
    ]);
    expect(logged.map((l) => l.tx.header.traceCodes)).toEqual([['LOT-0'], ['LOT-1'], ['LOT-2']]);
    expect(logged.every((l) => l.tx.header.contentType === 'application/jsonl')).toBe(true);
  });

  it('puts N CSV rows into each transaction with the header repeated (line mode)', async () => {
    const h = await harness({ mode: { kind: 'csv', recordsPerTransaction: 100 } });
    const rows = Array.from({ length: 250 }, (_, i) => `${i},${(20 + i / 10).toFixed(1)},"ok, ${i}"`);
    await writeAtomic(h.inbox, 'temps.csv', `ts,temp,note\r\n${rows.join('\r\n')}\r\n`);
    await waitFor(async () => (await list(h.processed)).includes('temps.csv'));
    const logged = await logTransactions(h.sink);
    expect((await readReceipt(h.processed, 'temps.csv')).transactions).toEqual(logged.map((l) => l.id));
    expect(logged.map((l) => text(l.tx.payload))).toEqual([
      ['ts,temp,note', ...rows.slice(0, 100)].join('\n'),
      ['ts,temp,note', ...rows.slice(100, 200)].join('\n'),
      ['ts,temp,note', ...rows.slice(200)].join('\n'),
    ]);
    expect(logged.map((l) => l.tx.header.source)).toEqual(['temps.csv#L2-L101', 'temps.csv#L102-L201', 'temps.csv#L202-L251']);
  });

  it('leaves unfinished and non-matching names alone, and takes a tmp file once renamed', async () => {
    const h = await harness({ criteria: { extensions: ['.csv'] } });
    await writeFile(join(h.inbox, 'part.csv.tmp'), 'a,b\n');
    await writeFile(join(h.inbox, '.hidden.csv'), 'a,b\n');
    await writeFile(join(h.inbox, 'notes.txt'), 'not for us');
    await mkdir(join(h.inbox, 'subfolder'));
    await writeFile(join(h.inbox, 'subfolder', 'deep.csv'), 'a,b\n');
    await h.ingest.rescan();
    await h.ingest.idle();
    expect(await list(h.processed)).toEqual([]);
    await writeAtomic(h.inbox, 'done.csv', 'a,b\n');
    await waitFor(async () => (await list(h.processed)).includes('done.csv'));
    await h.ingest.rescan();
    await h.ingest.idle();
    expect(await list(h.inbox)).toEqual(['.hidden.csv', 'notes.txt', 'part.csv.tmp', 'subfolder']);
    expect(await list(h.rejected)).toEqual([]);
  });

  it('waits for a file that is still growing', async () => {
    const h = await harness({ stableMs: 300 });
    const ingested: Array<FileIngestedEvent & { at: number }> = [];
    h.ingest.on('file:ingested', (e) => ingested.push({ ...e, at: Date.now() }));
    const path = join(h.inbox, 'growing.log');
    let expected = '';
    for (let i = 0; i < 12; i++) {
      const chunk = `line ${i} ${'.'.repeat(50)}\n`;
      expected += chunk;
      await appendFile(path, chunk);
      await new Promise((r) => setTimeout(r, 80));
    }
    const finishedWriting = Date.now();
    await waitFor(() => ingested.length === 1);
    expect(ingested[0]!.at).toBeGreaterThanOrEqual(finishedWriting);
    const [logged] = await logTransactions(h.sink);
    expect(text(logged!.tx.payload)).toBe(expected);
  });

  it('rejects bad files into rejected/ with a reason, and keeps going', async () => {
    const outside = join(await mkdirTemp(), 'secret.jsonl');
    await writeFile(outside, '{"secret":true}\n');
    const h = await harness({ mode: { kind: 'jsonl' }, criteria: { maxFileBytes: 1000, rejectEmpty: true } });
    await writeAtomic(h.inbox, 'big.jsonl', `${JSON.stringify({ v: 'x'.repeat(2000) })}\n`);
    await writeAtomic(h.inbox, 'latin1.jsonl', new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]));
    await writeAtomic(h.inbox, 'broken.jsonl', '{"a":1}\n{"b":\n');
    await writeAtomic(h.inbox, 'empty.jsonl', '');
    await writeAtomic(h.inbox, 'blank.jsonl', '\n \n');
    await symlink(outside, join(h.inbox, 'link.jsonl'));
    await writeAtomic(h.inbox, 'good.jsonl', '{"a":1}\n');
    await waitFor(async () => (await list(h.rejected)).length === 12 && (await list(h.processed)).length === 2);
    const reasons: Record<string, string> = {};
    for (const name of ['big', 'latin1', 'broken', 'empty', 'blank', 'link']) {
      reasons[name] = await readFile(join(h.rejected, `${name}.jsonl.reason.txt`), 'utf8');
    }
    expect(reasons.big).toMatch(/^FileTooLargeError: file is 2009 bytes; the intake limit is 1000/);
    expect(reasons.latin1).toMatch(/^InvalidUtf8Error/);
    expect(reasons.broken).toMatch(/^InvalidJsonLineError: line 2 /);
    expect(reasons.empty).toMatch(/^EmptyFileError/);
    expect(reasons.blank).toMatch(/^EmptyFileError/);
    expect(reasons.link).toMatch(/^UnsafePathError: symbolic link/);
    // The link itself was moved, never followed: its target is untouched and was not ingested.
    expect(await readFile(outside, 'utf8')).toBe('{"secret":true}\n');
    const logged = await logTransactions(h.sink);
    expect(logged.map((l) => l.tx.header.source)).toEqual(['good.jsonl#L1-L1']);
    expect(await list(h.inbox)).toEqual([]);
  });

  it('gives a unique suffix on name collisions in processed/ and rejected/', async () => {
    const h = await harness({ criteria: { maxFileBytes: 10 } });
    for (let round = 0; round < 3; round++) {
      await writeAtomic(h.inbox, 'same.csv', `round ${round}`);
      await writeAtomic(h.inbox, 'huge.csv', `too big ${round} for the limit`);
      await waitFor(async () => (await list(h.inbox)).length === 0);
    }
    await h.ingest.idle();
    expect(await list(h.processed)).toEqual([
      'same.1.csv',
      'same.1.csv.receipt.json',
      'same.2.csv',
      'same.2.csv.receipt.json',
      'same.csv',
      'same.csv.receipt.json',
    ]);
    expect(await list(h.rejected)).toEqual([
      'huge.1.csv',
      'huge.1.csv.reason.txt',
      'huge.2.csv',
      'huge.2.csv.reason.txt',
      'huge.csv',
      'huge.csv.reason.txt',
    ]);
    const logged = await logTransactions(h.sink);
    for (const target of ['same.csv', 'same.1.csv', 'same.2.csv']) {
      const receipt = await readReceipt(h.processed, target);
      const content = await readFile(join(h.processed, target), 'utf8');
      const tx = logged.find((l) => l.id === receipt.transactions[0])!.tx;
      expect(text(tx.payload)).toBe(content);
    }
  });

  it('deletes ingested files when configured, keeping the receipt', async () => {
    const h = await harness({ afterIngest: 'delete' });
    await writeAtomic(h.inbox, 'gone.txt', 'bye');
    await waitFor(async () => (await list(h.processed)).length === 1);
    await h.ingest.idle();
    expect(await list(h.processed)).toEqual(['gone.txt.receipt.json']);
    expect(await list(h.inbox)).toEqual([]);
    const [logged] = await logTransactions(h.sink);
    expect((await readReceipt(h.processed, 'gone.txt')).transactions).toEqual([logged!.id]);
  });

  it('retries a failed commit with the journalled transactions, never signing the file again', async () => {
    const h = await harness({ retryDelayMs: 50 });
    h.sink.failNextCommits(3);
    await writeAtomic(h.inbox, 'retry.txt', 'once only');
    await waitFor(async () => (await list(h.processed)).includes('retry.txt'));
    await h.ingest.idle();
    const logged = await logTransactions(h.sink);
    expect(logged).toHaveLength(1);
    // Sequence 0: the file was signed once; retries committed the same transaction.
    expect(logged[0]!.tx.header.sequence).toBe(0);
    expect((await readReceipt(h.processed, 'retry.txt')).transactions).toEqual([logged[0]!.id]);
    // Three injected failures, three retries of the same journalled transaction.
    expect(h.logs.filter((l) => l.level === 'error' && l.message.includes('committing'))).toHaveLength(3);
    expect(await list(h.journal)).toEqual([]);
  });

  it('refuses bad options', () => {
    const sink = { sign: async () => [], commit: async () => undefined };
    expect(() => new FileIngest({ inbox: '' }, sink)).toThrow(IngestConfigError);
    expect(() => new FileIngest({ inbox: '/x', concurrency: 0 }, sink)).toThrow(IngestConfigError);
    expect(() => new FileIngest({ inbox: '/x', processedDir: '/x' }, sink)).toThrow(IngestConfigError);
    expect(() => new FileIngest({ inbox: '/x', criteria: { include: ['[a'] } }, sink)).toThrow(IngestConfigError);
    expect(() => new FileIngest({ inbox: '/x', mode: { kind: 'csv', recordsPerTransaction: 1.5 } }, sink)).toThrow(
      IngestConfigError,
    );
  });

  it('refuses to start on a missing inbox', async () => {
    const sink = { sign: async () => [], commit: async () => undefined };
    const ingest = new FileIngest({ inbox: join(await mkdirTemp(), 'nope') }, sink);
    await expect(ingest.start()).rejects.toThrow(IngestConfigError);
  });
});

async function mkdirTemp(): Promise<string> {
  const { mkdtemp, realpath } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  return realpath(await mkdtemp(join(tmpdir(), 'safechain-outside-')));
}
