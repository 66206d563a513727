import {
  InvalidValueError,
  LengthLimitError,
  NonMinimalLengthError,
  TrailingBytesError,
  TruncatedInputError,
  UnexpectedKindError,
  UnknownVersionError,
} from './errors.js';

/**
 * The canonical binary codec. Every structure is written with these primitives only:
 * - fixed-width integers, big-endian (`u8`, `u32`, `u64`);
 * - lengths and counts as unsigned LEB128 in its minimal form (`varint`);
 * - byte strings as `varint length || bytes`, UTF-8 strings the same way after strict validation;
 * - optional values as a flag byte `0x00` (absent) or `0x01` (present) followed by the value.
 * Each value has exactly one encoding, so decoders reject everything else: that is what makes hashes of encodings
 * usable as identifiers. See docs/wire-format.md for the full layout of each structure.
 */

const U64_MAX = (1n << 64n) - 1n;

/**
 * Grows a buffer while fields are appended, then hands out the exact bytes. Integers are written byte by byte: a
 * DataView per buffer cost more than the writes it served (encoding runs for every record a node takes in).
 */
export class Writer {
  private buf: Uint8Array;
  private pos = 0;
  /** `finish` returned `buf` itself: it belongs to the caller now. */
  private handedOut = false;

  /** `initialSize`: the capacity to start with; when the value written fills it exactly, `finish` does not copy. */
  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 16);
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.handedOut = false;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buf[this.pos++] = value;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    this.put32(value);
    return this;
  }

  /** A non-negative safe integer as 8 bytes big-endian. */
  u64(value: number): this {
    this.ensure(8);
    this.put32(Math.floor(value / 0x1_0000_0000));
    this.put32(value >>> 0);
    return this;
  }

  u64Big(value: bigint): this {
    this.ensure(8);
    this.put32(Number(BigInt.asUintN(64, value) >> 32n));
    this.put32(Number(BigInt.asUintN(32, value)));
    return this;
  }

  /** Four bytes big-endian at the write position; the caller has ensured the room. */
  private put32(value: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = value >>> 24;
    b[p + 1] = value >>> 16;
    b[p + 2] = value >>> 8;
    b[p + 3] = value;
    this.pos = p + 4;
  }

  varint(value: number): this {
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  /** Bytes whose length is implied by the structure (hashes, keys, signatures). */
  fixed(bytes: Uint8Array): this {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
    return this;
  }

  varBytes(bytes: Uint8Array): this {
    this.varint(bytes.length);
    return this.fixed(bytes);
  }

  string(value: string): this {
    // Short ASCII strings (content types, file names, trace codes) are written by this loop: calling the native
    // encoder costs more than the copy. The length of such a string is one varint byte equal to its length.
    const n = value.length;
    if (n < 0x80) {
      this.ensure(n + 1);
      const start = this.pos;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        this.buf[start + 1 + i] = c;
      }
      if (i === n) {
        this.buf[start] = n;
        this.pos = start + 1 + n;
        return this;
      }
    }
    return this.varBytes(textEncoder.encode(value));
  }

  /**
   * The bytes written so far, as a new array of exactly that length. When they fill the writer's buffer exactly,
   * that buffer is handed out instead of a copy, and the writer never writes into it again: a later write grows into
   * a new buffer (the full one has no room), and `reset` starts one.
   */
  finish(): Uint8Array {
    if (this.pos !== this.buf.length) return this.buf.slice(0, this.pos);
    this.handedOut = true;
    return this.buf;
  }

  /**
   * The bytes written so far as a view into the writer's buffer, valid until the next write or `reset`: for a value
   * that is hashed at once and not kept (no copy).
   */
  written(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Empties the writer, keeping its buffer (unless `finish` handed it out), so one writer can encode many values in turn. */
  reset(): this {
    if (this.handedOut) {
      this.buf = new Uint8Array(this.buf.length);
      this.handedOut = false;
    }
    this.pos = 0;
    return this;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface ReaderOptions {
  /** Byte fields as copies (the default) or, with `false`, as views into the input. */
  readonly copy?: boolean;
}

/**
 * Reads fields from untrusted bytes. Every read checks bounds and limits before allocating, and every error names
 * the field and the offset. Returned byte arrays are copies, never views into the input, unless `copy: false`.
 */
export class Reader {
  /**
   * The input as a plain Uint8Array: the `slice` and `subarray` of a Node Buffer (a subclass) return Buffer views,
   * which would break both the copies and the plain views this reader promises.
   */
  private readonly bytes: Uint8Array;
  private pos: number;
  private readonly copy: boolean;

  /**
   * `copy: false` returns byte fields as views into `bytes` instead of copies: for input the caller hands over and
   * nobody writes afterwards (a row just read from a store), where a copy per field is only allocation work.
   */
  constructor(bytes: Uint8Array, offset = 0, options: ReaderOptions = {}) {
    this.bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = offset;
    this.copy = options.copy !== false;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(field: string, n: number): void {
    if (this.bytes.length - this.pos < n) {
      throw new TruncatedInputError(field, this.pos, `needs ${n} bytes, ${this.bytes.length - this.pos} left`);
    }
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.bytes[this.pos++]!;
  }

  /** Reads a kind byte and a version byte and checks both. */
  tag(field: string, kind: number, versions: readonly number[]): number {
    // Field names are built only for an error: this runs for every structure decoded.
    const at = this.pos;
    const k = this.bytes.length > at ? this.bytes[at]! : this.u8(`${field}.kind`);
    if (k !== kind) throw new UnexpectedKindError(`${field}.kind`, at, `expected 0x${hex2(kind)}, got 0x${hex2(k)}`);
    this.pos = at + 1;
    const v = this.bytes.length > at + 1 ? this.bytes[at + 1]! : this.u8(`${field}.version`);
    if (!versions.includes(v)) throw new UnknownVersionError(`${field}.version`, at + 1, `unknown version ${v}`);
    this.pos = at + 2;
    return v;
  }

  /** A flag byte: 0 or 1, nothing else. */
  flag(field: string): boolean {
    const at = this.pos;
    const v = this.u8(field);
    if (v > 1) throw new InvalidValueError(field, at, `flag must be 0 or 1, got ${v}`);
    return v === 1;
  }

  u32(field: string): number {
    this.need(field, 4);
    return this.take32();
  }

  /** An 8-byte integer that must fit a JavaScript safe integer (and be at most `max`). */
  u64(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const at = this.pos;
    this.need(field, 8);
    const hi = this.take32();
    const lo = this.take32();
    // Above 2^53 - 1 the high word exceeds 21 bits; no BigInt unless the value is refused.
    const value = hi * 0x1_0000_0000 + lo;
    if (hi > 0x1f_ffff || value > max) throw new LengthLimitError(field, at, `value ${(BigInt(hi) << 32n) | BigInt(lo)} above limit ${max}`);
    return value;
  }

  u64Big(field: string): bigint {
    this.need(field, 8);
    const hi = this.take32();
    return (BigInt(hi) << 32n) | BigInt(this.take32());
  }

  /** Four bytes big-endian at the read position; the caller has checked they are there. */
  private take32(): number {
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A minimal unsigned LEB128 integer no larger than `max`. */
  varint(field: string, max: number): number {
    return this.varintOf(field, '', max);
  }

  /** `varint` for the field named `field + suffix`, a name built only for an error. */
  private varintOf(field: string, suffix: string, max: number): number {
    const at = this.pos;
    const bytes = this.bytes;
    // One byte, the common case (every length below 128).
    if (at < bytes.length && bytes[at]! < 0x80) {
      const b = bytes[at]!;
      if (b > max) throw new LengthLimitError(field + suffix, at, `value above limit ${max}`);
      this.pos = at + 1;
      return b;
    }
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) throw new LengthLimitError(field + suffix, at, 'varint longer than 8 bytes');
      const b = this.u8(field + suffix);
      value += (b & 0x7f) * scale;
      if (value > max) throw new LengthLimitError(field + suffix, at, `value above limit ${max}`);
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new NonMinimalLengthError(field + suffix, at, 'varint has a redundant zero byte');
        return value;
      }
      scale *= 0x80;
    }
  }

  fixed(field: string, length: number): Uint8Array {
    this.need(field, length);
    const start = this.pos;
    this.pos = start + length;
    return this.copy ? this.bytes.slice(start, start + length) : this.bytes.subarray(start, start + length);
  }

  varBytes(field: string, max: number): Uint8Array {
    const length = this.varintOf(field, '.length', max);
    return this.fixed(field, length);
  }

  string(field: string, maxBytes: number): string {
    const length = this.varintOf(field, '.length', maxBytes);
    this.need(field, length);
    const at = this.pos;
    if (length <= 64) {
      // Short ASCII, the common case, without a call into the native decoder (or a view and a spread, which cost
      // about as much).
      const bytes = this.bytes;
      const end = at + length;
      let value = '';
      let i = at;
      for (; i < end; i++) {
        const b = bytes[i]!;
        if (b >= 0x80) break;
        value += String.fromCharCode(b);
      }
      if (i === end) {
        this.pos = end;
        return value;
      }
    }
    try {
      const value = textDecoder.decode(this.bytes.subarray(this.pos, this.pos + length));
      this.pos += length;
      return value;
    } catch {
      throw new InvalidValueError(field, at, 'not valid UTF-8');
    }
  }

  /** A count of items each at least `minItemBytes` long: checked against the bytes left before any array exists. */
  count(field: string, max: number, minItemBytes: number): number {
    const at = this.pos;
    const n = this.varint(field, max);
    if (n * minItemBytes > this.remaining) {
      throw new TruncatedInputError(field, at, `${n} items need at least ${n * minItemBytes} bytes, ${this.remaining} left`);
    }
    return n;
  }

  /** Asserts that the input is fully consumed. */
  end(field: string): void {
    if (this.pos !== this.bytes.length) {
      throw new TrailingBytesError(field, this.pos, `${this.bytes.length - this.pos} trailing bytes`);
    }
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** Validates a value a Writer will write as u64; used by encoders on caller-supplied objects. */
export function isU64Big(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value <= U64_MAX;
}
