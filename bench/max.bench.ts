/**
 * bench:max — the sustained ceiling of one full node on this machine.
 *
 *   pnpm bench:max                 ramp, then hold the highest passing load for 30 s
 *   pnpm bench:max --quick         shorter ramp, 10 s hold; finishes within about a minute
 *   options: --connections N (8)  --batch N (500 records a request)  --interval MS (block interval, 1000)
 *            --store sqlite|fs (the node's store, sqlite)  --no-profile  --keep (keep the node's data folder)
 *            --keep-profile (keep the node's V8 CPU profiles, under .tmp/)
 *
 * The node runs as a child process, started from source as an operator starts it. The benchmark offers 1 kB records
 * as NDJSON batches over several keep-alive connections (POST /v1/records/batch) and ramps the offered load up until
 * the node stops keeping pace: fewer records accepted than offered, errors (429 mempool full), a mempool that backs
 * up, or p99 latency from request to committed block above 2 block intervals + 250 ms. The highest load that passed
 * is then held; its figure counts records that were accepted with 202 (durable), signed, and seen in a committed
 * block (durable on disk). Loss is every accepted id never seen in a committed block.
 *
 * In the same run: plain better-sqlite3 inserts of the same records with the node store's durability (the central
 * database baseline) and raw ed25519 sign+verify on all cores (node:crypto). Where the node's time goes comes from a
 * V8 CPU profile of its main thread over the hold (`--cpu-prof`, 1 ms samples) and per-thread CPU from /proc.
 * The last line of output is one JSON object with the figures.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rawEd25519Rate, sqliteBaseline } from './lib/baselines.js';
import { ChainWatch, type SeenBlock } from './lib/chain-watch.js';
import { BatchLoad, type BatchOutcome } from './lib/load.js';
import { NodeChild } from './lib/node-process.js';
import { CATEGORIES, readProfiles, summariseProfile, type Category } from './lib/profile.js';
import { loadNow, machineFacts, machineMarkdown, markdownTable, progress, REPO_ROOT, textTable, writeResults } from './lib/report.js';
import { fmt, latencySummary, pct, round, Samples } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    connections: { type: 'string', default: '8' },
    batch: { type: 'string', default: '500' },
    interval: { type: 'string', default: '1000' },
    store: { type: 'string', default: 'sqlite' },
    'no-profile': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'keep-profile': { type: 'boolean', default: false },
  },
});
const QUICK = flags.quick === true;
const CONNECTIONS = Number(flags.connections);
const BATCH = Number(flags.batch);
const INTERVAL_MS = Number(flags.interval);
const PROFILE = flags['no-profile'] !== true;
const STORE = flags.store ?? 'sqlite';
if (!['sqlite', 'fs'].includes(STORE)) throw new Error('--store: expected sqlite or fs');
const RECORD_BYTES = 1024;
const STEP_MS = QUICK ? 2500 : 5000;
const HOLD_MS = QUICK ? 10_000 : 30_000;
const MAX_RAMP_STEPS = QUICK ? 6 : 10;
const BISECT_STEPS = QUICK ? 1 : 2;
const HOLD_RETRIES = QUICK ? 1 : 2;
/** A step fails when p99 from request to committed block exceeds this: records waited more than one extra block. */
const LATENCY_BOUND_MS = 2 * INTERVAL_MS + 250;
const TARGET_P99_MS = INTERVAL_MS + 250;
const CORES = availableParallelism();
const command = `pnpm bench:max${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;

for (const [name, v] of [['connections', CONNECTIONS], ['batch', BATCH], ['interval', INTERVAL_MS]] as const) {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
}

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);

interface Phase {
  readonly name: string;
  readonly rate: number;
  readonly latencies: Samples;
  accepted: number;
  committed: number;
  outstanding: number;
  errors: number;
  statuses: Map<number, number>;
  loadMs: number;
  late: number;
  mempoolAtEnd: number;
  /** Transactions of each block seen while this phase was current. */
  readonly blocks: Samples;
  /** Request sent -> 202 (records durable in the mempool), one sample per request. */
  readonly accept: Samples;
  /** Block cut (its header timestamp) -> seen committed by the watcher, one sample per block. */
  readonly cutToSeen: Samples;
}

const machine = machineFacts(command);
progress(`bench:max on ${machine.cores} cores (${machine.cpuModel}), load average ${machine.loadAverage.join(' ')}`);

// ---- baselines, before the node starts so they do not compete with it ----------------------------------------
progress('baseline: plain SQLite inserts (same pragmas and durability as the node store)');
const sqlite = sqliteBaseline({ recordBytes: RECORD_BYTES, batch: BATCH, durationMs: QUICK ? 2000 : 5000 });
progress(`  ${fmt(sqlite.recordsPerSec)} records/s`);
progress('baseline: raw ed25519 sign+verify, and sign only, on all cores');
const signVerify = await rawEd25519Rate({ threads: CORES, durationMs: QUICK ? 1500 : 3000, verify: true });
const signOnly = await rawEd25519Rate({ threads: CORES, durationMs: QUICK ? 1000 : 3000, verify: false });
progress(`  sign+verify ${fmt(signVerify)}/s, sign ${fmt(signOnly)}/s`);

// ---- the node -------------------------------------------------------------------------------------------------
const profileDir = join(REPO_ROOT, '.tmp', `bench-max-profile-${process.pid}`);
if (PROFILE) mkdirSync(profileDir, { recursive: true });
const node = await NodeChild.start({
  config: { store: { kind: STORE }, producer: { blockIntervalMs: INTERVAL_MS }, ingest: { enabled: false }, log: { level: 'warn' } },
  ...(PROFILE ? { cpuProfileDir: profileDir } : {}),
  keep: flags.keep === true,
});
progress(`node ${node.pid} listening on ${node.apiUrl}`);

const phases: Phase[] = [];
let current: Phase | undefined;
const pending = new Map<string, { readonly sentAt: number; readonly phase: Phase }>();
const seenEarly = new Map<string, number>();
let lastMempool = 0;

function onBlock(seen: SeenBlock): void {
  current?.blocks.push(seen.block.txCount);
  current?.cutToSeen.push(performance.timeOrigin + seen.seenAt - seen.block.timestamp);
  for (const id of seen.block.transactionIds) {
    const p = pending.get(id);
    if (p === undefined) {
      seenEarly.set(id, seen.seenAt);
      continue;
    }
    pending.delete(id);
    p.phase.latencies.push(seen.seenAt - p.sentAt);
    p.phase.committed++;
    p.phase.outstanding--;
  }
}

function onOutcome(phase: Phase, o: BatchOutcome): void {
  phase.statuses.set(o.status, (phase.statuses.get(o.status) ?? 0) + 1);
  if (o.status !== 202) {
    phase.errors++;
    return;
  }
  phase.accepted += o.ids.length;
  phase.accept.push(o.answeredAt - o.sentAt);
  for (const id of o.ids) {
    const early = seenEarly.get(id);
    if (early !== undefined) {
      seenEarly.delete(id);
      phase.latencies.push(early - o.sentAt);
      phase.committed++;
    } else {
      pending.set(id, { sentAt: o.sentAt, phase });
      phase.outstanding++;
    }
  }
}

const watch = new ChainWatch(
  {
    apiUrl: node.apiUrl,
    intervalMs: 10,
    maxDurationMs: 30 * 60_000,
    onBlock,
    onStatus: (s) => {
      lastMempool = s.mempool.count;
    },
  },
  0,
);
const load = new BatchLoad({ apiUrl: node.apiUrl, connections: CONNECTIONS, batch: BATCH, payloadBytes: RECORD_BYTES });

async function runPhase(name: string, rate: number, durationMs: number): Promise<Phase> {
  const phase: Phase = {
    name,
    rate,
    latencies: new Samples(),
    accepted: 0,
    committed: 0,
    outstanding: 0,
    errors: 0,
    statuses: new Map(),
    loadMs: 0,
    late: 0,
    mempoolAtEnd: 0,
    blocks: new Samples(),
    accept: new Samples(),
    cutToSeen: new Samples(),
  };
  phases.push(phase);
  current = phase;
  const started = performance.now();
  const result = await load.run(rate, durationMs, (o) => onOutcome(phase, o));
  phase.loadMs = performance.now() - started;
  phase.late = result.late;
  phase.mempoolAtEnd = lastMempool;
  // Drain: every accepted record of the phase should reach a block within about two intervals.
  await watch.until(() => phase.outstanding === 0, 2 * INTERVAL_MS + 3000);
  return phase;
}

/** Records/s a phase's requests were accepted at. */
function acceptedRate(p: Phase): number {
  return p.accepted / (p.loadMs / 1000);
}

function verdict(p: Phase): { pass: boolean; why: string } {
  const accepted = acceptedRate(p);
  const lat = latencySummary(p.latencies.values());
  const reasons: string[] = [];
  if (accepted < 0.95 * p.rate) reasons.push(`accepted ${fmt(accepted)}/s < 95 % of offered`);
  if (p.errors > 0) reasons.push(`${p.errors} failed requests (${[...p.statuses].filter(([s]) => s !== 202).map(([s, n]) => `${s}x${n}`).join(' ')})`);
  if (p.outstanding > 0) reasons.push(`${p.outstanding} records not in a block after the drain`);
  if (lat.p99 > LATENCY_BOUND_MS) reasons.push(`p99 ${fmt(lat.p99)} ms > ${LATENCY_BOUND_MS} ms`);
  const backlogBound = 2 * p.rate * (INTERVAL_MS / 1000) + CONNECTIONS * BATCH;
  if (p.mempoolAtEnd > backlogBound) reasons.push(`mempool backed up to ${fmt(p.mempoolAtEnd)}`);
  return { pass: reasons.length === 0, why: reasons.join('; ') || 'kept pace' };
}

const rampRows: string[][] = [];
function recordStep(p: Phase): boolean {
  const v = verdict(p);
  const lat = latencySummary(p.latencies.values());
  rampRows.push([p.name, fmt(p.rate), fmt(acceptedRate(p)), fmt(lat.p50), fmt(lat.p99), fmt(p.mempoolAtEnd), v.pass ? 'pass' : 'FAIL', v.why]);
  progress(`  ${p.name} ${fmt(p.rate)}/s: ${v.pass ? 'pass' : 'FAIL'} (${v.why}), p99 ${fmt(lat.p99)} ms`);
  return v.pass;
}

let hold: Phase | undefined;
let held = false;
let holdCpu = Number.NaN;
let holdThreads: { name: string; tid: number; cpu: number }[] = [];
let holdWindowUs: [number, number] = [0, 0];
let mainThreadCpu = Number.NaN;
let failure: unknown;
try {
  // ---- ramp: geometric steps from a tenth of the sign-only rate, then probes guided by what the node took ---------
  let level = Math.max(1000, Math.round((signOnly * 0.1) / 500) * 500);
  let best = 0;
  let worst = Number.POSITIVE_INFINITY;
  /** Records/s the node accepted in the step that failed: a measured estimate of its capacity. */
  let capacity = Number.NaN;
  progress(`ramp from ${fmt(level)} records/s, ${STEP_MS / 1000} s steps`);
  await runPhase('warm-up', Math.max(500, level / 4), QUICK ? 1000 : 2000);
  for (let i = 0; i < MAX_RAMP_STEPS; i++) {
    const p = await runPhase(`step ${i + 1}`, level, STEP_MS);
    if (recordStep(p)) {
      best = level;
      level = Math.round((level * 1.35) / 500) * 500;
    } else {
      worst = level;
      capacity = acceptedRate(p);
      break;
    }
  }
  for (let i = 0; i < BISECT_STEPS && Number.isFinite(worst) && worst - best > 1000; i++) {
    // Just under what the failing step was seen to take, when that lies between the bounds; else halfway.
    const guided = Math.round((capacity * 0.95) / 500) * 500;
    const halfway = best === 0 ? Math.round(worst / 2 / 500) * 500 : Math.round((best + worst) / 2 / 500) * 500;
    const mid = guided > best && guided < worst ? guided : halfway;
    const p = await runPhase(`bisect ${i + 1}`, mid, STEP_MS);
    if (recordStep(p)) best = mid;
    else {
      worst = mid;
      capacity = acceptedRate(p);
    }
  }
  if (best === 0) best = Math.max(500, Math.round(worst / 4 / 500) * 500);

  // ---- hold ---------------------------------------------------------------------------------------------------
  for (let attempt = 0; attempt <= HOLD_RETRIES; attempt++) {
    progress(`hold ${fmt(best)} records/s for ${HOLD_MS / 1000} s`);
    const cpu0 = node.cpuSeconds();
    const threads0 = node.threadCpu();
    const t0 = monoUs();
    const p = await runPhase(attempt === 0 ? 'hold' : `hold ${attempt + 1}`, best, HOLD_MS);
    const t1 = monoUs();
    const seconds = p.loadMs / 1000;
    holdCpu = (node.cpuSeconds() - cpu0) / ((t1 - t0) / 1e6);
    holdThreads = [...node.threadCpu()]
      .map(([tid, t]) => ({ tid, name: t.name, cpu: (t.seconds - (threads0.get(tid)?.seconds ?? 0)) / ((t1 - t0) / 1e6) }))
      .filter((t) => t.cpu > 0.005)
      .sort((a, b) => b.cpu - a.cpu);
    mainThreadCpu = holdThreads.find((t) => t.tid === node.pid)?.cpu ?? Number.NaN;
    holdWindowUs = [t0, t0 + seconds * 1e6];
    hold = p;
    held = recordStep(p);
    if (held) break;
    // Next, just under what this hold was seen to take (as the bisection does), or 15% lower when that is no lower.
    const guided = Math.round((acceptedRate(p) * 0.95) / 500) * 500;
    if (attempt < HOLD_RETRIES) best = guided > 0 && guided < best ? guided : Math.round((best * 0.85) / 500) * 500;
  }
  // Whatever any phase left pending gets a last chance to reach a block before it counts as lost.
  await watch.until(() => pending.size === 0, 3 * INTERVAL_MS + 5000);
} catch (error) {
  failure = error;
} finally {
  load.close();
  await watch.stop();
}
const memory = node.memory();
const lost = pending.size;
await node.stop();
if (failure !== undefined) {
  process.stderr.write(`bench:max failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n${node.logTail()}\n`);
  process.exit(1);
}

// ---- where the time goes -----------------------------------------------------------------------------------------
let breakdownRows: string[][] = [];
let topRows: string[][] = [];
let nextStep = 'run without --no-profile to see where the time goes';
const h = hold!;
const holdRecords = h.committed;
const holdSeconds = h.loadMs / 1000;
const perRecordUs = (cores: number): number => (cores * 1e6) / (holdRecords / holdSeconds);
if (PROFILE) {
  const main = readProfiles(profileDir).find((p) => p.thread === 0);
  if (main !== undefined) {
    const s = summariseProfile(main.profile, holdWindowUs[0], holdWindowUs[1], 12);
    const busy = s.busyMs;
    const cats = [...s.byCategory].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1]);
    // Profile samples are wall time of the main thread; their shares split its measured CPU time.
    breakdownRows = cats.map(([c, ms]) => [c, pct(ms / busy, 1), fmt((ms / busy) * perRecordUs(mainThreadCpu), 1)]);
    breakdownRows.push(['main thread idle (waiting)', pct((s.byCategory.get('idle') ?? 0) / s.windowMs, 1), '-']);
    topRows = s.topFunctions.map((f) => [f.name, f.where, f.category, pct(f.ms / busy, 1)]);
    const top = cats.find(([c]) => c !== 'GC' && c !== 'V8/native other' && (CATEGORIES as readonly Category[]).includes(c));
    if (top !== undefined) nextStep = `largest share of the main thread: ${top[0]} (${pct(top[1] / busy, 0)})`;
  }
  if (flags['keep-profile'] === true) progress(`CPU profiles kept in ${profileDir}`);
  else rmSync(profileDir, { recursive: true, force: true });
}

// ---- report -------------------------------------------------------------------------------------------------------
const lat = latencySummary(h.latencies.values());
const acceptLat = latencySummary(h.accept.values());
const cutLat = latencySummary(h.cutToSeen.values());
const txPerSec = holdRecords / holdSeconds;
const blocksInHold = h.blocks.values();
const meanTxPerBlock = blocksInHold.length === 0 ? Number.NaN : blocksInHold.reduce((a, b) => a + b, 0) / blocksInHold.length;
const otherThreads = holdThreads.filter((t) => t.tid !== node.pid);
const workerCpu = otherThreads.slice(0, CORES).reduce((a, t) => a + t.cpu, 0);
const restCpu = otherThreads.slice(CORES).reduce((a, t) => a + t.cpu, 0);
const targets = {
  recordsPerSec20k: txPerSec >= 20_000,
  halfOfSqlite: txPerSec >= 0.5 * sqlite.recordsPerSec,
  p99WithinIntervalPlus250: lat.p99 <= TARGET_P99_MS,
  nothingLost: lost === 0,
  rssUnder1GiB: memory.peakMb < 1024,
};

const figures: string[][] = [
  ['sustained records/s end to end (1 kB, accepted + signed + in a committed block)', fmt(txPerSec)],
  ['offered load held', `${fmt(h.rate)}/s for ${fmt(holdSeconds, 1)} s${held ? '' : ' (the hold did not pass: see the ramp table)'}`],
  ['latency request -> committed block p50 / p99 / max', `${fmt(lat.p50)} / ${fmt(lat.p99)} / ${fmt(lat.max)} ms`],
  ['  request -> 202 (durable in the mempool) p50 / p99', `${fmt(acceptLat.p50)} / ${fmt(acceptLat.p99)} ms`],
  ['  block cut -> seen committed (production, store, poll) p50 / p99', `${fmt(cutLat.p50)} / ${fmt(cutLat.p99)} ms`],
  ['records lost (accepted, never in a committed block)', fmt(lost)],
  ['node CPU during the hold (all threads)', `${pct(holdCpu)} of one core (${pct(holdCpu / CORES)} of ${CORES})`],
  ['  main thread / busiest other threads (processing workers) / rest', `${pct(mainThreadCpu)} / ${pct(workerCpu)} / ${pct(restCpu)}`],
  ['node CPU per record', `${fmt(perRecordUs(holdCpu), 1)} us (main thread ${fmt(perRecordUs(mainThreadCpu), 1)} us)`],
  ['node peak RSS', `${fmt(memory.peakMb)} MiB`],
  ['transactions per block (mean during the hold)', `${fmt(meanTxPerBlock)} (${blocksInHold.length} blocks)`],
  ['baseline: plain SQLite inserts, same durability', `${fmt(sqlite.recordsPerSec)} records/s (batches of ${BATCH})`],
  ['baseline: raw ed25519 sign+verify, all cores', `${fmt(signVerify)}/s (sign only ${fmt(signOnly)}/s)`],
  ['ratio node / SQLite baseline', `${fmt(txPerSec / sqlite.recordsPerSec, 2)}x`],
  ['ratio node / raw sign+verify', `${fmt(txPerSec / signVerify, 2)}x (node / sign only ${fmt(txPerSec / signOnly, 2)}x)`],
  ['load average (start / end)', `${machine.loadAverage[0]} / ${loadNow()}`],
];
const targetRows: string[][] = [
  ['>= 20,000 records/s of 1 kB sustained', fmt(txPerSec), targets.recordsPerSec20k ? 'met' : 'missed'],
  ['>= 50 % of the plain SQLite baseline', pct(txPerSec / sqlite.recordsPerSec), targets.halfOfSqlite ? 'met' : 'missed'],
  [`p99 ingest -> committed block <= ${TARGET_P99_MS} ms`, `${fmt(lat.p99)} ms`, targets.p99WithinIntervalPlus250 ? 'met' : 'missed'],
  ['nothing lost', fmt(lost), targets.nothingLost ? 'met' : 'missed'],
  ['peak memory < 1 GiB', `${fmt(memory.peakMb)} MiB`, targets.rssUnder1GiB ? 'met' : 'missed'],
];
const rampHead = ['phase', 'offered/s', 'accepted/s', 'p50 ms', 'p99 ms', 'mempool at end', 'verdict', 'why'];
const breakdownHead = ['main thread time (hold)', 'share', 'us CPU per record'];
const topHead = ['function (self time)', 'where', 'category', 'share'];

const out: string[] = [];
out.push(`bench:max  one full node (${STORE} store), 1 kB records, NDJSON batches of ${BATCH} over ${CONNECTIONS} connections, ${INTERVAL_MS} ms blocks${QUICK ? ' (quick)' : ''}`);
out.push(`machine: ${CORES} cores ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load average ${machine.loadAverage.join(' ')}`);
out.push('', textTable(['figure', 'value'], figures));
out.push('', textTable(['target', 'measured', ''], targetRows));
out.push('', textTable(rampHead, rampRows));
if (breakdownRows.length > 0) {
  out.push('', textTable(breakdownHead, breakdownRows));
  out.push('', textTable(topHead, topRows));
}
out.push('', `next: ${nextStep}`);
out.push(`latency resolution: chain polled every 10 ms (status round trip ${fmt(watch.meanPollMs, 1)} ms mean)`);
process.stdout.write(`${out.join('\n')}\n`);

const json = {
  bench: 'max',
  quick: QUICK,
  cores: CORES,
  txPerSec: round(txPerSec),
  recordBytes: RECORD_BYTES,
  baselineTxPerSec: round(sqlite.recordsPerSec),
  rawSignVerifyPerSec: round(signVerify),
  rawSignPerSec: round(signOnly),
  ratioToBaseline: round(txPerSec / sqlite.recordsPerSec, 3),
  ratioToSignVerify: round(txPerSec / signVerify, 3),
  p50LatencyMs: round(lat.p50),
  p99LatencyMs: round(lat.p99),
  acceptP50Ms: round(acceptLat.p50),
  acceptP99Ms: round(acceptLat.p99),
  cutToSeenP50Ms: round(cutLat.p50),
  cutToSeenP99Ms: round(cutLat.p99),
  maxLatencyMs: round(lat.max),
  blockIntervalMs: INTERVAL_MS,
  store: STORE,
  lost,
  rssPeakMb: round(memory.peakMb),
  nodeCpuCores: round(holdCpu, 2),
  cpuUsPerRecord: round(perRecordUs(holdCpu), 1),
  held,
  heldSeconds: round(holdSeconds, 1),
  offeredPerSec: h.rate,
  connections: CONNECTIONS,
  batch: BATCH,
  meanTxPerBlock: round(meanTxPerBlock),
  loadAverage: [machine.loadAverage[0], loadNow()],
  targets,
  date: machine.date,
};
const md = [
  `# bench:max ${machine.date}`,
  '',
  machineMarkdown(machine),
  '',
  '## Figures',
  '',
  markdownTable(['figure', 'value'], figures),
  '',
  '## Targets',
  '',
  markdownTable(['target', 'measured', ''], targetRows),
  '',
  '## Ramp',
  '',
  markdownTable(rampHead, rampRows),
  ...(breakdownRows.length > 0 ? ['', '## Where the main thread spends its time (hold)', '', markdownTable(breakdownHead, breakdownRows), '', markdownTable(topHead, topRows)] : []),
  '',
  `Next: ${nextStep}`,
  '',
  '```json',
  JSON.stringify(json),
  '```',
].join('\n');
const file = writeResults('max', md, json);
progress(`results: ${file}`);
process.stdout.write(`${JSON.stringify(json)}\n`);
