import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { applyOverrides, ConfigError, overridesFromEnv, parseConfig, type ConfigOverrides, type Json, type NodeType } from './config.js';
import { CONFIG_FILE, DataDirError, initDataDir, readRawConfig, resolveIn, type ConsensusChoice } from './data-dir.js';
import { createLogger } from './logger.js';
import { SafechainNode } from './node.js';

/**
 * Starting a node from a data folder, as the apps and `safechain start` do: configuration from the file, then the
 * environment, then flags; a startup banner; a clean stop on SIGINT or SIGTERM.
 */

export interface RunNodeOptions {
  readonly dataDir: string;
  /** The type an app stands for; a data folder set up for another type is refused. */
  readonly type?: NodeType;
  /** Flag overrides (the environment is read too, under them). */
  readonly flags?: ConfigOverrides;
  /** Set the folder up first when it has no configuration yet (apps do; `safechain start` does not). */
  readonly initIfMissing?: { readonly consensus: ConsensusChoice };
  /** Where the banner goes. */
  readonly out?: (line: string) => void;
  readonly env?: NodeJS.ProcessEnv;
}

/** Loads, validates and starts; resolves with the running node. @throws ConfigError, DataDirError, store errors */
export async function startNodeFromDataDir(options: RunNodeOptions): Promise<SafechainNode> {
  const dataDir = options.dataDir;
  if (options.initIfMissing !== undefined) {
    // Idempotent: creates only what is missing (key, genesis, config, folders) and keeps the rest.
    await initDataDir({ dataDir, type: options.type ?? 'full', consensus: options.initIfMissing.consensus });
  } else {
    const hasConfig = await access(join(dataDir, CONFIG_FILE)).then(
      () => true,
      () => false,
    );
    if (!hasConfig) throw new DataDirError(`${dataDir} has no ${CONFIG_FILE}: run "safechain init --data ${dataDir}" first`);
  }
  const raw = await readRawConfig(dataDir);
  const merged = applyOverrides(raw as Record<string, Json>, overridesFromEnv(options.env ?? process.env), options.flags ?? {});
  const config = parseConfig(merged, options.type ?? 'full');
  if (options.type !== undefined && config.type !== options.type) {
    throw new ConfigError('type', `${dataDir} is set up for a ${config.type} node, not a ${options.type} node`);
  }
  const node = await SafechainNode.start({ dataDir, config, logger: createLogger(config.log.level) });
  const out = options.out ?? ((line: string): void => void process.stdout.write(`${line}\n`));
  const tip = node.tree.tip;
  out(`safechain ${config.type} node`);
  out(`  identity  ${node.key.id}`);
  out(`  chain     ${node.spec.name} ${Buffer.from(node.chainId).toString('hex')} (consensus ${node.spec.consensus.engine}), height ${tip.height}`);
  out(`  store     ${node.store.kind} in ${join(dataDir, 'chain')}`);
  out(`  api       ${node.apiUrl ?? 'disabled'}`);
  out(`  inbox     ${node.ingest === null ? 'disabled' : `${resolveIn(dataDir, config.ingest.inbox)}  (drop files here)`}`);
  out(`  blocks    ${node.producer === null ? 'not produced here' : `every ${config.producer.blockIntervalMs} ms`}`);
  return node;
}

/** How long a stopped node's process may take to end by itself before it is ended. */
const EXIT_GRACE_MS = 3_000;

/**
 * Runs a node until SIGINT or SIGTERM, then stops it cleanly and resolves with the exit code. A second signal
 * during the stop exits at once.
 */
export async function runNodeUntilSignal(options: RunNodeOptions): Promise<number> {
  const node = await startNodeFromDataDir(options);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`safechain: ${signal} again, exiting without a clean stop\n`);
        process.exit(130);
      }
      stopping = true;
      node.log.info('stopping', { signal });
      node.stop().then(
        () => {
          // Stopped: the process should now end by itself. Should a handle still hold it (a bug), say which and end
          // anyway rather than hang a service manager's stop. The timer does not itself keep the process alive.
          setTimeout(() => {
            node.log.warn('stopped, but the process did not end; exiting', { resources: process.getActiveResourcesInfo() });
            process.exit(0);
          }, EXIT_GRACE_MS).unref();
          resolve(0);
        },
        (error: unknown) => {
          node.log.error('clean stop failed', { error });
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
