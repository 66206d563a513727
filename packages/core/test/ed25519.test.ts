import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  concatBytes,
  fromHex,
  nodeCryptoProvider,
  passesEd25519Rules,
  portableCryptoProvider,
  verifySignature,
} from '@safechain/core';
import { VECTOR_DIR } from '../vectors/generate.js';

interface EdVector {
  name: string;
  group: string;
  publicKey: string;
  message: string;
  signature: string;
  valid: boolean;
  reason: string;
  cofactorless: boolean | null;
  cofactored: boolean | null;
}
const vectors = (JSON.parse(readFileSync(join(VECTOR_DIR, 'ed25519.json'), 'utf8')) as { vectors: EdVector[] }).vectors;
const PROVIDERS = [nodeCryptoProvider, portableCryptoProvider];
const RULE_REASONS = new Set(['length', 'non-canonical-public-key', 'small-order-public-key', 'non-canonical-r', 'small-order-r', 'non-canonical-s']);
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function scalar(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

describe('ed25519.json', () => {
  it('covers RFC 8032 and every edge case the rules name', () => {
    const count = (pred: (v: EdVector) => boolean): number => vectors.filter(pred).length;
    expect(vectors.filter((v) => v.group === 'rfc8032').map((v) => v.name)).toEqual([
      'RFC 8032 TEST 1',
      'RFC 8032 TEST 2',
      'RFC 8032 TEST 3',
      'RFC 8032 TEST 1024',
      'RFC 8032 TEST SHA(abc)',
    ]);
    expect(fromHex(vectors.find((v) => v.name === 'RFC 8032 TEST 1024')!.message).length).toBe(1023);
    // All 8 small-order points with both sign bits, as key and as R; all 19 values of y >= p with both sign bits.
    expect(count((v) => v.group === 'small-order-public-key')).toBe(16);
    expect(count((v) => v.group === 'small-order-r')).toBe(16);
    expect(count((v) => v.group === 'non-canonical-public-key')).toBe(38);
    expect(count((v) => v.group === 'non-canonical-r')).toBe(38);
    expect(count((v) => v.reason === 'non-canonical-s' && v.cofactorless === true)).toBeGreaterThanOrEqual(1);
    // The mixed-order key where the two equations disagree, and R with a torsion component.
    expect(count((v) => v.group === 'mixed-order' && v.cofactored === true && v.cofactorless === false)).toBe(2);
    expect(count((v) => v.group === 'mixed-order' && v.valid)).toBe(1);
    expect(count((v) => v.reason === 'length')).toBe(8);
    expect(count((v) => v.group === 'tampered')).toBeGreaterThanOrEqual(15);
    // Small-order keys whose signatures satisfy the equation: only the rule rejects them.
    expect(count((v) => v.group === 'small-order-public-key' && v.cofactorless === true)).toBe(16);
  });

  it('every provider reaches the listed verdict on every vector through verifySignature', () => {
    const wrong: string[] = [];
    for (const v of vectors) {
      for (const provider of PROVIDERS) {
        const verdict = verifySignature(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature), provider);
        if (verdict !== v.valid) wrong.push(`${v.name} (${provider.name}): ${verdict}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the reason is a rule exactly when the shared rules reject, before any provider is asked', () => {
    for (const v of vectors) {
      expect(passesEd25519Rules(fromHex(v.publicKey), fromHex(v.signature)), v.name).toBe(!RULE_REASONS.has(v.reason));
    }
  });

  it('shows the library behaviour the rules override', () => {
    let zip215OnlyAccepts = 0;
    let opensslAcceptsSmallOrderKey = 0;
    for (const v of vectors) {
      const [pk, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)];
      if (pk.length !== 32 || sig.length !== 64) continue;
      let noble: boolean;
      try {
        noble = ed25519.verify(sig, msg, pk);
      } catch {
        noble = false;
      }
      // noble's default verification (ZIP-215) accepts exactly where the cofactored equation holds and S < L.
      expect(noble, v.name).toBe(v.cofactored === true && scalar(sig.subarray(32)) < L);
      if (noble && !v.valid) zip215OnlyAccepts++;
      if (v.reason === 'small-order-public-key' && nodeCryptoProvider.ed25519Verify(pk, msg, sig)) opensslAcceptsSmallOrderKey++;
    }
    expect(zip215OnlyAccepts).toBeGreaterThan(0);
    expect(opensslAcceptsSmallOrderKey).toBeGreaterThan(0);
  });
});

describe('providers agree on random inputs', () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const message = fc.uint8Array({ maxLength: 100 });
  const verdicts = (pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean[] => PROVIDERS.map((p) => verifySignature(pk, msg, sig, p));

  it('on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), message, fc.uint8Array({ minLength: 64, maxLength: 64 }), (pk, msg, sig) => {
        const [a, b] = verdicts(pk, msg, sig);
        expect(a).toBe(b);
      }),
      { numRuns: 300 },
    );
  });

  it('on valid signatures, and on the same with one bit flipped anywhere', () => {
    fc.assert(
      fc.property(seed, message, fc.nat(), (sk, msg, bit) => {
        const pk = ed25519.getPublicKey(sk);
        const sig = ed25519.sign(msg, sk);
        expect(verdicts(pk, msg, sig)).toEqual([true, true]);
        const all = concatBytes(pk, sig, msg);
        const flipped = all.slice();
        const at = bit % (all.length * 8);
        flipped[at >> 3]! ^= 1 << (at & 7);
        const [a, b] = verdicts(flipped.subarray(0, 32), flipped.subarray(96), flipped.subarray(32, 96));
        expect(a).toBe(b);
        expect(a).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('on keys and R values moved by a small-order point', () => {
    const torsion = vectors.filter((v) => v.group === 'small-order-public-key').map((v) => ed25519.Point.fromBytes(fromHex(v.publicKey), true));
    fc.assert(
      fc.property(seed, message, fc.nat({ max: torsion.length - 1 }), fc.boolean(), (sk, msg, t, moveKey) => {
        const pk = ed25519.getPublicKey(sk);
        const sig = ed25519.sign(msg, sk);
        const shift = (b: Uint8Array): Uint8Array => ed25519.Point.fromBytes(b).add(torsion[t]!).toBytes();
        const [a, b] = moveKey ? verdicts(shift(pk), msg, sig) : verdicts(pk, msg, concatBytes(shift(sig.subarray(0, 32)), sig.subarray(32)));
        expect(a).toBe(b);
      }),
      { numRuns: 200 },
    );
  });
});
