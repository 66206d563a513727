import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  LeafIndexError,
  MAX_BLOCK_TRANSACTIONS,
  MerkleTree,
  concatBytes,
  merkleLeafHash,
  merkleNodeHash,
  merkleProof,
  merkleRoot,
  nodeCryptoProvider,
  portableCryptoProvider,
  toHex,
  verifyInclusion,
  type CryptoProvider,
} from '@safechain/core';

// RFC 9162 §2.1, written as the RFC states it (recursive, noble's SHA-256): the reference the tree is checked against.
const h = (...parts: Uint8Array[]): Uint8Array => nobleSha256(concatBytes(...parts));
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function mth(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return h();
  if (d.length === 1) return h(Uint8Array.of(0), d[0]!);
  const k = largestPowerOfTwoBelow(d.length);
  return h(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
}
function path(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length === 1) return [];
  const k = largestPowerOfTwoBelow(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

/** For each hash of PATH(m, D[n]), leaf to root: true when it is the left sibling. This is the path's shape. */
function sides(m: number, n: number): boolean[] {
  if (n === 1) return [];
  const k = largestPowerOfTwoBelow(n);
  return m < k ? [...sides(m, k), false] : [...sides(m - k, n - k), true];
}

function id(i: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(i));
  return nobleSha256(b);
}
const IDS = Array.from({ length: 71 }, (_, i) => id(i));

/** A provider from outside: Merkle hashing must call its sha256 rather than the built-in fixed-input path. */
let outsideCalls = 0;
const outsideProvider: CryptoProvider = {
  ...portableCryptoProvider,
  name: 'outside',
  sha256: (data) => {
    outsideCalls++;
    return nobleSha256(data);
  },
};
const PROVIDERS = [nodeCryptoProvider, portableCryptoProvider, outsideProvider];

describe('Merkle tree against the RFC 9162 definition', () => {
  it('has the reference root and paths for every size 0..70 and every index, with every provider', () => {
    const wrong: string[] = [];
    for (let n = 0; n <= 70; n++) {
      const ids = IDS.slice(0, n);
      const root = mth(ids);
      const paths = ids.map((_, i) => path(i, ids));
      for (const provider of PROVIDERS) {
        expect(merkleRoot(ids, provider), `root of ${n}`).toEqual(root);
        const tree = MerkleTree.build(ids, provider);
        expect(tree.root).toEqual(root);
        expect(tree.size).toBe(n);
        for (let i = 0; i < n; i++) {
          const p = tree.proof(i);
          if (p.map(toHex).join() !== paths[i]!.map(toHex).join()) wrong.push(`path ${i} of ${n} (${provider.name})`);
          if (!verifyInclusion(ids[i]!, i, n, p, root, provider)) wrong.push(`verify ${i} of ${n} (${provider.name})`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(outsideCalls).toBeGreaterThan(0);
  });

  it('answers false for every shortened or lengthened path, every other index, and every size of another shape', () => {
    // A path does not fix the tree size by itself: leaf 0 of 3 and leaf 0 of 4 have paths of the same shape, and the
    // root of 3 leaves is a possible root of 4. The size that counts is the one the sealed header states (txCount).
    // So a path checked against another size must fail exactly when the path shapes differ.
    const extra = id(1000);
    const wrong: string[] = [];
    const expectVerdict = (expected: boolean, what: string, ...args: Parameters<typeof verifyInclusion>): void => {
      if (verifyInclusion(...args) !== expected) wrong.push(what);
    };
    let checks = 0;
    const shapes = new Map<string, string>();
    const shapeOf = (i: number, m: number): string => {
      const k = `${i}/${m}`;
      let v = shapes.get(k);
      if (v === undefined) shapes.set(k, (v = sides(i, m).join()));
      return v;
    };
    for (let n = 1; n <= 70; n++) {
      const ids = IDS.slice(0, n);
      const tree = MerkleTree.build(ids);
      for (let i = 0; i < n; i++) {
        const p = tree.proof(i);
        const leaf = ids[i]!;
        for (let cut = 0; cut < p.length; cut++) {
          expectVerdict(false, `${i}/${n} cut to ${cut}`, leaf, i, n, p.slice(0, cut), tree.root);
          expectVerdict(false, `${i}/${n} without ${cut}`, leaf, i, n, p.filter((_, j) => j !== cut), tree.root);
          checks += 2;
        }
        for (let at = 0; at <= p.length; at++) {
          expectVerdict(false, `${i}/${n} extra at ${at}`, leaf, i, n, [...p.slice(0, at), extra, ...p.slice(at)], tree.root);
          checks++;
        }
        for (let j = 0; j < n; j++) {
          if (j === i) continue;
          expectVerdict(false, `${i}/${n} as index ${j}`, leaf, j, n, p, tree.root);
          checks++;
        }
        for (let m = i + 1; m <= 72; m++) {
          if (m === n) continue;
          expectVerdict(shapeOf(i, m) === shapeOf(i, n), `${i}/${n} as size ${m}`, leaf, i, m, p, tree.root);
          checks++;
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checks).toBeGreaterThan(200_000);
  });

  it('answers false for another id or root, and for malformed arguments instead of throwing', () => {
    const ids = IDS.slice(0, 5);
    const tree = MerkleTree.build(ids);
    const p = tree.proof(2);
    expect(verifyInclusion(ids[3]!, 2, 5, p, tree.root)).toBe(false);
    expect(verifyInclusion(ids[2]!, 2, 5, p, mth(ids.slice(0, 4)))).toBe(false);
    const calls: unknown[][] = [
      [ids[2]!.subarray(1), 2, 5, p, tree.root],
      [ids[2]!, -1, 5, p, tree.root],
      [ids[2]!, 2.5, 5, p, tree.root],
      [ids[2]!, 5, 5, p, tree.root],
      [ids[2]!, 2, 0, p, tree.root],
      [ids[2]!, 2, Number.NaN, p, tree.root],
      [ids[2]!, 2, 5, 'path', tree.root],
      [ids[2]!, 2, 5, [p[0], 'x', p[2]], tree.root],
      [ids[2]!, 2, 5, [p[0], p[1]!.subarray(1), p[2]], tree.root],
      [ids[2]!, 2, 5, p, tree.root.subarray(1)],
      [null, 2, 5, p, tree.root],
    ];
    for (const args of calls) expect((verifyInclusion as (...a: unknown[]) => boolean)(...args)).toBe(false);
  });

  it('proves a single leaf with an empty path, and gives SHA-256("") for no leaves', () => {
    expect(merkleRoot([])).toEqual(nobleSha256(new Uint8Array(0)));
    const one = MerkleTree.build([IDS[0]!]);
    expect(one.proof(0)).toEqual([]);
    expect(one.root).toEqual(merkleLeafHash(IDS[0]!));
    expect(verifyInclusion(IDS[0]!, 0, 1, [], one.root)).toBe(true);
  });

  it('separates leaves from nodes: a node hash cannot be proven as a leaf', () => {
    const ids = IDS.slice(0, 4);
    const left = merkleNodeHash(merkleLeafHash(ids[0]!), merkleLeafHash(ids[1]!));
    const right = merkleNodeHash(merkleLeafHash(ids[2]!), merkleLeafHash(ids[3]!));
    const root = merkleRoot(ids);
    expect(merkleNodeHash(left, right)).toEqual(root);
    // The inner node "left" presented as leaf 0 of a 2-leaf tree with sibling "right" does not reach the root.
    expect(verifyInclusion(left, 0, 2, [right], root)).toBe(false);
  });

  it('has the shape RFC 9162 gives: leaf 0 of 3 and of 4 alike, leaf 2 of 3 and of 4 not', () => {
    expect(sides(0, 3)).toEqual(sides(0, 4));
    expect(sides(2, 3)).not.toEqual(sides(2, 4));
    const three = MerkleTree.build(IDS.slice(0, 3));
    expect(verifyInclusion(IDS[0]!, 0, 4, three.proof(0), three.root)).toBe(true);
    expect(verifyInclusion(IDS[2]!, 2, 4, three.proof(2), three.root)).toBe(false);
  });

  it('matches the reference on random trees up to 3000 leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 71, max: 3000 }), fc.nat(), (n, seed) => {
        const ids = Array.from({ length: n }, (_, i) => id(i + seed));
        const i = seed % n;
        const tree = MerkleTree.build(ids);
        expect(tree.root).toEqual(mth(ids));
        expect(merkleRoot(ids, outsideProvider)).toEqual(tree.root);
        expect(tree.proof(i)).toEqual(path(i, ids));
        expect(merkleProof(ids, i)).toEqual(tree.proof(i));
      }),
      { numRuns: 15 },
    );
  });

  it('refuses leaf indices outside the tree and malformed ids', () => {
    const tree = MerkleTree.build(IDS.slice(0, 3));
    for (const i of [-1, 3, 1.5, Number.NaN]) expect(() => tree.proof(i)).toThrow(LeafIndexError);
    expect(() => MerkleTree.build([]).proof(0)).toThrow(LeafIndexError);
    expect(() => merkleRoot([IDS[0]!, new Uint8Array(31)])).toThrow(InvalidArgumentError);
    expect(() => merkleRoot('ids' as unknown as Uint8Array[])).toThrow(InvalidArgumentError);
    expect(() => merkleRoot(new Array<Uint8Array>(MAX_BLOCK_TRANSACTIONS + 1))).toThrow(InvalidArgumentError);
    expect(() => merkleLeafHash(new Uint8Array(33))).toThrow(InvalidArgumentError);
    expect(() => merkleNodeHash(new Uint8Array(32), 'x' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });

  it('gives paths of ceil(log2 n) hashes at most: 17 for 65,537 leaves, 1 for the lone last leaf', () => {
    const ids = Array.from({ length: 65_537 }, (_, i) => id(i));
    const tree = MerkleTree.build(ids);
    expect(tree.proof(0).length).toBe(17);
    expect(tree.proof(65_535).length).toBe(17);
    expect(tree.proof(65_536).length).toBe(1);
    expect(verifyInclusion(ids[65_536]!, 65_536, 65_537, tree.proof(65_536), tree.root)).toBe(true);
    expect(merkleRoot(ids)).toEqual(tree.root);
  });
});
