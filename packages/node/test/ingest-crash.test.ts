import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { list, logTransactions, readReceipt, waitFor, writeAtomic } from './support/ingest-fixtures.js';

const CHILD = fileURLToPath(new URL('./support/ingest-child.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PER_TX = 3;

interface Child {
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  output: string;
}

function startChild(root: string): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=@safechain/source', '--import', 'tsx', CHILD, root, String(PER_TX), '40'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const handle: Child = {
    process: child,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    output: '',
  };
  child.stdout!.on('data', (d: Buffer) => (handle.output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (handle.output += d.toString()));
  return handle;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('FileIngest across kill -9', () => {
  let root = '';
  afterAll(async () => {
    if (root !== '') await rm(root, { recursive: true, force: true });
  });

  it('ingests every file exactly once: no lost file, no transaction twice, no file signed twice', async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'safechain-ingest-crash-')));
    const inbox = join(root, 'inbox');
    const journal = join(root, '.ingest-journal');
    await mkdir(inbox);

    // A producer writing files (tmp + rename) the whole time, 1 to 8 JSON lines each.
    const lineCounts = new Map<string, number>();
    let producing = true;
    const producer = (async () => {
      for (let i = 0; producing || i < 40; i++) {
        const name = `f${String(i).padStart(4, '0')}.jsonl`;
        const lines = 1 + (i % 8);
        const body = Array.from({ length: lines }, (_, k) => JSON.stringify({ file: i, line: k, v: 'x'.repeat(60) }));
        await writeAtomic(inbox, name, `${body.join('\n')}\n`);
        lineCounts.set(name, lines);
        await sleep(8 + Math.random() * 12);
      }
    })();

    // Kill -9 at random moments, and (every other round) the moment a journal entry exists: between journalling
    // and the end of the commit, the window exactly-once depends on.
    const kills: string[] = [];
    let outputs = '';
    for (let round = 0; round < 6; round++) {
      const child = startChild(root);
      if (round % 2 === 0) {
        const delay = 300 + Math.floor(Math.random() * 2200);
        await sleep(delay);
        kills.push(`round ${round}: after ${delay} ms`);
      } else {
        await waitFor(async () => child.output.includes('ready'), 60_000);
        await waitFor(async () => (await list(journal)).some((n) => n.endsWith('.entry')), 30_000);
        kills.push(`round ${round}: with a journal entry`);
      }
      child.process.kill('SIGKILL');
      await child.exited;
      outputs += child.output;
    }
    producing = false;
    await producer;

    // A last run drains the inbox, then stops cleanly.
    const last = startChild(root);
    await waitFor(async () => (await list(inbox)).length === 0, 90_000);
    await waitFor(async () => (await list(journal)).filter((n) => n.endsWith('.entry')).length === 0, 30_000);
    last.process.kill('SIGTERM');
    expect(await last.exited, last.output).toBe(0);

    const processed = join(root, 'processed');
    const logged = await logTransactions(join(root, 'sink.log'));
    const ids = logged.map((l) => l.id);
    expect(new Set(ids).size, 'a transaction id appears twice in the durable log').toBe(ids.length);
    const sequences = logged.map((l) => l.tx.header.sequence);
    expect(new Set(sequences).size, 'a sequence number was reused').toBe(sequences.length);

    const receiptIds: string[] = [];
    for (const [name, lines] of lineCounts) {
      const receipt = await readReceipt(processed, name);
      expect(await readFile(join(processed, name), 'utf8')).toMatch(/"file":/);
      // Exactly the expected line ranges, each once: the file's records were signed once.
      const mine = logged.filter((l) => l.tx.header.source?.startsWith(`${name}#`));
      const expectedSources = Array.from({ length: Math.ceil(lines / PER_TX) }, (_, k) => {
        const first = k * PER_TX + 1;
        return `${name}#L${first}-L${Math.min(lines, first + PER_TX - 1)}`;
      });
      expect(mine.map((l) => l.tx.header.source).sort(), name).toEqual(expectedSources.sort());
      expect([...receipt.transactions].sort(), name).toEqual(mine.map((l) => l.id).sort());
      receiptIds.push(...receipt.transactions);
    }
    // Every committed transaction is accounted for by a receipt, and nothing else was ingested or rejected.
    expect(receiptIds.sort()).toEqual([...ids].sort());
    expect(await list(join(root, 'rejected'))).toEqual([]);
    expect((await readdir(processed)).length).toBe(lineCounts.size * 2);

    // The kills did hit the journal window: some restarts finished files from the journal.
    const recoveries = (outputs + last.output).match(/finishing files journalled/g)?.length ?? 0;
    expect(recoveries).toBeGreaterThan(0);
    console.log(
      `crash test: ${lineCounts.size} files, ${logged.length} transactions, kills: ${kills.join('; ')}; ` +
        `${recoveries} restart(s) finished journalled files`,
    );
  }, 240_000);
});
