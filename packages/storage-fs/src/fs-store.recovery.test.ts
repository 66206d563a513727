import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex, utf8 } from '@safechain/core';
import { checkStoreIntegrity, crc32c, StoreCorruptError, StoreFullError, StoreLockedError, StoreVersionError, type BlockWrite } from '@safechain/storage';
import { ChainFixture } from '@safechain/storage/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsStore } from './fs-store.js';

let root: string;
let dir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'safechain-fs-recovery-'));
  dir = join(root, 'store');
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const segment = (n: number): string => join(dir, `${String(n).padStart(8, '0')}.seg`);

interface Written {
  readonly chain: BlockWrite[];
  /** Size of the (single) segment after each commit. */
  readonly sizes: number[];
}

/** Commits `count` blocks, one per commit, each with a pending add and a meta update; records the file size after each. */
async function write(count: number, options: { segmentBytes?: number; txPerBlock?: number } = {}): Promise<Written> {
  const store = await FsStore.open({ dir, ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }) });
  const fx = new ChainFixture('fs recovery');
  const chain: BlockWrite[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) {
    const block = fx.block(chain[i - 1] ?? null, fx.transactions(options.txPerBlock ?? 3, 200, 2));
    const extra = fx.transaction();
    await store.commit({
      blocks: [block],
      canonical: { fromHeight: i, hashes: [block.hash] },
      pendingAdd: [{ id: new Uint8Array(32).fill(i + 1), transaction: extra }],
      meta: [['height', utf8(String(i))]],
    });
    chain.push(block);
    sizes.push(await store.sizeBytes());
  }
  await store.close();
  return { chain, sizes };
}

/** Opens the store and checks that exactly the first `blocks` commits of `chain` are visible. */
async function expectCommits(chain: readonly BlockWrite[], blocks: number): Promise<FsStore> {
  const store = await FsStore.open({ dir });
  const tip = await store.getTip();
  expect(tip?.height ?? -1).toBe(blocks - 1);
  if (blocks > 0) expect(toHex(tip!.hash)).toBe(toHex(chain[blocks - 1]!.hash));
  expect(await store.hasBlock(chain[blocks]?.hash ?? new Uint8Array(32))).toBe(false);
  const meta = await store.getMeta('height');
  expect(meta === undefined ? undefined : new TextDecoder().decode(meta)).toBe(blocks === 0 ? undefined : String(blocks - 1));
  let pending = 0;
  for await (const _ of store.pending()) pending++;
  expect(pending).toBe(blocks);
  const report = await checkStoreIntegrity(store);
  expect(report.ok).toBe(true);
  return store;
}

function flipByte(file: string, at: number): void {
  const fd = openSync(file, 'r+');
  const one = Buffer.alloc(1);
  const bytes = readFileSync(file);
  one[0] = bytes[at]! ^ 0x20;
  writeSync(fd, one, 0, 1, at);
  closeSync(fd);
}

describe('FsStore recovery', () => {
  it('cuts a group torn anywhere and keeps every complete one, then keeps working', async () => {
    const { chain, sizes } = await write(4);
    const start = sizes[2]!;
    const end = sizes[3]!;
    const saved = readFileSync(segment(1));
    // Every cut inside the last group, from one byte of it to all but its last byte.
    const step = Math.max(1, Math.floor((end - start) / 60));
    for (let cut = start + 1; cut < end; cut += cut + step < end ? step : 1) {
      writeFileSync(segment(1), saved.subarray(0, cut));
      const store = await expectCommits(chain, 3);
      expect(statSync(segment(1)).size).toBe(start);
      expect(store.recovery).toMatchObject({ truncatedBytes: cut - start, groups: 3, segments: 1 });
      await store.close();
    }
    // The store goes on from the recovered state, and that lasts.
    writeFileSync(segment(1), saved.subarray(0, end - 1));
    const store = await FsStore.open({ dir });
    const next = new ChainFixture('after recovery').block(chain[2]!, []);
    await store.commit({ blocks: [next], canonical: { fromHeight: 3, hashes: [next.hash] } });
    await store.close();
    const again = await FsStore.open({ dir });
    expect(toHex((await again.getTip())!.hash)).toBe(toHex(next.hash));
    await again.close();
  });

  it('drops a last group whose pages never reached the disk (zeros), and garbage after the last group', async () => {
    const { chain, sizes } = await write(3);
    const saved = readFileSync(segment(1));
    const zeroed = Buffer.from(saved);
    zeroed.fill(0, sizes[1]! + 100, sizes[2]! - 40);
    writeFileSync(segment(1), zeroed);
    await (await expectCommits(chain, 2)).close();
    writeFileSync(segment(1), Buffer.concat([saved, Buffer.from('not a record, just noise after the end')]));
    await (await expectCommits(chain, 3)).close();
    expect(statSync(segment(1)).size).toBe(sizes[2]);
  });

  it('drops a last group with a damaged transaction behind an intact COMMIT record; elsewhere reports it when read', async () => {
    const { chain, sizes } = await write(3);
    const saved = readFileSync(segment(1));
    // A payload byte of the last block's last transaction, which is full (every second one is stripped).
    const lastTx = chain[2]!.block.data[2]!;
    const at = saved.indexOf(Buffer.from(lastTx.payload!), sizes[1]);
    expect(at).toBeGreaterThan(sizes[1]!);
    flipByte(segment(1), at + 3);
    const store = await expectCommits(chain, 2);
    expect(store.recovery.truncatedBytes).toBe(sizes[2]! - sizes[1]!);
    await store.close();
    // The same damage in a group that is not the last: the store opens and the read reports it.
    writeFileSync(segment(1), saved);
    const middleTx = chain[1]!.block.data[0]!;
    flipByte(segment(1), saved.indexOf(Buffer.from(middleTx.payload!), sizes[0]) + 3);
    const opened = await FsStore.open({ dir });
    expect(opened.recovery.truncatedBytes).toBe(0);
    await expect(opened.getTransaction(chain[1]!.ids[0]!)).rejects.toBeInstanceOf(StoreCorruptError);
    await opened.close();
  });

  it('refuses to cut when the damage lies before committed groups of the last segment', async () => {
    const { sizes } = await write(4);
    const before = statSync(segment(1)).size;
    flipByte(segment(1), sizes[0]! + 12);
    await expect(FsStore.open({ dir })).rejects.toThrow(/committed data follows/);
    expect(statSync(segment(1)).size).toBe(before);
  });

  it('reports damage in a complete segment, whatever record it hits', async () => {
    await write(6, { segmentBytes: 4096, txPerBlock: 6 });
    expect(existsSync(segment(2))).toBe(true);
    flipByte(segment(1), 16 + 12); // inside the first BLOCK record
    await expect(FsStore.open({ dir })).rejects.toBeInstanceOf(StoreCorruptError);
  });

  it('opens over a damaged transaction in a complete segment, and reports it when read', async () => {
    const { chain } = await write(6, { segmentBytes: 4096, txPerBlock: 6 });
    const before = await FsStore.open({ dir });
    const tx = (await before.getTransaction(chain[0]!.ids[2]!))!.transaction;
    await before.close();
    const bytes = readFileSync(segment(1));
    const payload = Buffer.from(tx.payload!);
    const at = bytes.indexOf(payload);
    expect(at).toBeGreaterThan(0);
    flipByte(segment(1), at + 5);
    const store = await FsStore.open({ dir });
    await expect(store.getTransaction(chain[0]!.ids[2]!)).rejects.toBeInstanceOf(StoreCorruptError);
    await expect(store.getBlock(chain[0]!.hash)).rejects.toBeInstanceOf(StoreCorruptError);
    expect(await store.getTransaction(chain[0]!.ids[1]!)).toBeDefined();
    const report = await checkStoreIntegrity(store);
    expect(report.ok ? null : report.problem).toMatchObject({ reason: 'unreadable', height: 0, hash: toHex(chain[0]!.hash) });
    await store.close();
  });

  it('reports a missing segment', async () => {
    await write(6, { segmentBytes: 4096, txPerBlock: 6 });
    const count = readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
    expect(count).toBeGreaterThan(2);
    rmSync(segment(2));
    await expect(FsStore.open({ dir })).rejects.toThrow(/segment 00000002.seg is missing/);
  });

  it('refuses segments of an unknown format version', async () => {
    await write(1);
    const bytes = readFileSync(segment(1));
    bytes.writeUInt16BE(2, 4);
    bytes.writeUInt32BE(crc32c(bytes, 0, 12), 12);
    writeFileSync(segment(1), bytes);
    await expect(FsStore.open({ dir })).rejects.toBeInstanceOf(StoreVersionError);
  });

  it('removes a segment whose creation a crash interrupted', async () => {
    const { chain } = await write(2);
    writeFileSync(segment(2), Buffer.from('SCF'));
    const store = await expectCommits(chain, 2);
    expect(store.recovery).toMatchObject({ removedEmptySegment: true, truncatedBytes: 0 });
    await store.close();
    expect(existsSync(segment(2))).toBe(false);
  });
});

describe('FsStore segments', () => {
  it('reads across more segment files than it keeps open at once', async () => {
    const { chain } = await write(150, { segmentBytes: 4096, txPerBlock: 3 });
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(70);
    const store = await FsStore.open({ dir, segmentBytes: 4096 });
    for (const k of [0, 149, 1, 148, 75, 2, 147, 30, 120]) {
      expect((await store.getBlock(chain[k]!.hash))?.data.length).toBe(3);
      expect((await store.getTransaction(chain[k]!.ids[0]!))?.height).toBe(k);
    }
    expect((await checkStoreIntegrity(store)).ok).toBe(true);
    await store.close();
  });
});

describe('FsStore size limit', () => {
  it('refuses a commit that would pass maxBytes before writing anything, and stays usable', async () => {
    const fx = new ChainFixture('fs full');
    const store = await FsStore.open({ dir, maxBytes: 20_000 });
    const chain: BlockWrite[] = [];
    let refused: BlockWrite | undefined;
    for (let i = 0; i < 30 && refused === undefined; i++) {
      const block = fx.block(chain[i - 1] ?? null, fx.transactions(4, 500));
      const before = await store.sizeBytes();
      try {
        await store.commit({ blocks: [block], canonical: { fromHeight: i, hashes: [block.hash] } });
        chain.push(block);
      } catch (error) {
        expect(error).toBeInstanceOf(StoreFullError);
        expect(await store.sizeBytes()).toBe(before);
        expect(statSync(segment(1)).size).toBe(before);
        refused = block;
      }
    }
    expect(refused).toBeDefined();
    expect(await store.hasBlock(refused!.hash)).toBe(false);
    await store.commit({ meta: [['small', utf8('fits')]] });
    await store.close();
    await (await FsStore.open({ dir })).close();
  });
});

describe('FsStore lock', () => {
  it('refuses a second open of the same directory, naming the holder, until the first is closed', async () => {
    const first = await FsStore.open({ dir });
    await expect(FsStore.open({ dir })).rejects.toThrow(StoreLockedError);
    await expect(FsStore.open({ dir })).rejects.toThrow(/this process/);
    await first.close();
    await (await FsStore.open({ dir })).close();
  });

  it('takes over the lock of a process that died without releasing it', async () => {
    mkdirSync(dir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: dead, host: hostname(), started: '1' }));
    const store = await FsStore.open({ dir });
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
    await store.close();
    expect(existsSync(join(dir, 'LOCK'))).toBe(false);
  });

  it('never takes over a lock from another host, nor a lock file it cannot read', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: 1, host: `${hostname()}-elsewhere`, started: null }));
    await expect(FsStore.open({ dir })).rejects.toThrow(/on .*-elsewhere/);
    writeFileSync(join(dir, 'LOCK'), 'scribbled');
    await expect(FsStore.open({ dir })).rejects.toBeInstanceOf(StoreLockedError);
  });

  it('refuses bad options', async () => {
    await expect(FsStore.open({ dir: '' })).rejects.toThrow(/options.dir/);
    await expect(FsStore.open({ dir, maxBytes: 0 })).rejects.toThrow(/options.maxBytes/);
    await expect(FsStore.open({ dir, segmentBytes: 100 })).rejects.toThrow(/options.segmentBytes/);
  });
});

// Disk full for real: set SAFECHAIN_SMALL_FS to an empty directory on a small file system (a 2 MiB tmpfs, say).
describe.runIf(process.env.SAFECHAIN_SMALL_FS !== undefined)('FsStore on a full disk', () => {
  it('answers ENOSPC with StoreFullError, keeps what was committed, and recovers', async () => {
    const small = join(process.env.SAFECHAIN_SMALL_FS!, `fs-${process.pid}`);
    const fx = new ChainFixture('fs enospc');
    const store = await FsStore.open({ dir: small });
    const chain: BlockWrite[] = [];
    let full: unknown;
    for (let i = 0; i < 10_000 && full === undefined; i++) {
      const block = fx.block(chain[i - 1] ?? null, fx.transactions(20, 1024));
      try {
        await store.commit({ blocks: [block], canonical: { fromHeight: i, hashes: [block.hash] } });
        chain.push(block);
      } catch (error) {
        full = error;
      }
    }
    expect(full).toBeInstanceOf(StoreFullError);
    await store.close();
    const reopened = await FsStore.open({ dir: small });
    expect((await reopened.getTip())?.height).toBe(chain.length - 1);
    expect((await checkStoreIntegrity(reopened)).ok).toBe(true);
    await reopened.close();
    rmSync(small, { recursive: true, force: true });
  });
});
