import { assertBytes, assertObject, describe, equalBytes, utf8, utf8Length } from './bytes.js';
import { Reader, Writer, type ReaderOptions } from './codec.js';
import { getCryptoProvider, type CryptoProvider, type Ed25519Signer } from './crypto/provider.js';
import { verifySignature } from './crypto/signature.js';
import { DecodeError, InvalidArgumentError, PayloadMismatchError } from './errors.js';
import {
  MAX_CONTENT_TYPE_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SOURCE_BYTES,
  MAX_TRACE_CODE_BYTES,
  MAX_TRACE_CODES,
} from './limits.js';

/**
 * Transactions: a record (any bytes) with metadata, signed by the node that took it in.
 *
 * The origin signs the transaction header, which holds the payload's hash, not the payload. That is what lets a
 * stripped transaction (payload dropped to save space) still verify and keep its id, and lets a payload fetched later
 * be checked against the header. The header names the chain (its genesis hash), so a signed record cannot be replayed
 * on another chain.
 */

/** Kind byte `T` and format version of an encoded transaction header. */
export const TX_HEADER_KIND = 0x54;
export const TX_HEADER_VERSION = 1;
/** Domain tag prefixed to the header bytes before signing: a transaction signature can never pass as another one. */
export const TX_SIGNATURE_DOMAIN: Uint8Array = utf8('safechain/transaction/v1');

export interface TxHeader {
  /** Genesis block hash of the chain this record belongs to (32 bytes). */
  readonly chainId: Uint8Array;
  /** Public key of the node that ingested and signed the record (32 bytes). */
  readonly origin: Uint8Array;
  /** Per-origin sequence number, strictly increasing, for gap and replay detection. */
  readonly sequence: number;
  /** Creation time in milliseconds since the Unix epoch. */
  readonly createdAt: number;
  /** MIME type of the payload, as the ingest rules chose it. May be empty. */
  readonly contentType: string;
  /** Where the record came from: a file name, an OPC UA node, a machine name. */
  readonly source?: string;
  /** Product, batch or order codes the record can be found by. */
  readonly traceCodes: readonly string[];
  /** SHA-256 of the payload (32 bytes). */
  readonly payloadHash: Uint8Array;
  /** Length of the payload in bytes. */
  readonly payloadSize: number;
}

/**
 * A signed transaction. `payload` is present in the full form and absent in the stripped form; both have the same
 * id and both verify.
 */
export interface Transaction {
  readonly header: TxHeader;
  /** The origin's ed25519 signature over `TX_SIGNATURE_DOMAIN || encodeTxHeader(header)` (64 bytes). */
  readonly signature: Uint8Array;
  readonly payload?: Uint8Array;
}

/** What a caller supplies to create a transaction; the header is derived from it. */
export interface TransactionInput {
  readonly chainId: Uint8Array;
  readonly payload: Uint8Array;
  readonly sequence: number;
  readonly contentType?: string;
  readonly source?: string;
  readonly traceCodes?: readonly string[];
  /** Milliseconds since the epoch; defaults to now. */
  readonly createdAt?: number;
}

/** Smallest possible encoded transaction, used to bound counts before allocating. */
export const MIN_TX_BYTES = 2 + 32 + 32 + 8 + 8 + 1 + 1 + 1 + 32 + 8 + 64 + 1;

function assertU53(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name}: expected a non-negative safe integer, got ${describe(value)} ${String(value)}`);
  }
}

/**
 * Checks a text field and returns the length of its encoding (varint length, then UTF-8). `index` names an element of
 * a list field; the name is built only for an error.
 */
function checkText(value: unknown, field: string, maxBytes: number, index?: number): number {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${listField(field, index)}: expected string, got ${describe(value)}`);
  if (!value.isWellFormed()) throw new InvalidArgumentError(`${listField(field, index)}: contains a lone surrogate (not encodable as UTF-8)`);
  const n = utf8Length(value);
  if (n > maxBytes) throw new InvalidArgumentError(`${listField(field, index)}: expected at most ${maxBytes} UTF-8 bytes, got ${n}`);
  return varintSize(n) + n;
}

function listField(field: string, index: number | undefined): string {
  return index === undefined ? field : `${field}[${index}]`;
}

function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Checks every field of a header a caller built. @throws InvalidArgumentError naming the field. */
export function assertTxHeader(header: TxHeader): void {
  checkTxHeader(header);
}

/** `assertTxHeader`, returning the length of the header's encoding (docs/wire-format.md): encoders size by it. */
function checkTxHeader(header: TxHeader): number {
  assertObject(header, 'header');
  assertBytes(header.chainId, 'header.chainId', 32);
  assertBytes(header.origin, 'header.origin', 32);
  assertU53(header.sequence, 'header.sequence');
  assertU53(header.createdAt, 'header.createdAt');
  // Kind and version, chain id, origin, sequence, creation time, the source flag, payload hash and size.
  let size = 2 + 32 + 32 + 8 + 8 + 1 + 32 + 8;
  size += checkText(header.contentType, 'header.contentType', MAX_CONTENT_TYPE_BYTES);
  if (header.source !== undefined) size += checkText(header.source, 'header.source', MAX_SOURCE_BYTES);
  if (!Array.isArray(header.traceCodes)) {
    throw new InvalidArgumentError(`header.traceCodes: expected array, got ${describe(header.traceCodes)}`);
  }
  if (header.traceCodes.length > MAX_TRACE_CODES) {
    throw new InvalidArgumentError(`header.traceCodes: expected at most ${MAX_TRACE_CODES}, got ${header.traceCodes.length}`);
  }
  size += varintSize(header.traceCodes.length);
  for (let i = 0; i < header.traceCodes.length; i++) size += checkText(header.traceCodes[i], 'header.traceCodes', MAX_TRACE_CODE_BYTES, i);
  assertBytes(header.payloadHash, 'header.payloadHash', 32);
  assertU53(header.payloadSize, 'header.payloadSize');
  if (header.payloadSize > MAX_PAYLOAD_BYTES) {
    throw new InvalidArgumentError(`header.payloadSize: expected at most ${MAX_PAYLOAD_BYTES}, got ${header.payloadSize}`);
  }
  return size;
}

function writeTxHeader(w: Writer, h: TxHeader): void {
  w.u8(TX_HEADER_KIND).u8(TX_HEADER_VERSION).fixed(h.chainId).fixed(h.origin).u64(h.sequence).u64(h.createdAt);
  w.string(h.contentType);
  if (h.source === undefined) w.u8(0);
  else w.u8(1).string(h.source);
  w.varint(h.traceCodes.length);
  for (const code of h.traceCodes) w.string(code);
  w.fixed(h.payloadHash).u64(h.payloadSize);
}

function readTxHeader(r: Reader): TxHeader {
  r.tag('txHeader', TX_HEADER_KIND, [TX_HEADER_VERSION]);
  const chainId = r.fixed('txHeader.chainId', 32);
  const origin = r.fixed('txHeader.origin', 32);
  const sequence = r.u64('txHeader.sequence');
  const createdAt = r.u64('txHeader.createdAt');
  const contentType = r.string('txHeader.contentType', MAX_CONTENT_TYPE_BYTES);
  const source = r.flag('txHeader.source.present') ? r.string('txHeader.source', MAX_SOURCE_BYTES) : undefined;
  const codeCount = r.count('txHeader.traceCodes.count', MAX_TRACE_CODES, 1);
  const traceCodes: string[] = [];
  // The field name with its index is built only when a code is refused (decoding runs for every record).
  for (let i = 0; i < codeCount; i++) traceCodes.push(readTraceCode(r, i));
  const payloadHash = r.fixed('txHeader.payloadHash', 32);
  const payloadSize = r.u64('txHeader.payloadSize', MAX_PAYLOAD_BYTES);
  // Object literals rather than a spread: one shape each, built without a copy.
  return source === undefined
    ? { chainId, origin, sequence, createdAt, contentType, traceCodes, payloadHash, payloadSize }
    : { chainId, origin, sequence, createdAt, contentType, traceCodes, payloadHash, payloadSize, source };
}

function readTraceCode(r: Reader, i: number): string {
  const field = 'txHeader.traceCodes';
  try {
    return r.string(field, MAX_TRACE_CODE_BYTES);
  } catch (error) {
    // `txHeader.traceCodes.length` becomes `txHeader.traceCodes[i].length`, and so on.
    if (error instanceof DecodeError && error.field.startsWith(field)) throw renamed(error, `${field}[${i}]${error.field.slice(field.length)}`);
    throw error;
  }
}

/** The same decode error under a more precise field name. */
function renamed(error: DecodeError, field: string): DecodeError {
  const Kind = error.constructor as new (field: string, offset: number, detail: string) => DecodeError;
  return new Kind(field, error.offset, error.detail);
}

/** Canonical bytes of a transaction header: what the origin signs (after the domain tag). */
export function encodeTxHeader(header: TxHeader): Uint8Array {
  assertTxHeader(header);
  const w = new Writer(160 + header.contentType.length);
  writeTxHeader(w, header);
  return w.finish();
}

/** Decodes exactly one transaction header. @throws a DecodeError subclass naming field and offset */
export function decodeTxHeader(bytes: Uint8Array): TxHeader {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const header = readTxHeader(r);
  r.end('txHeader');
  return header;
}

/** The exact bytes an origin signs for `header`. */
export function txSigningMessage(header: TxHeader): Uint8Array {
  assertTxHeader(header);
  return signingMessageOf(header);
}

/** `txSigningMessage` for a header already checked with `assertTxHeader`. */
function signingMessageOf(header: TxHeader): Uint8Array {
  const w = new Writer(TX_SIGNATURE_DOMAIN.length + 160 + header.contentType.length);
  w.fixed(TX_SIGNATURE_DOMAIN);
  writeTxHeader(w, header);
  return w.finish();
}

/**
 * Canonical bytes of the signed header: header followed by the 64-byte signature. Its SHA-256 is the id.
 * @throws InvalidArgumentError when `tx` is not a well-formed transaction.
 */
export function encodeSignedTxHeader(tx: Transaction): Uint8Array {
  assertObject(tx, 'transaction');
  assertBytes(tx.signature, 'signature', 64);
  assertTxHeader(tx.header);
  const w = new Writer(224 + tx.header.contentType.length);
  writeTxHeader(w, tx.header);
  w.fixed(tx.signature);
  return w.finish();
}

/** Decodes a signed header into a stripped transaction. @throws a DecodeError subclass */
export function decodeSignedTxHeader(bytes: Uint8Array): Transaction {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const header = readTxHeader(r);
  const signature = r.fixed('signature', 64);
  r.end('signedTxHeader');
  return { header, signature };
}

/**
 * The transaction id: SHA-256 of the canonical signed header. The same for the full and the stripped form.
 * @throws InvalidArgumentError when `tx` is not a well-formed transaction.
 */
export function transactionId(tx: Transaction, provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  assertObject(tx, 'transaction');
  assertBytes(tx.signature, 'signature', 64);
  assertTxHeader(tx.header);
  // The bytes of encodeSignedTxHeader, written into one reused buffer and hashed in place: ids are computed for
  // every transaction at every step (mempool, block, tree), and the copy would be garbage at once.
  const w = idWriter.reset();
  writeTxHeader(w, tx.header);
  w.fixed(tx.signature);
  return provider.sha256(w.written());
}

/** The writer `transactionId` reuses; encoding and hashing are synchronous, so uses never overlap. */
const idWriter = new Writer(512);

/**
 * Builds the header for `input`, signs it with `signer` and returns the full transaction.
 * @throws InvalidArgumentError when a field is missing, of the wrong type or out of range.
 */
export function createTransaction(
  input: TransactionInput,
  signer: Ed25519Signer,
  provider: CryptoProvider = getCryptoProvider(),
): Transaction {
  assertObject(input, 'input');
  assertObject(signer, 'signer');
  if (typeof signer.sign !== 'function') throw new InvalidArgumentError('signer: expected an object with a sign method');
  assertBytes(input.payload, 'payload');
  if (input.payload.length > MAX_PAYLOAD_BYTES) {
    throw new InvalidArgumentError(`payload: expected at most ${MAX_PAYLOAD_BYTES} bytes, got ${input.payload.length}`);
  }
  const base = {
    chainId: input.chainId,
    origin: signer.publicKey,
    sequence: input.sequence,
    createdAt: input.createdAt ?? Date.now(),
    contentType: input.contentType ?? 'application/octet-stream',
    traceCodes: input.traceCodes ?? [],
    payloadHash: provider.sha256(input.payload),
    payloadSize: input.payload.length,
  };
  const checked: TxHeader = input.source === undefined ? base : { ...base, source: input.source };
  const message = txSigningMessage(checked);
  // The transaction keeps its own copies: a caller reusing its arrays cannot change a signed header afterwards.
  const header: TxHeader = { ...checked, chainId: checked.chainId.slice(), traceCodes: [...checked.traceCodes] };
  return { header, signature: signer.sign(message), payload: input.payload.slice() };
}

/**
 * Canonical bytes of a transaction: signed header, a flag, and the payload when present.
 * @throws InvalidArgumentError when `tx` is not a well-formed transaction.
 */
export function encodeTransaction(tx: Transaction): Uint8Array {
  // Written into a buffer of exactly its size, which is then handed out as it is: no growth, no final copy.
  const w = new Writer(checkTransaction(tx));
  writeCheckedTransaction(w, tx);
  return w.finish();
}

/**
 * Appends one transaction to `w` (used by block encoding), after checking every field.
 * @throws InvalidArgumentError when `tx` is not a well-formed transaction or its payload length differs from the header.
 */
export function writeTransaction(w: Writer, tx: Transaction): void {
  if (!(w instanceof Writer)) throw new InvalidArgumentError(`w: expected Writer, got ${describe(w)}`);
  checkTransaction(tx);
  writeCheckedTransaction(w, tx);
}

/** Checks every field of a transaction; returns the length of its encoding. */
function checkTransaction(tx: Transaction): number {
  assertObject(tx, 'transaction');
  const headerSize = checkTxHeader(tx.header);
  assertBytes(tx.signature, 'signature', 64);
  if (tx.payload === undefined) return headerSize + 64 + 1;
  assertBytes(tx.payload, 'payload');
  if (tx.payload.length !== tx.header.payloadSize) {
    throw new InvalidArgumentError(`payload: header says ${tx.header.payloadSize} bytes, got ${tx.payload.length}`);
  }
  return headerSize + 64 + 1 + tx.payload.length;
}

function writeCheckedTransaction(w: Writer, tx: Transaction): void {
  writeTxHeader(w, tx.header);
  w.fixed(tx.signature);
  if (tx.payload === undefined) w.u8(0);
  else w.u8(1).fixed(tx.payload);
}

/** Reads one transaction from `r` (used by block decoding). @throws a DecodeError subclass, InvalidArgumentError */
export function readTransaction(r: Reader): Transaction {
  if (!(r instanceof Reader)) throw new InvalidArgumentError(`r: expected Reader, got ${describe(r)}`);
  const header = readTxHeader(r);
  const signature = r.fixed('signature', 64);
  if (!r.flag('payload.present')) return { header, signature };
  const payload = r.fixed('payload', header.payloadSize);
  return { header, signature, payload };
}

/**
 * Decodes exactly one transaction (full or stripped). Byte fields are copies of `bytes` unless `copy: false`, which
 * returns views into it: for a buffer the caller hands over and nobody writes afterwards.
 * @throws a DecodeError subclass
 */
export function decodeTransaction(bytes: Uint8Array, options: ReaderOptions = {}): Transaction {
  assertBytes(bytes, 'bytes');
  assertObject(options, 'options');
  const r = new Reader(bytes, 0, options);
  const tx = readTransaction(r);
  r.end('transaction');
  return tx;
}

/** The stripped form: same header, same signature, same id, no payload. @throws InvalidArgumentError */
export function stripTransaction(tx: Transaction): Transaction {
  assertObject(tx, 'transaction');
  return { header: tx.header, signature: tx.signature };
}

/** True when the transaction carries no payload. @throws InvalidArgumentError */
export function isStripped(tx: Transaction): boolean {
  assertObject(tx, 'transaction');
  return tx.payload === undefined;
}

/**
 * Restores the payload of a stripped transaction (fetched from an archive, say), after checking it against the
 * signed header. @throws PayloadMismatchError when length or hash differ; InvalidArgumentError on wrong types.
 */
export function attachPayload(
  tx: Transaction,
  payload: Uint8Array,
  provider: CryptoProvider = getCryptoProvider(),
): Transaction {
  assertObject(tx, 'transaction');
  assertTxHeader(tx.header);
  assertBytes(payload, 'payload');
  if (payload.length !== tx.header.payloadSize) {
    throw new PayloadMismatchError(`payload is ${payload.length} bytes, the signed header says ${tx.header.payloadSize}`);
  }
  if (!equalBytes(provider.sha256(payload), tx.header.payloadHash)) {
    throw new PayloadMismatchError('payload does not hash to the payload hash in the signed header');
  }
  return { header: tx.header, signature: tx.signature, payload: payload.slice() };
}

/** Why a transaction failed verification. */
export type TxFailure = 'bad-signature' | 'payload-mismatch' | 'chain-mismatch';

export type TxVerdict = { readonly valid: true } | { readonly valid: false; readonly reason: TxFailure; readonly message: string };

export interface VerifyTransactionOptions {
  /** When given, the transaction must belong to this chain. */
  readonly chainId?: Uint8Array;
  readonly provider?: CryptoProvider;
}

/**
 * Verifies the origin's signature, the payload (when present) against the signed header, and optionally the chain.
 * Never throws for an invalid transaction; it answers why.
 * @throws InvalidArgumentError only when `tx` is not a well-formed transaction object (a decoded one always is).
 */
export function verifyTransaction(tx: Transaction, options: VerifyTransactionOptions = {}): TxVerdict {
  assertObject(tx, 'transaction');
  assertTxHeader(tx.header);
  assertObject(options, 'options');
  if (options.chainId !== undefined) assertBytes(options.chainId, 'options.chainId');
  if (tx.payload !== undefined) assertBytes(tx.payload, 'transaction.payload');
  const provider = options.provider ?? getCryptoProvider();
  if (options.chainId !== undefined && !equalBytes(options.chainId, tx.header.chainId)) {
    return { valid: false, reason: 'chain-mismatch', message: 'transaction belongs to another chain' };
  }
  if (tx.payload !== undefined) {
    if (tx.payload.length !== tx.header.payloadSize || !equalBytes(provider.sha256(tx.payload), tx.header.payloadHash)) {
      return { valid: false, reason: 'payload-mismatch', message: 'payload does not match the signed payload hash' };
    }
  }
  if (!verifySignature(tx.header.origin, signingMessageOf(tx.header), tx.signature, provider)) {
    return { valid: false, reason: 'bad-signature', message: 'origin signature does not verify' };
  }
  return { valid: true };
}
