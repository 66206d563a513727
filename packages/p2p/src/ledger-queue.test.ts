import { describe, expect, it } from 'vitest';
import { LedgerQueue } from './ledger-queue.js';

interface Msg {
  readonly from: string;
  readonly n: number;
}

function queue(log: string[], options: { maxBatch?: number; maxMessages?: number; maxBlocks?: number; fail?: boolean } = {}): LedgerQueue<Msg> {
  let running = 0;
  return new LedgerQueue<Msg>({
    maxBlocks: options.maxBlocks ?? 10,
    maxMessages: options.maxMessages ?? 10,
    maxBatch: options.maxBatch ?? 100,
    count: (m) => m.n,
    drain: async (messages) => {
      running++;
      expect(running).toBe(1);
      log.push(`drain ${messages.map((m) => `${m.from}${m.n}`).join(',')}`);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (options.fail === true) throw new Error('adapter down');
    },
    onError: (error, messages) => log.push(`error ${(error as Error).message} ${messages.length}`),
  });
}

describe('LedgerQueue', () => {
  it('hands waiting transaction messages over together, one call at a time, up to the batch size', async () => {
    const log: string[] = [];
    const q = queue(log, { maxBatch: 5 });
    q.pushTransactions({ from: 'a', n: 2 });
    q.pushTransactions({ from: 'b', n: 2 });
    q.pushTransactions({ from: 'a', n: 2 });
    q.pushTransactions({ from: 'c', n: 9 });
    expect(q.queuedTransactions).toBe(15);
    await q.idle();
    // The first drain starts after one turn of the event loop: every message queued by then goes with it, as far
    // as the batch size allows (always at least one whole message).
    expect(log).toEqual(['drain a2,b2', 'drain a2', 'drain c9']);
    expect(q.size).toBe(0);
    expect(q.queuedTransactions).toBe(0);
  });

  it('hands blocks over without waiting for transactions being handed over, one block at a time', async () => {
    const log: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const q = new LedgerQueue<Msg>({
      maxBlocks: 10,
      maxMessages: 10,
      maxBatch: 10,
      count: (m) => m.n,
      drain: async (messages) => {
        log.push(`drain ${messages.length}`);
        await held; // a long verification round
        log.push('drained');
      },
      onError: () => undefined,
    });
    q.pushTransactions({ from: 'a', n: 2 });
    await new Promise((r) => setImmediate(r));
    let running = 0;
    const block = (name: string) => async (): Promise<string> => {
      running++;
      expect(running).toBe(1);
      await new Promise((r) => setTimeout(r, 5));
      log.push(name);
      running--;
      return name;
    };
    const first = q.runBlock(block('block 1'));
    const second = q.runBlock(block('block 2'));
    expect([await first, await second]).toEqual(['block 1', 'block 2']);
    expect(log).toEqual(['drain 1', 'block 1', 'block 2']);
    await new Promise((r) => setImmediate(r));
    expect(q.size).toBe(1); // the drain, still in progress
    release();
    await q.idle();
    expect(log).toEqual(['drain 1', 'block 1', 'block 2', 'drained']);
  });

  it('refuses beyond its bounds and keeps going after a failing call', async () => {
    const log: string[] = [];
    const q = queue(log, { maxMessages: 2, maxBlocks: 1, fail: true });
    expect(q.pushTransactions({ from: 'a', n: 1 })).toBe(true);
    expect(q.pushTransactions({ from: 'b', n: 1 })).toBe(true);
    expect(q.pushTransactions({ from: 'c', n: 1 })).toBe(false);
    const errors: unknown[] = [];
    expect(q.pushBlock(async () => Promise.reject(new Error('bad block')), (e) => errors.push(e))).toBe(true);
    expect(q.pushBlock(async () => undefined, () => undefined)).toBe(false);
    await q.idle();
    expect(errors).toHaveLength(1);
    expect(log).toEqual(['drain a1,b1', 'error adapter down 2']);
    await expect(q.runBlock(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(q.size).toBe(0);
  });
});
