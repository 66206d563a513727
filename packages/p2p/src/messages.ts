import {
  assertBytes,
  concatBytes,
  decodeBlock,
  decodeBlockHeader,
  encodeBlock,
  encodeBlockHeader,
  InvalidArgumentError,
  InvalidValueError,
  MIN_TX_BYTES,
  Reader,
  readTransaction,
  utf8,
  Writer,
  writeTransaction,
  type Block,
  type BlockHeader,
  type Transaction,
} from '@safechain/core';
import { ProtocolVersionError, UnknownMessageTypeError } from './errors.js';
import {
  MAX_BLOCKS_PER_MESSAGE,
  MAX_HEADERS_PER_MESSAGE,
  MAX_HOST_BYTES,
  MAX_IDS_PER_REQUEST,
  MAX_PEER_ENTRIES,
  MAX_TRANSACTIONS_PER_MESSAGE,
  MAX_WORK_BYTES,
  PROTOCOL_VERSION,
} from './limits.js';

/**
 * The wire messages of the local network, in the canonical codec of `@safechain/core`: one type byte, then the
 * fields. Every decoder is strict (no trailing bytes, minimal varints, bounded counts checked against the bytes
 * left before any array is built) and throws a `DecodeError` subclass naming the field and offset.
 * docs/p2p-protocol.md lists the byte layout of each message.
 */

/** Message type bytes. HELLO and AUTH travel in the clear during the handshake; all others inside the session. */
export const MessageType = {
  hello: 0x01,
  auth: 0x02,
  ping: 0x10,
  pong: 0x11,
  getPeers: 0x20,
  peers: 0x21,
  transactions: 0x30,
  block: 0x31,
  transactionIds: 0x32,
  getTip: 0x40,
  tip: 0x41,
  getHeaders: 0x42,
  headers: 0x43,
  getBlocks: 0x44,
  blocks: 0x45,
  getTransactions: 0x46,
  transactionData: 0x47,
  getSeal: 0x48,
  seal: 0x49,
} as const;

export type MessageTypeName = keyof typeof MessageType;

const TYPE_NAMES = new Map<number, MessageTypeName>(
  (Object.entries(MessageType) as [MessageTypeName, number][]).map(([name, byte]) => [byte, name]),
);

/** The name of a message type byte, or `unknown`. */
export function messageTypeName(byte: number): MessageTypeName | 'unknown' {
  return TYPE_NAMES.get(byte) ?? 'unknown';
}

/** A node's signed statement "I listen at host:port", so relayed addresses cannot be forged for a key. */
export interface AddressRecord {
  /** The node's ed25519 public key (32 bytes). */
  readonly nodeKey: Uint8Array;
  /** Host name or IP address other nodes dial. */
  readonly host: string;
  /** TCP port, 1-65535. */
  readonly port: number;
  /** When the node signed the record (ms since the epoch); a newer record replaces an older one. */
  readonly issuedAt: number;
  /** ed25519 signature by `nodeKey` over `addressSigningMessage(chainId, record)` (64 bytes). */
  readonly signature: Uint8Array;
}

/** An admission key's signature over a member's node key: the alternative to listing every member. */
export interface AdmissionCertificate {
  /** The admission (authority) public key that signed (32 bytes). */
  readonly authority: Uint8Array;
  /** ed25519 signature over `admissionSigningMessage(chainId, memberKey)` (64 bytes). */
  readonly signature: Uint8Array;
}

/** One entry of peer exchange: the signed address and, in admission mode, the member's certificate. */
export interface PeerEntry {
  readonly record: AddressRecord;
  readonly admission?: AdmissionCertificate;
}

/** The first handshake message, sent by both sides. */
export interface Hello {
  readonly version: number;
  /** Genesis block hash of the chain (32 bytes). */
  readonly chainId: Uint8Array;
  /** The sender's node key (ed25519, 32 bytes). */
  readonly nodeKey: Uint8Array;
  /** A fresh X25519 public key for this connection only (32 bytes). */
  readonly ephemeralKey: Uint8Array;
  /** 32 fresh random bytes. */
  readonly nonce: Uint8Array;
  /** The sender's clock (ms since the epoch): bounds how long a recorded hello stays usable. */
  readonly timestamp: number;
  /** Where the sender listens, signed; absent for a node that only dials. */
  readonly address?: AddressRecord;
  /** The sender's admission certificate, in admission mode. */
  readonly admission?: AdmissionCertificate;
}

/** The second handshake message: the sender's signature over the transcript hash. */
export interface Auth {
  readonly signature: Uint8Array;
}

/** A chain tip as peers tell it. */
export interface ChainTip {
  readonly height: number;
  /** Block hash of the tip (32 bytes). */
  readonly hash: Uint8Array;
  /** Total work from genesis to the tip: the fork-choice weight. */
  readonly totalWork: bigint;
}

/** Every message that travels inside an established session. */
export type SessionMessage =
  | { readonly type: 'ping'; readonly nonce: number }
  | { readonly type: 'pong'; readonly nonce: number }
  | { readonly type: 'getPeers'; readonly id: number }
  | { readonly type: 'peers'; readonly id: number; readonly entries: readonly PeerEntry[] }
  | { readonly type: 'transactions'; readonly txs: readonly Transaction[] }
  | { readonly type: 'block'; readonly block: Block }
  | { readonly type: 'transactionIds'; readonly ids: readonly Uint8Array[] }
  | { readonly type: 'getTip'; readonly id: number }
  | { readonly type: 'tip'; readonly id: number; readonly tip: ChainTip }
  | { readonly type: 'getHeaders'; readonly id: number; readonly fromHeight: number; readonly max: number }
  | { readonly type: 'headers'; readonly id: number; readonly headers: readonly BlockHeader[] }
  | { readonly type: 'getBlocks'; readonly id: number; readonly hashes: readonly Uint8Array[] }
  | { readonly type: 'blocks'; readonly id: number; readonly blocks: readonly Block[] }
  | { readonly type: 'getTransactions'; readonly id: number; readonly ids: readonly Uint8Array[] }
  | { readonly type: 'transactionData'; readonly id: number; readonly txs: readonly Transaction[] }
  /** A block still gathering seals (its transactions stripped), sent to a validator for its seal. */
  | { readonly type: 'getSeal'; readonly id: number; readonly block: Block }
  /** The validator's seal (64-byte signature over the block hash, by the answering peer's key), or null: refused. */
  | { readonly type: 'seal'; readonly id: number; readonly signature: Uint8Array | null };

/** Requests: messages that carry an id and expect exactly one response with the same id. */
export type RequestMessage = Extract<SessionMessage, { type: 'getPeers' | 'getTip' | 'getHeaders' | 'getBlocks' | 'getTransactions' | 'getSeal' }>;
/** Responses, matched to requests by id. */
export type ResponseMessage = Extract<SessionMessage, { type: 'peers' | 'tip' | 'headers' | 'blocks' | 'transactionData' | 'seal' }>;

/** The response type each request expects. */
export const RESPONSE_TYPE = {
  getPeers: 'peers',
  getTip: 'tip',
  getHeaders: 'headers',
  getBlocks: 'blocks',
  getTransactions: 'transactionData',
  getSeal: 'seal',
} as const satisfies Record<RequestMessage['type'], ResponseMessage['type']>;


const ADDRESS_DOMAIN = utf8('safechain/p2p/address/v1');
const ADMISSION_DOMAIN = utf8('safechain/p2p/admission/v1');

// ---------------------------------------------------------------------------------------------------------------
// Field helpers

function assertPort(port: unknown, name: string): asserts port is number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`${name}: expected an integer port 1-65535, got ${String(port)}`);
  }
}

function assertHost(host: unknown, name: string): asserts host is string {
  if (typeof host !== 'string' || host.length === 0 || !host.isWellFormed() || utf8(host).length > MAX_HOST_BYTES) {
    throw new InvalidArgumentError(`${name}: expected a host of 1-${MAX_HOST_BYTES} UTF-8 bytes, got ${String(host)}`);
  }
}

function assertU53(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name}: expected a non-negative safe integer, got ${String(value)}`);
  }
}

function assertU32(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`${name}: expected a u32, got ${String(value)}`);
  }
}

function readPort(r: Reader, field: string): number {
  const at = r.offset;
  const port = r.u32(field);
  if (port < 1 || port > 65535) throw new InvalidValueError(field, at, `port must be 1-65535, got ${port}`);
  return port;
}

function readHost(r: Reader, field: string): string {
  const at = r.offset;
  const host = r.string(field, MAX_HOST_BYTES);
  if (host.length === 0) throw new InvalidValueError(field, at, 'host is empty');
  return host;
}

/** Unsigned big-endian bytes of `work`, minimal (no leading zero byte; zero is empty). */
function workBytes(work: bigint): Uint8Array {
  if (typeof work !== 'bigint' || work < 0n) throw new InvalidArgumentError('totalWork: expected a non-negative bigint');
  const out: number[] = [];
  let v = work;
  while (v > 0n) {
    out.unshift(Number(v & 0xffn));
    v >>= 8n;
  }
  if (out.length > MAX_WORK_BYTES) throw new InvalidArgumentError(`totalWork: above ${MAX_WORK_BYTES * 8} bits`);
  return Uint8Array.from(out);
}

function readWork(r: Reader, field: string): bigint {
  const at = r.offset;
  const bytes = r.varBytes(field, MAX_WORK_BYTES);
  if (bytes.length > 0 && bytes[0] === 0) throw new InvalidValueError(field, at, 'work has a leading zero byte');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Address records and admission certificates

/** The bytes a node signs to publish its address: bound to the chain so a record cannot move between chains. */
export function addressSigningMessage(
  chainId: Uint8Array,
  record: Pick<AddressRecord, 'nodeKey' | 'host' | 'port' | 'issuedAt'>,
): Uint8Array {
  assertBytes(chainId, 'chainId', 32);
  assertBytes(record.nodeKey, 'record.nodeKey', 32);
  assertHost(record.host, 'record.host');
  assertPort(record.port, 'record.port');
  assertU53(record.issuedAt, 'record.issuedAt');
  const w = new Writer(128);
  w.fixed(ADDRESS_DOMAIN).fixed(chainId).fixed(record.nodeKey).string(record.host).u32(record.port).u64(record.issuedAt);
  return w.finish();
}

/** The bytes an admission key signs to admit `memberKey` to the chain `chainId`. */
export function admissionSigningMessage(chainId: Uint8Array, memberKey: Uint8Array): Uint8Array {
  assertBytes(chainId, 'chainId', 32);
  assertBytes(memberKey, 'memberKey', 32);
  return concatBytes(ADMISSION_DOMAIN, chainId, memberKey);
}

function writeAddressRecord(w: Writer, record: AddressRecord): void {
  assertBytes(record.nodeKey, 'record.nodeKey', 32);
  assertHost(record.host, 'record.host');
  assertPort(record.port, 'record.port');
  assertU53(record.issuedAt, 'record.issuedAt');
  assertBytes(record.signature, 'record.signature', 64);
  w.fixed(record.nodeKey).string(record.host).u32(record.port).u64(record.issuedAt).fixed(record.signature);
}

function readAddressRecord(r: Reader, field: string): AddressRecord {
  const nodeKey = r.fixed(`${field}.nodeKey`, 32);
  const host = readHost(r, `${field}.host`);
  const port = readPort(r, `${field}.port`);
  const issuedAt = r.u64(`${field}.issuedAt`);
  const signature = r.fixed(`${field}.signature`, 64);
  return { nodeKey, host, port, issuedAt, signature };
}

function writeAdmission(w: Writer, admission: AdmissionCertificate | undefined): void {
  if (admission === undefined) {
    w.u8(0);
    return;
  }
  assertBytes(admission.authority, 'admission.authority', 32);
  assertBytes(admission.signature, 'admission.signature', 64);
  w.u8(1).fixed(admission.authority).fixed(admission.signature);
}

function readAdmission(r: Reader, field: string): AdmissionCertificate | undefined {
  if (!r.flag(`${field}.present`)) return undefined;
  const authority = r.fixed(`${field}.authority`, 32);
  const signature = r.fixed(`${field}.signature`, 64);
  return { authority, signature };
}

/** Smallest encoded block header: kind, version, height, time, two hashes, count, difficulty, three empty lists. */
const MIN_HEADER_BYTES = 2 + 8 + 8 + 32 + 32 + 4 + 8 + 1 + 1 + 1;

/** Smallest encoded peer entry: key, 1-byte host, port, time, signature, admission flag. */
const MIN_PEER_ENTRY_BYTES = 32 + 2 + 4 + 8 + 64 + 1;

// ---------------------------------------------------------------------------------------------------------------
// Handshake messages

/** Canonical bytes of a HELLO. @throws InvalidArgumentError on a malformed field */
export function encodeHello(hello: Hello): Uint8Array {
  assertBytes(hello.chainId, 'hello.chainId', 32);
  assertBytes(hello.nodeKey, 'hello.nodeKey', 32);
  assertBytes(hello.ephemeralKey, 'hello.ephemeralKey', 32);
  assertBytes(hello.nonce, 'hello.nonce', 32);
  assertU53(hello.timestamp, 'hello.timestamp');
  if (hello.version < 0 || hello.version > 255 || !Number.isInteger(hello.version)) {
    throw new InvalidArgumentError(`hello.version: expected a byte, got ${hello.version}`);
  }
  const w = new Writer(512);
  w.u8(MessageType.hello).u8(hello.version);
  w.fixed(hello.chainId).fixed(hello.nodeKey).fixed(hello.ephemeralKey).fixed(hello.nonce).u64(hello.timestamp);
  if (hello.address === undefined) w.u8(0);
  else {
    w.u8(1);
    writeAddressRecord(w, hello.address);
  }
  writeAdmission(w, hello.admission);
  return w.finish();
}

/**
 * Decodes a HELLO.
 * @throws ProtocolVersionError for another protocol version (its layout is unknown, so nothing after it is read);
 *   a DecodeError subclass (UnknownMessageTypeError, TruncatedInputError, ...) for anything malformed.
 */
export function decodeHello(bytes: Uint8Array): Hello {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const type = r.u8('hello.type');
  if (type !== MessageType.hello) throw new UnknownMessageTypeError('hello.type', 0, `expected HELLO (0x01), got 0x${hex2(type)}`);
  const version = r.u8('hello.version');
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolVersionError(`peer speaks protocol version ${version}, this node speaks ${PROTOCOL_VERSION}`);
  }
  const chainId = r.fixed('hello.chainId', 32);
  const nodeKey = r.fixed('hello.nodeKey', 32);
  const ephemeralKey = r.fixed('hello.ephemeralKey', 32);
  const nonce = r.fixed('hello.nonce', 32);
  const timestamp = r.u64('hello.timestamp');
  const address = r.flag('hello.address.present') ? readAddressRecord(r, 'hello.address') : undefined;
  const admission = readAdmission(r, 'hello.admission');
  r.end('hello');
  const base: Hello = { version, chainId, nodeKey, ephemeralKey, nonce, timestamp };
  return {
    ...base,
    ...(address === undefined ? {} : { address }),
    ...(admission === undefined ? {} : { admission }),
  };
}

/** Canonical bytes of an AUTH. */
export function encodeAuth(auth: Auth): Uint8Array {
  assertBytes(auth.signature, 'auth.signature', 64);
  return concatBytes(Uint8Array.of(MessageType.auth), auth.signature);
}

/** Decodes an AUTH. @throws a DecodeError subclass */
export function decodeAuth(bytes: Uint8Array): Auth {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const type = r.u8('auth.type');
  if (type !== MessageType.auth) throw new UnknownMessageTypeError('auth.type', 0, `expected AUTH (0x02), got 0x${hex2(type)}`);
  const signature = r.fixed('auth.signature', 64);
  r.end('auth');
  return { signature };
}

// ---------------------------------------------------------------------------------------------------------------
// Session messages

function checkCount(n: number, max: number, name: string): void {
  if (n > max) throw new InvalidArgumentError(`${name}: expected at most ${max}, got ${n}`);
}

/**
 * Canonical bytes of a session message (the plaintext of one encrypted frame).
 * @throws InvalidArgumentError when a field is malformed or a count is above its protocol limit
 */
export function encodeMessage(message: SessionMessage): Uint8Array {
  const w = new Writer(256);
  w.u8(MessageType[message.type]);
  switch (message.type) {
    case 'ping':
    case 'pong':
      assertU32(message.nonce, 'nonce');
      w.u32(message.nonce);
      break;
    case 'getPeers':
    case 'getTip':
      assertU32(message.id, 'id');
      w.u32(message.id);
      break;
    case 'peers':
      assertU32(message.id, 'id');
      checkCount(message.entries.length, MAX_PEER_ENTRIES, 'entries');
      w.u32(message.id).varint(message.entries.length);
      for (const entry of message.entries) {
        writeAddressRecord(w, entry.record);
        writeAdmission(w, entry.admission);
      }
      break;
    case 'transactions':
      checkCount(message.txs.length, MAX_TRANSACTIONS_PER_MESSAGE, 'txs');
      w.varint(message.txs.length);
      for (const tx of message.txs) writeTransaction(w, tx);
      break;
    case 'block':
      w.fixed(encodeBlock(message.block));
      break;
    case 'transactionIds':
      checkCount(message.ids.length, MAX_TRANSACTIONS_PER_MESSAGE, 'ids');
      w.varint(message.ids.length);
      for (const id of message.ids) {
        assertBytes(id, 'id', 32);
        w.fixed(id);
      }
      break;
    case 'tip':
      assertU32(message.id, 'id');
      assertU53(message.tip.height, 'tip.height');
      assertBytes(message.tip.hash, 'tip.hash', 32);
      w.u32(message.id).u64(message.tip.height).fixed(message.tip.hash).varBytes(workBytes(message.tip.totalWork));
      break;
    case 'getHeaders':
      assertU32(message.id, 'id');
      assertU53(message.fromHeight, 'fromHeight');
      if (!Number.isInteger(message.max) || message.max < 1 || message.max > MAX_HEADERS_PER_MESSAGE) {
        throw new InvalidArgumentError(`max: expected 1-${MAX_HEADERS_PER_MESSAGE}, got ${message.max}`);
      }
      w.u32(message.id).u64(message.fromHeight).varint(message.max);
      break;
    case 'headers':
      assertU32(message.id, 'id');
      checkCount(message.headers.length, MAX_HEADERS_PER_MESSAGE, 'headers');
      w.u32(message.id).varint(message.headers.length);
      for (const header of message.headers) w.varBytes(encodeBlockHeader(header));
      break;
    case 'getBlocks':
      assertU32(message.id, 'id');
      checkCount(message.hashes.length, MAX_BLOCKS_PER_MESSAGE, 'hashes');
      w.u32(message.id).varint(message.hashes.length);
      for (const hash of message.hashes) {
        assertBytes(hash, 'hash', 32);
        w.fixed(hash);
      }
      break;
    case 'blocks':
      assertU32(message.id, 'id');
      checkCount(message.blocks.length, MAX_BLOCKS_PER_MESSAGE, 'blocks');
      w.u32(message.id).varint(message.blocks.length);
      for (const block of message.blocks) w.varBytes(encodeBlock(block));
      break;
    case 'getTransactions':
      assertU32(message.id, 'id');
      checkCount(message.ids.length, MAX_IDS_PER_REQUEST, 'ids');
      w.u32(message.id).varint(message.ids.length);
      for (const id of message.ids) {
        assertBytes(id, 'id', 32);
        w.fixed(id);
      }
      break;
    case 'transactionData':
      assertU32(message.id, 'id');
      checkCount(message.txs.length, MAX_TRANSACTIONS_PER_MESSAGE, 'txs');
      w.u32(message.id).varint(message.txs.length);
      for (const tx of message.txs) writeTransaction(w, tx);
      break;
    case 'getSeal':
      assertU32(message.id, 'id');
      w.u32(message.id).fixed(encodeBlock(message.block));
      break;
    case 'seal':
      assertU32(message.id, 'id');
      if (message.signature === null) w.u32(message.id).u8(0);
      else {
        assertBytes(message.signature, 'signature', 64);
        w.u32(message.id).u8(1).fixed(message.signature);
      }
      break;
  }
  return w.finish();
}

/**
 * A TRANSACTIONS message built from transactions already in canonical form (`encodeTransaction`), so a relay
 * encodes each transaction once however many peers it goes to.
 */
export function encodeTransactionsMessage(encodedTxs: readonly Uint8Array[]): Uint8Array {
  checkCount(encodedTxs.length, MAX_TRANSACTIONS_PER_MESSAGE, 'txs');
  const head = new Writer(16).u8(MessageType.transactions).varint(encodedTxs.length).finish();
  return concatBytes(head, ...encodedTxs);
}

/** Bytes of a TRANSACTIONS message holding transactions of `txBytes` bytes in all (for batching decisions). */
export function transactionsMessageSize(count: number, txBytes: number): number {
  let varintBytes = 1;
  for (let n = count; n >= 0x80; n = Math.floor(n / 0x80)) varintBytes++;
  return 1 + varintBytes + txBytes;
}

/** A TRANSACTION_IDS message (an announcement) from 32-byte ids already checked by the caller. */
export function encodeTransactionIdsMessage(ids: readonly Uint8Array[]): Uint8Array {
  checkCount(ids.length, MAX_TRANSACTIONS_PER_MESSAGE, 'ids');
  return concatBytes(new Writer(16).u8(MessageType.transactionIds).varint(ids.length).finish(), ...ids);
}

/** Bytes of a TRANSACTION_IDS message announcing `count` ids. */
export function transactionIdsMessageSize(count: number): number {
  return transactionsMessageSize(count, 32 * count);
}

/** A BLOCK message from a block already in canonical form (`encodeBlock`). */
export function encodeBlockMessage(encodedBlock: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(MessageType.block), encodedBlock);
}

/**
 * Decodes one session message. `maxMessageBytes` bounds nested byte strings (blocks, headers).
 * @throws UnknownMessageTypeError for a type byte that is not a session message; another DecodeError subclass
 *   (TruncatedInputError, LengthLimitError, TrailingBytesError, ...) for anything malformed.
 */
export function decodeMessage(bytes: Uint8Array, maxMessageBytes: number = bytes.length): SessionMessage {
  assertBytes(bytes, 'bytes');
  const r = new Reader(bytes);
  const type = r.u8('message.type');
  let message: SessionMessage;
  switch (type) {
    case MessageType.ping:
      message = { type: 'ping', nonce: r.u32('ping.nonce') };
      break;
    case MessageType.pong:
      message = { type: 'pong', nonce: r.u32('pong.nonce') };
      break;
    case MessageType.getPeers:
      message = { type: 'getPeers', id: r.u32('getPeers.id') };
      break;
    case MessageType.peers: {
      const id = r.u32('peers.id');
      const n = r.count('peers.count', MAX_PEER_ENTRIES, MIN_PEER_ENTRY_BYTES);
      const entries: PeerEntry[] = [];
      for (let i = 0; i < n; i++) {
        const record = readAddressRecord(r, `peers[${i}].record`);
        const admission = readAdmission(r, `peers[${i}].admission`);
        entries.push(admission === undefined ? { record } : { record, admission });
      }
      message = { type: 'peers', id, entries };
      break;
    }
    case MessageType.transactions: {
      const n = r.count('transactions.count', MAX_TRANSACTIONS_PER_MESSAGE, MIN_TX_BYTES);
      const txs: Transaction[] = [];
      for (let i = 0; i < n; i++) txs.push(readTransaction(r));
      message = { type: 'transactions', txs };
      break;
    }
    case MessageType.block:
      message = { type: 'block', block: decodeBlock(r.fixed('block', r.remaining)) };
      break;
    case MessageType.transactionIds: {
      const n = r.count('transactionIds.count', MAX_TRANSACTIONS_PER_MESSAGE, 32);
      const ids: Uint8Array[] = [];
      for (let i = 0; i < n; i++) ids.push(r.fixed(`transactionIds.ids[${i}]`, 32));
      message = { type: 'transactionIds', ids };
      break;
    }
    case MessageType.getTip:
      message = { type: 'getTip', id: r.u32('getTip.id') };
      break;
    case MessageType.tip: {
      const id = r.u32('tip.id');
      const height = r.u64('tip.height');
      const hash = r.fixed('tip.hash', 32);
      const totalWork = readWork(r, 'tip.totalWork');
      message = { type: 'tip', id, tip: { height, hash, totalWork } };
      break;
    }
    case MessageType.getHeaders: {
      const id = r.u32('getHeaders.id');
      const fromHeight = r.u64('getHeaders.fromHeight');
      const at = r.offset;
      const max = r.varint('getHeaders.max', MAX_HEADERS_PER_MESSAGE);
      if (max === 0) throw new InvalidValueError('getHeaders.max', at, 'max must be at least 1');
      message = { type: 'getHeaders', id, fromHeight, max };
      break;
    }
    case MessageType.headers: {
      const id = r.u32('headers.id');
      const n = r.count('headers.count', MAX_HEADERS_PER_MESSAGE, 1 + MIN_HEADER_BYTES);
      const headers: BlockHeader[] = [];
      for (let i = 0; i < n; i++) headers.push(decodeBlockHeader(r.varBytes(`headers[${i}]`, maxMessageBytes)));
      message = { type: 'headers', id, headers };
      break;
    }
    case MessageType.getBlocks: {
      const id = r.u32('getBlocks.id');
      const n = r.count('getBlocks.count', MAX_BLOCKS_PER_MESSAGE, 32);
      const hashes: Uint8Array[] = [];
      for (let i = 0; i < n; i++) hashes.push(r.fixed(`getBlocks.hashes[${i}]`, 32));
      message = { type: 'getBlocks', id, hashes };
      break;
    }
    case MessageType.blocks: {
      const id = r.u32('blocks.id');
      const n = r.count('blocks.count', MAX_BLOCKS_PER_MESSAGE, 1 + MIN_HEADER_BYTES);
      const blocks: Block[] = [];
      for (let i = 0; i < n; i++) blocks.push(decodeBlock(r.varBytes(`blocks[${i}]`, maxMessageBytes)));
      message = { type: 'blocks', id, blocks };
      break;
    }
    case MessageType.getTransactions: {
      const id = r.u32('getTransactions.id');
      const n = r.count('getTransactions.count', MAX_IDS_PER_REQUEST, 32);
      const ids: Uint8Array[] = [];
      for (let i = 0; i < n; i++) ids.push(r.fixed(`getTransactions.ids[${i}]`, 32));
      message = { type: 'getTransactions', id, ids };
      break;
    }
    case MessageType.transactionData: {
      const id = r.u32('transactionData.id');
      const n = r.count('transactionData.count', MAX_TRANSACTIONS_PER_MESSAGE, MIN_TX_BYTES);
      const txs: Transaction[] = [];
      for (let i = 0; i < n; i++) txs.push(readTransaction(r));
      message = { type: 'transactionData', id, txs };
      break;
    }
    case MessageType.getSeal: {
      const id = r.u32('getSeal.id');
      message = { type: 'getSeal', id, block: decodeBlock(r.fixed('getSeal.block', r.remaining)) };
      break;
    }
    case MessageType.seal: {
      const id = r.u32('seal.id');
      const at = r.offset;
      const granted = r.u8('seal.granted');
      if (granted > 1) throw new InvalidValueError('seal.granted', at, `expected 0 or 1, got ${granted}`);
      message = { type: 'seal', id, signature: granted === 1 ? r.fixed('seal.signature', 64) : null };
      break;
    }
    default:
      throw new UnknownMessageTypeError('message.type', 0, `unknown session message type 0x${hex2(type)}`);
  }
  r.end(`message.${message.type}`);
  return message;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** A BLOCKS response built from blocks already in canonical form (`encodeBlock`). */
export function encodeBlocksResponse(id: number, encodedBlocks: readonly Uint8Array[]): Uint8Array {
  assertU32(id, 'id');
  checkCount(encodedBlocks.length, MAX_BLOCKS_PER_MESSAGE, 'blocks');
  let size = 16;
  for (const b of encodedBlocks) size += b.length + 5;
  const w = new Writer(size);
  w.u8(MessageType.blocks).u32(id).varint(encodedBlocks.length);
  for (const b of encodedBlocks) w.varBytes(b);
  return w.finish();
}

/** Bytes a length-prefixed item of `length` bytes takes inside a message (the varint prefix included). */
export function prefixedSize(length: number): number {
  let n = 1;
  for (let v = length; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n + length;
}
