import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { equalBytes, fromHex, stripTransaction, toHex, transactionId, utf8, type Transaction } from '@safechain/core';
import { ChainFixture } from './fixtures.js';
import { checkStoreIntegrity } from './integrity.js';
import type { BlockWrite, ChainStore, StoredBlockInfo } from './store.js';

/**
 * Crash testing for store adapters, in two halves:
 * - `runCrashWriter` runs in a child process: it opens nothing itself, takes an open store, and commits blocks in a
 *   loop (canonical extension, with mempool and meta updates in the same commits, now and then a fork block), printing
 *   `committed <height> <hash>` after each commit promise resolves;
 * - `runCrashRounds` runs in the test: it starts such a child, kills it with SIGKILL at a random moment, reopens the
 *   store in the test process and checks that every block the child reported is canonical and intact, that nothing
 *   partial is visible, and that the full integrity pass succeeds. Then again, on the same directory.
 * This module does not import vitest, so a child process can load it.
 */

export interface CrashWriterOptions {
  /** Distinguishes the transactions of one writer run from every other (use the round number). */
  readonly seed: number;
  readonly txPerBlock?: number;
  readonly payloadBytes?: number;
  /** Stops after this many blocks; by default runs until killed. */
  readonly maxBlocks?: number;
  /** Where report lines go; defaults to stdout. */
  readonly write?: (line: string) => void;
}

/**
 * Extends the canonical chain of `store` block by block, forever or for `maxBlocks` blocks. After each commit resolves
 * it writes `committed <height> <hash hex>`. Every third block's transactions go in stripped form one in three, and
 * every fifth commit also stores a fork sibling of the new block, so the recovered store has both shapes.
 * @throws AssertionError when the store's tip has no block; whatever the store's `commit` throws.
 */
export async function runCrashWriter(store: ChainStore, options: CrashWriterOptions): Promise<void> {
  const fixture = new ChainFixture(`crash ${options.seed}`);
  const txPerBlock = options.txPerBlock ?? 20;
  const payloadBytes = options.payloadBytes ?? 512;
  const write = options.write ?? ((line: string): void => void process.stdout.write(line));
  const tip = await store.getTip();
  let parent: BlockWrite | StoredBlockInfo | null = null;
  if (tip !== undefined) {
    const info = await store.getBlockInfo(tip.hash);
    assert.ok(info !== undefined, `tip ${toHex(tip.hash)} has no stored block`);
    parent = info;
  }
  let upcoming: Transaction[] = fixture.transactions(txPerBlock, payloadBytes);
  for (let n = 0; options.maxBlocks === undefined || n < options.maxBlocks; n++) {
    const txs = upcoming;
    upcoming = fixture.transactions(txPerBlock, payloadBytes, 3);
    const block = fixture.block(parent, n % 3 === 2 ? txs.map((tx, i) => (i % 3 === 0 ? stripTransaction(tx) : tx)) : txs);
    const blocks = [block];
    if (n % 5 === 4) blocks.push(fixture.block(parent, txs.slice(0, 2), { salt: n + 1 }));
    const height = block.block.header.height;
    await store.commit({
      blocks,
      canonical: { fromHeight: height, hashes: [block.hash] },
      pendingAdd: upcoming.filter((tx) => tx.payload !== undefined).map((tx) => ({ id: transactionId(tx), transaction: tx })),
      pendingRemove: block.ids,
      meta: [['crash.height', utf8(String(height))]],
    });
    write(`committed ${height} ${toHex(block.hash)}\n`);
    parent = block;
  }
}

export interface CrashRoundsOptions {
  /** The child command: program and arguments; the store location and the round number are appended. */
  readonly command: readonly [string, ...string[]];
  /** Working directory of the child. */
  readonly cwd: string;
  /** Store location handed to the child and to `open`. */
  readonly location: string;
  /** Opens (and so recovers) the store in this process. */
  readonly open: (location: string) => Promise<ChainStore>;
  readonly rounds: number;
  /** Seed of the kill schedule; the failure message names it so a run can be replayed. */
  readonly seed?: number;
  /** Longest wait for a child's first report line before the round fails (ms). Default 20 000. */
  readonly startTimeoutMs?: number;
}

export interface CrashRoundReport {
  readonly round: number;
  /** Commits the child reported before it was killed. */
  readonly reported: number;
  /** Canonical height after recovery, -1 for an empty store. */
  readonly tipHeight: number;
  /** True when the recovered tip is one block above the last reported one (a commit was durable, not yet reported). */
  readonly unreportedCommit: boolean;
  readonly blocks: number;
  readonly transactions: number;
}

/** A small seeded generator (mulberry32), so the kill schedule of a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ChildRun {
  readonly lines: readonly string[];
  readonly stderr: string;
}

function runAndKill(options: CrashRoundsOptions, round: number, killAfterLines: number, extraDelayMs: number): Promise<ChildRun> {
  const [program, ...args] = options.command;
  const child = spawn(program, [...args, options.location, String(round)], { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  let buffered = '';
  let killing = false;
  return new Promise<ChildRun>((resolve, reject) => {
    const startTimer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`round ${round}: the writer reported nothing within ${options.startTimeoutMs ?? 20_000} ms\n${stderr}`));
    }, options.startTimeoutMs ?? 20_000);
    const kill = (): void => {
      if (killing) return;
      killing = true;
      setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      if (lines.length > 0) clearTimeout(startTimer);
      if (lines.length >= killAfterLines) kill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    // A kill before the first report lands in opening or recovery, which must be crash-safe too.
    if (killAfterLines === 0) kill();
    child.on('error', (error) => {
      clearTimeout(startTimer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(startTimer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`round ${round}: the writer exited by itself (code ${String(code)}, signal ${String(signal)})\n${stderr}`));
        return;
      }
      // Only whole lines count: a line cut by the kill was never fully reported.
      resolve({ lines, stderr });
    });
  });
}

/**
 * Runs `rounds` crash rounds on one store location and checks the store after each, as the module comment says.
 * @throws AssertionError naming the round and seed when a check fails; Error when a child fails on its own.
 */
export async function runCrashRounds(options: CrashRoundsOptions): Promise<CrashRoundReport[]> {
  const seed = options.seed ?? Date.now() % 1_000_000;
  const next = random(seed);
  const committed = new Map<number, string>();
  const reports: CrashRoundReport[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const context = `crash round ${round} (seed ${seed})`;
    // Mostly kill during the commit loop; sometimes before the first commit, in open and recovery.
    const killAfterLines = next() < 0.15 ? 0 : 1 + Math.floor(next() * 4);
    const extraDelayMs = killAfterLines === 0 ? 150 + Math.floor(next() * 600) : Math.floor(next() * 25);
    const run = await runAndKill(options, round, killAfterLines, extraDelayMs);
    for (const line of run.lines) {
      const match = /^committed (\d+) ([0-9a-f]{64})$/.exec(line);
      assert.ok(match !== null, `${context}: unexpected line from the writer: ${line}`);
      committed.set(Number(match[1]), match[2]!);
    }
    const store = await options.open(options.location);
    try {
      const tip = await store.getTip();
      const maxCommitted = Math.max(-1, ...committed.keys());
      const tipHeight = tip?.height ?? -1;
      assert.ok(tipHeight >= maxCommitted, `${context}: tip height ${tipHeight} is below the reported height ${maxCommitted}`);
      // At most the one commit in flight when the kill came can be durable without having been reported.
      assert.ok(tipHeight <= maxCommitted + 1, `${context}: tip height ${tipHeight} is more than one above ${maxCommitted}`);
      for (const [height, hex] of committed) {
        const hash = await store.getCanonicalHash(height);
        assert.ok(hash !== undefined && toHex(hash) === hex, `${context}: reported block ${hex} is not canonical at height ${height}`);
        const block = await store.getBlock(fromHex(hex));
        assert.ok(block !== undefined, `${context}: reported block ${hex} is gone`);
        assert.equal(block.data.length, block.header.txCount, `${context}: reported block ${hex} is partial`);
      }
      if (tip !== undefined) {
        const block = await store.getBlock(tip.hash);
        assert.ok(block !== undefined, `${context}: the tip ${toHex(tip.hash)} has no stored block`);
        assert.equal(block.data.length, block.header.txCount, `${context}: the tip block is partial`);
        const info = await store.getBlockInfo(tip.hash);
        assert.ok(info !== undefined && equalBytes(info.hash, tip.hash), `${context}: the tip has no block info`);
        // An unreported but durable commit joins the chain the next round extends.
        if (tip.height > maxCommitted) committed.set(tip.height, toHex(tip.hash));
      }
      const integrity = await checkStoreIntegrity(store);
      assert.ok(integrity.ok, `${context}: integrity check failed: ${integrity.ok ? '' : JSON.stringify(integrity.problem)}`);
      reports.push({
        round,
        reported: run.lines.length,
        tipHeight,
        unreportedCommit: tipHeight === maxCommitted + 1,
        blocks: integrity.blocks,
        transactions: integrity.transactions,
      });
    } finally {
      await store.close();
    }
  }
  return reports;
}
