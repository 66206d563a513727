import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  MAX_MERKLE_PATH,
  MerkleTree,
  NodeKey,
  NotAProofBundleError,
  PROOF_FORMAT,
  PROOF_VERSION,
  UnsupportedProofVersionError,
  blockHash,
  buildBlock,
  createProofBundle,
  createTransaction,
  decodeBlockHeader,
  decodeSignedTxHeader,
  fromBase64,
  fromHex,
  nodeCryptoProvider,
  parseProofBundle,
  portableCryptoProvider,
  sha256,
  signBlockHeader,
  stripTransaction,
  toBase64,
  toHex,
  transactionId,
  utf8,
  verifyProof,
  type ProofBundle,
  type ProofVerdict,
} from '@safechain/core';

const origin = NodeKey.fromSeed(sha256(utf8('proof origin')));
const sealers = [NodeKey.fromSeed(sha256(utf8('proof sealer 1'))), NodeKey.fromSeed(sha256(utf8('proof sealer 2')))];
const genesis = buildBlock({ parent: null, transactions: [], timestamp: 1_767_225_600_000 });
const chainId = blockHash(genesis.header);
const txs = Array.from({ length: 6 }, (_, i) =>
  createTransaction(
    { chainId, sequence: i, createdAt: 1_767_225_601_000 + i, contentType: 'text/csv', traceCodes: [`LOT-${i}`], payload: utf8(`t,rpm\n${i},118${i}0\n`) },
    origin,
  ),
);
const unsealed = buildBlock({ parent: genesis.header, transactions: txs, timestamp: 1_767_225_660_000 });
const header = signBlockHeader(signBlockHeader(unsealed.header, sealers[0]!), sealers[1]!);
const tree = MerkleTree.build(txs.map((tx) => transactionId(tx)));
const INDEX = 3;
const bundle = createProofBundle({ transaction: txs[INDEX]!, header, index: INDEX, path: tree.proof(INDEX) });
const hash = toHex(blockHash(header));

function invalid(verdict: ProofVerdict): string {
  return verdict.valid ? 'valid' : verdict.reason;
}

function withSignedHeader(b: ProofBundle, hex: string): ProofBundle {
  return { ...b, transaction: { ...b.transaction, signedHeader: hex } };
}
function withBlockHeader(b: ProofBundle, hex: string): ProofBundle {
  return { ...b, block: { header: hex } };
}
function withPath(b: ProofBundle, path: readonly string[]): ProofBundle {
  return { ...b, inclusion: { ...b.inclusion, path } };
}
function withIndex(b: ProofBundle, index: unknown): ProofBundle {
  return { ...b, inclusion: { ...b.inclusion, index: index as number } };
}

/** Every change of one byte of `hex` (two different values per byte), as hex. */
function* byteChanges(hex: string): Generator<[number, string]> {
  const bytes = fromHex(hex);
  for (let i = 0; i < bytes.length; i++) {
    for (const mask of [0x01, 0x80]) {
      const b = bytes.slice();
      b[i]! ^= mask;
      yield [i, toHex(b)];
    }
  }
}

/** Every change of one character of `text` to other characters of `alphabet` (two per position) and to upper case. */
function* charChanges(text: string, alphabet: string): Generator<[number, string]> {
  for (let i = 0; i < text.length; i++) {
    const at = alphabet.indexOf(text[i]!);
    const others = [alphabet[(at + 1) % alphabet.length]!, alphabet[(at + 7) % alphabet.length]!];
    if (text[i] !== text[i]!.toUpperCase()) others.push(text[i]!.toUpperCase());
    for (const c of others) if (c !== text[i]) yield [i, text.slice(0, i) + c + text.slice(i + 1)];
  }
}

const HEX = '0123456789abcdef';
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

describe('verifyProof on a valid bundle', () => {
  it('answers valid with the facts of the record, with both providers and from JSON text', () => {
    const expected = {
      valid: true,
      chainId: toHex(chainId),
      txId: toHex(transactionId(txs[INDEX]!)),
      blockHash: hash,
      height: 1,
      index: INDEX,
      origin: origin.id,
      createdAt: txs[INDEX]!.header.createdAt,
      contentType: 'text/csv',
      traceCodes: ['LOT-3'],
      payloadIncluded: true,
      originTrusted: null,
      blockTrusted: null,
      blockSigners: header.signatures.map((s) => toHex(s.publicKey)),
    };
    expect(verifyProof(bundle)).toEqual(expected);
    expect(verifyProof(bundle, { provider: portableCryptoProvider })).toEqual(expected);
    expect(verifyProof(JSON.stringify(bundle))).toEqual(expected);
    expect(verifyProof(JSON.parse(JSON.stringify(bundle)), { provider: nodeCryptoProvider })).toEqual(expected);
  });

  it('carries the parts in their canonical encodings', () => {
    expect(bundle.format).toBe(PROOF_FORMAT);
    expect(bundle.version).toBe(PROOF_VERSION);
    expect(decodeSignedTxHeader(fromHex(bundle.transaction.signedHeader))).toEqual(stripTransaction(txs[INDEX]!));
    expect(fromBase64(bundle.transaction.payload!)).toEqual(txs[INDEX]!.payload);
    expect(decodeBlockHeader(fromHex(bundle.block.header))).toEqual(header);
    expect(Object.keys(bundle)).toEqual(['format', 'version', 'chainId', 'transaction', 'block', 'inclusion']);
  });

  it('verifies every transaction of the block, stripped or full', () => {
    for (let i = 0; i < txs.length; i++) {
      for (const withoutPayload of [false, true]) {
        const b = createProofBundle({ transaction: txs[i]!, header, index: i, path: tree.proof(i), withoutPayload });
        expect('payload' in b.transaction).toBe(!withoutPayload);
        expect(verifyProof(b)).toMatchObject({ valid: true, index: i, payloadIncluded: !withoutPayload });
      }
      const fromStripped = createProofBundle({ transaction: stripTransaction(txs[i]!), header, index: i, path: tree.proof(i) });
      expect(verifyProof(fromStripped)).toMatchObject({ valid: true, payloadIncluded: false });
    }
  });
});

describe('verifyProof refuses every single change to the signed and hashed parts', () => {
  it('each byte of the signed transaction header', () => {
    const accepted: number[] = [];
    for (const [i, hex] of byteChanges(bundle.transaction.signedHeader)) if (verifyProof(withSignedHeader(bundle, hex)).valid) accepted.push(i);
    expect(accepted).toEqual([]);
  });

  it('each byte of the payload', () => {
    const payload = txs[INDEX]!.payload!;
    const accepted: number[] = [];
    for (const [i, hex] of byteChanges(toHex(payload))) {
      const v = verifyProof({ ...bundle, transaction: { ...bundle.transaction, payload: toBase64(fromHex(hex)) } });
      if (v.valid || v.reason !== 'payload-mismatch') accepted.push(i);
    }
    expect(accepted).toEqual([]);
  });

  it('each byte of the block header, seals included', () => {
    const accepted: number[] = [];
    for (const [i, hex] of byteChanges(bundle.block.header)) if (verifyProof(withBlockHeader(bundle, hex)).valid) accepted.push(i);
    expect(accepted).toEqual([]);
  });

  it('each byte of every path hash, and of the chain id', () => {
    const accepted: string[] = [];
    bundle.inclusion.path.forEach((p, k) => {
      for (const [i, hex] of byteChanges(p)) {
        const v = verifyProof(withPath(bundle, bundle.inclusion.path.map((q, j) => (j === k ? hex : q))));
        if (invalid(v) !== 'merkle-path-mismatch') accepted.push(`path ${k} byte ${i}`);
      }
    });
    for (const [i, hex] of byteChanges(bundle.chainId)) {
      if (invalid(verifyProof({ ...bundle, chainId: hex })) !== 'chain-mismatch') accepted.push(`chainId byte ${i}`);
    }
    expect(accepted).toEqual([]);
  });

  it('each character of every hex string and of the base64 payload', () => {
    const accepted: string[] = [];
    const check = (what: string, b: ProofBundle): void => {
      if (verifyProof(b).valid) accepted.push(what);
    };
    for (const [i, s] of charChanges(bundle.transaction.signedHeader, HEX)) check(`signedHeader ${i}`, withSignedHeader(bundle, s));
    for (const [i, s] of charChanges(bundle.block.header, HEX)) check(`header ${i}`, withBlockHeader(bundle, s));
    for (const [i, s] of charChanges(bundle.chainId, HEX)) check(`chainId ${i}`, { ...bundle, chainId: s });
    bundle.inclusion.path.forEach((p, k) => {
      for (const [i, s] of charChanges(p, HEX)) check(`path ${k} ${i}`, withPath(bundle, bundle.inclusion.path.map((q, j) => (j === k ? s : q))));
    });
    for (const [i, s] of charChanges(bundle.transaction.payload!, B64)) {
      check(`payload ${i}`, { ...bundle, transaction: { ...bundle.transaction, payload: s } });
    }
    expect(accepted).toEqual([]);
  });

  it('every shortened or lengthened path', () => {
    const path = bundle.inclusion.path;
    const extra = toHex(sha256(utf8('extra')));
    for (let k = 0; k < path.length; k++) {
      expect(invalid(verifyProof(withPath(bundle, path.slice(0, k))))).toBe('merkle-path-mismatch');
      expect(invalid(verifyProof(withPath(bundle, path.filter((_, j) => j !== k))))).toBe('merkle-path-mismatch');
    }
    for (let k = 0; k <= path.length; k++) {
      expect(invalid(verifyProof(withPath(bundle, [...path.slice(0, k), extra, ...path.slice(k)])))).toBe('merkle-path-mismatch');
      expect(invalid(verifyProof(withPath(bundle, [...path.slice(0, k), path[Math.min(k, path.length - 1)]!, ...path.slice(k)])))).toBe(
        'merkle-path-mismatch',
      );
    }
    expect(invalid(verifyProof(withPath(bundle, Array<string>(MAX_MERKLE_PATH + 1).fill(extra))))).toBe('malformed-path');
    expect(invalid(verifyProof(withPath(bundle, [...path.slice(0, 2), 'zz'])))).toBe('malformed-path');
    expect(invalid(verifyProof(withPath(bundle, [...path.slice(0, 2), path[2]!.slice(2)])))).toBe('malformed-path');
  });

  it('every wrong index', () => {
    for (let i = 0; i < txs.length; i++) {
      if (i !== INDEX) expect(invalid(verifyProof(withIndex(bundle, i)))).toBe('merkle-path-mismatch');
    }
    expect(invalid(verifyProof(withIndex(bundle, txs.length)))).toBe('index-out-of-range');
    expect(invalid(verifyProof(withIndex(bundle, 2 ** 40)))).toBe('index-out-of-range');
    for (const bad of [-1, 1.5, '3', null, undefined, Number.NaN, 2 ** 53]) expect(invalid(verifyProof(withIndex(bundle, bad)))).toBe('malformed-path');
  });
});

describe('verifyProof checks', () => {
  it('the origin against trustedOrigins, in any letter case', () => {
    expect(verifyProof(bundle, { trustedOrigins: [origin.id] })).toMatchObject({ valid: true, originTrusted: true });
    expect(verifyProof(bundle, { trustedOrigins: ['00'.repeat(32), origin.id.toUpperCase()] })).toMatchObject({ valid: true, originTrusted: true });
    expect(invalid(verifyProof(bundle, { trustedOrigins: [] }))).toBe('untrusted-origin');
    expect(invalid(verifyProof(bundle, { trustedOrigins: [sealers[0]!.id] }))).toBe('untrusted-origin');
  });

  it('the block against trustedBlocks', () => {
    expect(verifyProof(bundle, { trustedBlocks: [hash] })).toMatchObject({ valid: true, blockTrusted: true, originTrusted: null });
    expect(verifyProof(bundle, { trustedBlocks: [hash.toUpperCase()], trustedOrigins: [origin.id] })).toMatchObject({
      valid: true,
      blockTrusted: true,
      originTrusted: true,
    });
    expect(invalid(verifyProof(bundle, { trustedBlocks: [toHex(blockHash(genesis.header))] }))).toBe('untrusted-block');
    expect(invalid(verifyProof(bundle, { trustedBlocks: [] }))).toBe('untrusted-block');
  });

  it('that an unsealed block proves only consistency: valid, no signers, unless trustedBlocks anchors it', () => {
    const b = createProofBundle({ transaction: txs[0]!, header: unsealed.header, index: 0, path: tree.proof(0) });
    expect(verifyProof(b)).toMatchObject({ valid: true, blockSigners: [], blockTrusted: null });
    expect(invalid(verifyProof(b, { trustedBlocks: [hash.replace(/^./, hash[0] === '0' ? '1' : '0')] }))).toBe('untrusted-block');
    expect(verifyProof(b, { trustedBlocks: [hash] })).toMatchObject({ valid: true, blockTrusted: true });
  });

  it('entanglement: an empty list is allowed, evidence is not supported in version 1', () => {
    expect(verifyProof({ ...bundle, entanglement: [] }).valid).toBe(true);
    expect(invalid(verifyProof({ ...bundle, entanglement: [{ chain: 'x' }] }))).toBe('unsupported-evidence');
    expect(invalid(verifyProof({ ...bundle, entanglement: 'x' }))).toBe('unsupported-evidence');
  });

  it('the envelope: format, version and unknown fields at every level', () => {
    expect(invalid(verifyProof({ ...bundle, format: 'other' }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, version: 2 }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, extra: 1 }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, transaction: { ...bundle.transaction, note: 'x' } }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, block: { ...bundle.block, hash } }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, inclusion: { ...bundle.inclusion, treeSize: 6 } }))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, block: [] }))).toBe('malformed-bundle');
    expect(invalid(verifyProof('{"format":'))).toBe('malformed-bundle');
    expect(invalid(verifyProof(JSON.stringify(bundle).replace('"format"', '"__proto__":{},"format"')))).toBe('malformed-bundle');
    expect(invalid(verifyProof({ ...bundle, transaction: { ...bundle.transaction, payload: 5 } }))).toBe('malformed-transaction');
    expect(invalid(verifyProof({ ...bundle, transaction: { ...bundle.transaction, payload: `${bundle.transaction.payload!} ` } }))).toBe(
      'malformed-transaction',
    );
    expect(invalid(verifyProof({ ...bundle, chainId: bundle.chainId.toUpperCase() }))).toBe('malformed-bundle');
  });

  it('never throws on any input, and never says valid', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.string()), (input) => {
        expect(verifyProof(input).valid).toBe(false);
      }),
      { numRuns: 500 },
    );
    // One field replaced by anything: the verdict may be valid only where the replacement is an allowed value.
    const b = bundle as unknown as Record<string, unknown>;
    const none = (): boolean => false;
    const replacements: [(v: unknown) => unknown, (v: unknown) => boolean][] = [
      [(v) => ({ ...b, chainId: v }), (v) => v === bundle.chainId],
      [(v) => ({ ...b, transaction: v }), none],
      [(v) => ({ ...b, transaction: { ...bundle.transaction, signedHeader: v } }), (v) => v === bundle.transaction.signedHeader],
      // Leaving the payload out is a valid, payload-less proof.
      [(v) => ({ ...b, transaction: { ...bundle.transaction, payload: v } }), (v) => v === undefined || v === bundle.transaction.payload],
      [(v) => ({ ...b, block: { header: v } }), (v) => v === bundle.block.header],
      [(v) => ({ ...b, inclusion: v }), none],
      [(v) => ({ ...b, inclusion: { ...bundle.inclusion, path: v } }), none],
      [(v) => ({ ...b, inclusion: { ...bundle.inclusion, path: [v] } }), none],
      [(v) => ({ ...b, entanglement: v }), (v) => v === undefined || (Array.isArray(v) && v.length === 0)],
    ];
    fc.assert(
      fc.property(fc.nat({ max: replacements.length - 1 }), fc.anything(), (k, v) => {
        const [replace, allowed] = replacements[k]!;
        expect(verifyProof(replace(v)).valid).toBe(allowed(v));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses malformed options with InvalidArgumentError: the caller\'s error, not the bundle\'s', () => {
    expect(() => verifyProof(bundle, { trustedOrigins: 'abc' as unknown as string[] })).toThrow(InvalidArgumentError);
    expect(() => verifyProof(bundle, { trustedBlocks: [5] as unknown as string[] })).toThrow(InvalidArgumentError);
    expect(() => verifyProof(bundle, null as never)).toThrow(InvalidArgumentError);
  });
});

describe('parseProofBundle', () => {
  it('recognises a bundle and names what is wrong with the envelope', () => {
    expect(parseProofBundle(JSON.stringify(bundle))).toEqual(bundle);
    expect(() => parseProofBundle('not json')).toThrow(NotAProofBundleError);
    expect(() => parseProofBundle([])).toThrow(NotAProofBundleError);
    expect(() => parseProofBundle({ format: 'x', version: 1 })).toThrow(NotAProofBundleError);
    expect(() => parseProofBundle({ format: PROOF_FORMAT, version: 2 })).toThrow(UnsupportedProofVersionError);
    expect(() => parseProofBundle({ format: PROOF_FORMAT, version: '1' })).toThrow(UnsupportedProofVersionError);
  });
});
