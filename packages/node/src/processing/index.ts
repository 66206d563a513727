export {
  ProcessingPool,
  planChunks,
  type ProcessingLogger,
  type ProcessingPoolOptions,
  type ProcessingPoolStats,
  type RecordDraft,
  type SignedRecord,
  type VerifyOptions,
} from './pool.js';
export {
  NoSigningKeyError,
  ProcessingPoolStoppedError,
  ProcessingTaskError,
  WorkerCrashedError,
  WorkerStartError,
} from './errors.js';
