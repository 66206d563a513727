/**
 * bench:net — a local network under sustained load: how many records per second end up in a committed block on
 * every node, how fast blocks cross the network, and whether anything acknowledged goes missing.
 *
 *   pnpm bench:net                 30 s of load, up to 6,000 records/s offered
 *   pnpm bench:net --quick         10 s of load, up to 2,000 records/s; finishes within about a minute
 *   options: --rate N (records/s offered at most, all nodes together)  --duration S  --to spread|producer
 *            --backlog N (records acknowledged but not yet on all nodes above which the load waits, 2,000)
 *            --interval MS (block interval, 500)  --batch N (records a request, 250)  --connections N (per node, 4)
 *            --profile (V8 CPU profile of one non-producing full node)  --keep (keep the data folders)
 *
 * Four full nodes on 127.0.0.1, each a separate process started from source as an operator starts it
 * (`apps/full-node/src/main.ts --data DIR`), each with its own data folder and config.json: one of them is the
 * chain's single producer (named in genesis) and the seed; all four list each other in `network.allow`. A full node
 * verifies every transaction it did not sign itself, so all four verify every record.
 *
 * Load: 1 kB random records as NDJSON batches (POST /v1/records/batch) for a fixed duration, spread evenly over the
 * four nodes' APIs (default) or all sent to the producer (`--to producer`), at an offered rate that is a ceiling:
 * a batch waits while more than `--backlog` acknowledged records are not yet committed on all four nodes, so the load
 * follows what the network sustains instead of piling minutes of records into mempools. A record counts once the
 * API acknowledged it (202: durable on that node).
 *
 * Figures:
 * - txPerSec: records acknowledged during the load and committed on all four nodes, divided by the time from the
 *   start of the load until the last of them was committed on all four;
 * - propagation: for each block with transactions, the time from the producer committing it to each other node
 *   committing it, read from the `block committed` lines every node logs (at level debug) when its Block Tree moves
 *   the tip; one machine, one clock, millisecond stamps;
 * - lost: acknowledged records missing from a committed block on any node at the end (after the backlog drained);
 * - payloads: a sample of records looked up on every node must carry their payload (full nodes keep everything);
 * - verifyCeilingTxPerSec: this machine's raw ed25519 verify rate (node:crypto, one worker thread per core, measured
 *   in this run just before the load) divided by 4, the number of nodes that verify every record.
 * The last line of output is one JSON object with the figures.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { initDataDir } from '../packages/node/src/data-dir.js';
import { HttpClient } from './lib/http.js';
import { CATEGORIES, readProfiles, summariseProfile } from './lib/profile.js';
import { loadNow, machineFacts, machineMarkdown, markdownTable, progress, REPO_ROOT, textTable, writeResults } from './lib/report.js';
import { fmt, latencySummary, round } from './lib/stats.js';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rate: { type: 'string' },
    duration: { type: 'string' },
    to: { type: 'string', default: 'spread' },
    interval: { type: 'string', default: '500' },
    batch: { type: 'string', default: '250' },
    connections: { type: 'string', default: '4' },
    backlog: { type: 'string' },
    workers: { type: 'string' },
    profile: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const QUICK = flags.quick === true;
const NODES = 4;
const RATE = Number(flags.rate ?? (QUICK ? '2000' : '6000'));
const DURATION_MS = Number(flags.duration ?? (QUICK ? '10' : '30')) * 1000;
const TO = flags.to;
const INTERVAL_MS = Number(flags.interval);
const BATCH = Number(flags.batch);
const CONNECTIONS = Number(flags.connections);
const PROFILE = flags.profile === true;
/** Worker threads per node (processing.workers); default: the node's own default, one per core. */
const WORKERS = flags.workers === undefined ? undefined : Number(flags.workers);
/**
 * Records acknowledged but not yet committed on all four nodes above which no new batch is sent: the offered rate
 * is a ceiling, and the load follows what the network sustains instead of queueing minutes of records in mempools
 * (which would make every latency a queueing delay).
 */
const BACKLOG = Number(flags.backlog ?? '2000');
const RECORD_BYTES = 1024;
const CORES = availableParallelism();
/** Longest wait for the backlog to drain after the load; the wait also ends after this long without a new block. */
const DRAIN_MS = QUICK ? 25_000 : 180_000;
const DRAIN_STALL_MS = 15_000;
const CEILING_MS = QUICK ? 1500 : 3000;
const PAYLOAD_SAMPLE = QUICK ? 50 : 200;
const command = `pnpm bench:net${process.argv.slice(2).length > 0 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;

for (const [name, v] of [['rate', RATE], ['duration', DURATION_MS], ['interval', INTERVAL_MS], ['batch', BATCH], ['connections', CONNECTIONS], ['backlog', BACKLOG]] as const) {
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name}: expected a positive integer`);
}
if (TO !== 'spread' && TO !== 'producer') throw new Error('--to: expected spread or producer');

const monoUs = (): number => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// Processes

const children = new Set<ChildProcess>();
function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Commit time (ms since the epoch, the node's clock) of each block height, from the node's log. */
type Commits = Map<number, { readonly at: number; readonly hash: string; readonly transactions: number }>;

interface BenchNode {
  readonly name: string;
  readonly dataDir: string;
  readonly identity: string;
  readonly apiPort: number;
  readonly p2pPort: number;
  child?: ChildProcess;
  exited?: Promise<number | null>;
  apiUrl?: string;
  readonly commits: Commits;
  logTail: string[];
}

function cpuSeconds(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function setUp(root: string): Promise<BenchNode[]> {
  const nodes: BenchNode[] = [];
  for (let i = 0; i < NODES; i++) {
    const name = i === 0 ? 'producer' : `full-${i}`;
    const dataDir = join(root, name);
    const init = await initDataDir({
      dataDir,
      type: 'full',
      consensus: 'single',
      chainName: 'bench-net',
      ...(i === 0 ? {} : { genesisFile: join(root, 'producer', 'genesis.json') }),
    });
    nodes.push({ name, dataDir, identity: init.identity, apiPort: await freePort(), p2pPort: await freePort(), commits: new Map(), logTail: [] });
  }
  const allow = nodes.map((n) => n.identity);
  for (const n of nodes) {
    const config = {
      type: 'full',
      api: { host: '127.0.0.1', port: n.apiPort },
      producer: { blockIntervalMs: INTERVAL_MS },
      network: { enabled: true, host: '127.0.0.1', port: n.p2pPort, seeds: n === nodes[0] ? [] : [`127.0.0.1:${nodes[0]!.p2pPort}`], allow },
      ingest: { enabled: false },
      ...(WORKERS === undefined ? {} : { processing: { workers: WORKERS } }),
      log: { level: 'debug' },
    };
    // initDataDir wrote a config.json for the type; the benchmark's replaces it before the first start.
    writeFileSync(join(n.dataDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  }
  return nodes;
}

async function startNode(n: BenchNode, profileDir: string | undefined): Promise<void> {
  const args = [
    '--conditions=@safechain/source',
    '--import',
    'tsx',
    ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--cpu-prof-interval=1000']),
    join('apps', 'full-node', 'src', 'main.ts'),
    '--data',
    n.dataDir,
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  n.child = child;
  n.exited = new Promise((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  const log = createWriteStream(join(n.dataDir, 'node.log'));
  let partial = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"block committed"')) {
        try {
          const e = JSON.parse(line) as { time: string; height: number; hash: string; transactions: number };
          if (!n.commits.has(e.height)) n.commits.set(e.height, { at: Date.parse(e.time), hash: e.hash, transactions: e.transactions });
        } catch {
          // a torn line: the next ones still count
        }
      } else if (line.trim() !== '' && !line.includes('"level":"debug"')) {
        n.logTail.push(line);
        if (n.logTail.length > 20) n.logTail.shift();
      }
    }
  });
  n.apiUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${n.name} did not start within 120 s`)), 120_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      out += chunk.toString('utf8');
      const m = /api\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void n.exited!.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${n.name} exited with code ${String(code)} before listening:\n${n.logTail.join('\n')}`));
    });
  });
}

interface StatusView {
  readonly height: number;
  readonly tip: string;
  readonly mempool: { readonly count: number };
  readonly network: { readonly counts: { readonly connected: number }; readonly drops: Readonly<Record<string, number>>; readonly bytes: { readonly in: number; readonly out: number } } | null;
}

async function statusOf(client: HttpClient): Promise<StatusView | undefined> {
  return client.getJson<StatusView>('/v1/status').catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------------------------
// Load

/**
 * NDJSON bodies of `records` lines `{"payload":"<base64 of 1 kB>"}`: random payloads made once, each record made
 * distinct by stamping its first 12 base64 characters (9 bytes) with the load's number, a counter and the line.
 */
class Bodies {
  readonly #template: Buffer;
  readonly #line: number;
  readonly #records: number;
  readonly #load: number;
  #counter = 0;

  constructor(records: number, load: number) {
    const head = '{"payload":"';
    const tail = randomBytes(RECORD_BYTES - 9).toString('base64');
    this.#line = head.length + 12 + tail.length + 3;
    this.#records = records;
    this.#load = load;
    this.#template = Buffer.alloc(this.#line * records);
    for (let i = 0; i < records; i++) this.#template.write(`${head}AAAAAAAAAAAA${tail}"}\n`, i * this.#line, 'latin1');
  }

  next(): Buffer {
    const body = Buffer.from(this.#template);
    const stamp = Buffer.alloc(9);
    for (let i = 0; i < this.#records; i++) {
      stamp.writeUInt8(this.#load, 0);
      stamp.writeUIntBE(this.#counter++, 1, 6);
      stamp.writeUInt16BE(i, 7);
      body.write(stamp.toString('base64'), i * this.#line + 12, 'latin1');
    }
    return body;
  }
}

interface LoadResult {
  readonly sent: number;
  /** Milliseconds the load held back because the backlog was full. */
  readonly heldMs: number;
}

/**
 * Offers up to `rate` records/s to one node for `durationMs`: batch k is due at start + k * (batch / rate), over
 * `connections` keep-alive connections, at most one request each in flight; a batch waits while `backlogFull()`.
 */
async function offer(
  client: HttpClient,
  load: number,
  rate: number,
  durationMs: number,
  backlogFull: () => boolean,
  onAnswer: (status: number, ids: readonly string[]) => void,
): Promise<LoadResult> {
  const period = (BATCH / rate) * 1000;
  const start = performance.now();
  const end = start + durationMs;
  let next = 0;
  let sent = 0;
  let heldMs = 0;
  const connection = async (c: number): Promise<void> => {
    const bodies = new Bodies(BATCH, load * 16 + c);
    for (;;) {
      const due = start + next++ * period;
      if (due >= end) return;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      while (backlogFull() && performance.now() < end) {
        const t = performance.now();
        await sleep(20);
        heldMs += performance.now() - t;
      }
      if (performance.now() >= end) return;
      sent += BATCH;
      try {
        const res = await client.send('POST', '/v1/records/batch', bodies.next(), { 'content-type': 'application/x-ndjson' });
        onAnswer(res.status, res.status === 202 ? (JSON.parse(res.body.toString('utf8')) as { ids: string[] }).ids : []);
      } catch {
        onAnswer(-1, []);
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, c) => connection(c)));
  return { sent, heldMs: heldMs / CONNECTIONS };
}

// ---------------------------------------------------------------------------------------------------------------
// Where a profiled thread's time went, by package

interface RawProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: { readonly functionName: string; readonly url: string }; readonly children?: readonly number[] }[];
  readonly startTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The package a script URL belongs to: a workspace package, a dependency, or Node's own library. */
function packageOf(url: string): string {
  const workspace = /\/(packages|apps)\/([^/]+)\//.exec(url);
  if (workspace !== null) return `${workspace[1] === 'apps' ? 'app ' : '@safechain/'}${workspace[2]}`;
  const dependency = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (dependency !== null) return dependency[1]!;
  if (url.startsWith('node:')) return 'node (library)';
  return url === '' ? '' : 'other';
}

/**
 * Self time by package within [fromUs, toUs] (the monotonic clock V8 stamps samples with). A native frame (no URL)
 * is charged to the package of its nearest caller that has one, so a SQLite statement counts for the store and an
 * OpenSSL call for whoever made it.
 */
function timeByPackage(profile: RawProfile, fromUs: number, toUs: number): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map<number, string>();
  const resolve = (id: number): string => {
    const hit = cache.get(id);
    if (hit !== undefined) return hit;
    const fn = byId.get(id)!.callFrame.functionName;
    let out: string;
    if (fn === '(idle)') out = 'idle';
    else if (fn === '(garbage collector)') out = 'GC';
    else if (fn === '(program)' || fn === '(root)') out = 'V8 (program)';
    else {
      out = '';
      for (let at: number | undefined = id, hops = 0; at !== undefined && out === '' && hops < 64; at = parent.get(at), hops++) {
        out = packageOf(byId.get(at)!.callFrame.url);
        // Node's own helpers are charged to whoever called them.
        if (out === 'node (library)' && parent.get(at) !== undefined && packageOf(byId.get(parent.get(at)!)!.callFrame.url).startsWith('@safechain')) out = '';
      }
      if (out === '') out = 'other';
      // Shared libraries are charged to the workspace package that called them, as "core via p2p".
      if (out === '@safechain/core' || out === 'node (library)' || out === 'better-sqlite3') {
        for (let at = parent.get(id), hops = 0; at !== undefined && hops < 64; at = parent.get(at), hops++) {
          const caller = packageOf(byId.get(at)!.callFrame.url);
          if (caller.startsWith('@safechain/') && caller !== '@safechain/core') {
            out = `${out === '@safechain/core' ? 'core' : out} via ${caller.slice('@safechain/'.length)}`;
            break;
          }
        }
      }
    }
    cache.set(id, out);
    return out;
  };
  const totals = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    const key = resolve(profile.samples[i]!);
    totals.set(key, (totals.get(key) ?? 0) + delta / 1000);
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------------------------
// The verify ceiling

const VERIFY_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const crypto = require('node:crypto');
const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
const messages = Array.from({ length: 64 }, () => crypto.randomBytes(200));
const signatures = messages.map((m) => crypto.sign(null, m, privateKey));
const started = performance.now();
const deadline = started + workerData.durationMs;
let n = 0;
while (performance.now() < deadline) {
  for (let i = 0; i < 64; i++) if (!crypto.verify(null, messages[i], publicKey, signatures[i])) throw new Error('verify failed');
  n += 64;
}
parentPort.postMessage(n / ((performance.now() - started) / 1000));
`;

/** ed25519 verifications per second with node:crypto on `threads` worker threads at once (200-byte messages). */
async function rawVerifyRate(threads: number, durationMs: number): Promise<number> {
  const rates = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(VERIFY_WORKER, { eval: true, workerData: { durationMs } });
          w.once('message', (perSecond: number) => {
            resolve(perSecond);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  return rates.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Run

interface BlockView {
  readonly hash: string;
  readonly height: number;
  readonly transactionIds: readonly string[];
}

interface TxView {
  readonly status: string;
  readonly stripped: boolean;
}

async function main(): Promise<void> {
  const machine = machineFacts(command);
  const root = mkdtempSync(join(tmpdir(), 'safechain-bench-net-'));
  const profileDir = PROFILE ? join(root, 'profile') : undefined;
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  progress(`setting up ${NODES} full nodes in ${root}`);
  const nodes = await setUp(root);
  const producer = nodes[0]!;
  const profiled = nodes[1]!;
  try {
    const startAt = performance.now();
    await Promise.all(nodes.map((n) => startNode(n, n === profiled ? profileDir : undefined)));
    const clients = nodes.map((n) => new HttpClient(n.apiUrl!, { connections: 2, timeoutMs: 30_000 }));
    const deadline = performance.now() + 60_000;
    for (;;) {
      const all = await Promise.all(clients.map(statusOf));
      if (all.every((s) => (s?.network?.counts.connected ?? 0) >= NODES - 1)) break;
      if (performance.now() > deadline) throw new Error(`the nodes did not all connect: ${all.map((s) => s?.network?.counts.connected ?? '?').join(', ')}`);
      await sleep(200);
    }
    progress(`${NODES} nodes up and fully connected in ${round((performance.now() - startAt) / 1000, 1)} s`);

    progress(`raw ed25519 verify rate on ${CORES} threads (${CEILING_MS} ms)`);
    const verifyRate = await rawVerifyRate(CORES, CEILING_MS);
    const verifyCeiling = verifyRate / NODES;

    // Load.
    const targets = TO === 'producer' ? [producer] : nodes;
    const perTarget = RATE / targets.length;
    const loadClients = targets.map((n) => new HttpClient(n.apiUrl!, { connections: CONNECTIONS, timeoutMs: 120_000 }));
    const acked = new Map<string, number>();
    const statuses = new Map<number, number>();
    let offered = 0;
    const startHeight = Math.max(...(await Promise.all(clients.map(statusOf))).map((s) => s?.height ?? 0));
    const cpuBefore = nodes.map((n) => cpuSeconds(n.child!.pid!));
    const bytesBefore = (await Promise.all(clients.map(statusOf))).reduce((a, s) => a + (s?.network?.bytes.out ?? 0), 0);
    const loadStartWall = Date.now();
    const loadStartUs = monoUs();
    progress(`offering ${fmt(RATE)} records/s for ${DURATION_MS / 1000} s, ${TO === 'producer' ? 'all to the producer' : `spread over ${NODES} nodes`}`);
    // Records committed on all four nodes so far, from the blocks every node has logged as committed.
    let countedHeight = startHeight;
    let committedSoFar = 0;
    const backlogFull = (): boolean => {
      for (;;) {
        const h = countedHeight + 1;
        if (!nodes.every((n) => n.commits.has(h))) break;
        committedSoFar += producer.commits.get(h)!.transactions;
        countedHeight = h;
      }
      return acked.size - committedSoFar > BACKLOG;
    };
    const results = await Promise.all(
      loadClients.map((c, i) =>
        offer(c, i + 1, perTarget, DURATION_MS, backlogFull, (status, ids) => {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          for (const id of ids) acked.set(id, Date.now());
        }),
      ),
    );
    for (const r of results) offered += r.sent;
    const heldShare = results.reduce((a, r) => a + r.heldMs, 0) / results.length / DURATION_MS;
    const loadEndWall = Date.now();
    const loadEndUs = monoUs();
    const cpuAfterLoad = nodes.map((n) => cpuSeconds(n.child!.pid!));
    for (const c of loadClients) c.close();
    progress(`load done: ${fmt(acked.size)} acknowledged of ${fmt(offered)} offered; draining`);

    // Drain: every node's tip equal and every mempool empty (or no new block for a while, or the deadline).
    const drainDeadline = performance.now() + DRAIN_MS;
    let final: StatusView[] = [];
    let drained = false;
    let lastHeight = -1;
    let lastProgress = performance.now();
    for (;;) {
      final = (await Promise.all(clients.map(statusOf))).filter((s): s is StatusView => s !== undefined);
      drained = final.length === NODES && final.every((s) => s.tip === final[0]!.tip && s.mempool.count === 0);
      const height = Math.min(...final.map((s) => s.height));
      if (height !== lastHeight) {
        lastHeight = height;
        lastProgress = performance.now();
      }
      if (drained || performance.now() > drainDeadline || performance.now() - lastProgress > DRAIN_STALL_MS) break;
      await sleep(250);
    }
    if (!drained) progress('the backlog did not drain in time: records not yet committed everywhere count as missing');
    const drainedAt = Date.now();
    const cpuAfterDrain = nodes.map((n) => cpuSeconds(n.child!.pid!));

    // Every node's canonical chain since the start: same hashes, and the ids it committed.
    progress('reading every node\'s blocks');
    const endHeight = Math.min(...final.map((s) => s.height));
    const idHeight = new Map<string, number>();
    const perNode: Set<string>[] = nodes.map(() => new Set());
    let forks = 0;
    for (let h = startHeight + 1; h <= endHeight; h++) {
      const views = await Promise.all(clients.map((c) => c.getJson<BlockView>(`/v1/blocks/${h}`)));
      const first = views[0];
      views.forEach((v, i) => {
        if (v === undefined) return;
        if (first !== undefined && v.hash !== first.hash) forks++;
        for (const id of v.transactionIds) perNode[i]!.add(id);
      });
      for (const id of first?.transactionIds ?? []) idHeight.set(id, h);
    }

    // Commit on all four: the latest of the four nodes' commit times of the record's block.
    let committedAll = 0;
    let lastAllAt = loadStartWall;
    const lostIds: string[] = [];
    const allAt = new Map<number, number>();
    for (let h = startHeight + 1; h <= endHeight; h++) {
      const times = nodes.map((n) => n.commits.get(h)?.at);
      if (times.every((t) => t !== undefined)) allAt.set(h, Math.max(...(times as number[])));
    }
    const latencies: number[] = [];
    for (const [id, ackAt] of acked) {
      const h = idHeight.get(id);
      const everywhere = h !== undefined && perNode.every((s) => s.has(id));
      if (!everywhere) {
        lostIds.push(id);
        continue;
      }
      committedAll++;
      const at = allAt.get(h) ?? drainedAt;
      if (at > lastAllAt) lastAllAt = at;
      latencies.push(at - ackAt);
    }
    const spanS = (lastAllAt - loadStartWall) / 1000;
    const txPerSec = spanS > 0 ? committedAll / spanS : 0;

    // Propagation: producer commit to each other node's commit, blocks with transactions made during the run.
    const propagation: number[] = [];
    const perNodeProp = nodes.slice(1).map(() => [] as number[]);
    let blocks = 0;
    let txsInBlocks = 0;
    for (const [h, p] of producer.commits) {
      if (h <= startHeight || h > endHeight || p.transactions === 0) continue;
      blocks++;
      txsInBlocks += p.transactions;
      nodes.slice(1).forEach((n, i) => {
        const c = n.commits.get(h);
        if (c !== undefined) {
          propagation.push(c.at - p.at);
          perNodeProp[i]!.push(c.at - p.at);
        }
      });
    }
    const prop = latencySummary(propagation);
    const ackToAll = latencySummary(latencies);

    // Payloads: full nodes keep every record in full.
    const sample = [...acked.keys()].filter((_, i, a) => i % Math.max(1, Math.floor(a.length / PAYLOAD_SAMPLE)) === 0).slice(0, PAYLOAD_SAMPLE);
    let strippedOnFull = 0;
    for (const c of clients) {
      for (const id of sample) {
        const v = await c.getJson<TxView>(`/v1/transactions/${id}?payload=false`).catch(() => undefined);
        if (v !== undefined && v.stripped) strippedOnFull++;
      }
    }

    const networkStatus = await Promise.all(clients.map(statusOf));
    // Bytes all four nodes sent to peers (frames, handshakes, keep-alives), per record committed everywhere.
    const bytesOut = networkStatus.reduce((a, s) => a + (s?.network?.bytes.out ?? 0), 0) - bytesBefore;
    const cpuLoad = nodes.map((_, i) => (cpuAfterLoad[i]! - cpuBefore[i]!) / ((loadEndUs - loadStartUs) / 1e6));
    // CPU time each node spent per record, load and drain together: unlike rates, it does not depend on how much of
    // the machine other work left to the nodes.
    const cpuMsPerTx = nodes.map((_, i) => (committedAll === 0 ? Number.NaN : ((cpuAfterDrain[i]! - cpuBefore[i]!) * 1000) / committedAll));
    const loadAtEnd = loadNow();
    for (const c of clients) c.close();

    // Stop (profiles are written on exit).
    progress('stopping the nodes');
    await Promise.all(
      nodes.map(async (n) => {
        n.child!.kill('SIGTERM');
        const t = setTimeout(() => n.child!.kill('SIGKILL'), 30_000);
        await n.exited;
        clearTimeout(t);
      }),
    );

    let profileMd = '';
    let profileTop: { name: string; where: string; ms: number }[] = [];
    let profileByPackage: Record<string, number> = {};
    if (profileDir !== undefined) {
      const profiles = readProfiles(profileDir);
      const main = profiles[0];
      if (main !== undefined) {
        const s = summariseProfile(main.profile, loadStartUs, loadEndUs, 20);
        profileTop = s.topFunctions.map((f) => ({ name: f.name, where: f.where, ms: round(f.ms) }));
        const rows = CATEGORIES.filter((c) => (s.byCategory.get(c) ?? 0) > 0)
          .map((c) => [c, fmt(s.byCategory.get(c) ?? 0), `${round(((s.byCategory.get(c) ?? 0) / Math.max(1, s.busyMs)) * 100, 1)} %`] as const)
          .sort((a, b) => Number(b[1].replace(/,/g, '')) - Number(a[1].replace(/,/g, '')));
        const packages = [...timeByPackage(main.profile as unknown as RawProfile, loadStartUs, loadEndUs)]
          .filter(([name]) => name !== 'idle')
          .sort((a, b) => b[1] - a[1]);
        profileByPackage = Object.fromEntries(packages.map(([name, ms]) => [name, round(ms)]));
        profileMd = [
          `### CPU profile of ${profiled.name} (a non-producing full node), main thread, load window`,
          '',
          `busy ${fmt(s.busyMs)} ms of ${fmt(s.windowMs)} ms sampled (wall-clock samples: on a shared machine a thread waiting for a core counts as busy; read the shares, not the milliseconds)`,
          '',
          markdownTable(['package', 'self ms', 'share of busy'], packages.map(([name, ms]) => [name, fmt(ms), `${round((ms / Math.max(1, s.busyMs)) * 100, 1)} %`])),
          '',
          markdownTable(['category', 'self ms', 'share of busy'], rows.map((r) => [...r])),
          '',
          markdownTable(['function', 'where', 'self ms'], s.topFunctions.map((f) => [f.name, f.where, fmt(f.ms)])),
          '',
          'Worker threads (signing, verification) are not in this profile: the pool ends them on stop, before V8 writes their profiles; the per-node CPU figures above include them.',
        ].join('\n');
      }
    }

    const json = {
      bench: 'net',
      quick: QUICK,
      cores: CORES,
      nodes: NODES,
      load: TO,
      offeredPerSec: RATE,
      backlogLimit: BACKLOG,
      heldShare: round(heldShare, 3),
      durationS: DURATION_MS / 1000,
      blockIntervalMs: INTERVAL_MS,
      batch: BATCH,
      recordBytes: RECORD_BYTES,
      acknowledged: acked.size,
      committedOnAll: committedAll,
      txPerSec: round(txPerSec),
      acceptedPerSec: round(acked.size / ((loadEndWall - loadStartWall) / 1000)),
      ackToAllP50Ms: round(ackToAll.p50),
      ackToAllP99Ms: round(ackToAll.p99),
      propagationP50Ms: round(prop.p50),
      propagationP99Ms: round(prop.p99),
      propagationMaxMs: round(prop.max),
      propagationSamples: prop.count,
      blocks,
      meanBlockTxs: round(blocks === 0 ? 0 : txsInBlocks / blocks),
      lost: lostIds.length,
      drained,
      forks,
      strippedOnFull,
      payloadSample: sample.length * NODES,
      verifyRawPerSec: round(verifyRate),
      verifyCeilingTxPerSec: round(verifyCeiling),
      ofCeiling: round(txPerSec / verifyCeiling, 3),
      nodeCpuCores: cpuLoad.map((c) => round(c, 2)),
      cpuMsPerTx: cpuMsPerTx.map((c) => round(c, 3)),
      networkBytesPerTx: committedAll === 0 ? null : round(bytesOut / committedAll),
      httpStatuses: Object.fromEntries(statuses),
      drops: networkStatus.map((s) => s?.network?.drops ?? {}),
      loadAverageStart: machine.loadAverage[0],
      loadAverageEnd: loadAtEnd,
      profileTop: profileTop.slice(0, 8),
      profileByPackage,
    };

    const rows: string[][] = [
      ['offered', `up to ${fmt(RATE)} records/s for ${DURATION_MS / 1000} s (${TO === 'producer' ? 'all to the producer' : 'spread over the 4 nodes'}), held back while more than ${fmt(BACKLOG)} acknowledged records were not yet committed on all nodes (${round(heldShare * 100)} % of the time)`],
      ['acknowledged (202)', `${fmt(acked.size)} (${fmt(json.acceptedPerSec)}/s)`],
      ['committed on all 4 nodes', `${fmt(committedAll)}`],
      ['txPerSec (committed on all 4)', fmt(txPerSec)],
      ['verify ceiling (raw verify / 4)', `${fmt(verifyCeiling)} (raw ${fmt(verifyRate)}/s on ${CORES} threads); reached ${round((txPerSec / verifyCeiling) * 100, 1)} %`],
      ['ack to committed on all, p50 / p99', `${fmt(ackToAll.p50)} / ${fmt(ackToAll.p99)} ms`],
      ['block propagation p50 / p99 / max', `${fmt(prop.p50)} / ${fmt(prop.p99)} / ${fmt(prop.max)} ms (${prop.count} samples, ${blocks} blocks of ${fmt(json.meanBlockTxs)} txs)`],
      ...perNodeProp.map((p, i) => {
        const s = latencySummary(p);
        return [`  to ${nodes[i + 1]!.name} p50 / p99`, `${fmt(s.p50)} / ${fmt(s.p99)} ms`];
      }),
      ['lost (acknowledged, missing on a node)', `${fmt(lostIds.length)}${drained ? '' : ' (the backlog had not drained when the wait ended: these were still pending, not necessarily lost)'}`],
      ['blocks differing between nodes', fmt(forks)],
      ['sampled records stripped on a full node', `${strippedOnFull} of ${sample.length * NODES}`],
      ['node CPU during load (cores)', nodes.map((n, i) => `${n.name} ${round(cpuLoad[i]!, 2)}`).join(', ')],
      ['node CPU per committed record (ms)', nodes.map((n, i) => `${n.name} ${round(cpuMsPerTx[i]!, 3)}`).join(', ')],
      ['bytes sent between nodes per record', `${fmt(committedAll === 0 ? Number.NaN : bytesOut / committedAll)} (all four nodes; a record is about 1,250 bytes encoded)`],
      ['HTTP answers', [...statuses].map(([s, n]) => `${s}: ${n}`).join(', ')],
      ['machine load average start / end', `${machine.loadAverage[0]} / ${loadAtEnd} on ${CORES} cores`],
    ];
    const table = textTable(['figure', 'value'], rows);
    const md = [
      `# bench:net ${machine.date}`,
      '',
      machineMarkdown(machine),
      '',
      `Four full nodes (apps/full-node, one process and data folder each, SQLite stores) on 127.0.0.1, joined through the producer as seed, ` +
        `\`network.allow\` listing all four; the producer is the chain's single producer (blocks every ${INTERVAL_MS} ms). ` +
        `Load: 1 kB random records in NDJSON batches of ${BATCH} (POST /v1/records/batch, ${CONNECTIONS} connections per node), ` +
        `${TO === 'producer' ? 'all sent to the producer' : 'spread evenly over the four nodes'}, up to ${fmt(RATE)} records/s for ${DURATION_MS / 1000} s, ` +
        `held back while more than ${fmt(BACKLOG)} acknowledged records were not yet committed on all four nodes. ` +
        `txPerSec: records committed on all four nodes / (time from the start of the load until the last of them was committed everywhere). ` +
        `Propagation: for every block with transactions, the time from the producer committing it to each other node committing it, ` +
        `from the \`block committed\` lines each node logs (debug level) with its clock when its Block Tree moves the tip (one machine, one clock, ms stamps). ` +
        `Lost: acknowledged records missing from a committed block on any node once the backlog drained. ` +
        `Verify ceiling: raw ed25519 verifications/s with node:crypto on one worker thread per core, measured in this run just before the load, divided by 4 (every node verifies every record).`,
      '',
      markdownTable(['figure', 'value'], rows),
      '',
      profileMd,
      '',
      '```json',
      JSON.stringify(json),
      '```',
    ].join('\n');
    const path = writeResults(QUICK ? 'net-quick' : 'net', md, json);
    process.stdout.write(`${table}\n\n${profileMd === '' ? '' : `${profileMd}\n\n`}results: ${path}\n`);
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } finally {
    killAll();
    if (flags.keep !== true) rmSync(root, { recursive: true, force: true });
    else progress(`kept ${root}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:net failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  killAll();
  process.exitCode = 1;
});
