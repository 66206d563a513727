import { InvalidArgumentError, InvalidTextEncodingError } from './errors.js';

/**
 * Byte helpers that run anywhere (no `Buffer`). Text decoders are strict: they accept only the canonical form, so
 * that one value has one spelling in JSON proof bundles.
 */

const HEX_DIGITS = '0123456789abcdef';
/** Character codes of the two hex digits of each byte value, at 2 * byte and 2 * byte + 1. */
const HEX_CODES = new Uint16Array(512);
for (let i = 0; i < 256; i++) {
  HEX_CODES[2 * i] = HEX_DIGITS.charCodeAt(i >> 4);
  HEX_CODES[2 * i + 1] = HEX_DIGITS.charCodeAt(i & 15);
}
/** Characters turned into one string per `String.fromCharCode` call: well under any engine's argument limit. */
const HEX_CHUNK_CHARS = 4096;
const hexScratch = new Uint16Array(HEX_CHUNK_CHARS);
/** The first 64 characters of `hexScratch`: a 32-byte id (the common case) needs no new view. */
const hexScratch64 = hexScratch.subarray(0, 64);

/** Throws InvalidArgumentError unless `value` is a Uint8Array (of `length` bytes, when given). */
export function assertBytes(value: unknown, name: string, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label(name)}: expected Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new InvalidArgumentError(`${label(name)}: expected ${describeLength(length)} bytes, got ${value.length}`);
  }
}

// Argument names and lengths come from this library's own code; these keep a message printable whatever they are.
function label(name: unknown): string {
  return typeof name === 'string' ? name : 'argument';
}
function describeLength(length: unknown): string {
  return typeof length === 'number' ? String(length) : describe(length);
}

/** Throws InvalidArgumentError unless `value` is a non-null object (not an array). */
export function assertObject<T>(value: T, name: string): asserts value is T & object {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new InvalidArgumentError(`${label(name)}: expected object, got ${describe(value)}`);
  }
}

/** A short description of a value's type for "expected X, got Y" messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
  return typeof value;
}

/** Lower-case hex of `bytes`. @throws InvalidArgumentError unless `bytes` is a Uint8Array. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  // Built from character codes in one call per chunk, so the result is a flat string. Appending two digits at a
  // time would make a rope of 32 pieces for an id, and every Map or Set lookup with such a key has to flatten it
  // first: ids are used as keys everywhere (mempool, block tree, verifier).
  let out = '';
  for (let start = 0; start < bytes.length; start += HEX_CHUNK_CHARS / 2) {
    const end = Math.min(bytes.length, start + HEX_CHUNK_CHARS / 2);
    for (let i = start; i < end; i++) {
      const v = 2 * bytes[i]!;
      hexScratch[2 * (i - start)] = HEX_CODES[v]!;
      hexScratch[2 * (i - start) + 1] = HEX_CODES[v + 1]!;
    }
    const chars = 2 * (end - start);
    const chunk = String.fromCharCode.apply(null, (chars === 64 ? hexScratch64 : hexScratch.subarray(0, chars)) as unknown as number[]);
    out = start === 0 ? chunk : out + chunk;
  }
  return out;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/**
 * Decodes lower-case hex. Upper case is refused: a proof bundle must have one spelling per value.
 * @throws InvalidTextEncodingError on odd length, other characters, or a length other than `expectedBytes`.
 */
export function fromHex(hex: string, expectedBytes?: number): Uint8Array {
  if (typeof hex !== 'string') throw new InvalidArgumentError(`hex: expected string, got ${describe(hex)}`);
  if (hex.length % 2 !== 0) throw new InvalidTextEncodingError(`hex: odd length ${hex.length}`);
  if (expectedBytes !== undefined && hex.length !== expectedBytes * 2) {
    throw new InvalidTextEncodingError(`hex: expected ${expectedBytes} bytes, got ${hex.length / 2}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new InvalidTextEncodingError(`hex: not lower-case hex at character ${2 * i}`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/** Standard base64 with padding (RFC 4648 §4). @throws InvalidArgumentError unless `bytes` is a Uint8Array. */
export function toBase64(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes canonical padded base64: no whitespace, padding present, unused bits zero.
 * @throws InvalidTextEncodingError otherwise.
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidArgumentError(`base64: expected string, got ${describe(text)}`);
  if (text.length % 4 !== 0) throw new InvalidTextEncodingError(`base64: length ${text.length} is not a multiple of 4`);
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      const isPad = last && j >= 4 - pad;
      const v = isPad ? 0 : code < 128 ? B64_INDEX[code]! : -1;
      if (v < 0) throw new InvalidTextEncodingError(`base64: invalid character at ${i + j}`);
      n = (n << 6) | v;
    }
    if (last && pad === 2 && (n & 0xffff) !== 0) throw new InvalidTextEncodingError('base64: non-zero padding bits');
    if (last && pad === 1 && (n & 0xff) !== 0) throw new InvalidTextEncodingError('base64: non-zero padding bits');
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** Concatenates byte arrays into a new one. @throws InvalidArgumentError when a part is not a Uint8Array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (let i = 0; i < parts.length; i++) {
    assertBytes(parts[i], `parts[${i}]`);
    length += parts[i]!.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Byte-wise equality (not constant time: only for public values). @throws InvalidArgumentError on non-bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Lexicographic order of byte strings: negative, zero or positive like `Array.prototype.sort` expects.
 * @throws InvalidArgumentError on non-bytes.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * Bytes `text` takes in UTF-8, counted without encoding it (a lone surrogate counts as the 3 bytes of U+FFFD, as
 * `TextEncoder` writes it). Checking a length this way is several times cheaper than encoding a short string.
 */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      // A surrogate pair: two UTF-16 units, four UTF-8 bytes.
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 2;
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

const encoder = new TextEncoder();
/** UTF-8 bytes of `text`. @throws InvalidArgumentError unless `text` is a string. */
export function utf8(text: string): Uint8Array {
  if (typeof text !== 'string') throw new InvalidArgumentError(`text: expected string, got ${describe(text)}`);
  return encoder.encode(text);
}
