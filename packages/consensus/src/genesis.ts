import { buildBlock, equalBytes, InvalidArgumentError, ZERO_HASH, type Block, type BlockHeader } from '@safechain/core';
import { decodeChainSpec, encodeChainSpec, type ChainSpec } from './chain-spec.js';
import { ConsensusRegistry } from './registry.js';

/**
 * The genesis block: height 0, no transactions, previous hash zero, the chain spec as extra data, no seals. Its
 * hash identifies the chain and, through the spec inside, the chain's consensus rules.
 */

/**
 * Builds the genesis block of a chain. The spec is fully checked first, engine options included, so a chain cannot
 * be started with rules no node could load.
 * @throws InvalidChainSpecError, NonCanonicalChainSpecError, ChainSpecTooLargeError, UnknownConsensusEngineError,
 *   InvalidEngineOptionError; InvalidArgumentError (core) when `timestamp` is not a non-negative safe integer.
 */
export function createGenesisBlock(
  spec: ChainSpec,
  timestamp: number,
  registry: ConsensusRegistry = ConsensusRegistry.withBuiltins(),
): Block {
  const extraData = encodeChainSpec(spec);
  registry.create(spec);
  const difficulty = registry.genesisDifficulty(spec);
  return buildBlock({ parent: null, transactions: [], timestamp, difficulty, nonces: [], extraData });
}

/**
 * The chain spec inside a genesis header.
 * @throws InvalidArgumentError (core) when the header is not a genesis header (height 0, previous hash zero);
 *   the errors of `decodeChainSpec` when its extra data is not a canonical chain spec.
 */
export function chainSpecOf(genesisHeader: BlockHeader): ChainSpec {
  if (typeof genesisHeader !== 'object' || genesisHeader === null) {
    throw new InvalidArgumentError('genesisHeader: expected a block header');
  }
  if (genesisHeader.height !== 0 || !(genesisHeader.previousHash instanceof Uint8Array) || !equalBytes(genesisHeader.previousHash, ZERO_HASH)) {
    throw new InvalidArgumentError('genesisHeader: expected height 0 and a zero previous hash');
  }
  return decodeChainSpec(genesisHeader.extraData);
}
