import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidValueError,
  LengthLimitError,
  MAX_CONTENT_TYPE_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SOURCE_BYTES,
  MAX_TRACE_CODE_BYTES,
  MAX_TRACE_CODES,
  NodeKey,
  NonMinimalLengthError,
  PayloadMismatchError,
  TX_SIGNATURE_DOMAIN,
  TrailingBytesError,
  TruncatedInputError,
  UnexpectedKindError,
  UnknownVersionError,
  attachPayload,
  concatBytes,
  createTransaction,
  decodeSignedTxHeader,
  decodeTransaction,
  decodeTxHeader,
  encodeSignedTxHeader,
  encodeTransaction,
  encodeTxHeader,
  isStripped,
  nodeCryptoProvider,
  portableCryptoProvider,
  sha256,
  stripTransaction,
  transactionId,
  txSigningMessage,
  utf8,
  verifySignature,
  verifyTransaction,
  type DecodeError,
  type Transaction,
  type TransactionInput,
} from '@safechain/core';
import { transaction as arbTransaction, txHeader as arbTxHeader } from '../test/support/arbitraries.js';

const key = NodeKey.fromSeed(new Uint8Array(32).fill(1));
const chainId = sha256(utf8('test chain'));

function sample(overrides: Partial<TransactionInput> = {}): Transaction {
  return createTransaction(
    {
      chainId,
      sequence: 3,
      createdAt: 1_767_225_600_000,
      contentType: 'application/json',
      source: 'press-07/spindle.csv',
      traceCodes: ['ORDER-1', 'BATCH-2'],
      payload: utf8('{"rpm":11800}'),
      ...overrides,
    },
    key,
  );
}

function decodeError(fn: () => unknown, type: abstract new (...args: never[]) => DecodeError): DecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as DecodeError;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

/** Byte offsets of a header's fixed fields (docs/wire-format.md). */
const AT = { kind: 0, version: 1, sequence: 66, createdAt: 74, contentTypeLength: 82 } as const;

describe('transaction codec', () => {
  it('decode(encode(header)) is the header and encode(decode(bytes)) the bytes', () => {
    fc.assert(
      fc.property(arbTxHeader, (h) => {
        const bytes = encodeTxHeader(h);
        const back = decodeTxHeader(bytes);
        expect(back).toEqual(h);
        expect('source' in back).toBe(h.source !== undefined);
        expect(encodeTxHeader(back)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips full and stripped transactions and signed headers', () => {
    fc.assert(
      fc.property(arbTransaction, (tx) => {
        const bytes = encodeTransaction(tx);
        const back = decodeTransaction(bytes);
        expect(back).toEqual(tx);
        expect(encodeTransaction(back)).toEqual(bytes);
        // Views instead of copies: the same transaction, every byte field backed by the input.
        const viewed = decodeTransaction(bytes, { copy: false });
        expect(viewed).toEqual(tx);
        expect(viewed.signature.buffer).toBe(bytes.buffer);
        expect(back.signature.buffer).not.toBe(bytes.buffer);
        if (viewed.payload !== undefined) expect(viewed.payload.buffer).toBe(bytes.buffer);
        const signed = encodeSignedTxHeader(tx);
        expect(decodeSignedTxHeader(signed)).toEqual(stripTransaction(tx));
        expect(bytes.subarray(0, signed.length)).toEqual(signed);
        expect(bytes[signed.length]).toBe(tx.payload === undefined ? 0 : 1);
      }),
      { numRuns: 300 },
    );
  });

  it('fails with TruncatedInputError at every prefix of a transaction', () => {
    for (const tx of [sample(), stripTransaction(sample()), sample({ source: '', traceCodes: [] })]) {
      const bytes = encodeTransaction(tx);
      for (let n = 0; n < bytes.length; n++) {
        expect(() => decodeTransaction(bytes.subarray(0, n)), `prefix ${n}`).toThrow(TruncatedInputError);
      }
      const signed = encodeSignedTxHeader(tx);
      for (let n = 0; n < signed.length; n++) {
        expect(() => decodeSignedTxHeader(signed.subarray(0, n)), `prefix ${n}`).toThrow(TruncatedInputError);
      }
    }
  });

  it('rejects trailing bytes', () => {
    const tx = sample();
    for (const [decode, bytes, field] of [
      [decodeTransaction, encodeTransaction(tx), 'transaction'],
      [decodeSignedTxHeader, encodeSignedTxHeader(tx), 'signedTxHeader'],
      [decodeTxHeader, encodeTxHeader(tx.header), 'txHeader'],
    ] as const) {
      const e = decodeError(() => decode(concatBytes(bytes, Uint8Array.of(0))), TrailingBytesError);
      expect([e.field, e.offset]).toEqual([field, bytes.length]);
    }
  });

  it('rejects another kind byte and unknown versions', () => {
    const bytes = encodeTransaction(sample());
    for (let kind = 0; kind < 256; kind++) {
      if (kind === 0x54) continue;
      const b = bytes.slice();
      b[AT.kind] = kind;
      expect(decodeError(() => decodeTransaction(b), UnexpectedKindError).offset).toBe(AT.kind);
    }
    for (const version of [0, 2, 255]) {
      const b = bytes.slice();
      b[AT.version] = version;
      const e = decodeError(() => decodeTransaction(b), UnknownVersionError);
      expect([e.field, e.offset]).toEqual(['txHeader.version', AT.version]);
    }
  });

  it('rejects a non-minimal length', () => {
    const bytes = encodeTxHeader(sample().header);
    const len = bytes[AT.contentTypeLength]!;
    const b = concatBytes(bytes.subarray(0, AT.contentTypeLength), Uint8Array.of(len | 0x80, 0x00), bytes.subarray(AT.contentTypeLength + 1));
    const e = decodeError(() => decodeTxHeader(b), NonMinimalLengthError);
    expect([e.field, e.offset]).toEqual(['txHeader.contentType.length', AT.contentTypeLength]);
  });

  it('rejects lengths and counts over their limits, naming the field', () => {
    const base = sample({ source: 'a', traceCodes: ['t'], contentType: 'c' }).header;
    const bytes = encodeTxHeader(base);
    const varint = (n: number): number[] => (n < 128 ? [n] : [(n & 0x7f) | 0x80, n >> 7]);
    const at = { contentType: AT.contentTypeLength, source: AT.contentTypeLength + 2 + 1, traceCount: AT.contentTypeLength + 5 };
    const splice = (offset: number, removed: number, inserted: number[]): Uint8Array =>
      concatBytes(bytes.subarray(0, offset), Uint8Array.from(inserted), bytes.subarray(offset + removed));
    const cases: [Uint8Array, string][] = [
      [splice(at.contentType, 1, varint(MAX_CONTENT_TYPE_BYTES + 1)), 'txHeader.contentType.length'],
      [splice(at.source, 1, varint(MAX_SOURCE_BYTES + 1)), 'txHeader.source.length'],
      [splice(at.traceCount, 1, varint(MAX_TRACE_CODES + 1)), 'txHeader.traceCodes.count'],
      [splice(at.traceCount + 1, 1, varint(MAX_TRACE_CODE_BYTES + 1)), 'txHeader.traceCodes[0].length'],
    ];
    for (const [b, field] of cases) expect(decodeError(() => decodeTxHeader(b), LengthLimitError).field).toBe(field);
    // A later code keeps its index in the name, and the error its class, offset and detail.
    const two = encodeTxHeader({ ...base, traceCodes: ['t', 'u'] });
    const badUtf8 = two.slice();
    badUtf8[at.traceCount + 4] = 0xff;
    const invalid = decodeError(() => decodeTxHeader(badUtf8), InvalidValueError);
    expect([invalid.field, invalid.offset]).toEqual(['txHeader.traceCodes[1]', at.traceCount + 4]);
    expect(invalid.message).toBe(`txHeader.traceCodes[1] at byte ${at.traceCount + 4}: not valid UTF-8`);
    // payloadSize is the last 8 bytes.
    const big = bytes.slice();
    new DataView(big.buffer).setBigUint64(big.length - 8, BigInt(MAX_PAYLOAD_BYTES + 1));
    const e = decodeError(() => decodeTxHeader(big), LengthLimitError);
    expect([e.field, e.offset]).toEqual(['txHeader.payloadSize', big.length - 8]);
    const unsafe = bytes.slice();
    new DataView(unsafe.buffer).setBigUint64(AT.sequence, 1n << 53n);
    expect(decodeError(() => decodeTxHeader(unsafe), LengthLimitError).field).toBe('txHeader.sequence');
  });

  it('rejects a source flag other than 0 or 1, and invalid UTF-8', () => {
    const header = sample({ contentType: 'ab' }).header;
    const bytes = encodeTxHeader(header);
    const flagAt = AT.contentTypeLength + 3;
    for (const v of [2, 0x80, 0xff]) {
      const b = bytes.slice();
      b[flagAt] = v;
      const e = decodeError(() => decodeTxHeader(b), InvalidValueError);
      expect([e.field, e.offset]).toEqual(['txHeader.source.present', flagAt]);
    }
    const b = bytes.slice();
    b[AT.contentTypeLength + 1] = 0xc3;
    expect(decodeError(() => decodeTxHeader(b), InvalidValueError).field).toBe('txHeader.contentType');
  });

  it('refuses to encode headers it could not decode', () => {
    const h = sample().header;
    const bad: unknown[] = [
      { ...h, sequence: -1 },
      { ...h, sequence: 1.5 },
      { ...h, createdAt: 2 ** 53 },
      { ...h, chainId: new Uint8Array(31) },
      { ...h, origin: 'x' },
      { ...h, contentType: 'x'.repeat(MAX_CONTENT_TYPE_BYTES + 1) },
      { ...h, contentType: 'é'.repeat(128) },
      { ...h, source: '\ud800' },
      { ...h, source: 5 },
      { ...h, traceCodes: Array<string>(MAX_TRACE_CODES + 1).fill('a') },
      { ...h, traceCodes: 'ab' },
      { ...h, traceCodes: [1] },
      { ...h, payloadSize: MAX_PAYLOAD_BYTES + 1 },
      { ...h, payloadHash: new Uint8Array(33) },
    ];
    for (const header of bad) expect(() => encodeTxHeader(header as never), JSON.stringify(header)).toThrow(InvalidArgumentError);
  });
});

describe('transactions', () => {
  it('are signed over the domain tag and the header, and verify with both providers', () => {
    const tx = sample();
    expect(txSigningMessage(tx.header)).toEqual(concatBytes(TX_SIGNATURE_DOMAIN, encodeTxHeader(tx.header)));
    expect(verifySignature(key.publicKey, txSigningMessage(tx.header), tx.signature)).toBe(true);
    // The header alone, without the domain tag, is not what was signed.
    expect(verifySignature(key.publicKey, encodeTxHeader(tx.header), tx.signature)).toBe(false);
    expect(verifyTransaction(tx, { provider: nodeCryptoProvider })).toEqual({ valid: true });
    expect(verifyTransaction(tx, { provider: portableCryptoProvider })).toEqual({ valid: true });
    expect(tx.header.payloadHash).toEqual(sha256(tx.payload!));
    expect(tx.header.origin).toEqual(key.publicKey);
  });

  it('have an id that is SHA-256 of the signed header, equal for the stripped form, which still verifies', () => {
    const tx = sample();
    const stripped = stripTransaction(tx);
    expect(isStripped(stripped)).toBe(true);
    expect(isStripped(tx)).toBe(false);
    expect(transactionId(tx)).toEqual(sha256(encodeSignedTxHeader(tx)));
    expect(transactionId(stripped)).toEqual(transactionId(tx));
    expect(verifyTransaction(stripped)).toEqual({ valid: true });
    expect(decodeTransaction(encodeTransaction(stripped))).toEqual(stripped);
  });

  it('attachPayload restores exactly the signed payload and refuses any other', () => {
    const tx = sample();
    const stripped = stripTransaction(tx);
    const restored = attachPayload(stripped, tx.payload!);
    expect(encodeTransaction(restored)).toEqual(encodeTransaction(tx));
    const changed = tx.payload!.slice();
    changed[0]! ^= 1;
    expect(() => attachPayload(stripped, changed)).toThrow(PayloadMismatchError);
    expect(() => attachPayload(stripped, concatBytes(tx.payload!, Uint8Array.of(0)))).toThrow(PayloadMismatchError);
    expect(() => attachPayload(stripped, tx.payload!.subarray(1))).toThrow(PayloadMismatchError);
  });

  it('are bound to their chain: another chain id in options or in the header fails', () => {
    const tx = sample();
    expect(verifyTransaction(tx, { chainId })).toEqual({ valid: true });
    expect(verifyTransaction(tx, { chainId: new Uint8Array(32) })).toMatchObject({ valid: false, reason: 'chain-mismatch' });
    const replayed = { ...tx, header: { ...tx.header, chainId: sha256(utf8('other chain')) } };
    expect(verifyTransaction(replayed)).toMatchObject({ valid: false, reason: 'bad-signature' });
  });

  it('fail verification when any header field, the signature or the payload changes', () => {
    const tx = sample();
    const h = tx.header;
    const changed: Transaction[] = [
      { ...tx, header: { ...h, sequence: h.sequence + 1 } },
      { ...tx, header: { ...h, createdAt: h.createdAt + 1 } },
      { ...tx, header: { ...h, contentType: 'text/plain' } },
      { ...tx, header: { contentType: h.contentType, chainId: h.chainId, origin: h.origin, sequence: h.sequence, createdAt: h.createdAt, traceCodes: h.traceCodes, payloadHash: h.payloadHash, payloadSize: h.payloadSize } },
      { ...tx, header: { ...h, source: `${h.source!}x` } },
      { ...tx, header: { ...h, traceCodes: [...h.traceCodes].reverse() } },
      { ...tx, header: { ...h, origin: NodeKey.generate().publicKey } },
    ];
    for (const c of changed) expect(verifyTransaction(c).valid).toBe(false);
    const sig = tx.signature.slice();
    sig[10]! ^= 4;
    expect(verifyTransaction({ ...tx, signature: sig })).toMatchObject({ valid: false, reason: 'bad-signature' });
    const payload = tx.payload!.slice();
    payload[0]! ^= 1;
    expect(verifyTransaction({ ...tx, payload })).toMatchObject({ valid: false, reason: 'payload-mismatch' });
  });

  it('keep their own copies of the caller\'s arrays', () => {
    const codes = ['A'];
    const chain = chainId.slice();
    const payload = Uint8Array.of(1, 2);
    const tx = createTransaction({ chainId: chain, sequence: 0, createdAt: 1, traceCodes: codes, payload }, key);
    codes.push('B');
    chain[0]! ^= 1;
    payload[0] = 9;
    expect(verifyTransaction(tx)).toEqual({ valid: true });
  });

  it('default to now, application/octet-stream and no trace codes', () => {
    const before = Date.now();
    const tx = createTransaction({ chainId, sequence: 0, payload: new Uint8Array(0) }, key);
    expect(tx.header.createdAt).toBeGreaterThanOrEqual(before);
    expect(tx.header.createdAt).toBeLessThanOrEqual(Date.now());
    expect(tx.header.contentType).toBe('application/octet-stream');
    expect(tx.header.traceCodes).toEqual([]);
    expect('source' in tx.header).toBe(false);
  });

  it('refuse inputs out of range with InvalidArgumentError', () => {
    const input = { chainId, sequence: 0, createdAt: 1, payload: new Uint8Array(0) };
    for (const bad of [
      { ...input, sequence: -1 },
      { ...input, chainId: new Uint8Array(16) },
      { ...input, payload: 'text' },
      { ...input, traceCodes: ['x'.repeat(MAX_TRACE_CODE_BYTES + 1)] },
      { ...input, contentType: 5 },
    ]) {
      expect(() => createTransaction(bad as never, key)).toThrow(InvalidArgumentError);
    }
  });
});
