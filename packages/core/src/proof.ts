import { assertBytes, assertObject, describe, fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { blockHash, decodeBlockHeader, encodeBlockHeader, verifyBlockSignatures, type BlockHeader } from './block.js';
import { getCryptoProvider, type CryptoProvider } from './crypto/provider.js';
import { InvalidArgumentError, NotAProofBundleError, UnsupportedProofVersionError } from './errors.js';
import { MAX_MERKLE_PATH } from './limits.js';
import { verifyInclusion } from './merkle.js';
import {
  decodeSignedTxHeader,
  encodeSignedTxHeader,
  transactionId,
  verifyTransaction,
  type Transaction,
} from './transaction.js';

/**
 * Proof bundles: everything an auditor needs to check that a record was in a block of a chain, and nothing more.
 * The format is specified in docs/proof-format.md. Binary parts travel as lower-case hex of their canonical
 * encodings (payload as base64), so a bundle checks byte for byte against the wire format and its test vectors.
 */

export const PROOF_FORMAT = 'safechain-proof';
export const PROOF_VERSION = 1;

/** Bytes of the largest bundle `parseProofBundle` accepts as text (payload included): 96 MiB. */
export const MAX_PROOF_BUNDLE_CHARS = 96 * 1024 * 1024;

export interface ProofBundle {
  readonly format: typeof PROOF_FORMAT;
  readonly version: typeof PROOF_VERSION;
  /** Genesis hash of the chain, lower-case hex. */
  readonly chainId: string;
  readonly transaction: {
    /** Canonical signed transaction header, lower-case hex. */
    readonly signedHeader: string;
    /** The payload, base64; absent for a stripped transaction. */
    readonly payload?: string;
  };
  readonly block: {
    /** Canonical block header with its signatures, lower-case hex. */
    readonly header: string;
  };
  readonly inclusion: {
    /** The transaction's position in the block. */
    readonly index: number;
    /** Sibling hashes from leaf to root, lower-case hex. */
    readonly path: readonly string[];
  };
  /** Reserved for entanglement evidence (blocks of other chains recording this block's hash). Empty in version 1. */
  readonly entanglement?: readonly never[];
}

/**
 * Builds the bundle for `tx` at `index` in the block with `header`, given the Merkle path. It does not verify them:
 * pass the result to `verifyProof` to check it. @throws InvalidArgumentError when an input is malformed.
 */
export function createProofBundle(input: {
  readonly transaction: Transaction;
  readonly header: BlockHeader;
  readonly index: number;
  readonly path: readonly Uint8Array[];
  /** Leave the payload out (a proof of existence that does not reveal the record). */
  readonly withoutPayload?: boolean;
}): ProofBundle {
  assertObject(input, 'input');
  if (!Number.isSafeInteger(input.index) || input.index < 0) {
    throw new InvalidArgumentError(`input.index: expected a non-negative safe integer, got ${describe(input.index)}`);
  }
  if (!Array.isArray(input.path)) throw new InvalidArgumentError(`input.path: expected array, got ${describe(input.path)}`);
  input.path.forEach((p, i) => assertBytes(p, `input.path[${i}]`, 32));
  const tx = input.transaction;
  const payload = input.withoutPayload === true || tx.payload === undefined ? undefined : toBase64(tx.payload);
  return {
    format: PROOF_FORMAT,
    version: PROOF_VERSION,
    chainId: toHex(tx.header.chainId),
    transaction: payload === undefined ? { signedHeader: toHex(encodeSignedTxHeader(tx)) } : { signedHeader: toHex(encodeSignedTxHeader(tx)), payload },
    block: { header: toHex(encodeBlockHeader(input.header)) },
    inclusion: { index: input.index, path: input.path.map(toHex) },
  };
}

const TOP_KEYS = new Set(['format', 'version', 'chainId', 'transaction', 'block', 'inclusion', 'entanglement']);
const TRANSACTION_KEYS = new Set(['signedHeader', 'payload']);
const BLOCK_KEYS = new Set(['header']);
const INCLUSION_KEYS = new Set(['index', 'path']);

/** The first key of `value` not in `allowed`, if any. */
function unknownKey(value: Record<string, unknown>, allowed: ReadonlySet<string>): string | undefined {
  return Object.keys(value).find((key) => !allowed.has(key));
}

function assertHexList(value: unknown, name: string): asserts value is readonly string[] | undefined {
  if (value === undefined) return;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new InvalidArgumentError(`${name}: expected an array of hex strings, got ${describe(value)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Recognises a proof bundle: a JSON text or an already parsed value whose `format` is `safechain-proof`.
 * Only the envelope is checked here; the contents are checked by `verifyProof`, which answers "invalid" for them.
 * @throws NotAProofBundleError, UnsupportedProofVersionError
 */
export function parseProofBundle(input: unknown): ProofBundle {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_PROOF_BUNDLE_CHARS) throw new NotAProofBundleError(`larger than ${MAX_PROOF_BUNDLE_CHARS} characters`);
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new NotAProofBundleError('not JSON', { cause: error });
    }
  }
  if (!isRecord(value)) throw new NotAProofBundleError(`expected a JSON object, got ${describe(value)}`);
  if (value['format'] !== PROOF_FORMAT) throw new NotAProofBundleError(`"format" is not "${PROOF_FORMAT}"`);
  if (value['version'] !== PROOF_VERSION) {
    throw new UnsupportedProofVersionError(`proof version ${String(value['version'])}; this library verifies version ${PROOF_VERSION}`);
  }
  return value as unknown as ProofBundle;
}

/** Why a proof failed. Each names one check of docs/proof-format.md §Verification. */
export type ProofFailure =
  | 'malformed-bundle'
  | 'malformed-transaction'
  | 'malformed-block-header'
  | 'malformed-path'
  | 'chain-mismatch'
  | 'payload-mismatch'
  | 'bad-transaction-signature'
  | 'index-out-of-range'
  | 'merkle-path-mismatch'
  | 'bad-block-signature'
  | 'untrusted-origin'
  | 'untrusted-block'
  | 'unsupported-evidence';

export interface ValidProof {
  readonly valid: true;
  /** The chain the origin signed the record for (its genesis hash). */
  readonly chainId: string;
  readonly txId: string;
  readonly blockHash: string;
  readonly height: number;
  readonly index: number;
  readonly origin: string;
  readonly createdAt: number;
  readonly contentType: string;
  readonly traceCodes: readonly string[];
  readonly payloadIncluded: boolean;
  /** True when the origin was among `trustedOrigins`; null when none were given. */
  readonly originTrusted: boolean | null;
  /** True when the block was among `trustedBlocks`; null when none were given. */
  readonly blockTrusted: boolean | null;
  /** The keys that sealed the block (all verified). Whether they may seal this chain is for the caller to judge. */
  readonly blockSigners: readonly string[];
}

export interface InvalidProof {
  readonly valid: false;
  readonly reason: ProofFailure;
  readonly message: string;
}

export type ProofVerdict = ValidProof | InvalidProof;

export interface VerifyProofOptions {
  /** Origin public keys (hex) the record must come from. */
  readonly trustedOrigins?: readonly string[];
  /** Block hashes (hex) the block must be one of: hashes the auditor learnt from the chain's owner or its partners. */
  readonly trustedBlocks?: readonly string[];
  readonly provider?: CryptoProvider;
}

function fail(reason: ProofFailure, message: string): InvalidProof {
  return { valid: false, reason, message };
}

/**
 * Verifies a proof bundle offline, with this package alone: the transaction's signature and chain, the payload
 * against its signed hash, the Merkle path against the block header, the block's seals, and the trust options.
 * Never throws for a bad bundle: it answers invalid with the first failing check.
 * @throws InvalidArgumentError only when `options` is malformed (the caller's mistake, not the bundle's).
 */
export function verifyProof(input: unknown, options: VerifyProofOptions = {}): ProofVerdict {
  assertObject(options, 'options');
  assertHexList(options.trustedOrigins, 'options.trustedOrigins');
  assertHexList(options.trustedBlocks, 'options.trustedBlocks');
  const provider = options.provider ?? getCryptoProvider();
  let bundle: ProofBundle;
  try {
    bundle = parseProofBundle(input);
  } catch (error) {
    return fail('malformed-bundle', error instanceof Error ? error.message : String(error));
  }
  const raw = bundle as unknown as Record<string, unknown>;
  const unknownTop = unknownKey(raw, TOP_KEYS);
  if (unknownTop !== undefined) return fail('malformed-bundle', `unknown field "${unknownTop}"`);
  if (raw['entanglement'] !== undefined && (!Array.isArray(raw['entanglement']) || raw['entanglement'].length > 0)) {
    return fail('unsupported-evidence', 'entanglement evidence is not supported by proof version 1');
  }
  if (!isRecord(bundle.transaction) || !isRecord(bundle.block) || !isRecord(bundle.inclusion)) {
    return fail('malformed-bundle', '"transaction", "block" and "inclusion" must be objects');
  }
  // Unknown fields are refused at every level: a version 1 verifier must not appear to check evidence it ignores.
  for (const [name, value, allowed] of [
    ['transaction', bundle.transaction, TRANSACTION_KEYS],
    ['block', bundle.block, BLOCK_KEYS],
    ['inclusion', bundle.inclusion, INCLUSION_KEYS],
  ] as const) {
    const unknown = unknownKey(value as Record<string, unknown>, allowed);
    if (unknown !== undefined) return fail('malformed-bundle', `unknown field "${name}.${unknown}"`);
  }

  let chainId: Uint8Array;
  try {
    chainId = fromHex(bundle.chainId, 32);
  } catch (error) {
    return fail('malformed-bundle', `chainId: ${(error as Error).message}`);
  }

  let tx: Transaction;
  try {
    const stripped = decodeSignedTxHeader(fromHex(bundle.transaction.signedHeader));
    const payload = bundle.transaction.payload;
    tx = payload === undefined ? stripped : { ...stripped, payload: fromBase64(payload) };
  } catch (error) {
    return fail('malformed-transaction', (error as Error).message);
  }

  let header: BlockHeader;
  try {
    header = decodeBlockHeader(fromHex(bundle.block.header));
  } catch (error) {
    return fail('malformed-block-header', (error as Error).message);
  }

  const { index, path } = bundle.inclusion;
  if (!Number.isSafeInteger(index) || (index as number) < 0) return fail('malformed-path', 'index must be a non-negative integer');
  if (!Array.isArray(path) || path.length > MAX_MERKLE_PATH) {
    return fail('malformed-path', `path must be an array of at most ${MAX_MERKLE_PATH} hashes`);
  }
  let pathBytes: Uint8Array[];
  try {
    pathBytes = path.map((p: unknown) => fromHex(p as string, 32));
  } catch (error) {
    return fail('malformed-path', (error as Error).message);
  }

  const txVerdict = verifyTransaction(tx, { chainId, provider });
  if (!txVerdict.valid) {
    const reason = txVerdict.reason === 'bad-signature' ? 'bad-transaction-signature' : txVerdict.reason;
    return fail(reason, txVerdict.message);
  }

  if (index >= header.txCount) {
    return fail('index-out-of-range', `index ${index} is outside a block of ${header.txCount} transactions`);
  }
  const id = transactionId(tx, provider);
  if (!verifyInclusion(id, index, header.txCount, pathBytes, header.merkleRoot, provider)) {
    return fail('merkle-path-mismatch', 'the Merkle path does not lead from the transaction to the block\'s Merkle root');
  }

  const seals = verifyBlockSignatures(header, provider);
  if (!seals.valid) return fail('bad-block-signature', seals.message);

  const origin = toHex(tx.header.origin);
  const hash = toHex(blockHash(header, provider));
  let originTrusted: boolean | null = null;
  if (options.trustedOrigins !== undefined) {
    originTrusted = options.trustedOrigins.some((k) => k.toLowerCase() === origin);
    if (!originTrusted) return fail('untrusted-origin', `origin ${origin} is not among the trusted origins`);
  }
  let blockTrusted: boolean | null = null;
  if (options.trustedBlocks !== undefined) {
    blockTrusted = options.trustedBlocks.some((h) => h.toLowerCase() === hash);
    if (!blockTrusted) return fail('untrusted-block', `block ${hash} is not among the trusted blocks`);
  }

  return {
    valid: true,
    chainId: toHex(chainId),
    txId: toHex(id),
    blockHash: hash,
    height: header.height,
    index,
    origin,
    createdAt: tx.header.createdAt,
    contentType: tx.header.contentType,
    traceCodes: tx.header.traceCodes,
    payloadIncluded: tx.payload !== undefined,
    originTrusted,
    blockTrusted,
    blockSigners: header.signatures.map((s) => toHex(s.publicKey)),
  };
}
