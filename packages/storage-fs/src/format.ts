import { crc32c, crc32cUpdate, StoreCorruptError, StoreVersionError } from '@safechain/storage';

/**
 * The on-disk format, version 1 (all integers big-endian).
 *
 * A store is a directory of segment files `00000001.seg`, `00000002.seg`, ..., written append-only and never
 * rewritten except to cut a torn tail off the last one. A segment starts with a 16-byte header:
 *
 *   magic "SCFS" | u16 format version | u16 zero | u32 segment number | u32 CRC-32C of the 12 bytes before
 *
 * then holds records, each framed as
 *
 *   u32 body length | u8 type | u32 CRC-32C of (length, type, body) | body
 *
 * One commit is one group of records ended by a COMMIT record; a group never spans two segments. A group is
 * visible only once its COMMIT record is on disk, which is what makes a commit atomic across a crash.
 *
 * Record bodies:
 * - BLOCK:   hash(32) | u32 txCount | u8 n, total work (n bytes, minimal) | header bytes (encodeBlockHeader)
 * - LEAVES:  txCount × id(32) | txCount × u32 TX body length; follows its BLOCK
 * - TX:      encodeTransaction, full or stripped; txCount of them follow the LEAVES, in block order
 * - CANONICAL: u64 fromHeight | u32 count | count × hash(32)
 * - PENDING_ADD: id(32) | encodeTransaction
 * - PENDING_REMOVE: u32 count | count × id(32)
 * - META:    u16 key length | key (UTF-8) | value
 * - COMMIT:  u64 group sequence (from 1, +1 per group) | u64 offset of the group's first record | u32 records
 *            before this one in the group | u32 segment number
 */

export const FORMAT_VERSION = 1;
export const SEGMENT_MAGIC = 0x53434653; // "SCFS"
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 9;
export const COMMIT_BODY_BYTES = 24;
/** Largest record body accepted when reading: a full block's LEAVES (2^22 × 36 bytes) or a 64 MiB payload fit. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;
export const MAX_WORK_BYTES = 32;

export const RecordType = {
  BLOCK: 1,
  LEAVES: 2,
  TX: 3,
  CANONICAL: 4,
  PENDING_ADD: 5,
  PENDING_REMOVE: 6,
  META: 7,
  COMMIT: 8,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function isRecordType(type: number): type is RecordType {
  return type >= RecordType.BLOCK && type <= RecordType.COMMIT;
}

export function segmentFileName(segment: number): string {
  return `${String(segment).padStart(8, '0')}.seg`;
}

/** The segment number of a file name, or undefined when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | undefined {
  const match = /^(\d{8})\.seg$/.exec(name);
  if (match === null) return undefined;
  const n = Number(match[1]);
  return n > 0 ? n : undefined;
}

export function encodeSegmentHeader(segment: number): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, SEGMENT_MAGIC);
  view.setUint16(4, FORMAT_VERSION);
  view.setUint16(6, 0);
  view.setUint32(8, segment);
  view.setUint32(12, crc32c(out, 0, 12));
  return out;
}

/**
 * Checks a segment header read from disk.
 * @throws StoreCorruptError when it is not a segment header or belongs to another segment number;
 *   StoreVersionError when it is a segment of an unknown format version.
 */
export function checkSegmentHeader(bytes: Uint8Array, segment: number, file: string): void {
  if (bytes.length < SEGMENT_HEADER_BYTES) throw new StoreCorruptError(`${file}: segment header is ${bytes.length} bytes, expected ${SEGMENT_HEADER_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(0) !== SEGMENT_MAGIC) throw new StoreCorruptError(`${file}: not a safechain segment (bad magic)`);
  if (view.getUint32(12) !== crc32c(bytes, 0, 12)) throw new StoreCorruptError(`${file}: segment header checksum mismatch`);
  const version = view.getUint16(4);
  if (version !== FORMAT_VERSION) {
    throw new StoreVersionError(`${file}: segment format version ${version}; this release reads version ${FORMAT_VERSION}`);
  }
  if (view.getUint32(8) !== segment) throw new StoreCorruptError(`${file}: header names segment ${view.getUint32(8)}`);
}

/** CRC of a frame: over the 5 header bytes before the CRC field, then the body. */
export function frameCrc(frame: Uint8Array, at: number, bodyLength: number): number {
  return crc32cUpdate(crc32c(frame, at, at + 5), frame, at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + bodyLength);
}

/** Writes a frame header for a body already placed at `at + 9`, computing the CRC. */
export function sealFrame(buffer: Uint8Array, view: DataView, at: number, type: RecordType, bodyLength: number): void {
  view.setUint32(at, bodyLength);
  buffer[at + 4] = type;
  view.setUint32(at + 5, frameCrc(buffer, at, bodyLength));
}

export function writeU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, Math.floor(value / 0x1_0000_0000));
  view.setUint32(at + 4, value >>> 0);
}

/** Reads a u64 that must be a safe integer. */
export function readU64(view: DataView, at: number, where: string): number {
  const hi = view.getUint32(at);
  if (hi > 0x1fffff) throw new StoreCorruptError(`${where}: integer above 2^53`);
  return hi * 0x1_0000_0000 + view.getUint32(at + 4);
}

export function workToBytes(work: bigint): Uint8Array {
  const out: number[] = [];
  for (let w = work; w > 0n; w >>= 8n) out.unshift(Number(w & 0xffn));
  return Uint8Array.from(out);
}

export function workFromBytes(raw: Uint8Array, where: string): bigint {
  if (raw.length > MAX_WORK_BYTES || (raw.length > 0 && raw[0] === 0)) {
    throw new StoreCorruptError(`${where}: total work is not a minimal integer of at most ${MAX_WORK_BYTES} bytes`);
  }
  let work = 0n;
  for (const b of raw) work = (work << 8n) | BigInt(b);
  return work;
}
