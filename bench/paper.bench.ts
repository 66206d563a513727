/**
 * bench:paper — the evaluation of the safe-UR-chain paper (section IV) on one machine, through a real node.
 *
 *   pnpm bench:paper              1 s blocks, 44 blocks per scenario, a fresh chain per scenario (about 6 minutes)
 *   pnpm bench:paper --paper      the paper's 15 s blocks: 44 blocks = 660 s per scenario (about 70 minutes)
 *   pnpm bench:paper --quick      3 blocks per scenario on one node, within a minute
 *   options: --rate N (transactions per second offered, 100 as in the paper)  --blocks N  --keep
 *            --only TEXT (run the scenarios whose name contains TEXT, e.g. --only api)
 *
 * Scenarios, each offering 100 transactions per second for 44 block intervals:
 *   file 1 kB      one 1 kB record (a JSON line of random text) per file, dropped in the inbox (write NAME.tmp, rename)
 *   api 1 kB       1 kB of random bytes per POST /v1/records
 *   lines x1 ... x1000   files of 1, 10, 100 or 1000 records of 100 bytes (JSON lines): one file is one
 *                  transaction, as the paper's data handler collected records and passed them on as one transaction
 * The node runs the file ingester in line mode (`ingest.mode` "jsonl", `recordsPerTransaction` 1000), so a file of up
 * to 1000 lines becomes exactly one transaction whatever the variant. Before each scenario the node's data is deleted
 * (a new chain each time, as in the paper), except with --quick where one node serves all scenarios.
 *
 * Every transaction handed over is also appended to a local log (its records' numbers, the SHA-256 of its payload,
 * when it was handed over). The chain is watched through the API: GET /v1/status every 10 ms, then each new block
 * and each of its transactions (payload hash). Latency runs from the file's rename (or the request being sent) to the
 * status poll that first showed the block holding it. At the end the log is read back: a record is lost when its
 * transaction is in no committed block. The last line of output is one JSON object with the figures.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ChainWatch, type SeenBlock } from './lib/chain-watch.js';
import { HttpClient } from './lib/http.js';
import { NodeChild } from './lib/node-process.js';
import { loadNow, machineFacts, machineMarkdown, markdownTable, progress, textTable, writeResults } from './lib/report.js';
import { fmt, latencySummary, round, Samples } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    paper: { type: 'boolean', default: false },
    rate: { type: 'string' },
    blocks: { type: 'string' },
    keep: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const QUICK = flags.quick === true;
const PAPER = flags.paper === true;
const INTERVAL_MS = PAPER ? 15_000 : 1000;
const BLOCKS = Number(flags.blocks ?? (QUICK ? 3 : 44));
const RATE = Number(flags.rate ?? 100);
const POLL_MS = 10;
const CORES = availableParallelism();
const SHARED_NODE = QUICK;
const command = `pnpm bench:paper${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
if (!Number.isSafeInteger(BLOCKS) || BLOCKS < 1 || BLOCKS > 1000) throw new Error('--blocks: expected 1 to 1000');
if (!Number.isFinite(RATE) || RATE <= 0 || RATE > 10_000) throw new Error('--rate: expected a transactions-per-second figure up to 10,000');

interface Scenario {
  readonly name: string;
  readonly via: 'file' | 'api';
  /** Records per transaction. */
  readonly records: number;
  /** Bytes per record. */
  readonly recordBytes: number;
}

const ALL_SCENARIOS: readonly Scenario[] = [
  { name: 'file 1 kB', via: 'file', records: 1, recordBytes: 1024 },
  { name: 'api 1 kB', via: 'api', records: 1, recordBytes: 1024 },
  { name: 'lines x1', via: 'file', records: 1, recordBytes: 100 },
  { name: 'lines x10', via: 'file', records: 10, recordBytes: 100 },
  { name: 'lines x100', via: 'file', records: 100, recordBytes: 100 },
  { name: 'lines x1000', via: 'file', records: 1000, recordBytes: 100 },
];
const SCENARIOS = flags.only === undefined ? ALL_SCENARIOS : ALL_SCENARIOS.filter((s) => s.name.includes(flags.only!));
if (SCENARIOS.length === 0) throw new Error(`--only: no scenario name contains "${flags.only}"`);

const NODE_CONFIG = {
  producer: {
    blockIntervalMs: INTERVAL_MS,
    // Blocks are cut by time, as in the paper: room for a whole interval of the largest variant.
    maxBlockBytes: 256 * 1024 * 1024,
    maxBlockTransactions: 100_000,
  },
  mempool: { maxCount: 1_000_000, maxBytes: 2 * 1024 * 1024 * 1024 },
  ingest: { mode: 'jsonl', recordsPerTransaction: 1000, extensions: ['jsonl'] },
  log: { level: 'warn' },
};

/**
 * Random text for record contents: slices of a 4 MiB pool of random base64 at random offsets, so that making a
 * hundred thousand records a second costs the benchmark process little (it shares the cores with the node).
 */
const TEXT_POOL = randomBytes(3 * 1024 * 1024).toString('base64');
function randomText(n: number): string {
  const at = Math.floor(Math.random() * (TEXT_POOL.length - n));
  return TEXT_POOL.slice(at, at + n);
}

/** One JSON line of exactly `bytes` bytes, numbered `record`. */
function recordLine(record: number, bytes: number): string {
  const head = `{"r":${record},"d":"`;
  const tail = '"}';
  const fill = bytes - head.length - tail.length;
  if (fill < 1) throw new Error(`a record of ${bytes} bytes cannot hold record number ${record}`);
  return head + randomText(fill) + tail;
}

interface LogEntry {
  readonly tx: number;
  readonly firstRecord: number;
  readonly records: number;
  readonly sha256: string;
  readonly sentAt: number;
}

interface ScenarioResult {
  readonly name: string;
  readonly via: string;
  readonly recordsPerTx: number;
  readonly recordBytes: number;
  readonly offeredTxPerSec: number;
  readonly txSent: number;
  readonly txCommitted: number;
  readonly recordsSent: number;
  readonly recordsLost: number;
  readonly txPerSec: number;
  readonly recordsPerSec: number;
  readonly latency: { p50: number; p99: number; max: number; count: number };
  readonly blocksWaited: { p50: number; max: number };
  readonly blocks: number;
  readonly txPerBlock: { mean: number; min: number; max: number };
  readonly unmatched: number;
  readonly sendErrors: number;
  readonly loadSeconds: number;
  /** Time after the last hand-over until the last transaction reached a block (or loss was declared). */
  readonly drainSeconds: number;
  readonly nodeCpuCores: number;
  readonly rssPeakMb: number;
}

const machine = machineFacts(command);
progress(`bench:paper on ${machine.cores} cores (${machine.cpuModel}), load average ${machine.loadAverage.join(' ')}`);
progress(`${SCENARIOS.length} scenarios, ${RATE} tx/s for ${BLOCKS} blocks of ${INTERVAL_MS} ms each${SHARED_NODE ? ', one node for all' : ', a new chain each'}`);

const workDir = mkdtempSync(join(tmpdir(), 'safechain-paper-'));
let sharedNode: NodeChild | undefined;
const results: ScenarioResult[] = [];
let failure: unknown;

async function runScenario(s: Scenario, index: number): Promise<ScenarioResult> {
  const node = sharedNode ?? (await NodeChild.start({ config: NODE_CONFIG, keep: flags.keep === true }));
  try {
    return await runOn(node, s, index);
  } finally {
    if (sharedNode === undefined) await node.stop();
  }
}

async function runOn(node: NodeChild, s: Scenario, index: number): Promise<ScenarioResult> {
  const inbox = join(node.dataDir, 'inbox');
  const api = new HttpClient(node.apiUrl, { connections: 8, timeoutMs: 60_000 });
  const details = new HttpClient(node.apiUrl, { connections: 8, timeoutMs: 60_000 });
  const logPath = join(workDir, `log-${index}.ndjson`);
  const log: WriteStream = createWriteStream(logPath);

  // payload hash -> when handed over, and the tip height then (to count the blocks it waited)
  const sent = new Map<string, { readonly sentAt: number; readonly tipAt: number; readonly records: number }>();
  const found = new Set<string>();
  const latencies = new Samples();
  const waited = new Samples();
  const txPerBlock: number[] = [];
  /** Blocks that carried this scenario's transactions: when seen, and how many of ours each held. */
  const carrying: { readonly seenAt: number; count: number }[] = [];
  let unmatched = 0;
  let sendErrors = 0;
  let recordNo = index * 1_000_000_000;

  // New blocks are resolved to payload hashes in the background, a few requests at a time.
  const queue: SeenBlock[] = [];
  let resolving: Promise<void> = Promise.resolve();
  const resolveBlock = async (seen: SeenBlock): Promise<void> => {
    const ids = seen.block.transactionIds;
    txPerBlock.push(ids.length);
    const carried = { seenAt: seen.seenAt, count: 0 };
    for (let i = 0; i < ids.length; i += 8) {
      const views = await Promise.all(
        ids.slice(i, i + 8).map((id) => details.getJson<{ payloadHash: string }>(`/v1/transactions/${id}?payload=false`).catch(() => undefined)),
      );
      for (const v of views) {
        if (v === undefined) continue;
        const entry = sent.get(v.payloadHash);
        if (entry === undefined) {
          if (!found.has(v.payloadHash)) unmatched++;
          continue;
        }
        sent.delete(v.payloadHash);
        found.add(v.payloadHash);
        carried.count++;
        latencies.push(seen.seenAt - entry.sentAt);
        waited.push(seen.block.height - entry.tipAt);
      }
    }
    if (carried.count > 0) carrying.push(carried);
  };
  const startHeight = (await api.getJson<{ height: number }>('/v1/status'))!.height;
  const watch = new ChainWatch(
    {
      apiUrl: node.apiUrl,
      intervalMs: POLL_MS,
      maxDurationMs: (BLOCKS + 20) * INTERVAL_MS + 120_000,
      onBlock: (seen) => {
        queue.push(seen);
        resolving = resolving.then(async () => {
          const next = queue.shift();
          if (next !== undefined) await resolveBlock(next);
        });
      },
    },
    startHeight,
  );

  // Offered load: transaction k is due at start + k / rate; at most 8 hand-overs in flight.
  const total = Math.floor((BLOCKS * INTERVAL_MS * RATE) / 1000);
  const cpu0 = node.cpuSeconds();
  const start = performance.now();
  let next = 0;
  const handOver = async (): Promise<void> => {
    for (;;) {
      const k = next++;
      if (k >= total) return;
      const due = start + (k * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const first = recordNo;
      recordNo += s.records;
      let payload: Buffer;
      if (s.via === 'api') {
        payload = randomBytes(s.recordBytes);
        payload.writeUInt32BE(k, 0);
      } else {
        const lines: string[] = [];
        for (let r = 0; r < s.records; r++) lines.push(recordLine(first + r, s.recordBytes));
        // The node's payload is the records joined by '\n'; the file ends with one more '\n'.
        payload = Buffer.from(lines.join('\n'));
      }
      const sha256 = createHash('sha256').update(payload).digest('hex');
      const tipAt = watch.shownHeight;
      let sentAt: number;
      try {
        if (s.via === 'api') {
          sentAt = performance.now();
          sent.set(sha256, { sentAt, tipAt, records: s.records });
          const res = await api.send('POST', '/v1/records', payload, { 'content-type': 'application/octet-stream' });
          if (res.status !== 202) throw new Error(`HTTP ${res.status}`);
        } else {
          const name = `r${index}-${String(k).padStart(7, '0')}.jsonl`;
          const tmp = join(inbox, `${name}.tmp`);
          await writeFile(tmp, Buffer.concat([payload, Buffer.from('\n')]));
          await rename(tmp, join(inbox, name));
          sentAt = performance.now();
          sent.set(sha256, { sentAt, tipAt, records: s.records });
        }
      } catch {
        sent.delete(sha256);
        sendErrors++;
        continue;
      }
      log.write(`${JSON.stringify({ tx: k, firstRecord: first, records: s.records, sha256, sentAt: round(sentAt - start, 2) } satisfies LogEntry)}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, handOver));
  const loadSeconds = (performance.now() - start) / 1000;
  const cpu = (node.cpuSeconds() - cpu0) / loadSeconds;
  // Drain: wait while transactions keep reaching blocks. A record counts as lost only when nothing more arrives for
  // three block intervals plus 15 s (a backlog still being worked off is not loss; its time shows as drain time).
  const quietMs = 3 * INTERVAL_MS + 15_000;
  const drainStart = performance.now();
  const hardDeadline = drainStart + 30 * 60_000;
  let lastProgress = performance.now();
  let lastFound = found.size;
  while (sent.size > 0 && performance.now() < hardDeadline && performance.now() - lastProgress < quietMs) {
    await new Promise((r) => setTimeout(r, 50));
    await resolving;
    if (found.size !== lastFound) {
      lastFound = found.size;
      lastProgress = performance.now();
    }
  }
  const drainSeconds = (performance.now() - drainStart) / 1000;
  await watch.stop();
  await resolving;
  await new Promise<void>((r) => log.end(r));
  const memory = node.memory();

  // Count the log against the chain.
  let recordsSent = 0;
  let recordsLost = 0;
  let txSent = 0;
  let txCommitted = 0;
  const lines = createInterface({ input: createReadStream(logPath), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const e = JSON.parse(line) as LogEntry;
    txSent++;
    recordsSent += e.records;
    if (found.has(e.sha256)) txCommitted++;
    else recordsLost += e.records;
  }
  api.close();
  details.close();
  rmSync(logPath, { force: true });

  const lat = latencySummary(latencies.values());
  const w = latencySummary(waited.values());
  // The steady commit rate: the transactions of the blocks between the first and the last that carried any (both
  // hold only part of an interval's worth), over the time those blocks span. Start-up latency does not count against
  // it, and a backlog worked off after the load shows as the slower rate it really is.
  const mid = carrying.slice(1, -1);
  const txPerSec =
    mid.length >= 1
      ? mid.reduce((a, c) => a + c.count, 0) / ((mid[mid.length - 1]!.seenAt - carrying[0]!.seenAt) / 1000)
      : txCommitted / loadSeconds;
  return {
    name: s.name,
    via: s.via,
    recordsPerTx: s.records,
    recordBytes: s.recordBytes,
    offeredTxPerSec: RATE,
    txSent,
    txCommitted,
    recordsSent,
    recordsLost,
    txPerSec,
    recordsPerSec: txPerSec * s.records,
    latency: lat,
    blocksWaited: { p50: w.p50, max: w.max },
    blocks: txPerBlock.length,
    txPerBlock: {
      mean: txPerBlock.length === 0 ? Number.NaN : txPerBlock.reduce((a, b) => a + b, 0) / txPerBlock.length,
      min: txPerBlock.length === 0 ? Number.NaN : Math.min(...txPerBlock),
      max: txPerBlock.length === 0 ? Number.NaN : Math.max(...txPerBlock),
    },
    unmatched,
    sendErrors,
    loadSeconds,
    drainSeconds,
    nodeCpuCores: cpu,
    rssPeakMb: memory.peakMb,
  };
}

try {
  if (SHARED_NODE) sharedNode = await NodeChild.start({ config: NODE_CONFIG, keep: flags.keep === true });
  for (let i = 0; i < SCENARIOS.length; i++) {
    const s = SCENARIOS[i]!;
    progress(`scenario ${s.name}: ${s.records} record(s) of ${s.recordBytes} bytes per transaction, via ${s.via}`);
    const r = await runScenario(s, i);
    progress(`  ${fmt(r.txPerSec, 1)} tx/s, lost ${r.recordsLost}, p50 ${fmt(r.latency.p50)} ms, p99 ${fmt(r.latency.p99)} ms, ${r.blocks} blocks`);
    results.push(r);
  }
} catch (error) {
  failure = error;
} finally {
  if (sharedNode !== undefined) await sharedNode.stop();
  rmSync(workDir, { recursive: true, force: true });
}
if (failure !== undefined) {
  process.stderr.write(`bench:paper failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`);
  process.exit(1);
}

// ---- report -------------------------------------------------------------------------------------------------------
const head = ['scenario', 'tx/s', 'records/s', 'lost', 'p50 ms', 'p99 ms', 'max ms', 'blocks waited p50/max', 'blocks', 'tx/block mean (min-max)', 'drain s', 'node CPU', 'peak RSS'];
const rows = results.map((r) => [
  r.name,
  fmt(r.txPerSec, 1),
  fmt(r.recordsPerSec),
  `${fmt(r.recordsLost)} of ${fmt(r.recordsSent)}`,
  fmt(r.latency.p50),
  fmt(r.latency.p99),
  fmt(r.latency.max),
  `${fmt(r.blocksWaited.p50)} / ${fmt(r.blocksWaited.max)}`,
  fmt(r.blocks),
  `${fmt(r.txPerBlock.mean)} (${fmt(r.txPerBlock.min)}-${fmt(r.txPerBlock.max)})`,
  fmt(r.drainSeconds, 1),
  `${fmt(r.nodeCpuCores * 100)} %`,
  `${fmt(r.rssPeakMb)} MiB`,
]);
const meanTxPerSec = results.reduce((a, r) => a + r.txPerSec, 0) / results.length;
const minTxPerSec = Math.min(...results.map((r) => r.txPerSec));
const lost = results.reduce((a, r) => a + r.recordsLost, 0);
const blocks = results.reduce((a, r) => a + r.blocks, 0);
const unmatched = results.reduce((a, r) => a + r.unmatched, 0);
const worstP99 = Math.max(...results.map((r) => r.latency.p99));
const medianP50 = latencySummary(results.map((r) => r.latency.p50)).p50;
const fileLike = results.find((r) => r.name === 'file 1 kB');

const paperRows = [
  ['offered load', '100 tx/s of 1 kB (its measured limit)', `${RATE} tx/s per scenario`],
  ['block time', '15 s', `${INTERVAL_MS / 1000} s${PAPER ? '' : ' (--paper for 15 s)'}`],
  ['duration', '660 s = 44 blocks', `${BLOCKS} block intervals per scenario (${fmt((BLOCKS * INTERVAL_MS) / 1000)} s)`],
  ['payload variants', '100 B x 1, 10, 100, 1000 per transaction', 'the same, as JSON lines of 100 bytes through the file ingester'],
  ['records lost', 'none ("no packet was lost")', `${fmt(lost)}`],
  ['transaction -> block', 'at least one block (15 s); large payloads usually in the next block, many small ones within two', `p50 ${fmt(medianP50)} ms (median of scenarios), worst p99 ${fmt(worstP99)} ms; blocks waited in the table`],
  ['throughput reached', '100 tx/s', `${fmt(meanTxPerSec, 1)} tx/s committed, mean of scenarios (lowest ${fmt(minTxPerSec, 1)}; offered ${RATE})`],
  ['machine', 'full node: 8 cores, 32 GB RAM, SSD; thin nodes 4 cores', `${CORES} cores ${machine.cpuModel}, ${machine.memoryGiB} GiB, load average ${machine.loadAverage[0]} at start (shared)`],
];

const out: string[] = [];
out.push(`bench:paper  the paper's evaluation on one node: ${RATE} tx/s, ${INTERVAL_MS / 1000} s blocks, ${BLOCKS} blocks per scenario${QUICK ? ' (quick: one node for all scenarios)' : ''}`);
out.push(`machine: ${CORES} cores ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverage.join(' ')} at start, ${loadNow()} at end`);
out.push('', textTable(head, rows));
out.push('', textTable(['', 'paper (section IV)', 'this run'], paperRows));
out.push(
  '',
  `latency: from the file's rename (file scenarios; the ingester waits until a file is 0.5 s old) or the request being sent (api) to the first status poll showing the block (polled every ${POLL_MS} ms: figures are late by at most that plus one status round trip)`,
);
if (unmatched > 0) out.push(`warning: ${unmatched} committed transactions matched no logged payload hash`);
process.stdout.write(`${out.join('\n')}\n`);

const json = {
  bench: 'paper',
  quick: QUICK,
  paper: PAPER,
  cores: CORES,
  blockIntervalMs: INTERVAL_MS,
  offeredTxPerSec: RATE,
  txPerSec: round(meanTxPerSec, 1),
  minTxPerSec: round(minTxPerSec, 1),
  lost,
  latencyP50Ms: round(medianP50),
  latencyP99Ms: round(worstP99),
  blocks,
  unmatched,
  file1kB: fileLike === undefined ? null : { txPerSec: round(fileLike.txPerSec, 1), latencyP50Ms: round(fileLike.latency.p50), latencyP99Ms: round(fileLike.latency.p99) },
  scenarios: results.map((r) => ({
    name: r.name,
    via: r.via,
    recordsPerTx: r.recordsPerTx,
    recordBytes: r.recordBytes,
    txPerSec: round(r.txPerSec, 1),
    recordsPerSec: round(r.recordsPerSec),
    txSent: r.txSent,
    recordsLost: r.recordsLost,
    latencyP50Ms: round(r.latency.p50),
    latencyP99Ms: round(r.latency.p99),
    latencyMaxMs: round(r.latency.max),
    blocksWaitedP50: r.blocksWaited.p50,
    blocksWaitedMax: r.blocksWaited.max,
    blocks: r.blocks,
    txPerBlockMean: round(r.txPerBlock.mean, 1),
    drainSeconds: round(r.drainSeconds, 1),
    nodeCpuCores: round(r.nodeCpuCores, 2),
    rssPeakMb: round(r.rssPeakMb),
    sendErrors: r.sendErrors,
  })),
  loadAverage: [machine.loadAverage[0], loadNow()],
  date: machine.date,
};
const md = [
  `# bench:paper ${machine.date}`,
  '',
  machineMarkdown(machine),
  '',
  '## Scenarios',
  '',
  markdownTable(head, rows),
  '',
  '## Beside the paper',
  '',
  markdownTable(['', 'paper (section IV)', 'this run'], paperRows),
  '',
  '```json',
  JSON.stringify(json),
  '```',
].join('\n');
const file = writeResults(PAPER ? 'paper-15s' : QUICK ? 'paper-quick' : 'paper', md, json);
progress(`results: ${file}`);
process.stdout.write(`${JSON.stringify(json)}\n`);
