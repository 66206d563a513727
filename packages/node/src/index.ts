/**
 * `@safechain/node`: assembles the modules a configuration enables (Ingest, Processing, Block Producer, Block Tree,
 * Storage with its retention filter, API) into a running node of one of the paper's four types.
 */
export { AlreadySealedError, SafechainNode, NodeNotReadyError, RecordRejectedError, type NodeStartOptions } from './node.js';
export { SealGuard, SealRecordCorruptError } from './seal-guard.js';
export {
  applyOverrides,
  ConfigError,
  defaultConfig,
  ENV_OVERRIDES,
  NODE_TYPES,
  overridesFromEnv,
  parseConfig,
  parseHostPort,
  type ConfigOverrides,
  type NodeConfig,
  type NodeType,
} from './config.js';
export {
  CONFIG_FILE,
  DataDirError,
  encodeGenesisFile,
  GENESIS_FILE,
  initDataDir,
  InvalidGenesisFileError,
  KEY_FILE,
  loadConfig,
  loadGenesis,
  loadNodeKey,
  newChainSpec,
  parseGenesisFile,
  type ConsensusChoice,
  type InitOptions,
  type InitResult,
} from './data-dir.js';
export { runNodeUntilSignal, startNodeFromDataDir, type RunNodeOptions } from './run.js';
export { runNodeApp } from './app.js';
export { checkDataDir, type DbCheckProgress, type DbCheckReport } from './db-check.js';
export { openStore } from './stores.js';
export { createLogger, type Logger, type LogLevel } from './logger.js';
export { Metrics } from './metrics.js';
export { createApiServer, type ApiOptions } from './api/server.js';
export type * from './api/service.js';
export * from './ingest/index.js';
export * from './processing/index.js';
