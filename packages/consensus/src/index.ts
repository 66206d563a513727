/**
 * `@safechain/consensus`: the generic interface that decides block validity and block work, and its engines:
 * a single trusted producer, proof of authority, proof of work. A chain names its engine and options in the genesis
 * header (the chain spec); `createConsensus` builds the engine from it.
 */
export type { Consensus, EquivocationEvidence, HeaderVerdict } from './consensus.js';
export * from './errors.js';
export type { JsonValue } from './canonical-json.js';
export {
  assertChainSpec,
  decodeChainSpec,
  encodeChainSpec,
  ENGINE_NAME_PATTERN,
  MAX_CHAIN_NAME_LENGTH,
  MAX_FUTURE_DRIFT_LIMIT_MS,
  type ChainSpec,
  type ConsensusSpec,
} from './chain-spec.js';
export { chainSpecOf, createGenesisBlock } from './genesis.js';
export {
  ConsensusRegistry,
  createConsensus,
  type ConsensusEngineContext,
  type ConsensusEngineDefinition,
  type EngineOptions,
} from './registry.js';
export { invalid, VALID, type RejectReason } from './verdicts.js';
export {
  checkNotInFuture,
  checkTimestampNotTooOld,
  DEFAULT_MAX_FUTURE_DRIFT_MS,
  MEDIAN_TIME_SPAN,
  medianTimePast,
  prepareCommon,
  validateHeaderWith,
  type HeaderRuleSettings,
} from './header-rules.js';
export { singleConsensus, MAX_SINGLE_PRODUCERS, SINGLE_ENGINE, type SingleConsensusOptions } from './single.js';
export {
  DEFAULT_PROPOSER_TIMEOUT_MS,
  MAX_POA_VALIDATORS,
  MAX_PROPOSER_TIMEOUT_MS,
  POA_ENGINE,
  poaConsensus,
  type PoaConsensus,
  type PoaConsensusOptions,
} from './poa.js';
export {
  MAX_ADJUSTMENT_FACTOR,
  MAX_ADJUSTMENT_WINDOW,
  MAX_TARGET_BLOCK_TIME_MS,
  POW_ENGINE,
  powConsensus,
  type PowConsensus,
  type PowConsensusOptions,
} from './pow.js';
export { MAX_DIFFICULTY, meetsTarget, nextDifficulty, powTarget, powTargetBytes, type DifficultyRule } from './difficulty.js';
