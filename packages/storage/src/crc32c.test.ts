import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cUpdate } from './crc32c.js';

/** The textbook bit-at-a-time CRC-32C: slow, obviously right, the oracle for the sliced tables. */
function reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the published check value and the RFC 3720 (iSCSI) vectors', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
    const iscsiRead = Uint8Array.from([
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]);
    expect(crc32c(iscsiRead)).toBe(0xd9963a56);
  });

  it('agrees with the bitwise reference on every length and content', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32c(bytes)).toBe(reference(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('continues across any split, and over a sub-range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const i = a % (bytes.length + 1);
        const j = i + (b % (bytes.length - i + 1));
        expect(crc32cUpdate(crc32cUpdate(0, bytes, 0, i), bytes, i)).toBe(crc32c(bytes));
        expect(crc32c(bytes, i, j)).toBe(reference(bytes.subarray(i, j)));
      }),
      { numRuns: 300 },
    );
  });

  it('detects every single-bit flip', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff);
    const good = crc32c(bytes);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      bytes[bit >> 3]! ^= 1 << (bit & 7);
      expect(crc32c(bytes)).not.toBe(good);
      bytes[bit >> 3]! ^= 1 << (bit & 7);
    }
  });
});

describe('crc32c on views', () => {
  it('gives the same answer at every alignment and length of a view into a larger buffer', () => {
    const backing = Uint8Array.from({ length: 600 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let offset = 0; offset < 9; offset++) {
      for (const length of [0, 1, 63, 64, 65, 71, 72, 73, 200, 511]) {
        const view = backing.subarray(offset, offset + length);
        expect(crc32c(view)).toBe(reference(view));
        expect(crc32c(backing, offset, offset + length)).toBe(reference(view));
      }
    }
  });
});
