import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidValueError,
  LengthLimitError,
  NonMinimalLengthError,
  Reader,
  TrailingBytesError,
  TruncatedInputError,
  UnexpectedKindError,
  UnknownVersionError,
  Writer,
  concatBytes,
  type DecodeError,
} from '@safechain/core';

/** Runs `fn` and returns the DecodeError it throws, failing the test when it throws nothing or something else. */
function decodeError(fn: () => unknown, type: abstract new (...args: never[]) => DecodeError): DecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as DecodeError;
  }
  throw new Error(`expected ${type.name}, nothing was thrown`);
}

function varintBytes(value: number): Uint8Array {
  return new Writer().varint(value).finish();
}

describe('varint', () => {
  it('round-trips every safe integer in its minimal LEB128 form', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeNat(), fc.nat({ max: 300 })), (n) => {
        const b = varintBytes(n);
        expect(b.length).toBe(Math.max(1, Math.ceil(Math.log2(n + 1) / 7)));
        const r = new Reader(b);
        expect(r.varint('v', Number.MAX_SAFE_INTEGER)).toBe(n);
        r.end('v');
      }),
    );
    expect(varintBytes(127)).toEqual(Uint8Array.of(0x7f));
    expect(varintBytes(128)).toEqual(Uint8Array.of(0x80, 0x01));
    expect(varintBytes(300)).toEqual(Uint8Array.of(0xac, 0x02));
  });

  it('rejects every non-minimal form (redundant zero bytes) with field and offset', () => {
    // Up to 4 value bytes and 4 redundant ones: within the 8-byte cap, so minimality is what fails.
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 28 - 1 }), fc.nat({ max: 3 }), (n, extra) => {
        const minimal = varintBytes(n);
        const padded = minimal.slice();
        padded[padded.length - 1]! |= 0x80;
        const tail = [...Array<number>(extra).fill(0x80), 0x00];
        const input = concatBytes(Uint8Array.of(9), padded, Uint8Array.from(tail));
        const r = new Reader(input);
        r.u8('pad');
        const e = decodeError(() => r.varint('len', Number.MAX_SAFE_INTEGER), NonMinimalLengthError);
        expect(e.field).toBe('len');
        expect(e.offset).toBe(1);
      }),
    );
  });

  it('rejects values above the limit before reading further, and varints longer than 8 bytes', () => {
    const e = decodeError(() => new Reader(varintBytes(256)).varint('count', 255), LengthLimitError);
    expect(e.field).toBe('count');
    expect(e.offset).toBe(0);
    expect(new Reader(varintBytes(255)).varint('count', 255)).toBe(255);
    decodeError(() => new Reader(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01)).varint('v', 2 ** 60), LengthLimitError);
  });

  it('reports truncation inside a varint', () => {
    const e = decodeError(() => new Reader(Uint8Array.of(0x80)).varint('len', 1000), TruncatedInputError);
    expect(e.field).toBe('len');
    expect(e.offset).toBe(1);
  });
});

describe('fixed-width integers, flags and tags', () => {
  it('round-trips u32, u64 and u64Big big-endian', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.maxSafeNat(), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (a, b, c) => {
        const bytes = new Writer().u32(a).u64(b).u64Big(c).finish();
        const view = new DataView(bytes.buffer);
        expect(view.getUint32(0)).toBe(a);
        expect(view.getBigUint64(4)).toBe(BigInt(b));
        const r = new Reader(bytes);
        expect([r.u32('a'), r.u64('b'), r.u64Big('c')]).toEqual([a, b, c]);
        r.end('x');
      }),
    );
  });

  it('u64 refuses values above 2^53 - 1 or the given limit', () => {
    const big = new Writer().u64Big(1n << 53n).finish();
    const refused = decodeError(() => new Reader(big).u64('n'), LengthLimitError);
    expect(refused.field).toBe('n');
    expect(refused.message).toContain(`value ${1n << 53n} above limit`);
    expect(new Reader(new Writer().u64Big((1n << 53n) - 1n).finish()).u64('n')).toBe(Number.MAX_SAFE_INTEGER);
    expect(new Reader(new Writer().u64Big((1n << 64n) - 1n).finish()).u64Big('n')).toBe((1n << 64n) - 1n);
    const small = new Writer().u64(11).finish();
    decodeError(() => new Reader(small).u64('n', 10), LengthLimitError);
    expect(new Reader(small).u64('n', 11)).toBe(11);
  });

  it('a flag is 0 or 1, nothing else', () => {
    expect(new Reader(Uint8Array.of(0)).flag('f')).toBe(false);
    expect(new Reader(Uint8Array.of(1)).flag('f')).toBe(true);
    for (let v = 2; v < 256; v++) decodeError(() => new Reader(Uint8Array.of(v)).flag('f'), InvalidValueError);
  });

  it('a tag checks the kind byte, then the version byte', () => {
    expect(new Reader(Uint8Array.of(0x54, 1)).tag('t', 0x54, [1])).toBe(1);
    const kind = decodeError(() => new Reader(Uint8Array.of(0x42, 1)).tag('t', 0x54, [1]), UnexpectedKindError);
    expect([kind.field, kind.offset]).toEqual(['t.kind', 0]);
    const version = decodeError(() => new Reader(Uint8Array.of(0x54, 2)).tag('t', 0x54, [1]), UnknownVersionError);
    expect([version.field, version.offset]).toEqual(['t.version', 1]);
  });
});

describe('strings', () => {
  const anyString = fc.oneof(
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 50 }),
  );

  it('writes varint length and the exact TextEncoder bytes, and reads them back', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const utf8 = new TextEncoder().encode(s);
        const written = new Writer(4).string(s).finish();
        expect(written).toEqual(concatBytes(varintBytes(utf8.length), utf8));
        const r = new Reader(written);
        expect(r.string('s', 10_000)).toBe(s);
        r.end('s');
      }),
    );
  });

  it('handles the boundaries of the fast paths: 64/65 bytes when reading, 127/128 characters when writing', () => {
    for (const n of [0, 1, 63, 64, 65, 127, 128, 129, 300]) {
      for (const s of ['a'.repeat(n), `${'a'.repeat(Math.max(0, n - 1))}é`]) {
        const r = new Reader(new Writer(1).string(s).finish());
        expect(r.string('s', 1000)).toBe(s);
      }
    }
  });

  it('keeps a leading byte order mark', () => {
    const s = '\ufeffabc';
    expect(new Reader(new Writer().string(s).finish()).string('s', 100)).toBe(s);
  });

  it('rejects invalid UTF-8: bad continuation, overlong forms, encoded surrogates, code points above U+10FFFF', () => {
    for (const bad of [[0xc3, 0x28], [0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff], [0x80]]) {
      const input = Uint8Array.from([bad.length, ...bad]);
      const e = decodeError(() => new Reader(input).string('name', 100), InvalidValueError);
      expect([e.field, e.offset]).toEqual(['name', 1]);
    }
  });

  it('checks the byte length limit before reading the bytes', () => {
    const e = decodeError(() => new Reader(Uint8Array.of(11)).string('name', 10), LengthLimitError);
    expect(e.field).toBe('name.length');
  });
});

describe('writer', () => {
  it('hands out its buffer when the value filled it exactly, and later writes never touch it', () => {
    const w = new Writer(5).u8(1).u32(0x02030405);
    const first = w.finish();
    expect(first).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
    expect(first.buffer.byteLength).toBe(5);
    // Going on: the writer still holds what it wrote, in a new buffer.
    expect(w.u8(9).finish()).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 9));
    expect(first).toEqual(Uint8Array.of(1, 2, 3, 4, 5));
    // After a reset: a new buffer as well.
    const again = new Writer(2).u8(1).u8(2);
    const handed = again.finish();
    again.reset().u8(7).u8(8);
    expect(handed).toEqual(Uint8Array.of(1, 2));
    expect(again.finish()).toEqual(Uint8Array.of(7, 8));
  });

  it('copies when the buffer is larger than the value, so the writer can go on', () => {
    const w = new Writer(64).u8(1);
    const first = w.finish();
    expect(first.buffer.byteLength).toBe(1);
    expect(w.u8(2).finish()).toEqual(Uint8Array.of(1, 2));
    expect(first).toEqual(Uint8Array.of(1));
  });
});

describe('reader', () => {
  it('returns copies, never views into its input', () => {
    const input = Uint8Array.of(2, 7, 8);
    const out = new Reader(input).varBytes('b', 10);
    input[1] = 0;
    expect(out).toEqual(Uint8Array.of(7, 8));
  });

  it('returns true copies, as plain Uint8Arrays, also from a Node Buffer (whose own slice is a view)', () => {
    const input = Buffer.from([2, 7, 8]);
    const out = new Reader(input).varBytes('b', 10);
    input[1] = 0;
    expect(out).toEqual(Uint8Array.of(7, 8));
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
  });

  it('returns views into its input with copy: false', () => {
    const input = Uint8Array.of(2, 7, 8);
    const out = new Reader(input, 0, { copy: false }).varBytes('b', 10);
    expect(out.buffer).toBe(input.buffer);
    input[1] = 0;
    expect(out).toEqual(Uint8Array.of(0, 8));
    // Plain Uint8Array views, also over a Node Buffer (whose own subarray would be a Buffer).
    const fromBuffer = new Reader(Buffer.from([2, 7, 8]), 0, { copy: false }).varBytes('b', 10);
    expect(Object.getPrototypeOf(fromBuffer)).toBe(Uint8Array.prototype);
  });

  it('reads from a subarray at its own offset', () => {
    const backing = Uint8Array.of(0xff, 0xff, 0, 0, 0, 5, 0xff);
    expect(new Reader(backing.subarray(2, 6)).u32('n')).toBe(5);
  });

  it('count() refuses counts whose items cannot fit in the bytes left', () => {
    const e = decodeError(() => new Reader(Uint8Array.of(3, 0, 0, 0, 0, 0)).count('items', 10, 2), TruncatedInputError);
    expect(e.field).toBe('items');
    expect(new Reader(Uint8Array.of(3, 0, 0, 0, 0, 0, 0)).count('items', 10, 2)).toBe(3);
  });

  it('end() reports trailing bytes with their offset', () => {
    const r = new Reader(Uint8Array.of(1, 2, 3));
    r.u8('a');
    const e = decodeError(() => r.end('thing'), TrailingBytesError);
    expect([e.field, e.offset]).toEqual(['thing', 1]);
  });
});
