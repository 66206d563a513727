import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeKey, createTransaction, encodeTransaction } from '@safechain/core';
import { JournalEntryCorruptError } from './errors.js';
import { fsyncDir } from './fsutil.js';
import {
  decodeJournalEntry,
  encodeJournalEntry,
  journalEntryPath,
  listJournalEntries,
  readJournalEntry,
  writeJournalEntry,
  type JournalHeader,
} from './journal.js';

const key = NodeKey.fromSeed(new Uint8Array(32).fill(3));
const txs = Array.from({ length: 3 }, (_, i) =>
  createTransaction({ chainId: new Uint8Array(32), payload: new Uint8Array(i * 10).fill(i), sequence: i, createdAt: 1 }, key),
);
const header: JournalHeader = { name: 'a b.csv', target: 'a b.1.csv', size: 30, mtimeMs: 1.5, ino: 7, dev: 8, sha256: 'ab' };

describe('ingest journal', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'safechain-journal-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips an entry through the disk', async () => {
    const path = await writeJournalEntry(dir, header, txs);
    await fsyncDir(dir);
    expect(path).toBe(journalEntryPath(dir, header.name));
    const entry = await readJournalEntry(path, 1 << 20);
    expect(entry.header).toEqual(header);
    expect(entry.transactions.map(encodeTransaction)).toEqual(txs.map(encodeTransaction));
    await expect(readJournalEntry(path, 100)).rejects.toThrow(JournalEntryCorruptError);
  });

  it('detects every single-byte change and every truncation', () => {
    const bytes = encodeJournalEntry(header, txs);
    for (let i = 0; i < bytes.length; i += 7) {
      const changed = bytes.slice();
      changed[i]! ^= 0x40;
      expect(() => decodeJournalEntry(changed, 'x')).toThrow(JournalEntryCorruptError);
    }
    for (const n of [0, 5, 40, bytes.length - 1]) {
      expect(() => decodeJournalEntry(bytes.subarray(0, n), 'x')).toThrow(JournalEntryCorruptError);
    }
  });

  it('lists complete entries and deletes temporary ones', async () => {
    await writeFile(join(dir, 'deadbeef.entry.tmp'), 'torn');
    const listed = await listJournalEntries(dir);
    expect(listed).toEqual([journalEntryPath(dir, header.name)]);
    expect((await readdir(dir)).some((n) => n.endsWith('.tmp'))).toBe(false);
  });
});
