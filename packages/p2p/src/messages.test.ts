import fc from 'fast-check';
import {
  DecodeError,
  LengthLimitError,
  NodeKey,
  TrailingBytesError,
  TruncatedInputError,
  InvalidValueError,
  NonMinimalLengthError,
  InvalidArgumentError,
  blockHash,
  toHex,
} from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { makeTransaction, TestLedger } from '../test/helpers/ledger.js';
import { ProtocolVersionError, UnknownMessageTypeError } from './errors.js';
import { MAX_BLOCKS_PER_MESSAGE, MAX_PEER_ENTRIES, MAX_TRANSACTIONS_PER_MESSAGE, PROTOCOL_VERSION } from './limits.js';
import {
  addressSigningMessage,
  decodeAuth,
  decodeHello,
  decodeMessage,
  encodeAuth,
  encodeBlockMessage,
  encodeBlocksResponse,
  encodeHello,
  encodeMessage,
  encodeTransactionIdsMessage,
  encodeTransactionsMessage,
  MessageType,
  type AddressRecord,
  type Hello,
  type SessionMessage,
} from './messages.js';
import { encodeBlock, encodeTransaction } from '@safechain/core';

/** Asserts that `fn` throws a DecodeError subclass (DecodeError itself is abstract, so `toThrow` cannot take it). */
function expectDecodeError(fn: () => unknown, what?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, what).toBeInstanceOf(DecodeError);
}

const key = NodeKey.fromSeed(new Uint8Array(32).fill(7));
const ledger = TestLedger.create(key);
const chainId = ledger.chainId;
const tx1 = makeTransaction(key, chainId, 100);
const tx2 = makeTransaction(key, chainId, 0);
ledger.acceptTransactions([tx1, tx2]);
const block = ledger.produce(key);

function record(host = '10.0.0.1', port = 7000): AddressRecord {
  const base = { nodeKey: key.publicKey, host, port, issuedAt: 1_700_000_000_123 };
  return { ...base, signature: key.sign(addressSigningMessage(chainId, base)) };
}

const hello: Hello = {
  version: PROTOCOL_VERSION,
  chainId,
  nodeKey: key.publicKey,
  ephemeralKey: new Uint8Array(32).fill(3),
  nonce: new Uint8Array(32).fill(4),
  timestamp: 1_700_000_000_000,
  address: record(),
  admission: { authority: new Uint8Array(32).fill(5), signature: new Uint8Array(64).fill(6) },
};

const samples: SessionMessage[] = [
  { type: 'ping', nonce: 0 },
  { type: 'pong', nonce: 0xffff_ffff },
  { type: 'getPeers', id: 1 },
  { type: 'peers', id: 2, entries: [{ record: record() }, { record: record('node-b.factory.local', 65535), admission: hello.admission! }] },
  { type: 'peers', id: 2, entries: [] },
  { type: 'transactions', txs: [tx1, tx2, { header: tx1.header, signature: tx1.signature }] },
  { type: 'block', block },
  { type: 'block', block: ledger.genesis },
  { type: 'transactionIds', ids: [new Uint8Array(32).fill(7), new Uint8Array(32).fill(8)] },
  { type: 'transactionIds', ids: [] },
  { type: 'getTip', id: 3 },
  { type: 'tip', id: 4, tip: { height: 12, hash: new Uint8Array(32).fill(9), totalWork: 0n } },
  { type: 'tip', id: 4, tip: { height: 12, hash: new Uint8Array(32).fill(9), totalWork: (1n << 255n) + 7n } },
  { type: 'getHeaders', id: 5, fromHeight: 0, max: 2000 },
  { type: 'headers', id: 6, headers: [ledger.genesis.header, block.header] },
  { type: 'getBlocks', id: 7, hashes: [blockHash(block.header), new Uint8Array(32)] },
  { type: 'blocks', id: 8, blocks: [ledger.genesis, block] },
  { type: 'getTransactions', id: 9, ids: [new Uint8Array(32).fill(1)] },
  { type: 'transactionData', id: 10, txs: [tx1] },
  { type: 'getSeal', id: 11, block: { header: block.header, data: block.data.map((t) => ({ header: t.header, signature: t.signature })) } },
  { type: 'seal', id: 12, signature: new Uint8Array(64).fill(0xab) },
  { type: 'seal', id: 13, signature: null },
];

describe('session messages', () => {
  it.each(samples.map((m) => [m.type, m] as const))('%s round-trips byte for byte', (_type, message) => {
    const bytes = encodeMessage(message);
    expect(bytes[0]).toBe(MessageType[message.type]);
    const decoded = decodeMessage(bytes);
    expect(decoded).toEqual(message);
    expect(encodeMessage(decoded)).toEqual(bytes);
  });

  it('a pre-encoded TRANSACTION_IDS equals the generic encoding', () => {
    const ids = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    expect(encodeTransactionIdsMessage(ids)).toEqual(encodeMessage({ type: 'transactionIds', ids }));
  });

  it('pre-encoded TRANSACTIONS, BLOCK and BLOCKS equal the generic encoding', () => {
    expect(encodeTransactionsMessage([encodeTransaction(tx1), encodeTransaction(tx2)])).toEqual(
      encodeMessage({ type: 'transactions', txs: [tx1, tx2] }),
    );
    expect(encodeBlockMessage(encodeBlock(block))).toEqual(encodeMessage({ type: 'block', block }));
    expect(encodeBlocksResponse(8, [encodeBlock(ledger.genesis), encodeBlock(block)])).toEqual(
      encodeMessage({ type: 'blocks', id: 8, blocks: [ledger.genesis, block] }),
    );
  });

  it('every truncation of every sample is refused with a DecodeError', () => {
    for (const message of samples) {
      const bytes = encodeMessage(message);
      for (let n = 0; n < bytes.length; n++) {
        expectDecodeError(() => decodeMessage(bytes.subarray(0, n)), `${message.type} cut at ${n}`);
      }
    }
  });

  it('SEAL has a fixed layout: type, u32 id, a granted flag, the 64-byte signature when granted', () => {
    const granted = encodeMessage({ type: 'seal', id: 11, signature: new Uint8Array(64).fill(0xab) });
    expect(toHex(granted)).toBe(`490000000b01${'ab'.repeat(64)}`);
    expect(toHex(encodeMessage({ type: 'seal', id: 11, signature: null }))).toBe('490000000b00');
    expectDecodeError(() => decodeMessage(Uint8Array.of(0x49, 0, 0, 0, 11, 2)), 'granted flag 2');
    expectDecodeError(() => decodeMessage(Uint8Array.of(0x49, 0, 0, 0, 11, 0, 0)), 'trailing byte');
    expect(() => encodeMessage({ type: 'seal', id: 11, signature: new Uint8Array(63) })).toThrow(InvalidArgumentError);
  });

  it('refuses trailing bytes', () => {
    for (const message of samples) {
      const bytes = encodeMessage(message);
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      // BLOCK takes the rest of the message as the block, which then has a trailing byte.
      expect(() => decodeMessage(longer)).toThrow(TrailingBytesError);
    }
  });

  it('refuses unknown and handshake type bytes inside a session', () => {
    expect(() => decodeMessage(Uint8Array.of(0x7f))).toThrow(UnknownMessageTypeError);
    expect(() => decodeMessage(encodeAuth({ signature: new Uint8Array(64) }))).toThrow(UnknownMessageTypeError);
    expect(() => decodeMessage(new Uint8Array(0))).toThrow(TruncatedInputError);
  });

  it('refuses counts above the protocol limits before allocating', () => {
    const count = (type: number, n: number, withId: boolean): Uint8Array => {
      const bytes = [type, ...(withId ? [0, 0, 0, 1] : [])];
      let v = n;
      while (v >= 0x80) {
        bytes.push((v & 0x7f) | 0x80);
        v = Math.floor(v / 0x80);
      }
      bytes.push(v);
      return Uint8Array.from(bytes);
    };
    expect(() => decodeMessage(count(MessageType.transactions, MAX_TRANSACTIONS_PER_MESSAGE + 1, false))).toThrow(LengthLimitError);
    expect(() => decodeMessage(count(MessageType.peers, MAX_PEER_ENTRIES + 1, true))).toThrow(LengthLimitError);
    expect(() => decodeMessage(count(MessageType.blocks, MAX_BLOCKS_PER_MESSAGE + 1, true))).toThrow(LengthLimitError);
    // A count within the limit but larger than the bytes that follow could hold.
    expect(() => decodeMessage(count(MessageType.transactions, 5_000, false))).toThrow(TruncatedInputError);
    expect(() => decodeMessage(count(MessageType.getBlocks, 500, true))).toThrow(TruncatedInputError);
  });

  it('refuses non-minimal varints, bad ports, empty hosts, zero max and non-canonical work', () => {
    expect(() => decodeMessage(Uint8Array.of(MessageType.transactions, 0x80, 0x00))).toThrow(NonMinimalLengthError);
    const peers = encodeMessage({ type: 'peers', id: 1, entries: [{ record: record() }] });
    const portAt = 1 + 4 + 1 + 32 + 1 + '10.0.0.1'.length;
    const badPort = peers.slice();
    badPort.set([0, 1, 0, 0], portAt); // 65536
    expect(() => decodeMessage(badPort)).toThrow(InvalidValueError);
    const zeroPort = peers.slice();
    zeroPort.set([0, 0, 0, 0], portAt);
    expect(() => decodeMessage(zeroPort)).toThrow(InvalidValueError);
    const getHeaders = encodeMessage({ type: 'getHeaders', id: 1, fromHeight: 0, max: 1 });
    getHeaders[getHeaders.length - 1] = 0;
    expect(() => decodeMessage(getHeaders)).toThrow(InvalidValueError);
    const tip = encodeMessage({ type: 'tip', id: 1, tip: { height: 1, hash: new Uint8Array(32), totalWork: 5n } });
    const leadingZero = Uint8Array.from([...tip.subarray(0, tip.length - 2), 2, 0, 5]);
    expect(() => decodeMessage(leadingZero)).toThrow(InvalidValueError);
  });

  it('encoders refuse values outside the protocol', () => {
    expect(() => encodeMessage({ type: 'ping', nonce: -1 })).toThrow(InvalidArgumentError);
    expect(() => encodeMessage({ type: 'getHeaders', id: 1, fromHeight: 0, max: 2001 })).toThrow(InvalidArgumentError);
    expect(() => encodeMessage({ type: 'getTransactions', id: 1, ids: new Array(1025).fill(new Uint8Array(32)) })).toThrow(InvalidArgumentError);
    expect(() => encodeMessage({ type: 'peers', id: 1, entries: [{ record: { ...record(), port: 70000 } }] })).toThrow(InvalidArgumentError);
    expect(() => encodeMessage({ type: 'tip', id: 1, tip: { height: 1, hash: new Uint8Array(32), totalWork: 1n << 256n } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('random bytes never decode into anything but a message or a DecodeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        try {
          const message = decodeMessage(bytes);
          expect(encodeMessage(message)).toEqual(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('random corruptions of valid messages decode canonically or fail with a DecodeError', () => {
    const encoded = samples.map((m) => encodeMessage(m));
    fc.assert(
      fc.property(fc.nat(encoded.length - 1), fc.nat(), fc.integer({ min: 1, max: 255 }), (which, at, xor) => {
        const bytes = encoded[which]!.slice();
        bytes[at % bytes.length]! ^= xor;
        try {
          expect(encodeMessage(decodeMessage(bytes))).toEqual(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('handshake messages', () => {
  it('HELLO and AUTH round-trip', () => {
    const bytes = encodeHello(hello);
    expect(decodeHello(bytes)).toEqual(hello);
    const minimal: Hello = { ...hello };
    delete (minimal as { address?: unknown }).address;
    delete (minimal as { admission?: unknown }).admission;
    expect(decodeHello(encodeHello(minimal))).toEqual(minimal);
    const auth = { signature: new Uint8Array(64).fill(8) };
    expect(decodeAuth(encodeAuth(auth))).toEqual(auth);
  });

  it('a HELLO of another protocol version is refused before its body is read', () => {
    const bytes = encodeHello(hello);
    bytes[1] = 1;
    expect(() => decodeHello(bytes)).toThrow(ProtocolVersionError);
    expect(() => decodeHello(Uint8Array.of(MessageType.hello, 9))).toThrow(ProtocolVersionError);
  });

  it('refuses truncation, trailing bytes and the wrong type', () => {
    const bytes = encodeHello(hello);
    for (let n = 0; n < bytes.length; n++) expectDecodeError(() => decodeHello(bytes.subarray(0, n)));
    expect(() => decodeHello(Uint8Array.from([...bytes, 0]))).toThrow(TrailingBytesError);
    expect(() => decodeHello(encodeAuth({ signature: new Uint8Array(64) }))).toThrow(UnknownMessageTypeError);
    expect(() => decodeAuth(Uint8Array.from([MessageType.auth, ...new Uint8Array(65)]))).toThrow(TrailingBytesError);
    expect(() => decodeAuth(bytes)).toThrow(UnknownMessageTypeError);
  });
});
