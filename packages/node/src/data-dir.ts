import { constants } from 'node:fs';
import { access, chmod, mkdir, open, readFile, rename, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import {
  blockHash,
  decodeBlock,
  encodeBlock,
  fromHex,
  NodeKey,
  SafechainError,
  toHex,
  type Block,
} from '@safechain/core';
import { chainSpecOf, createConsensus, createGenesisBlock, type ChainSpec } from '@safechain/consensus';
import { ConfigError, defaultConfig, parseConfig, type NodeConfig, type NodeType } from './config.js';

/**
 * The data folder: everything a node owns on disk.
 * ```
 * DATA/config.json      settings (validated on every start)
 * DATA/node.key         the node's ed25519 key, PKCS#8 PEM, mode 0600
 * DATA/genesis.json     the chain's genesis block (shared by every node of the chain)
 * DATA/chain/           the store
 * DATA/inbox/ processed/ rejected/   file ingest
 * ```
 */

export const CONFIG_FILE = 'config.json';
export const KEY_FILE = 'node.key';
export const GENESIS_FILE = 'genesis.json';
const MAX_SMALL_FILE = 1024 * 1024;

/** The data folder is missing, incomplete, or was set up for another chain; the message says which file. */
export class DataDirError extends SafechainError {
  override readonly name = 'DataDirError' as const;
}

/** The genesis file is not a valid safechain genesis. */
export class InvalidGenesisFileError extends SafechainError {
  override readonly name = 'InvalidGenesisFileError' as const;
}

export type ConsensusChoice = 'single' | 'poa' | 'pow';

/** The genesis file: the encoded block is authoritative; `chainId` and `spec` let a person read it. */
interface GenesisFile {
  readonly format: 'safechain-genesis';
  readonly version: 1;
  readonly chainId: string;
  readonly spec: ChainSpec;
  readonly block: string;
}

/** Writes `data` to `path` atomically (temp file, fsync, rename, fsync dir) with `mode`. */
export async function writeFileAtomic(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, mode);
  try {
    await chmod(tmp, mode);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), constants.O_RDONLY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function readSmall(path: string, what: string): Promise<string> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DataDirError(`${what} not found at ${path}: run "safechain init --data DIR" first`);
  }
  if (!info.isFile() || info.size > MAX_SMALL_FILE) throw new DataDirError(`${path}: not a regular file under 1 MiB`);
  return readFile(path, 'utf8');
}

export function encodeGenesisFile(genesis: Block): string {
  const file: GenesisFile = {
    format: 'safechain-genesis',
    version: 1,
    chainId: toHex(blockHash(genesis.header)),
    spec: chainSpecOf(genesis.header),
    block: toHex(encodeBlock(genesis)),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Parses a genesis file and checks it: the block decodes, is a genesis, carries a valid chain spec whose engine
 * exists, and its hash equals the stated chain id. @throws InvalidGenesisFileError
 */
export function parseGenesisFile(text: string): Block {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidGenesisFileError('genesis file is not JSON');
  }
  const v = value as Partial<GenesisFile> | null;
  if (v === null || typeof v !== 'object' || v.format !== 'safechain-genesis' || v.version !== 1 || typeof v.block !== 'string') {
    throw new InvalidGenesisFileError('not a safechain genesis file (format "safechain-genesis", version 1)');
  }
  let block: Block;
  try {
    block = decodeBlock(fromHex(v.block));
    createConsensus(chainSpecOf(block.header));
  } catch (error) {
    throw new InvalidGenesisFileError(`genesis block: ${(error as Error).message}`);
  }
  if (block.header.height !== 0 || block.data.length !== 0) throw new InvalidGenesisFileError('genesis block must have height 0 and no transactions');
  if (typeof v.chainId !== 'string' || v.chainId !== toHex(blockHash(block.header))) {
    throw new InvalidGenesisFileError('chainId does not match the genesis block hash');
  }
  return block;
}

export interface InitOptions {
  readonly dataDir: string;
  readonly type: NodeType;
  readonly consensus: ConsensusChoice;
  /** An existing genesis file to join; otherwise a new chain is created with this node as its producer. */
  readonly genesisFile?: string;
  readonly chainName?: string;
  /** Settings written into config.json besides `type`. */
  readonly config?: Readonly<Record<string, unknown>>;
}

export interface InitResult {
  readonly identity: string;
  readonly chainId: string;
  readonly created: { readonly key: boolean; readonly genesis: boolean; readonly config: boolean };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The spec of a new chain in which this node alone produces (and, for poa, validates). */
export function newChainSpec(name: string, consensus: ConsensusChoice, producer: string): ChainSpec {
  switch (consensus) {
    case 'single':
      return { name, consensus: { engine: 'single', producers: [producer] } };
    case 'poa':
      return { name, consensus: { engine: 'poa', validators: [producer], threshold: 1 } };
    case 'pow':
      return {
        name,
        consensus: { engine: 'pow', initialDifficulty: '4096', targetBlockTimeMs: 1000, adjustmentWindow: 10, maxAdjustmentFactor: 4 },
      };
  }
}

/**
 * Sets up a data folder: node key (mode 0600, kept if present), genesis (new or copied, kept if present and equal),
 * config.json (kept if present), and the ingest folders. Safe to run twice.
 * @throws DataDirError, InvalidGenesisFileError, ConfigError
 */
export async function initDataDir(options: InitOptions): Promise<InitResult> {
  const dir = options.dataDir;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPath = join(dir, KEY_FILE);
  const created = { key: false, genesis: false, config: false };

  let key: NodeKey;
  if (await exists(keyPath)) {
    key = NodeKey.fromPem(await readSmall(keyPath, 'node key'));
  } else {
    key = NodeKey.generate();
    await writeFileAtomic(keyPath, key.toPem(), 0o600);
    created.key = true;
  }

  const genesisPath = join(dir, GENESIS_FILE);
  let genesisText: string;
  if (options.genesisFile !== undefined) {
    genesisText = await readSmall(options.genesisFile, 'genesis file');
    parseGenesisFile(genesisText);
  } else {
    genesisText = encodeGenesisFile(createGenesisBlock(newChainSpec(options.chainName ?? 'safechain', options.consensus, key.id), Date.now()));
  }
  if (await exists(genesisPath)) {
    const current = parseGenesisFile(await readSmall(genesisPath, 'genesis'));
    const wanted = parseGenesisFile(genesisText);
    if (options.genesisFile !== undefined && toHex(blockHash(current.header)) !== toHex(blockHash(wanted.header))) {
      throw new DataDirError(`${genesisPath} holds another chain; use a new data folder to join ${options.genesisFile}`);
    }
  } else {
    await writeFileAtomic(genesisPath, genesisText);
    created.genesis = true;
  }

  const configPath = join(dir, CONFIG_FILE);
  let config: NodeConfig;
  if (await exists(configPath)) {
    config = await loadConfig(dir, options.type);
  } else {
    const raw = { ...(options.config ?? {}), type: options.type };
    config = parseConfig(raw, options.type);
    await writeFileAtomic(configPath, `${JSON.stringify(raw, null, 2)}\n`);
    created.config = true;
  }
  for (const folder of [config.ingest.inbox, config.ingest.processed, config.ingest.rejected]) {
    await mkdir(resolveIn(dir, folder), { recursive: true });
  }
  const genesis = parseGenesisFile(await readSmall(genesisPath, 'genesis'));
  return { identity: key.id, chainId: toHex(blockHash(genesis.header)), created };
}

/** A path from the configuration: relative ones are inside the data folder. */
export function resolveIn(dataDir: string, path: string): string {
  return isAbsolute(path) ? path : join(dataDir, path);
}

/** Reads and validates config.json as stored (no overrides). @throws DataDirError, ConfigError */
export async function readRawConfig(dataDir: string): Promise<Record<string, unknown>> {
  const text = await readSmall(join(dataDir, CONFIG_FILE), 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('config.json', `not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('config.json', 'expected a JSON object');
  return raw as Record<string, unknown>;
}

export async function loadConfig(dataDir: string, fallbackType: NodeType = 'full'): Promise<NodeConfig> {
  return parseConfig(await readRawConfig(dataDir), fallbackType);
}

/** Loads the node key, refusing one that others can read: a leaked key is a forged identity. */
export async function loadNodeKey(dataDir: string): Promise<NodeKey> {
  const path = join(dataDir, KEY_FILE);
  const text = await readSmall(path, 'node key');
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new DataDirError(`${path} has mode ${mode.toString(8)}: restrict it with "chmod 600 ${path}"`);
  return NodeKey.fromPem(text);
}

export async function loadGenesis(dataDir: string): Promise<Block> {
  return parseGenesisFile(await readSmall(join(dataDir, GENESIS_FILE), 'genesis'));
}

export { defaultConfig };
