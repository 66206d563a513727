/**
 * Test helpers that run the real `safechain` CLI and node apps as child processes from source, talk to them over real
 * HTTP, and clean up after themselves. Every wait is bounded in time; every child started here is tracked so a test
 * file's `afterAll(killChildren)` leaves nothing running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI_MAIN = join(REPO_ROOT, 'apps/cli/src/main.ts');
const APP_MAIN = {
  full: join(REPO_ROOT, 'apps/full-node/src/main.ts'),
} as const;
const NODE_ARGS = ['--conditions=@safechain/source', '--import', 'tsx'];
/** Output kept per child: the tail, so a chatty node cannot fill the test's memory. */
const MAX_OUTPUT_CHARS = 256 * 1024;

const children = new Set<ChildProcess>();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every `intervalMs` until it holds; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh folder under the system temp folder (real path, so paths printed by the node compare equal). */
export async function tempDir(prefix: string): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), `safechain-${prefix}-`)));
}

export async function removeDir(dir: string): Promise<void> {
  if (dir !== '') await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Writes a file the way a well-behaved producer does: a `.tmp` name first, then a rename. */
export async function dropFile(dir: string, name: string, content: string | Uint8Array): Promise<void> {
  await writeFile(join(dir, `${name}.tmp`), content);
  await rename(join(dir, `${name}.tmp`), join(dir, name));
}

export async function writeConfig(dataDir: string, config: Readonly<Record<string, unknown>>): Promise<void> {
  await writeFile(join(dataDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  /** stdout and stderr, interleaved, the last 256 KiB. */
  output(): string;
  stdout(): string;
  stderr(): string;
}

function spawnNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, [...NODE_ARGS, script, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let all = '';
  let out = '';
  let err = '';
  const keep = (s: string): string => (s.length > MAX_OUTPUT_CHARS ? s.slice(-MAX_OUTPUT_CHARS) : s);
  child.stdout!.on('data', (d: Buffer) => {
    out = keep(out + d.toString());
    all = keep(all + d.toString());
  });
  child.stderr!.on('data', (d: Buffer) => {
    err = keep(err + d.toString());
    all = keep(all + d.toString());
  });
  // 'close', not 'exit': only then has all output been read.
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited, output: () => all, stdout: () => out, stderr: () => err };
}

/** Waits for a child's exit; SIGKILLs it and throws when it takes longer than `timeoutMs`. */
async function exitWithin(s: Spawned, timeoutMs: number, what: string): Promise<Exit> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([s.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    s.child.kill('SIGKILL');
    await s.exited;
    throw new Error(`${what} did not exit within ${timeoutMs} ms; output:\n${s.output().slice(-4000)}`);
  }
  return result;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `safechain ARGS...` to completion (at most `timeoutMs`). */
export async function runCli(args: readonly string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const s = spawnNode(CLI_MAIN, args, options.env);
  const exit = await exitWithin(s, options.timeoutMs ?? 60_000, `safechain ${args.join(' ')}`);
  return { code: exit.code, stdout: s.stdout(), stderr: s.stderr() };
}

/** Runs the full-node app expecting it to exit by itself (a refused configuration, say). */
export async function runAppToExit(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CliResult> {
  const s = spawnNode(APP_MAIN.full, args, options.env);
  const exit = await exitWithin(s, options.timeoutMs ?? 60_000, `full-node ${args.join(' ')}`);
  return { code: exit.code, stdout: s.stdout(), stderr: s.stderr() };
}

/** A running node process with its API base URL. */
export interface NodeProcess extends Spawned {
  readonly url: string;
  /** SIGTERM, then the exit (SIGKILL and an error after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<Exit>;
  /** SIGKILL: a crash. */
  kill(): Promise<Exit>;
}

const BANNER_API = /^ {2}api {7}(http:\/\/\S+)$/m;

async function untilBanner(s: Spawned, what: string, timeoutMs: number): Promise<NodeProcess> {
  let exit: Exit | undefined;
  void s.exited.then((e) => (exit = e));
  const url = await waitFor(
    `${what} to print its API address`,
    () => {
      if (exit !== undefined) {
        throw new Error(`${what} exited (code ${String(exit.code)}, signal ${String(exit.signal)}) before it was up; output:\n${s.output().slice(-4000)}`);
      }
      return BANNER_API.exec(s.stdout())?.[1];
    },
    timeoutMs,
    50,
  ).catch((error: unknown) => {
    s.child.kill('SIGKILL');
    throw error;
  });
  return {
    ...s,
    url,
    stop: async (stopTimeoutMs = 30_000) => {
      s.child.kill('SIGTERM');
      return exitWithin(s, stopTimeoutMs, `${what} after SIGTERM`);
    },
    kill: async () => {
      s.child.kill('SIGKILL');
      return s.exited;
    },
  };
}

/** Starts `apps/full-node` on `dataDir` with its API on 127.0.0.1:`port` and waits until the API listens. */
export async function startFullNode(
  dataDir: string,
  options: { port?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<NodeProcess> {
  const port = options.port ?? (await freePort());
  const s = spawnNode(APP_MAIN.full, ['--data', dataDir, '--api', `127.0.0.1:${port}`], options.env);
  return untilBanner(s, 'the full node', options.timeoutMs ?? 60_000);
}

/** Starts `safechain start --data DIR` and waits until the API listens. */
export async function startWithCli(
  dataDir: string,
  options: { port?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<NodeProcess> {
  const port = options.port ?? (await freePort());
  const s = spawnNode(CLI_MAIN, ['start', '--data', dataDir, '--api', `127.0.0.1:${port}`], options.env);
  return untilBanner(s, 'safechain start', options.timeoutMs ?? 60_000);
}

/** SIGKILLs every child these helpers started that is still running, and waits for them. */
export async function killChildren(): Promise<void> {
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

// ---- HTTP ----

export interface HttpResult<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
  readonly text: string;
}

/** One request; the body is parsed as JSON when it is JSON, else left as text. */
export async function http<T = Record<string, unknown>>(url: string, init: RequestInit = {}, timeoutMs = 30_000): Promise<HttpResult<T>> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

export const getJson = <T = Record<string, unknown>>(url: string): Promise<HttpResult<T>> => http<T>(url);

export const postJson = <T = Record<string, unknown>>(url: string, value: unknown): Promise<HttpResult<T>> =>
  http<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });

export const postNdjson = <T = Record<string, unknown>>(url: string, lines: readonly unknown[]): Promise<HttpResult<T>> =>
  http<T>(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
  });

/** The views the API answers with (the fields the tests read). */
export interface TxView {
  readonly id: string;
  readonly status: 'pending' | 'committed';
  readonly block: { readonly blockHash: string; readonly height: number; readonly index: number } | null;
  readonly origin: string;
  readonly sequence: number;
  readonly contentType: string;
  readonly source: string | null;
  readonly traceCodes: readonly string[];
  readonly payloadHash: string;
  readonly payloadSize: number;
  readonly payload: string | null;
}

export interface BlockView {
  readonly hash: string;
  readonly height: number;
  readonly previousHash: string;
  readonly merkleRoot: string;
  readonly txCount: number;
  readonly canonical: boolean;
  readonly transactionIds: readonly string[];
}

export interface StatusView {
  readonly type: string;
  readonly identity: string;
  readonly chainId: string;
  readonly height: number;
  readonly tip: string;
  readonly mempool: { readonly count: number; readonly bytes: number };
  readonly store: { readonly kind: string; readonly bytes: number };
  readonly ingest: { readonly inbox: string | null; readonly files: number; readonly rejected: number };
}

export async function status(url: string): Promise<StatusView> {
  const r = await getJson<StatusView>(`${url}/v1/status`);
  if (r.status !== 200) throw new Error(`GET /v1/status: ${r.status} ${r.text}`);
  return r.body;
}

/** Waits until the transaction is in a block and returns its view. */
export async function waitCommitted(url: string, id: string, timeoutMs = 30_000): Promise<TxView> {
  return waitFor(
    `transaction ${id} to be committed`,
    async () => {
      const r = await getJson<TxView>(`${url}/v1/transactions/${id}?payload=false`);
      return r.status === 200 && r.body.status === 'committed' ? r.body : undefined;
    },
    timeoutMs,
    50,
  );
}

/** Every canonical block from height 1 to the tip, walked through GET /v1/blocks/:height. */
export async function canonicalBlocks(url: string): Promise<BlockView[]> {
  const tip = (await status(url)).height;
  const blocks: BlockView[] = [];
  for (let h = 1; h <= tip; h++) {
    const r = await getJson<BlockView>(`${url}/v1/blocks/${h}`);
    if (r.status !== 200) throw new Error(`GET /v1/blocks/${h}: ${r.status} ${r.text}`);
    blocks.push(r.body);
  }
  return blocks;
}

/** Runs `task` over `items` with at most `concurrency` at once. */
export async function mapLimit<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}
