export * from './store.js';
export * from './errors.js';
export * from './retention.js';
export { MemoryStore } from './memory.js';
export { canonicalHeights } from './heights.js';
export { planCommit, MAX_META_KEY_BYTES, type CommitPlan, type CommitView } from './commit.js';
export { crc32c, crc32cUpdate } from './crc32c.js';
export {
  checkStoreIntegrity,
  type IntegrityFailure,
  type IntegrityOptions,
  type IntegrityProblem,
  type IntegrityProgress,
  type IntegrityReport,
} from './integrity.js';
export { decodeStored, encodeTransactions, encodedAt, type EncodedTransactions } from './encoding.js';
