import { parseArgs } from 'node:util';
import type { NodeType } from './config.js';
import type { ConsensusChoice } from './data-dir.js';
import { runNodeUntilSignal } from './run.js';

/** Errors a user fixes: a clear line on stderr and exit 2, no stack trace. */
const USER_ERRORS = new Set(['ConfigError', 'DataDirError', 'InvalidGenesisFileError', 'InvalidKeyError', 'GenesisMismatchError', 'StoreLockedError']);

/**
 * The body of every node app (`apps/full-node`, `apps/thin-node`, ...): parse flags, set the data folder up on first
 * start, run until SIGINT/SIGTERM. Resolves with the process exit code.
 */
export async function runNodeApp(type: NodeType, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        data: { type: 'string' },
        api: { type: 'string' },
        store: { type: 'string' },
        p2p: { type: 'string' },
        seeds: { type: 'string' },
        consensus: { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(
      `safechain ${type} node\n\n  --data DIR          data folder (default $SAFECHAIN_DATA or ./data); set up on first start\n` +
        `  --api HOST:PORT     HTTP API address (default 127.0.0.1:7070)\n  --store KIND        sqlite (default), fs or memory\n` +
        `  --p2p HOST:PORT     enable the local network on this address\n  --seeds H:P,...     seed nodes to join through\n` +
        `  --consensus NAME    single (default), poa or pow, for a new chain\n`,
    );
    return 0;
  }
  const consensus = (values.consensus ?? 'single') as ConsensusChoice;
  if (!['single', 'poa', 'pow'].includes(consensus)) {
    process.stderr.write('--consensus: expected single, poa or pow\n');
    return 2;
  }
  try {
    return await runNodeUntilSignal({
      dataDir: values.data ?? env['SAFECHAIN_DATA'] ?? 'data',
      type,
      initIfMissing: { consensus },
      env,
      flags: {
        ...(values.api !== undefined ? { api: values.api } : {}),
        ...(values.store !== undefined ? { store: values.store } : {}),
        ...(values.p2p !== undefined ? { p2p: values.p2p } : {}),
        ...(values.seeds !== undefined ? { seeds: values.seeds } : {}),
      },
    });
  } catch (error) {
    if (error instanceof Error && USER_ERRORS.has(error.name)) {
      process.stderr.write(`safechain: ${error.message}\n`);
      return 2;
    }
    // Anything else that stops a start (a folder that cannot be created, a port in use): one line, exit 1.
    process.stderr.write(`safechain: cannot start the node: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}\n`);
    return 1;
  }
}
