import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '@safechain/core';
import { SMALL_ORDER_Y, isAcceptablePublicKey, passesEd25519Rules } from './ed25519-rules.js';

const Point = ed25519.Point;
const P = 2n ** 255n - 19n;
const L = Point.Fn.ORDER;

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0, v = n; i < 32; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
}

/** The points of order dividing 8, found from the curve alone: [L]P for points P until one has order 8. */
function torsionSubgroup(): InstanceType<typeof Point>[] {
  for (let y = 2n; ; y++) {
    let p;
    try {
      p = Point.fromBytes(le32(y));
    } catch {
      continue;
    }
    const t = p.multiplyUnsafe(L - 1n).add(p);
    if (!t.multiplyUnsafe(4n).is0()) return Array.from({ length: 8 }, (_, k) => (k === 0 ? Point.ZERO : t.multiplyUnsafe(BigInt(k))));
  }
}

const signature = (r: Uint8Array, s: Uint8Array): Uint8Array => Uint8Array.from([...r, ...s]);
const someR = Point.BASE.multiply(12345n).toBytes();
const someA = Point.BASE.multiply(67890n).toBytes();

describe('ed25519 acceptance rules', () => {
  it('the small-order table is exactly the y-coordinates of the eight points of order dividing 8', () => {
    const torsion = torsionSubgroup();
    expect(new Set(torsion.map((t) => t.toHex())).size).toBe(8);
    for (const t of torsion) expect(t.multiplyUnsafe(8n).is0()).toBe(true);
    const ys = new Set(
      torsion.map((t) => {
        const b = t.toBytes();
        b[31]! &= 0x7f;
        return toHex(b);
      }),
    );
    expect(new Set(SMALL_ORDER_Y.map(toHex))).toEqual(ys);
    expect(SMALL_ORDER_Y.length).toBe(ys.size);
  });

  it('rejects every small-order point as key or R, with either sign bit', () => {
    for (const t of torsionSubgroup()) {
      for (const flip of [0, 0x80]) {
        const enc = t.toBytes();
        enc[31]! ^= flip;
        expect(isAcceptablePublicKey(enc)).toBe(false);
        expect(passesEd25519Rules(enc, signature(someR, le32(1n)))).toBe(false);
        expect(passesEd25519Rules(someA, signature(enc, le32(1n)))).toBe(false);
      }
    }
  });

  it('accepts large-order points and the mixed-order point [a]B + T8 (not small order itself)', () => {
    expect(isAcceptablePublicKey(someA)).toBe(true);
    const t8 = torsionSubgroup()[1]!;
    expect(isAcceptablePublicKey(Point.BASE.multiply(3n).add(t8).toBytes())).toBe(true);
  });

  it('draws the canonical-y line exactly at p, whatever the sign bit', () => {
    // y = p - 2 is canonical (and not a small-order y); p, p + 1 ... 2^255 - 1 are not.
    for (const sign of [0, 0x80]) {
      const at = (y: bigint): Uint8Array => {
        const b = le32(y);
        b[31]! |= sign;
        return b;
      };
      expect(passesEd25519Rules(at(P - 2n), signature(someR, le32(1n)))).toBe(true);
      expect(passesEd25519Rules(someA, signature(at(P - 2n), le32(1n)))).toBe(true);
      for (const y of [P, P + 1n, P + 2n, P + 18n]) {
        expect(passesEd25519Rules(at(y), signature(someR, le32(1n)))).toBe(false);
        expect(passesEd25519Rules(someA, signature(at(y), le32(1n)))).toBe(false);
      }
    }
  });

  it('draws the canonical-S line exactly at L', () => {
    expect(passesEd25519Rules(someA, signature(someR, le32(L - 1n)))).toBe(true);
    expect(passesEd25519Rules(someA, signature(someR, le32(0n)))).toBe(true);
    for (const s of [L, L + 1n, 2n * L, 2n ** 253n, 2n ** 256n - 1n]) {
      expect(passesEd25519Rules(someA, signature(someR, le32(s)))).toBe(false);
    }
  });

  it('requires a 32-byte key and a 64-byte signature', () => {
    const sig = signature(someR, le32(1n));
    expect(passesEd25519Rules(someA.subarray(0, 31), sig)).toBe(false);
    expect(passesEd25519Rules(Uint8Array.from([...someA, 0]), sig)).toBe(false);
    expect(passesEd25519Rules(someA, sig.subarray(0, 63))).toBe(false);
    expect(passesEd25519Rules(someA, Uint8Array.from([...sig, 0]))).toBe(false);
    expect(isAcceptablePublicKey(someA.subarray(1))).toBe(false);
  });
});
