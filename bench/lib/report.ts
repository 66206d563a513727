import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (bench/lib/ is two levels down). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly freeMemoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine. */
  readonly loadAverage: readonly number[];
  readonly date: string;
  readonly command: string;
}

function cpuModel(): string {
  const fromOs = cpus()[0]?.model;
  if (fromOs !== undefined && fromOs.trim() !== '') return fromOs.trim();
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line?.split(':')[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineFacts(command: string): MachineFacts {
  return {
    cores: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemoryGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
    command,
  };
}

/** The machine's load average now, for the report (colleagues' tests share the cores). */
export function loadNow(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** A plain-text table with aligned columns; numbers right-aligned. */
export function textTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+~<>]?[\d,.]+( ?%| ms| s| MiB|x)?$|^-$/.test((r[i] ?? '').trim())));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The same table in markdown. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function machineMarkdown(m: MachineFacts): string {
  return markdownTable(
    ['fact', 'value'],
    [
      ['cores (availableParallelism)', String(m.cores)],
      ['CPU', m.cpuModel],
      ['memory', `${m.memoryGiB} GiB (${m.freeMemoryGiB} GiB free at start)`],
      ['Node', m.node],
      ['platform', m.platform],
      ['load average at start (1/5/15 min)', m.loadAverage.join(' / ')],
      ['date', m.date],
      ['command', `\`${m.command}\``],
    ],
  );
}

/**
 * Appends the run's JSON line to `bench/results/<name>-<day>.jsonl` and writes the markdown report to
 * `bench/results/<name>-<timestamp>.md`. Returns the markdown path.
 */
export function writeResults(name: string, markdown: string, json: Readonly<Record<string, unknown>>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const day = stamp.slice(0, 10);
  const md = join(RESULTS_DIR, `${name}-${stamp}.md`);
  writeFileSync(md, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  appendFileSync(join(RESULTS_DIR, `${name}-${day}.jsonl`), `${JSON.stringify(json)}\n`);
  return md;
}

/** Prints progress to stderr, so stdout holds the table and the closing JSON line only. */
export function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}
