import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidTextEncodingError,
  compareBytes,
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
} from '@safechain/core';
import { utf8Length } from './bytes.js';

describe('hex', () => {
  it('round-trips any bytes and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const hex = toHex(b);
        expect(hex).toBe(Buffer.from(b).toString('hex'));
        expect(fromHex(hex)).toEqual(b);
      }),
    );
  });

  it('accepts only the canonical spelling: lower case, even length, hex digits', () => {
    expect(() => fromHex('AB')).toThrow(InvalidTextEncodingError);
    expect(() => fromHex('abc')).toThrow(InvalidTextEncodingError);
    expect(() => fromHex('0g')).toThrow(InvalidTextEncodingError);
    expect(() => fromHex(' 0a')).toThrow(InvalidTextEncodingError);
    expect(() => fromHex('0a', 2)).toThrow(InvalidTextEncodingError);
    expect(fromHex('', 0)).toEqual(new Uint8Array(0));
    expect(() => fromHex(12 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('base64', () => {
  it('round-trips any bytes and matches Buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const text = toBase64(b);
        expect(text).toBe(Buffer.from(b).toString('base64'));
        expect(fromBase64(text)).toEqual(b);
      }),
    );
  });

  it('refuses non-canonical text: missing padding, whitespace, URL alphabet, non-zero padding bits', () => {
    for (const bad of ['QQ', 'QQ=', 'QR==', 'QUI=QUI=', 'QU I=', 'QUJ-', 'QUJ_', 'QUK=', '====', 'Q===']) {
      expect(() => fromBase64(bad), bad).toThrow(InvalidTextEncodingError);
    }
    expect(fromBase64('QUI=')).toEqual(Uint8Array.from([0x41, 0x42]));
    expect(() => fromBase64(null as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('refuses every text Buffer would decode to different bytes after re-encoding', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/='), maxLength: 12 }), (text) => {
        let decoded: Uint8Array | undefined;
        try {
          decoded = fromBase64(text);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidTextEncodingError);
        }
        if (decoded !== undefined) expect(toBase64(decoded)).toBe(text);
      }),
    );
  });
});

describe('byte helpers', () => {
  it('compareBytes orders like Buffer.compare; equalBytes agrees with it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        expect(Math.sign(compareBytes(a, b))).toBe(Buffer.compare(a, b));
        expect(equalBytes(a, b)).toBe(Buffer.compare(a, b) === 0);
      }),
    );
  });

  it('concatBytes joins in order', () => {
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('utf8Length equals the length TextEncoder writes, lone surrogates included', () => {
    const units = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 30 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(fc.oneof(units, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' })), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
    );
    expect(utf8Length('\ud800')).toBe(3);
    expect(utf8Length('\ud83d\ude80')).toBe(4);
    expect(utf8Length('\ude80\ud83d')).toBe(6);
  });
});
