/**
 * Test helpers for local networks of real node processes: every member is one of the apps (`apps/full-node`,
 * `apps/thin-node`, `apps/archive-node`, `apps/block-producer`) with its own data folder, its config.json written
 * before the first start (API and p2p ports, the seed, the allowlist), all joined to one chain through one seed.
 * Every child started here is tracked so `killClusterChildren()` in `afterAll` leaves nothing running; every wait is
 * bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeKey } from '@safechain/core';
import { createGenesisBlock } from '@safechain/consensus';
import { encodeGenesisFile, initDataDir, KEY_FILE } from '../../src/data-dir.js';
import type { NodeType } from '../../src/config.js';
import { freePort, getJson, REPO_ROOT, sleep, waitFor, writeConfig, type Exit } from './node-process.js';

const APP_MAIN: Readonly<Record<NodeType, string>> = {
  full: join(REPO_ROOT, 'apps/full-node/src/main.ts'),
  thin: join(REPO_ROOT, 'apps/thin-node/src/main.ts'),
  archive: join(REPO_ROOT, 'apps/archive-node/src/main.ts'),
  producer: join(REPO_ROOT, 'apps/block-producer/src/main.ts'),
};
const NODE_ARGS = ['--conditions=@safechain/source', '--import', 'tsx'];
const MAX_OUTPUT_CHARS = 256 * 1024;
const BANNER_API = /^ {2}api {7}(http:\/\/\S+)$/m;

const children = new Set<ChildProcess>();

type Section = Readonly<Record<string, unknown>>;

export interface MemberSpec {
  readonly name: string;
  readonly type: NodeType;
  /** Extra settings per config.json section (merged over the cluster's defaults section by section). */
  readonly config?: Readonly<Record<string, Section>>;
  /**
   * Not listed in the members' allowlists: an outsider holding the chain's genesis that the network must refuse.
   * Its own allowlist names every member.
   */
  readonly outsider?: boolean;
}

export interface ClusterOptions {
  /** A folder for the members' data folders (one sub-folder each). */
  readonly root: string;
  readonly members: readonly MemberSpec[];
  /** The member that creates the chain: the single producer named in genesis. */
  readonly genesisBy: string;
  /** The member every other member dials first. */
  readonly seed: string;
  /** Settings every member gets, per section, under its own `config`. */
  readonly defaults?: Readonly<Record<string, Section>>;
  /**
   * A proof-of-authority chain instead of `genesisBy` as the single producer: these members are its validators
   * (their keys are made first), and a block needs `threshold` of their seals.
   */
  readonly poa?: { readonly validators: readonly string[]; readonly threshold: number };
}

export interface Member {
  readonly name: string;
  readonly type: NodeType;
  readonly dataDir: string;
  /** The node key (hex). */
  readonly identity: string;
  readonly apiPort: number;
  readonly p2pPort: number;
  readonly outsider: boolean;
}

/** A running member. */
export interface RunningMember {
  readonly member: Member;
  readonly url: string;
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** stdout and stderr, interleaved, the last 256 KiB. */
  output(): string;
}

const BASE_DEFAULTS: Readonly<Record<string, Section>> = {
  producer: { blockIntervalMs: 200 },
  processing: { workers: 1 },
  log: { level: 'warn' },
};

/** Members of one chain on 127.0.0.1, set up but not started. */
export class Cluster {
  readonly root: string;
  readonly #members = new Map<string, Member>();
  readonly #running = new Map<string, RunningMember>();

  private constructor(root: string) {
    this.root = root;
  }

  /**
   * Sets every data folder up: the genesis member first (a new chain with a single producer: itself), the others
   * joining with its genesis file; then writes each config.json with free API and p2p ports, the seed and the
   * allowlist of all members (outsiders excepted).
   */
  static async create(options: ClusterOptions): Promise<Cluster> {
    const cluster = new Cluster(options.root);
    const first = options.members.find((m) => m.name === options.genesisBy);
    if (first === undefined) throw new Error(`genesisBy: no member ${options.genesisBy}`);
    if (!options.members.some((m) => m.name === options.seed)) throw new Error(`seed: no member ${options.seed}`);
    let genesisFile = join(options.root, first.name, 'genesis.json');
    const ordered = [first, ...options.members.filter((m) => m !== first)];
    if (options.poa !== undefined) {
      // Validators' keys first: the genesis names them.
      const ids: string[] = [];
      for (const name of options.poa.validators) {
        const dataDir = join(options.root, name);
        await mkdir(dataDir, { recursive: true, mode: 0o700 });
        const key = NodeKey.generate();
        await writeFile(join(dataDir, KEY_FILE), key.toPem(), { mode: 0o600 });
        ids.push(key.id);
      }
      genesisFile = join(options.root, 'genesis.json');
      const genesis = createGenesisBlock({ name: 'net-test-poa', consensus: { engine: 'poa', validators: ids, threshold: options.poa.threshold } }, Date.now());
      await writeFile(genesisFile, encodeGenesisFile(genesis));
    }
    for (const spec of ordered) {
      const dataDir = join(options.root, spec.name);
      const init = await initDataDir({
        dataDir,
        type: spec.type,
        consensus: options.poa === undefined ? 'single' : 'poa',
        chainName: 'net-test',
        ...(spec === first && options.poa === undefined ? {} : { genesisFile }),
      });
      cluster.#members.set(spec.name, {
        name: spec.name,
        type: spec.type,
        dataDir,
        identity: init.identity,
        apiPort: await freePort(),
        p2pPort: await freePort(),
        outsider: spec.outsider === true,
      });
    }
    const seed = cluster.member(options.seed);
    const members = [...cluster.#members.values()];
    const allow = members.filter((m) => !m.outsider).map((m) => m.identity);
    for (const spec of options.members) {
      const m = cluster.member(spec.name);
      const sections: Record<string, Record<string, unknown>> = {};
      for (const source of [BASE_DEFAULTS, options.defaults ?? {}, spec.config ?? {}]) {
        for (const [name, values] of Object.entries(source)) sections[name] = { ...(sections[name] ?? {}), ...values };
      }
      await writeConfig(m.dataDir, {
        ...sections,
        type: m.type,
        api: { ...(sections['api'] ?? {}), host: '127.0.0.1', port: m.apiPort },
        network: {
          enabled: true,
          host: '127.0.0.1',
          port: m.p2pPort,
          seeds: m === seed ? [] : [`127.0.0.1:${seed.p2pPort}`],
          allow: m.outsider ? members.map((x) => x.identity) : allow,
          ...(sections['network'] ?? {}),
        },
      });
    }
    return cluster;
  }

  member(name: string): Member {
    const m = this.#members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  get members(): readonly Member[] {
    return [...this.#members.values()];
  }

  /** The running member's API base URL. @throws when it is not running */
  url(name: string): string {
    const r = this.#running.get(name);
    if (r === undefined) throw new Error(`${name} is not running`);
    return r.url;
  }

  running(name: string): RunningMember | undefined {
    return this.#running.get(name);
  }

  /** Starts the member's app and waits until its API listens. */
  async start(name: string, timeoutMs = 90_000): Promise<RunningMember> {
    const member = this.member(name);
    if (this.#running.has(name)) throw new Error(`${name} is already running`);
    const child = spawn(process.execPath, [...NODE_ARGS, APP_MAIN[member.type], '--data', member.dataDir], {
      cwd: REPO_ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let all = '';
    const keep = (s: string): string => (s.length > MAX_OUTPUT_CHARS ? s.slice(-MAX_OUTPUT_CHARS) : s);
    child.stdout!.on('data', (d: Buffer) => {
      out = keep(out + d.toString());
      all = keep(all + d.toString());
    });
    child.stderr!.on('data', (d: Buffer) => {
      all = keep(all + d.toString());
    });
    let exit: Exit | undefined;
    const exited = new Promise<Exit>((resolve) => {
      child.once('close', (code, signal) => {
        children.delete(child);
        exit = { code, signal };
        if (this.#running.get(name)?.child === child) this.#running.delete(name);
        resolve(exit);
      });
    });
    const url = await waitFor(
      `${name} (${member.type}) to print its API address`,
      () => {
        if (exit !== undefined) {
          throw new Error(`${name} exited (code ${String(exit.code)}, signal ${String(exit.signal)}) before it was up:\n${all.slice(-4000)}`);
        }
        return BANNER_API.exec(out)?.[1];
      },
      timeoutMs,
      50,
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    const running: RunningMember = { member, url, child, exited, output: () => all };
    this.#running.set(name, running);
    return running;
  }

  /** Starts several members at once. */
  async startAll(names: readonly string[] = this.members.map((m) => m.name), timeoutMs = 90_000): Promise<void> {
    await Promise.all(names.map((n) => this.start(n, timeoutMs)));
  }

  /** SIGKILL: a crash. Resolves once the process is gone. */
  async kill(name: string): Promise<Exit> {
    const r = this.#running.get(name);
    if (r === undefined) throw new Error(`${name} is not running`);
    r.child.kill('SIGKILL');
    return r.exited;
  }

  /** SIGTERM, SIGKILL after `timeoutMs`. */
  async stop(name: string, timeoutMs = 30_000): Promise<Exit> {
    const r = this.#running.get(name);
    if (r === undefined) throw new Error(`${name} is not running`);
    r.child.kill('SIGTERM');
    const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
    const exit = await r.exited;
    clearTimeout(timer);
    return exit;
  }
}

/** SIGKILLs every member process still running (any cluster), and waits for them (bounded). */
export async function killClusterChildren(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((resolve) => child.once('close', resolve)));
      child.kill('SIGKILL');
    }
  }
  await Promise.race([Promise.all(waits), sleep(10_000)]);
  children.clear();
}

// ---- what the nodes answer ----

export interface NetStatusView {
  readonly type: string;
  readonly identity: string;
  readonly chainId: string;
  readonly height: number;
  readonly tip: string;
  readonly mempool: { readonly count: number; readonly bytes: number };
  readonly network: {
    readonly peers: readonly { readonly key: string; readonly address: string; readonly direction: string }[];
    readonly counts: { readonly connected: number; readonly known: number; readonly online: number };
    readonly disconnects?: Readonly<Record<string, number>>;
    readonly sync: { readonly state: string; readonly blocks: number };
  } | null;
}

export async function netStatus(url: string): Promise<NetStatusView> {
  const r = await getJson<NetStatusView>(`${url}/v1/status`);
  if (r.status !== 200) throw new Error(`GET ${url}/v1/status: ${r.status} ${r.text}`);
  return r.body;
}

/** Waits until every node at `urls` is connected to at least `min` peers; returns their statuses. */
export async function waitForPeers(urls: readonly string[], min: number, timeoutMs = 60_000): Promise<NetStatusView[]> {
  return waitFor(
    `${urls.length} nodes to have ${min} peers each`,
    async () => {
      const all = await Promise.all(urls.map(netStatus));
      return all.every((s) => (s.network?.counts.connected ?? 0) >= min) ? all : undefined;
    },
    timeoutMs,
    200,
  );
}

/**
 * Waits until every node at `urls` reports the same tip, at least `minHeight`, twice in a row `settleMs` apart (so
 * a tip that is still moving is not taken for agreement). Returns that tip.
 */
export async function waitForConvergence(
  urls: readonly string[],
  minHeight: number,
  timeoutMs = 60_000,
  settleMs = 300,
): Promise<{ height: number; tip: string }> {
  let last = '';
  return waitFor(
    `${urls.length} nodes to agree on one tip at height >= ${minHeight}`,
    async () => {
      const all = await Promise.all(urls.map(netStatus));
      const first = all[0]!;
      const same = all.every((s) => s.tip === first.tip && s.height === first.height) && first.height >= minHeight;
      const key = `${first.height}:${first.tip}`;
      if (!same) {
        last = '';
        return undefined;
      }
      if (key !== last) {
        last = key;
        await sleep(settleMs);
        return undefined;
      }
      return { height: first.height, tip: first.tip };
    },
    timeoutMs,
    100,
  );
}

/**
 * The Table I trio most network tests start from: `full` (creates the chain, is the seed), `thin`, and an archive
 * node `late`, set up but left stopped so it can join later. `full` and `thin` are started and connected.
 */
export async function startFullAndThinWithLateArchive(root: string, defaults: Readonly<Record<string, Section>>): Promise<Cluster> {
  const net = await Cluster.create({
    root,
    genesisBy: 'full',
    seed: 'full',
    defaults,
    members: [
      { name: 'full', type: 'full' },
      { name: 'thin', type: 'thin' },
      { name: 'late', type: 'archive' },
    ],
  });
  await net.startAll(['full', 'thin']);
  await waitForPeers([net.url('full'), net.url('thin')], 1, 90_000);
  return net;
}
