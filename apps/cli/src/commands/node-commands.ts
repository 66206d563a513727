import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  checkDataDir,
  initDataDir,
  NODE_TYPES,
  runNodeUntilSignal,
  type ConsensusChoice,
  type NodeType,
} from '@safechain/node';
import { CliError, EXIT, type Io } from '../cli-error.js';
import { apiBase, apiError, request } from './api-client.js';

const CONSENSUS: readonly ConsensusChoice[] = ['single', 'poa', 'pow'];

export async function initCommand(
  o: { readonly data?: string; readonly type?: string; readonly consensus?: string; readonly genesis?: string; readonly name?: string },
  io: Io,
): Promise<number> {
  if (o.data === undefined) throw new CliError('missing --data DIR');
  const type = (o.type ?? 'full') as NodeType;
  if (!NODE_TYPES.includes(type)) throw new CliError(`--type: expected one of ${NODE_TYPES.join(', ')}`);
  const consensus = (o.consensus ?? 'single') as ConsensusChoice;
  if (!CONSENSUS.includes(consensus)) throw new CliError(`--consensus: expected one of ${CONSENSUS.join(', ')}`);
  const r = await initDataDir({
    dataDir: o.data,
    type,
    consensus,
    ...(o.genesis !== undefined ? { genesisFile: o.genesis } : {}),
    ...(o.name !== undefined ? { chainName: o.name } : {}),
  });
  io.out(`data folder ${o.data} ready for a ${type} node`);
  io.out(`  identity ${r.identity}${r.created.key ? ' (new key, node.key mode 0600)' : ' (existing key)'}`);
  io.out(`  chain    ${r.chainId}${r.created.genesis ? (o.genesis !== undefined ? ' (joined)' : ` (new ${consensus} chain)`) : ' (existing)'}`);
  io.out(`  start it with: safechain start --data ${o.data}`);
  return EXIT.ok;
}

export async function startCommand(
  o: { readonly data?: string; readonly api?: string; readonly store?: string; readonly p2p?: string; readonly seeds?: string },
  io: Io,
): Promise<number> {
  if (o.data === undefined) throw new CliError('missing --data DIR');
  return runNodeUntilSignal({
    dataDir: o.data,
    flags: {
      ...(o.api !== undefined ? { api: o.api } : {}),
      ...(o.store !== undefined ? { store: o.store } : {}),
      ...(o.p2p !== undefined ? { p2p: o.p2p } : {}),
      ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
    },
    out: io.out,
  });
}

export async function statusCommand(o: { readonly api?: string }, io: Io): Promise<number> {
  const r = await request(apiBase(o.api), '/v1/status');
  if (r.status !== 200) throw new CliError(apiError(r), EXIT.invalid);
  io.out(JSON.stringify(r.body, null, 2));
  return EXIT.ok;
}

const MAX_INGEST_FILE = 64 * 1024 * 1024;

export async function ingestCommand(
  o: { readonly api?: string; readonly files: readonly string[]; readonly contentType?: string; readonly traceCodes: readonly string[] },
  io: Io,
): Promise<number> {
  if (o.files.length === 0) throw new CliError('missing FILE...');
  const base = apiBase(o.api);
  for (const file of o.files) {
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) throw new CliError(`${file}: not a readable file`);
    if (info.size > MAX_INGEST_FILE) throw new CliError(`${file}: over ${MAX_INGEST_FILE} bytes`);
    const body = await readFile(file);
    const headers: Record<string, string> = {
      'content-type': o.contentType ?? 'application/octet-stream',
      'x-safechain-source': encodeURIComponent(basename(file)),
    };
    if (o.traceCodes.length > 0) headers['x-safechain-trace-codes'] = o.traceCodes.map(encodeURIComponent).join(',');
    const r = await request(base, '/v1/records', { method: 'POST', body, headers });
    if (r.status !== 202) throw new CliError(`${file}: ${apiError(r)}`, EXIT.invalid);
    io.out(`${(r.body as { id: string }).id}  ${file}`);
  }
  return EXIT.ok;
}

export async function txCommand(o: { readonly api?: string; readonly id?: string }, io: Io): Promise<number> {
  if (o.id === undefined) throw new CliError('missing ID');
  const r = await request(apiBase(o.api), `/v1/transactions/${encodeURIComponent(o.id)}`);
  if (r.status !== 200) {
    io.err(`safechain: ${apiError(r)}`);
    return r.status === 400 ? EXIT.usage : EXIT.invalid;
  }
  io.out(JSON.stringify(r.body, null, 2));
  return EXIT.ok;
}

/** Prints the proof bundle; exit 3 while the transaction is not yet in a block. */
export async function proofCommand(o: { readonly api?: string; readonly id?: string }, io: Io): Promise<number> {
  if (o.id === undefined) throw new CliError('missing ID');
  const r = await request(apiBase(o.api), `/v1/proofs/${encodeURIComponent(o.id)}`);
  if (r.status === 409) {
    io.err(`safechain: ${apiError(r)}`);
    return EXIT.notYet;
  }
  if (r.status !== 200) {
    io.err(`safechain: ${apiError(r)}`);
    return r.status === 400 ? EXIT.usage : EXIT.invalid;
  }
  io.out(JSON.stringify(r.body, null, 2));
  return EXIT.ok;
}

export async function dbCheckCommand(o: { readonly data?: string }, io: Io): Promise<number> {
  if (o.data === undefined) throw new CliError('missing --data DIR');
  let last = 0;
  const report = await checkDataDir(o.data, (p) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    io.err(`checking ${p.phase}: ${p.done} done (height ${p.height})`);
  });
  if (report.ok) {
    io.out(`chain OK: ${report.blocks} blocks, ${report.transactions} transactions, tip height ${report.tipHeight}`);
    return EXIT.ok;
  }
  const p = report.problem;
  io.out(`chain BAD at height ${p.height}${p.hash !== undefined ? ` block ${p.hash}` : ''}: ${p.reason}: ${p.message}`);
  return EXIT.invalid;
}
