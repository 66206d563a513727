/**
 * `@safechain/chain`: the Block Tree, the Mempool and the Block Producer: chain logic over a `ChainStore` and a
 * `Consensus` engine, with no networking. See README.md.
 */
export * from './errors.js';
export { Emitter, type Listener, type ListenerErrorHandler } from './events.js';
export {
  BlockTree,
  type AddBlockResult,
  type BlockAddedEvent,
  type BlockTreeEvents,
  type BlockTreeOptions,
  type CandidateVerdict,
  type ChainTip,
  type InvalidBlockReason,
  type InvalidBlockResult,
  type ReorgEvent,
  type TipChangedEvent,
} from './block-tree.js';
export {
  Mempool,
  type MempoolAddOptions,
  type MempoolAddReport,
  type MempoolChain,
  type MempoolEvents,
  type MempoolOptions,
  type MempoolOutcome,
} from './mempool.js';
export { BlockProducer, type BlockProducerEvents, type BlockProducerOptions } from './producer.js';
export { blockHeaderSize, blockSize, transactionSize } from './size.js';
export { inlineVerifier, type TransactionVerifier } from './verify.js';
