/**
 * Benchmark of @safechain/core on one core: signing and verifying 1 kB transactions (Node and portable providers,
 * against plain node:crypto verification of the same bytes), the Merkle root over 100,000 ids, proof verification,
 * and the size of an inclusion path in a 1,000,000-leaf tree.
 *
 *   pnpm bench:core            7 measured rounds
 *   pnpm bench:core --quick    3 shorter rounds, well under a minute
 *
 * Each round measures every figure once, and the rounds interleave them, so a slow moment of a shared machine
 * lands on all figures alike. The table shows the median, the range and the spread ((max - min) / median) of the
 * rounds; the last line is one JSON object with the medians, for scripts.
 */
import * as nodeCrypto from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import {
  MerkleTree,
  NodeKey,
  blockHash,
  buildBlock,
  createProofBundle,
  createTransaction,
  merkleRoot,
  nodeCryptoProvider,
  portableCryptoProvider,
  sha256,
  signBlockHeader,
  toHex,
  transactionId,
  txSigningMessage,
  utf8,
  verifyInclusion,
  verifyProof,
  verifyTransaction,
  type ProofBundle,
  type Transaction,
} from '@safechain/core';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 7;
const N_TX = quick ? 1_000 : 3_000;
const N_NOBLE = quick ? 60 : 200;
const N_PROOF = quick ? 300 : 1_000;

function perSecond(count: number, ms: number): number {
  return (count * 1000) / ms;
}

function timed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

// --- Fixtures --------------------------------------------------------------------------------------------------

const key = NodeKey.fromSeed(sha256(utf8('bench origin')), nodeCryptoProvider);
const sealer = NodeKey.fromSeed(sha256(utf8('bench sealer')), nodeCryptoProvider);
const genesis = buildBlock({ parent: null, transactions: [], timestamp: Date.UTC(2026, 0, 1) });
const chainId = blockHash(genesis.header);
const payloads = Array.from({ length: 64 }, (_, i) => nodeCrypto.randomBytes(1024).fill(i, 0, 1));

function makeTransactions(count: number, offset: number): Transaction[] {
  const txs: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    txs.push(
      createTransaction(
        {
          chainId,
          sequence: offset + i,
          createdAt: Date.UTC(2026, 0, 1) + i,
          contentType: 'application/json',
          source: 'press-07/spindle.csv',
          traceCodes: ['ORDER-4711', `BATCH-${i % 100}`],
          payload: payloads[i % payloads.length]!,
        },
        key,
        nodeCryptoProvider,
      ),
    );
  }
  return txs;
}

const txs = makeTransactions(N_TX, 0);
const messages = txs.map((tx) => txSigningMessage(tx.header));
const rawKey = nodeCrypto.createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]),
  format: 'der',
  type: 'spki',
});

const ids100k = Array.from({ length: 100_000 }, (_, i) => sha256(utf8(`id ${i}`)));

// A sealed block of 1,000 transactions and a proof bundle for each of a few of them.
const blockTxs = txs.slice(0, Math.min(1_000, txs.length));
const block = buildBlock({ parent: genesis.header, transactions: blockTxs, timestamp: Date.UTC(2026, 0, 1, 0, 1) });
const sealed = signBlockHeader(block.header, sealer);
const tree = MerkleTree.build(blockTxs.map((tx) => transactionId(tx)));
const bundles: ProofBundle[] = [0, 1, 499, blockTxs.length - 1].map((index) =>
  JSON.parse(JSON.stringify(createProofBundle({ transaction: blockTxs[index]!, header: sealed, index, path: tree.proof(index) }))) as ProofBundle,
);
for (const b of bundles) if (!verifyProof(b).valid) throw new Error('bench fixture: proof does not verify');

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// --- One round -------------------------------------------------------------------------------------------------

interface Round {
  signPerSec: number;
  verifyPerSec: number;
  rawNodeVerifyPerSec: number;
  verifyVsRaw: number;
  nobleVerifyPerSec: number;
  merkleRoot100kMs: number;
  proofVerifyPerSec: number;
}

/** Ops per second of `batch` operations starting at `from`, run by `op`. */
function batchRate(from: number, batch: number, op: (i: number) => void): number {
  return perSecond(batch, timed(() => {
    for (let i = from; i < from + batch; i++) op(i);
  }));
}

const verifyOp = (i: number): void => {
  if (!verifyTransaction(txs[i]!, { provider: nodeCryptoProvider }).valid) throw new Error('verify failed');
};
const rawVerifyOp = (i: number): void => {
  if (!nodeCrypto.verify(null, messages[i]!, rawKey, txs[i]!.signature)) throw new Error('raw verify failed');
};

/**
 * One round. The throughput figures are taken in short batches (50 operations), and a figure is the median batch
 * rate: on a machine shared with other work, a batch that was preempted is an outlier, not a shift of the mean.
 * verifyTransaction and plain node:crypto verification alternate batch by batch over the same transactions, and
 * their ratio is the median of the per-pair ratios.
 */
function round(index: number): Round {
  const BATCH = 50;
  const sign: number[] = [];
  for (let b = 0; b < N_TX; b += BATCH) sign.push(perSecond(BATCH, timed(() => makeTransactions(BATCH, 1_000_000 * (index + 2) + b))));
  const verify: number[] = [];
  const raw: number[] = [];
  const ratio: number[] = [];
  for (let b = 0; b + BATCH <= N_TX; b += BATCH) {
    const first = (b / BATCH) % 2 === 0;
    const v1 = first ? batchRate(b, BATCH, verifyOp) : 0;
    const r = batchRate(b, BATCH, rawVerifyOp);
    const v = first ? v1 : batchRate(b, BATCH, verifyOp);
    verify.push(v);
    raw.push(r);
    ratio.push(v / r);
  }
  const noble: number[] = [];
  for (let b = 0; b + 10 <= N_NOBLE; b += 10) {
    noble.push(batchRate(b, 10, (i) => {
      if (!verifyTransaction(txs[i]!, { provider: portableCryptoProvider }).valid) throw new Error('noble verify failed');
    }));
  }
  let root: Uint8Array = new Uint8Array(0);
  const merkleRoot100kMs = timed(() => {
    root = merkleRoot(ids100k);
  });
  if (root.length !== 32) throw new Error('no root');
  const proof: number[] = [];
  for (let b = 0; b + BATCH <= N_PROOF; b += BATCH) {
    proof.push(batchRate(b, BATCH, (i) => {
      if (!verifyProof(bundles[i % bundles.length]!).valid) throw new Error('proof failed');
    }));
  }
  return {
    signPerSec: median(sign),
    verifyPerSec: median(verify),
    rawNodeVerifyPerSec: median(raw),
    verifyVsRaw: median(ratio),
    nobleVerifyPerSec: median(noble),
    merkleRoot100kMs,
    proofVerifyPerSec: median(proof),
  };
}

// --- The 1,000,000-leaf path -----------------------------------------------------------------------------------

function proofBytesForMillion(): { bytes: number; buildMs: number } {
  const ids = new Array<Uint8Array>(1_000_000);
  const counter = new Uint8Array(8);
  const view = new DataView(counter.buffer);
  for (let i = 0; i < ids.length; i++) {
    view.setUint32(4, i);
    ids[i] = sha256(counter);
  }
  let big: MerkleTree | undefined;
  const buildMs = timed(() => {
    big = MerkleTree.build(ids);
  });
  let bytes = 0;
  for (const index of [0, 1, 524_287, 524_288, 999_998, 999_999]) {
    const path = big!.proof(index);
    if (!verifyInclusion(ids[index]!, index, ids.length, path, big!.root)) throw new Error('million-leaf path does not verify');
    bytes = Math.max(bytes, path.reduce((n, p) => n + p.length, 0));
  }
  return { bytes, buildMs };
}

// --- Run and report --------------------------------------------------------------------------------------------

const started = performance.now();
round(-1); // warm-up: compiles the hot paths and fills the key cache; not counted
const rounds: Round[] = [];
for (let r = 0; r < ROUNDS; r++) rounds.push(round(r));
const million = proofBytesForMillion();

type Metric = keyof Round;
const rows: { metric: Metric; unit: string; digits: number; target?: (v: number) => string }[] = [
  { metric: 'signPerSec', unit: 'tx/s', digits: 0 },
  { metric: 'verifyPerSec', unit: 'tx/s', digits: 0 },
  { metric: 'rawNodeVerifyPerSec', unit: 'op/s', digits: 0 },
  { metric: 'verifyVsRaw', unit: 'ratio', digits: 3, target: (v) => (v >= 0.85 ? 'ok (>= 0.85)' : 'MISSED (< 0.85)') },
  { metric: 'nobleVerifyPerSec', unit: 'tx/s', digits: 0 },
  { metric: 'merkleRoot100kMs', unit: 'ms', digits: 1, target: (v) => (v < 500 ? 'ok (< 500)' : 'MISSED (>= 500)') },
  { metric: 'proofVerifyPerSec', unit: 'proof/s', digits: 0 },
];

const summary: Record<string, number> = {};
const spreadPct: Record<string, number> = {};
const lines: string[][] = [['figure', 'median', 'min', 'max', 'spread', 'target']];
for (const row of rows) {
  const values = rounds.map((r) => r[row.metric]);
  const med = median(values);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const spread = ((max - min) / med) * 100;
  summary[row.metric] = Number(med.toFixed(row.digits));
  spreadPct[row.metric] = Number(spread.toFixed(1));
  lines.push([`${row.metric} (${row.unit})`, med.toFixed(row.digits), min.toFixed(row.digits), max.toFixed(row.digits), `${spread.toFixed(1)}%`, row.target?.(med) ?? '']);
}
lines.push(['proofBytes1M (bytes)', String(million.bytes), '', '', '', million.bytes <= 640 ? 'ok (<= 640)' : 'MISSED (> 640)']);
lines.push(['merkleTree1MBuildMs (ms, one run)', million.buildMs.toFixed(0), '', '', '', '']);

const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
const cores = availableParallelism();
console.log(`@safechain/core benchmark: ${ROUNDS} rounds${quick ? ' (quick)' : ''}, ${N_TX} transactions of 1 kB per round, one core of ${cores} (${cpus()[0]?.model.trim() ?? 'unknown cpu'}), Node ${process.version}`);
for (const [i, l] of lines.entries()) {
  console.log(l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(`verify overhead over plain node:crypto: ${((1 / summary['verifyVsRaw']! - 1) * 100).toFixed(1)}% (median of per-round ratios)`);
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
console.log(
  JSON.stringify({
    cores,
    rounds: ROUNDS,
    quick,
    node: process.version,
    ...summary,
    proofBytes1M: million.bytes,
    merkleTree1MBuildMs: Number(million.buildMs.toFixed(0)),
    spreadPct,
    blockHash: toHex(blockHash(sealed)).slice(0, 16),
  }),
);
