import { SafechainError } from '@safechain/core';

/**
 * Node configuration: `config.json` in the data folder, overridden by environment variables, then by flags.
 * Every value is validated with a message naming the key, what was expected and what was found; unknown keys are
 * errors, because a misspelt key silently ignored is a node that does not do what its operator thinks.
 */

/** The paper's node types (Table I). */
export type NodeType = 'full' | 'thin' | 'archive' | 'producer';
export const NODE_TYPES: readonly NodeType[] = ['full', 'thin', 'archive', 'producer'];

export interface NodeConfig {
  readonly type: NodeType;
  readonly store: { readonly kind: 'sqlite' | 'fs' | 'memory'; readonly maxBytes: number | null };
  readonly api: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    /** Largest request body, bytes. */
    readonly maxBodyBytes: number;
    /** Most records in one batch request. */
    readonly maxBatchRecords: number;
  };
  readonly ingest: {
    readonly enabled: boolean;
    /** Folders, relative to the data folder unless absolute. */
    readonly inbox: string;
    readonly processed: string;
    readonly rejected: string;
    /** Delete ingested files instead of moving them to `processed`. */
    readonly deleteProcessed: boolean;
    /** Largest file taken, bytes. */
    readonly maxFileBytes: number;
    /** File name extensions taken (without dot); empty: any. */
    readonly extensions: readonly string[];
    /** `file`: one file is one transaction; `jsonl`/`csv`: each line a record. */
    readonly mode: 'file' | 'jsonl' | 'csv';
    /** Line modes: records per transaction. */
    readonly recordsPerTransaction: number;
    /** A regular expression on the file name; its named group `code` becomes a trace code. */
    readonly traceCodePattern: string | null;
    /** Content type by extension, e.g. `{ "csv": "text/csv" }`. */
    readonly contentTypes: Readonly<Record<string, string>>;
  };
  readonly producer: {
    readonly blockIntervalMs: number;
    readonly maxBlockBytes: number;
    readonly maxBlockTransactions: number;
    readonly emptyBlocks: boolean;
  };
  readonly mempool: { readonly maxCount: number; readonly maxBytes: number };
  /** For thin and producer nodes: what is kept in full besides the node's own transactions. */
  readonly retention: {
    readonly origins: readonly string[];
    readonly contentTypes: readonly string[];
    readonly traceCodes: readonly string[];
  };
  readonly processing: { readonly workers: number };
  readonly network: {
    readonly enabled: boolean;
    readonly host: string;
    readonly port: number;
    readonly seeds: readonly string[];
    readonly maxOutbound: number;
    /** Node keys (hex) admitted to the network; empty: the validators/producers of genesis plus this node. */
    readonly allow: readonly string[];
  };
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error' | 'silent' };
}

/** The configuration file or an override is invalid; `key` names the setting. */
export class ConfigError extends SafechainError {
  override readonly name = 'ConfigError' as const;
  readonly key: string;

  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.key = key;
  }
}

export function defaultConfig(type: NodeType): NodeConfig {
  return {
    type,
    store: { kind: 'sqlite', maxBytes: null },
    api: { enabled: true, host: '127.0.0.1', port: 7070, maxBodyBytes: 16 * 1024 * 1024, maxBatchRecords: 10_000 },
    ingest: {
      enabled: true,
      inbox: 'inbox',
      processed: 'processed',
      rejected: 'rejected',
      deleteProcessed: false,
      maxFileBytes: 16 * 1024 * 1024,
      extensions: [],
      mode: 'file',
      recordsPerTransaction: 1,
      traceCodePattern: null,
      contentTypes: { json: 'application/json', jsonl: 'application/x-ndjson', csv: 'text/csv', txt: 'text/plain', xml: 'application/xml' },
    },
    producer: { blockIntervalMs: 1000, maxBlockBytes: 8 * 1024 * 1024, maxBlockTransactions: 10_000, emptyBlocks: false },
    mempool: { maxCount: 200_000, maxBytes: 256 * 1024 * 1024 },
    retention: { origins: [], contentTypes: [], traceCodes: [] },
    processing: { workers: 0 },
    network: { enabled: false, host: '127.0.0.1', port: 7171, seeds: [], maxOutbound: 6, allow: [] },
    log: { level: 'info' },
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads one section against its defaults: same keys, same types, ranges checked by `check`. */
function merge<T extends object>(
  key: string,
  defaults: T,
  input: unknown,
  check: (k: string, v: unknown, d: unknown) => unknown,
): T {
  if (input === undefined) return defaults;
  if (!isObject(input)) throw new ConfigError(key, `expected an object, got ${describe(input)}`);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(input)) {
    if (!(k in defaults)) throw new ConfigError(`${key}.${k}`, `unknown setting (known: ${Object.keys(defaults).join(', ')})`);
    out[k] = check(`${key}.${k}`, v, (defaults as Record<string, unknown>)[k]);
  }
  return out as T;
}

function int(key: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(key, `expected an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new ConfigError(key, `expected true or false, got ${describe(v)}`);
  return v;
}

function str(key: string, v: unknown, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new ConfigError(key, `expected a non-empty string, got ${describe(v)}`);
  return v;
}

function oneOf<T extends string>(key: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw new ConfigError(key, `expected one of ${values.join(', ')}, got ${describe(v)}`);
  return v as T;
}

function strings(key: string, v: unknown, pattern?: RegExp, what?: string): string[] {
  if (!Array.isArray(v) || v.length > 10_000) throw new ConfigError(key, `expected an array of strings, got ${describe(v)}`);
  return v.map((s, i) => {
    const value = str(`${key}[${i}]`, s, 1024);
    if (pattern !== undefined && !pattern.test(value)) throw new ConfigError(`${key}[${i}]`, `expected ${what}, got ${describe(value)}`);
    return value;
  });
}

const HEX_KEY = /^[0-9a-f]{64}$/;
const HOST_PORT = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/**
 * Validates a parsed `config.json` (or `{}`) into a complete configuration.
 * @throws ConfigError naming the first bad key.
 */
export function parseConfig(input: unknown, fallbackType: NodeType = 'full'): NodeConfig {
  if (!isObject(input)) throw new ConfigError('config', `expected a JSON object, got ${describe(input)}`);
  const type = input['type'] === undefined ? fallbackType : oneOf('type', input['type'], NODE_TYPES);
  const d = defaultConfig(type);
  const known = new Set(Object.keys(d));
  for (const k of Object.keys(input)) if (!known.has(k)) throw new ConfigError(k, `unknown setting (known: ${[...known].join(', ')})`);

  const store = merge('store', d.store, input['store'], (k, v) =>
    k.endsWith('.kind') ? oneOf(k, v, ['sqlite', 'fs', 'memory'] as const) : v === null ? null : int(k, v, 1024 * 1024, Number.MAX_SAFE_INTEGER),
  );
  const api = merge('api', d.api, input['api'], (k, v) => {
    if (k.endsWith('.enabled')) return bool(k, v);
    if (k.endsWith('.host')) return str(k, v, 255);
    if (k.endsWith('.port')) return int(k, v, 0, 65535);
    if (k.endsWith('.maxBodyBytes')) return int(k, v, 1024, 1024 * 1024 * 1024);
    return int(k, v, 1, 1_000_000);
  });
  const ingest = merge('ingest', d.ingest, input['ingest'], (k, v) => {
    const name = k.slice('ingest.'.length);
    switch (name) {
      case 'enabled':
      case 'deleteProcessed':
        return bool(k, v);
      case 'inbox':
      case 'processed':
      case 'rejected':
        return str(k, v);
      case 'maxFileBytes':
        return int(k, v, 1, 64 * 1024 * 1024);
      case 'extensions':
        return strings(k, v, /^[A-Za-z0-9_-]{1,32}$/, 'an extension without dot');
      case 'mode':
        return oneOf(k, v, ['file', 'jsonl', 'csv'] as const);
      case 'recordsPerTransaction':
        return int(k, v, 1, 1_000_000);
      case 'traceCodePattern': {
        if (v === null) return null;
        const pattern = str(k, v, 1024);
        try {
          const re = new RegExp(pattern);
          if (!re.source.includes('(?<code>')) throw new ConfigError(k, 'the pattern needs a named group (?<code>...)');
        } catch (error) {
          if (error instanceof ConfigError) throw error;
          throw new ConfigError(k, `not a valid regular expression: ${(error as Error).message}`);
        }
        return pattern;
      }
      default: {
        if (!isObject(v)) throw new ConfigError(k, `expected an object of extension to content type, got ${describe(v)}`);
        return Object.fromEntries(Object.entries(v).map(([ext, t]) => [ext, str(`${k}.${ext}`, t, 255)]));
      }
    }
  });
  const producer = merge('producer', d.producer, input['producer'], (k, v) => {
    if (k.endsWith('.emptyBlocks')) return bool(k, v);
    if (k.endsWith('.blockIntervalMs')) return int(k, v, 10, 3_600_000);
    if (k.endsWith('.maxBlockBytes')) return int(k, v, 1024, 256 * 1024 * 1024);
    return int(k, v, 1, 4_194_304);
  });
  const mempool = merge('mempool', d.mempool, input['mempool'], (k, v) =>
    k.endsWith('.maxCount') ? int(k, v, 1, 100_000_000) : int(k, v, 1024, Number.MAX_SAFE_INTEGER),
  );
  const retention = merge('retention', d.retention, input['retention'], (k, v) =>
    k.endsWith('.origins') ? strings(k, v, HEX_KEY, '64 lower-case hex characters') : strings(k, v),
  );
  const processing = merge('processing', d.processing, input['processing'], (k, v) => int(k, v, 0, 256));
  const network = merge('network', d.network, input['network'], (k, v) => {
    const name = k.slice('network.'.length);
    if (name === 'enabled') return bool(k, v);
    if (name === 'host') return str(k, v, 255);
    if (name === 'port') return int(k, v, 0, 65535);
    if (name === 'maxOutbound') return int(k, v, 1, 64);
    if (name === 'seeds') return strings(k, v, HOST_PORT, 'HOST:PORT');
    return strings(k, v, HEX_KEY, '64 lower-case hex characters');
  });
  const log = merge('log', d.log, input['log'], (k, v) => oneOf(k, v, ['debug', 'info', 'warn', 'error', 'silent'] as const));
  return { type, store, api, ingest, producer, mempool, retention, processing, network, log };
}

/** Parses `HOST:PORT` (IPv6 in brackets). @throws ConfigError */
export function parseHostPort(key: string, value: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^\s:]+):(\d{1,5})$/.exec(value);
  if (m === null) throw new ConfigError(key, `expected HOST:PORT, got ${describe(value)}`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: int(key, Number(m[2]), 0, 65535) };
}

/** Overrides from the environment: the variables a container or service manager sets. */
export const ENV_OVERRIDES: Readonly<Record<string, string>> = {
  SAFECHAIN_API: 'api HOST:PORT',
  SAFECHAIN_STORE: 'store.kind',
  SAFECHAIN_LOG_LEVEL: 'log.level',
  SAFECHAIN_WORKERS: 'processing.workers',
  SAFECHAIN_BLOCK_INTERVAL_MS: 'producer.blockIntervalMs',
  SAFECHAIN_P2P: 'network HOST:PORT (enables networking)',
  SAFECHAIN_SEEDS: 'network.seeds, comma-separated',
};

/** Settings that flags and environment variables may override; each is validated again by `parseConfig`. */
export interface ConfigOverrides {
  readonly api?: string;
  readonly store?: string;
  readonly logLevel?: string;
  readonly workers?: string;
  readonly blockIntervalMs?: string;
  readonly p2p?: string;
  readonly seeds?: string;
}

export function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const names: Readonly<Record<keyof ConfigOverrides, string>> = {
    api: 'SAFECHAIN_API',
    store: 'SAFECHAIN_STORE',
    logLevel: 'SAFECHAIN_LOG_LEVEL',
    workers: 'SAFECHAIN_WORKERS',
    blockIntervalMs: 'SAFECHAIN_BLOCK_INTERVAL_MS',
    p2p: 'SAFECHAIN_P2P',
    seeds: 'SAFECHAIN_SEEDS',
  };
  const out: Record<string, string> = {};
  for (const [key, variable] of Object.entries(names)) {
    const value = env[variable];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

function asNumber(key: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new ConfigError(key, `expected a whole number, got ${describe(v)}`);
  return Number(v);
}

/**
 * Applies overrides (environment first, then flags: later wins) to a raw configuration object, before validation.
 * @throws ConfigError
 */
export function applyOverrides(raw: Record<string, Json>, ...layers: readonly ConfigOverrides[]): Record<string, Json> {
  const out = structuredClone(raw);
  const section = (name: string): Record<string, Json> => {
    const s = out[name];
    if (s === undefined) return (out[name] = {});
    if (!isObject(s)) throw new ConfigError(name, `expected an object, got ${describe(s)}`);
    return s as Record<string, Json>;
  };
  for (const o of layers) {
    if (o.api !== undefined) Object.assign(section('api'), parseHostPort('--api', o.api));
    if (o.store !== undefined) section('store')['kind'] = o.store;
    if (o.logLevel !== undefined) section('log')['level'] = o.logLevel;
    if (o.workers !== undefined) section('processing')['workers'] = asNumber('workers', o.workers);
    if (o.blockIntervalMs !== undefined) section('producer')['blockIntervalMs'] = asNumber('blockIntervalMs', o.blockIntervalMs);
    if (o.p2p !== undefined) Object.assign(section('network'), { enabled: true, ...parseHostPort('--p2p', o.p2p) });
    if (o.seeds !== undefined) section('network')['seeds'] = o.seeds.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
  return out;
}

export type { Json };
