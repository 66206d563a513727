import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Summarises V8 CPU profiles (`node --cpu-prof`) into where the time goes: self time of every sampled function,
 * grouped into categories a reader of the node's design recognises (sign, hash, encode, store, HTTP, parse, ...).
 * Native frames (no script URL: JSON.parse, a SQLite statement, OpenSSL) are charged to the nearest caller that has
 * one, so `JSON.parse` called by the API counts as parsing and a statement run by the store counts as store.
 * Only samples inside a time window are counted (the load phase, not start-up).
 */

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export const CATEGORIES = [
  'sign (ed25519)',
  'verify (ed25519)',
  'hash (SHA-256, Merkle)',
  'encode/decode/checks (core codec)',
  'hex ids and map keys',
  'store (SQLite, CRC)',
  'query index (archive)',
  'HTTP (sockets, fastify)',
  'parse (NDJSON, base64)',
  'worker hand-off (pack, postMessage)',
  'chain logic (mempool, tree, producer)',
  'node service (API handlers, ingest)',
  'GC',
  'V8/native other',
  'start-up (module loading)',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number] | 'idle';

/** Helpers of Node's own library that are charged to whoever called them (a Buffer copy, a text encoder). */
const TRANSPARENT = /^node:(buffer|internal\/buffer|internal\/encoding|internal\/util|internal\/validators|internal\/errors|internal\/webidl)/;

function rel(url: string): string {
  return url.replace(/^file:\/\//, '').replace(/^.*\/(packages|apps|node_modules)\//, '$1/');
}

function categorise(fn: string, url: string): Category {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)' || fn === '(root)') return 'V8/native other';
  if (fn === 'toHex' || fn === 'fromHex') return 'hex ids and map keys';
  if (fn === 'fromBase64' || url.includes('/api/server.')) return 'parse (NDJSON, base64)';
  if (url.startsWith('node:internal/crypto/sig')) return fn.toLowerCase().includes('verify') ? 'verify (ed25519)' : 'sign (ed25519)';
  if (url.startsWith('node:internal/crypto/hash') || /sha256-(merkle|compress)|core\/src\/merkle/.test(url)) return 'hash (SHA-256, Merkle)';
  if (url.includes('query-index')) return 'query index (archive)';
  if (url.includes('core/src/crypto/node') || url.includes('core/src/crypto/signature')) {
    return /sign/i.test(fn) && !/verify/i.test(fn) ? 'sign (ed25519)' : /verify|publicKeyObject/i.test(fn) ? 'verify (ed25519)' : 'hash (SHA-256, Merkle)';
  }
  if (url.includes('core/src/crypto/ed25519-rules')) return 'verify (ed25519)';
  if (url.includes('packages/core/src')) return 'encode/decode/checks (core codec)';
  if (url.includes('storage-sqlite') || url.includes('better-sqlite3') || url.includes('packages/storage/src')) return 'store (SQLite, CRC)';
  if (url.includes('processing/') || url.startsWith('node:internal/worker') || url.startsWith('node:worker_threads') || fn === 'postMessage') {
    return 'worker hand-off (pack, postMessage)';
  }
  if (url.includes('packages/chain/src')) return 'chain logic (mempool, tree, producer)';
  if (url.includes('packages/node/src')) return 'node service (API handlers, ingest)';
  if (url.includes('tsx') || url.includes('esbuild') || url.startsWith('node:internal/modules')) return 'start-up (module loading)';
  if (
    url.startsWith('node:_http') ||
    url.startsWith('node:net') ||
    url.startsWith('node:internal/http') ||
    url.startsWith('node:internal/stream') ||
    url.startsWith('node:stream') ||
    url.startsWith('node:events') ||
    url.startsWith('node:internal/streams') ||
    url.startsWith('node:internal/net') ||
    url.startsWith('node:internal/async_hooks') ||
    url.startsWith('node:internal/timers') ||
    url.startsWith('node:internal/process/task_queues') ||
    /fastify|find-my-way|avvio|light-my-request|secure-json-parse|fast-json-stringify|toad-cache|fast-querystring|abstract-logging|pino|mercurius/.test(url)
  ) {
    return 'HTTP (sockets, fastify)';
  }
  return 'other';
}

export interface FunctionTime {
  readonly name: string;
  readonly where: string;
  readonly category: Category;
  readonly ms: number;
}

export interface ProfileSummary {
  /** Milliseconds of samples inside the window, idle included. */
  readonly windowMs: number;
  /** Milliseconds the thread was busy (not idle). */
  readonly busyMs: number;
  readonly byCategory: ReadonlyMap<Category, number>;
  readonly topFunctions: readonly FunctionTime[];
}

/**
 * Self time by category over the samples whose timestamps fall within [fromUs, toUs] (microseconds of the
 * monotonic clock, the clock `process.hrtime` reads; V8 stamps samples with it).
 */
export function summariseProfile(profile: CpuProfile, fromUs = -Infinity, toUs = Infinity, top = 15): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Resolve each node once: the frame whose URL decides its category (its own, or its nearest caller's).
  const resolved = new Map<number, { name: string; where: string; category: Category }>();
  const resolve = (id: number): { name: string; where: string; category: Category } => {
    const hit = resolved.get(id);
    if (hit !== undefined) return hit;
    const node = byId.get(id)!;
    const fn = node.callFrame.functionName || '(anonymous)';
    let url = node.callFrame.url;
    let up = parent.get(id);
    for (let hops = 0; (url === '' || TRANSPARENT.test(url)) && up !== undefined && hops < 64; hops++) {
      const p = byId.get(up)!;
      url = p.callFrame.url;
      up = parent.get(up);
    }
    const special = node.callFrame.functionName.startsWith('(');
    const category = categorise(fn, special ? '' : url);
    const out = { name: fn, where: node.callFrame.url === '' ? `native, from ${rel(url) || '?'}` : `${rel(url)}:${node.callFrame.lineNumber + 1}`, category };
    resolved.set(id, out);
    return out;
  };
  const byCategory = new Map<Category, number>();
  const byFunction = new Map<string, FunctionTime>();
  let at = profile.startTime;
  let windowUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < fromUs || at > toUs) continue;
    const r = resolve(profile.samples[i]!);
    windowUs += delta;
    if (r.category === 'idle') idleUs += delta;
    byCategory.set(r.category, (byCategory.get(r.category) ?? 0) + delta / 1000);
    const key = `${r.name}@${r.where}`;
    const f = byFunction.get(key);
    byFunction.set(key, { name: r.name, where: r.where, category: r.category, ms: (f?.ms ?? 0) + delta / 1000 });
  }
  const topFunctions = [...byFunction.values()].filter((f) => f.category !== 'idle').sort((a, b) => b.ms - a.ms).slice(0, top);
  return { windowMs: windowUs / 1000, busyMs: (windowUs - idleUs) / 1000, byCategory, topFunctions };
}

/** The profiles in `dir`: the main thread's first (thread 0 in the file name), then the others. */
export function readProfiles(dir: string): { readonly file: string; readonly thread: number; readonly profile: CpuProfile }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((file) => ({ file, thread: Number(/\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1] ?? -1), profile: JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile }))
    .sort((a, b) => a.thread - b.thread);
}
