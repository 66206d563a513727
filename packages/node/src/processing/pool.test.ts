import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  NodeKey,
  createTransaction,
  encodeTransaction,
  sha256,
  stripTransaction,
  transactionId,
  verifyTransaction,
  type Transaction,
} from '@safechain/core';
import { NoSigningKeyError, ProcessingPoolStoppedError, WorkerCrashedError } from './errors.js';
import { ProcessingPool, planChunks, type RecordDraft } from './pool.js';

const seed = new Uint8Array(32).map((_, i) => i + 1);
const key = NodeKey.fromSeed(seed);
const chainId = new Uint8Array(32).fill(0xc1);
const otherChain = new Uint8Array(32).fill(0xc2);

function draft(i: number, overrides: Partial<RecordDraft> = {}): RecordDraft {
  const base: RecordDraft = {
    chainId,
    payload: new TextEncoder().encode(`record ${i} ${'x'.repeat(i % 50)}`),
    sequence: i,
    createdAt: 1_700_000_000_000 + i,
    contentType: i % 2 === 0 ? 'application/json' : 'text/csv',
    traceCodes: i % 3 === 0 ? [] : [`LOT-${i}`, `ORDER-${i % 7}`],
    ...(i % 4 === 0 ? {} : { source: `machine-${i % 5}.csv` }),
  };
  return { ...base, ...overrides };
}

function inline(d: RecordDraft): Transaction {
  return createTransaction(d, key);
}

/** core's verdict, with "throws" counted as not valid. */
function coreVerdict(tx: Transaction, chain?: Uint8Array): boolean {
  try {
    return verifyTransaction(tx, chain === undefined ? {} : { chainId: chain }).valid;
  } catch {
    return false;
  }
}

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const out = bytes.slice();
  out[index % out.length]! ^= 0x01;
  return out;
}

describe('planChunks', () => {
  it('covers every item once, in order, within the limits', () => {
    for (const [n, workers, maxItems, maxBytes] of [
      [0, 2, 512, 1000],
      [1, 2, 512, 1000],
      [1000, 2, 512, 1 << 30],
      [1000, 3, 100, 1 << 30],
      [50, 4, 512, 1 << 30],
      [300, 2, 512, 2500],
    ] as const) {
      const sizes = Array.from({ length: n }, (_, i) => (i * 37) % 100);
      const chunks = planChunks(sizes, workers, maxItems, maxBytes);
      let next = 0;
      for (const [start, end] of chunks) {
        expect(start).toBe(next);
        expect(end).toBeGreaterThan(start);
        expect(end - start).toBeLessThanOrEqual(maxItems);
        const bytes = sizes.slice(start, end).reduce((a, b) => a + b, 0);
        if (end - start > 1) expect(bytes).toBeLessThanOrEqual(maxBytes);
        next = end;
      }
      expect(next).toBe(n);
    }
  });

  it('spreads a large batch over the workers and keeps small batches whole', () => {
    expect(planChunks(new Array<number>(1000).fill(10), 2)).toEqual([
      [0, 500],
      [500, 1000],
    ]);
    expect(planChunks(new Array<number>(10).fill(10), 4)).toEqual([[0, 10]]);
  });

  it('sends an item larger than the byte limit alone', () => {
    expect(planChunks([10, 5000, 10], 1, 512, 100)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});

describe('ProcessingPool', () => {
  let pool: ProcessingPool;

  // Starting workers from TypeScript source compiles them first: slow on a loaded machine.
  beforeAll(async () => {
    pool = await ProcessingPool.start({ size: 2, seed, maxChunkItems: 64 });
  }, 60_000);

  afterAll(async () => {
    await pool?.stop();
  });

  it('signs exactly what core signs inline, in order, across workers', async () => {
    const drafts = Array.from({ length: 300 }, (_, i) => draft(i));
    const txs = await pool.signRecords(drafts);
    expect(txs).toHaveLength(drafts.length);
    txs.forEach((tx, i) => {
      const expected = inline(drafts[i]!);
      expect(encodeTransaction(tx)).toEqual(encodeTransaction(expected));
      expect(transactionId(tx)).toEqual(transactionId(expected));
      expect(verifyTransaction(tx, { chainId }).valid).toBe(true);
      expect('source' in tx.header).toBe(drafts[i]!.source !== undefined);
    });
    expect(pool.publicKey).toEqual(key.publicKey);
  });

  it('hands back the id of each signed transaction, hashed on the worker', async () => {
    const drafts = Array.from({ length: 130 }, (_, i) => draft(i));
    const signed = await pool.signRecordsWithIds(drafts);
    expect(signed).toHaveLength(drafts.length);
    signed.forEach(({ transaction, id }, i) => {
      expect(id).toEqual(transactionId(transaction));
      expect(id).toEqual(transactionId(inline(drafts[i]!)));
    });
  });

  it('signs an empty payload and an empty batch', async () => {
    expect(await pool.signRecords([])).toEqual([]);
    const [tx] = await pool.signRecords([draft(1, { payload: new Uint8Array(0) })]);
    expect(tx!.payload).toEqual(new Uint8Array(0));
    expect(verifyTransaction(tx!).valid).toBe(true);
  });

  it('signs the inputs as they were at call time', async () => {
    const d = draft(7);
    const original = d.payload.slice();
    const pending = pool.signRecords([d]);
    d.payload.fill(0x21);
    const [tx] = await pending;
    expect(tx!.payload).toEqual(original);
    expect(verifyTransaction(tx!).valid).toBe(true);
  });

  it('rejects an invalid draft with InvalidArgumentError naming the record', async () => {
    const drafts = Array.from({ length: 40 }, (_, i) => draft(i));
    drafts[33] = draft(33, { contentType: 'x'.repeat(300) });
    const error = await pool.signRecords(drafts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(/record\[33\].*contentType/);
    await expect(pool.signRecords([draft(1, { chainId: new Uint8Array(31) })])).rejects.toThrow(/chainId/);
    await expect(pool.signRecords([draft(1, { sequence: -1 })])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('reaches core verdicts on valid, stripped, tampered and foreign-chain transactions', async () => {
    const valid = Array.from({ length: 40 }, (_, i) => inline(draft(i)));
    const cases: Transaction[] = [];
    valid.forEach((tx, i) => {
      cases.push(tx, stripTransaction(tx));
      cases.push({ ...tx, signature: flip(tx.signature, i * 7) });
      cases.push({ ...tx, payload: flip(tx.payload!, i) });
      cases.push({ ...tx, header: { ...tx.header, sequence: tx.header.sequence + 1 } });
      cases.push({ ...tx, header: { ...tx.header, traceCodes: [...tx.header.traceCodes, 'FORGED'] } });
      cases.push({ ...tx, header: { ...tx.header, chainId: otherChain } });
      cases.push({ ...tx, header: { ...tx.header, origin: flip(tx.header.origin, i) } });
      // A non-canonical S (S + L) and a payload whose length disagrees with the header.
      const s = tx.signature.slice();
      s[63] = (s[63]! + 0x10) & 0xff;
      cases.push({ ...tx, signature: s });
      cases.push({ ...tx, payload: tx.payload!.subarray(1) });
      // A header core refuses to encode: core throws, the pool answers false.
      cases.push({ ...tx, header: { ...tx.header, contentType: 'y'.repeat(400) } });
    });
    for (const chain of [undefined, chainId]) {
      const verdicts = await pool.verifyTransactions(cases, chain === undefined ? {} : { chainId: chain });
      expect(verdicts).toEqual(cases.map((tx) => coreVerdict(tx, chain)));
    }
    const verdicts = await pool.verifyTransactions(cases);
    expect(verdicts.filter(Boolean).length).toBe(valid.length * 2); // the valid ones and their stripped forms
  });

  it('verifies encoded transactions and refuses bytes that do not decode', async () => {
    const txs = Array.from({ length: 30 }, (_, i) => inline(draft(i)));
    const encoded = txs.map((tx) => encodeTransaction(tx));
    const inputs = [
      ...encoded,
      encoded[0]!.subarray(0, 50),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      new Uint8Array([...encoded[1]!, 0]),
      flip(encoded[2]!, 100),
    ];
    const verdicts = await pool.verifyEncoded(inputs);
    expect(verdicts.slice(0, 30).every(Boolean)).toBe(true);
    expect(verdicts.slice(30)).toEqual([false, false, false, false, false]);
    expect(await pool.verifyEncoded(encoded, { chainId: otherChain })).toEqual(encoded.map(() => false));
  });

  it('hashes like core', async () => {
    const items = Array.from({ length: 100 }, (_, i) => new Uint8Array(i * 13).fill(i));
    expect(await pool.sha256Batch(items)).toEqual(items.map((item) => sha256(item)));
  });
});

describe('ProcessingPool failures', () => {
  it('fails the batch a crashed worker held with WorkerCrashedError and replaces the worker', async () => {
    const pool = await ProcessingPool.start({ size: 2, seed, testHooks: true });
    try {
      for (const mode of ['throw', 'exit'] as const) {
        const before = pool.stats();
        expect(before.ready).toBe(2);
        const victim = before.threadIds[0]!;
        pool.crashOnNextTaskForTesting(victim, mode);
        // 200 drafts make two chunks, one per worker: the victim holds one of them when it dies.
        const error = await pool.signRecords(Array.from({ length: 200 }, (_, i) => draft(i))).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WorkerCrashedError);
        expect((error as WorkerCrashedError).threadId).toBe(victim);
        const drafts = Array.from({ length: 100 }, (_, i) => draft(i));
        const txs = await pool.signRecords(drafts);
        expect(txs.map((tx) => encodeTransaction(tx))).toEqual(drafts.map((d) => encodeTransaction(inline(d))));
        await waitFor(() => pool.stats().ready === 2);
        const after = pool.stats();
        expect(after.threadIds).not.toContain(victim);
        expect(after.crashes).toBe(before.crashes + 1);
      }
    } finally {
      await pool.stop();
    }
  });

  it('refuses to sign without a seed, and all work after stop', async () => {
    const pool = await ProcessingPool.start({ size: 1 });
    expect(pool.publicKey).toBeNull();
    await expect(pool.signRecords([draft(1)])).rejects.toBeInstanceOf(NoSigningKeyError);
    expect(await pool.verifyTransactions([inline(draft(1))])).toEqual([true]);
    const pending = pool.verifyTransactions(Array.from({ length: 500 }, (_, i) => inline(draft(i)))).catch((e: unknown) => e);
    await pool.stop();
    expect(await pending).toBeInstanceOf(ProcessingPoolStoppedError);
    await expect(pool.verifyTransactions([])).rejects.toBeInstanceOf(ProcessingPoolStoppedError);
    await pool.stop();
  });

  it('checks its options', async () => {
    await expect(ProcessingPool.start({ size: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(ProcessingPool.start({ size: 1, seed: new Uint8Array(31) })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(ProcessingPool.start({ size: 1, maxChunkItems: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    const pool = await ProcessingPool.start({ size: 1 });
    expect(() => pool.crashOnNextTaskForTesting(pool.stats().threadIds[0]!, 'exit')).toThrow(InvalidArgumentError);
    await pool.stop();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
