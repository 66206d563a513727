import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir } from '../../packages/node/src/data-dir.js';
import { REPO_ROOT } from './report.js';

/**
 * A safechain full node as a child process, started from source exactly as an operator would start it
 * (`apps/full-node/src/main.ts --data DIR --api 127.0.0.1:0`), with a data folder the benchmark sets up first.
 * Every child started here is killed when the benchmark exits, however it exits.
 */

const children = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      for (const c of children) c.kill('SIGKILL');
      process.exit(130);
    });
  }
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime in seconds from a /proc stat line (fields 14 and 15; the name in parentheses may hold spaces). */
function statCpuSeconds(line: string): { name: string; seconds: number } {
  const open = line.indexOf('(');
  const close = line.lastIndexOf(')');
  const name = line.slice(open + 1, close);
  const fields = line.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { name, seconds: ticks / ticksPerSecond() };
}

export interface NodeChildOptions {
  /** Written to config.json before the first start (the node validates it). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Extra options for the node binary. */
  readonly nodeArgs?: readonly string[];
  /**
   * Write V8 CPU profiles (`--cpu-prof`) of the main thread and of each worker thread into this folder; they are
   * written when the node exits.
   */
  readonly cpuProfileDir?: string;
  /** Sampling interval of the CPU profiles in microseconds (default 1000). */
  readonly cpuProfileIntervalUs?: number;
  /** Keep the data folder after `stop()` (default: removed). */
  readonly keep?: boolean;
  /** Longest wait for the API to listen. Default 90 s (a loaded machine compiles TypeScript slowly). */
  readonly startTimeoutMs?: number;
}

export class NodeChild {
  readonly dataDir: string;
  readonly apiUrl: string;
  readonly pid: number;
  readonly startedAt: number;
  readonly #child: ChildProcess;
  readonly #keep: boolean;
  #exited: Promise<number | null>;
  #stderrTail: string[];

  private constructor(dataDir: string, apiUrl: string, child: ChildProcess, startedAt: number, keep: boolean, exited: Promise<number | null>, tail: string[]) {
    this.dataDir = dataDir;
    this.apiUrl = apiUrl;
    this.#child = child;
    this.pid = child.pid!;
    this.startedAt = startedAt;
    this.#keep = keep;
    this.#exited = exited;
    this.#stderrTail = tail;
  }

  /** Sets up a fresh data folder and starts the node; resolves once its API listens. */
  static async start(options: NodeChildOptions): Promise<NodeChild> {
    hookExit();
    const dataDir = mkdtempSync(join(tmpdir(), 'safechain-bench-'));
    await initDataDir({ dataDir, type: 'full', consensus: 'single', chainName: 'bench', config: options.config });
    const args = [
      '--conditions=@safechain/source',
      '--import',
      'tsx',
      ...(options.cpuProfileDir === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-interval=${options.cpuProfileIntervalUs ?? 1000}`]),
      ...(options.nodeArgs ?? []),
      join('apps', 'full-node', 'src', 'main.ts'),
      '--data',
      dataDir,
      '--api',
      '127.0.0.1:0',
    ];
    const startedAt = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      });
    });
    const log = createWriteStream(join(dataDir, 'node.log'));
    const tail: string[] = [];
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      for (const l of chunk.toString('utf8').split('\n')) {
        if (l.trim() === '') continue;
        tail.push(l);
        if (tail.length > 20) tail.shift();
      }
    });
    const apiUrl = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`node did not start within ${options.startTimeoutMs ?? 90_000} ms`)), options.startTimeoutMs ?? 90_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        log.write(chunk);
        out += chunk.toString('utf8');
        const m = /api\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`node exited with code ${String(code)} before listening:\n${tail.join('\n')}`));
      });
    });
    return new NodeChild(dataDir, apiUrl, child, startedAt, options.keep ?? false, exited, tail);
  }

  /** CPU seconds (user + system) of the whole process so far, all threads. */
  cpuSeconds(): number {
    try {
      return statCpuSeconds(readFileSync(`/proc/${this.pid}/stat`, 'utf8')).seconds;
    } catch {
      return Number.NaN;
    }
  }

  /** CPU seconds per thread, by thread id, with the thread's name. */
  threadCpu(): Map<number, { name: string; seconds: number }> {
    const out = new Map<number, { name: string; seconds: number }>();
    try {
      for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
        try {
          out.set(Number(tid), statCpuSeconds(readFileSync(`/proc/${this.pid}/task/${tid}/stat`, 'utf8')));
        } catch {
          // The thread ended between listing and reading.
        }
      }
    } catch {
      // The process is gone.
    }
    return out;
  }

  /** Resident memory now and its peak (VmHWM), MiB. */
  memory(): { rssMb: number; peakMb: number } {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
      return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
    } catch {
      return { rssMb: Number.NaN, peakMb: Number.NaN };
    }
  }

  /** The last lines the node wrote to stderr (its log). */
  logTail(): string {
    return this.#stderrTail.join('\n');
  }

  get running(): boolean {
    return children.has(this.#child);
  }

  /** SIGTERM (a clean stop), SIGKILL after `graceMs`; then removes the data folder unless kept. */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.running) this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    const code = await this.#exited;
    clearTimeout(timer);
    if (!this.#keep) rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }

  /** Kills at once (used on failure paths). */
  kill(): void {
    this.#child.kill('SIGKILL');
  }
}
