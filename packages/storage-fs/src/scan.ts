import { decodeBlockHeader } from '@safechain/core';
import { StoreCorruptError } from '@safechain/storage';
import {
  COMMIT_BODY_BYTES,
  FRAME_HEADER_BYTES,
  frameCrc,
  isRecordType,
  MAX_RECORD_BYTES,
  readU64,
  RecordType,
  SEGMENT_HEADER_BYTES,
} from './format.js';
import { emptyGroup, type Group } from './group.js';
import { readAt } from './io.js';

/**
 * Reading a segment back on open. Two kinds of trouble are told apart:
 * - a torn frame (cut short, running past the end of the file, failing its checksum) or a group without its COMMIT
 *   record at the end of the file: what a crash in the middle of a commit leaves. `scanSegment` reports where the
 *   unfinished group starts; the store cuts the last segment there;
 * - a frame whose checksum holds but whose content or place is wrong: not a crash, since the writer never produces
 *   it. That is damage, StoreCorruptError, and nothing is cut.
 */

/**
 * Reads a file through a moving window, so scanning costs few system calls. Views are valid until the next `get`.
 * The scan skips the transactions, most of the bytes, so its window is small: a large one would read them anyway.
 */
class Window {
  #buf: Buffer = Buffer.alloc(0);
  #start = 0;

  constructor(
    readonly fd: number,
    readonly size: number,
    readonly windowBytes: number,
  ) {}

  get(position: number, length: number): Uint8Array {
    if (position < this.#start || position + length > this.#start + this.#buf.length) {
      const want = Math.min(Math.max(length, this.windowBytes), this.size - position);
      this.#buf = readAt(this.fd, want, position);
      this.#start = position;
      if (this.#buf.length < length) throw new StoreCorruptError(`file shrank while being read at ${position}`);
    }
    const at = position - this.#start;
    return this.#buf.subarray(at, at + length);
  }
}

export interface ScanResult {
  /** End of the last complete group: where the segment's good bytes end. */
  readonly end: number;
  /** Sequence number of the last complete group, or the one given when none. */
  readonly sequence: number;
  /**
   * The last complete group, not yet passed to `onGroup`: when it is the last one of the store, a crash may have
   * torn it (its COMMIT record on disk, a page before it not), so the caller checks its transactions first.
   */
  readonly held?: { readonly group: Group; readonly start: number };
  /** Set when the scan stopped at a torn or unterminated group, which starts at `end`. */
  readonly torn?: { readonly at: number; readonly reason: string };
}

export interface ScanOptions {
  readonly fd: number;
  readonly size: number;
  readonly segment: number;
  /** File name for messages. */
  readonly file: string;
  /** Sequence number of the last group before this segment. */
  readonly sequence: number;
  /** Called with each complete group, in order, except the last one (returned as `held`). */
  readonly onGroup: (group: Group, segment: number) => void;
}

class Torn {
  constructor(
    readonly at: number,
    readonly reason: string,
  ) {}
}

/**
 * Scans the records of one segment from after its header, calling `onGroup` for each complete group but the last.
 * TX records are skipped over, their lengths taken from the LEAVES record: they are checked when read, and the last
 * group's by `checkTransactions`. Every other record is read and checked here.
 * @throws StoreCorruptError on damage that a crash cannot explain (see the module comment).
 */
export function scanSegment(options: ScanOptions): ScanResult {
  const { fd, size, segment, file } = options;
  const win = new Window(fd, size, 64 * 1024);
  let sequence = options.sequence;
  let pos = SEGMENT_HEADER_BYTES;
  let groupStart = pos;
  let group = emptyGroup();
  let records = 0;
  let held: { group: Group; start: number } | undefined;
  const corrupt = (at: number, what: string): never => {
    throw new StoreCorruptError(`${file} at byte ${at}: ${what}`);
  };

  /** Reads and checks the frame at `at`; returns its type and body (a view). */
  const frame = (at: number): { type: number; body: Uint8Array; length: number } => {
    if (size - at < FRAME_HEADER_BYTES) throw new Torn(at, 'frame header cut short');
    const head = win.get(at, FRAME_HEADER_BYTES);
    const view = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES);
    const length = view.getUint32(0);
    const type = head[4]!;
    const crc = view.getUint32(5);
    if (length > MAX_RECORD_BYTES || at + FRAME_HEADER_BYTES + length > size) throw new Torn(at, 'frame runs past the end of the file');
    const whole = win.get(at, FRAME_HEADER_BYTES + length);
    if (frameCrc(whole, 0, length) !== crc) throw new Torn(at, 'frame checksum mismatch');
    return { type, body: whole.subarray(FRAME_HEADER_BYTES), length };
  };

  try {
    while (pos < size) {
      const { type, body, length } = frame(pos);
      const bodyView = new DataView(body.buffer, body.byteOffset, body.length);
      if (!isRecordType(type)) corrupt(pos, `unknown record type ${type}`);
      switch (type) {
        case RecordType.BLOCK: {
          if (length < 37) corrupt(pos, 'BLOCK record too short');
          const hash = body.slice(0, 32);
          const txCount = bodyView.getUint32(32);
          const workLength = body[36]!;
          if (37 + workLength > length) corrupt(pos, 'BLOCK record too short for its work');
          const header = (() => {
            try {
              return decodeBlockHeader(body.subarray(37 + workLength));
            } catch (error) {
              return corrupt(pos, `BLOCK header does not decode: ${(error as Error).message}`);
            }
          })();
          if (header.txCount !== txCount) corrupt(pos, `BLOCK says ${txCount} transactions, its header ${header.txCount}`);
          const infoLength = FRAME_HEADER_BYTES + length;
          const leavesAt = pos + infoLength;
          const leaves = frame(leavesAt);
          if (leaves.type !== RecordType.LEAVES || leaves.length !== 36 * txCount) corrupt(leavesAt, 'BLOCK not followed by its LEAVES');
          const ids = leaves.body.slice(0, 32 * txCount);
          const lengthsView = new DataView(leaves.body.buffer, leaves.body.byteOffset + 32 * txCount, 4 * txCount);
          const txOffsets = new Float64Array(txCount);
          const txLengths = new Uint32Array(txCount);
          let at = leavesAt + FRAME_HEADER_BYTES + leaves.length;
          for (let i = 0; i < txCount; i++) {
            txOffsets[i] = at;
            txLengths[i] = lengthsView.getUint32(4 * i);
            at += FRAME_HEADER_BYTES + txLengths[i]!;
          }
          if (at > size) throw new Torn(pos, 'block runs past the end of the file');
          group.blocks.push({ hash, height: header.height, txCount, offset: pos, infoLength, span: at - pos, ids, txOffsets, txLengths });
          records += 2 + txCount;
          pos = at;
          continue;
        }
        case RecordType.CANONICAL: {
          if (length < 12) corrupt(pos, 'CANONICAL record too short');
          const fromHeight = readU64(bodyView, 0, `${file} at byte ${pos}`);
          const count = bodyView.getUint32(8);
          if (length !== 12 + 32 * count) corrupt(pos, 'CANONICAL record length does not match its count');
          const hashes = Array.from({ length: count }, (_, i) => body.slice(12 + 32 * i, 44 + 32 * i));
          group.canonical = { fromHeight, hashes };
          break;
        }
        case RecordType.PENDING_ADD:
          if (length < 32) corrupt(pos, 'PENDING_ADD record too short');
          group.pendingAdd.push({ id: body.slice(0, 32), offset: pos, length });
          break;
        case RecordType.PENDING_REMOVE: {
          const count = length >= 4 ? bodyView.getUint32(0) : -1;
          if (length !== 4 + 32 * count) corrupt(pos, 'PENDING_REMOVE record length does not match its count');
          for (let i = 0; i < count; i++) group.pendingRemove.push(body.slice(4 + 32 * i, 36 + 32 * i));
          break;
        }
        case RecordType.META: {
          const keyLength = length >= 2 ? bodyView.getUint16(0) : -1;
          if (keyLength < 0 || 2 + keyLength > length) corrupt(pos, 'META record too short for its key');
          let key: string;
          try {
            key = new TextDecoder('utf-8', { fatal: true }).decode(body.subarray(2, 2 + keyLength));
          } catch {
            return corrupt(pos, 'META key is not UTF-8');
          }
          group.meta.push([key, body.slice(2 + keyLength)]);
          break;
        }
        case RecordType.COMMIT: {
          if (length !== COMMIT_BODY_BYTES) corrupt(pos, 'COMMIT record of the wrong length');
          const where = `${file} at byte ${pos}`;
          const seq = readU64(bodyView, 0, where);
          const start = readU64(bodyView, 8, where);
          const count = bodyView.getUint32(16);
          const seg = bodyView.getUint32(20);
          if (seq !== sequence + 1) corrupt(pos, `COMMIT sequence ${seq} follows ${sequence}: a group is missing or repeated`);
          if (start !== groupStart || count !== records || seg !== segment) corrupt(pos, 'COMMIT record does not describe the group it closes');
          if (held !== undefined) options.onGroup(held.group, segment);
          held = { group, start: groupStart };
          sequence = seq;
          pos += FRAME_HEADER_BYTES + length;
          groupStart = pos;
          group = emptyGroup();
          records = 0;
          continue;
        }
        default:
          // LEAVES and TX only ever follow a BLOCK, read with it.
          corrupt(pos, `record type ${type} outside a block`);
      }
      records++;
      pos += FRAME_HEADER_BYTES + length;
    }
    if (pos !== groupStart) throw new Torn(groupStart, 'group without a COMMIT record at the end of the file');
    return { end: groupStart, sequence, ...(held === undefined ? {} : { held }) };
  } catch (error) {
    if (!(error instanceof Torn)) throw error;
    return { end: groupStart, sequence, ...(held === undefined ? {} : { held }), torn: { at: error.at, reason: error.reason } };
  }
}

/**
 * Reads every TX record of `group` and checks frame, type, length and checksum. False when one fails: the group was
 * torn by a crash.
 */
export function checkTransactions(fd: number, size: number, group: Group): boolean {
  const win = new Window(fd, size, 1024 * 1024);
  for (const block of group.blocks) {
    for (let i = 0; i < block.txCount; i++) {
      const at = block.txOffsets[i]!;
      const length = block.txLengths[i]!;
      if (at + FRAME_HEADER_BYTES + length > size) return false;
      const whole = win.get(at, FRAME_HEADER_BYTES + length);
      const view = new DataView(whole.buffer, whole.byteOffset, FRAME_HEADER_BYTES);
      if (view.getUint32(0) !== length || whole[4] !== RecordType.TX || frameCrc(whole, 0, length) !== view.getUint32(5)) return false;
    }
  }
  return true;
}

/**
 * True when the COMMIT record of a group after the one starting at `from` lies in `[from, size)`: then the bytes at
 * `from` are damage in the middle of committed data, not a torn tail, and must not be cut off. The unfinished
 * group's own COMMIT record does not count: after a power loss it may be on disk while pages before it are not.
 * `sequence` is the last complete group's sequence number.
 */
export function committedGroupAfter(fd: number, size: number, from: number, segment: number, sequence: number): boolean {
  const frameBytes = FRAME_HEADER_BYTES + COMMIT_BODY_BYTES;
  const chunk = 16 * 1024 * 1024;
  for (let base = from; base + frameBytes <= size; base += chunk) {
    const bytes = readAt(fd, Math.min(chunk + frameBytes, size - base), base);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const last = Math.min(chunk, bytes.length - frameBytes + 1);
    for (let i = 0; i < last; i++) {
      if (bytes[i + 4] !== RecordType.COMMIT || view.getUint32(i) !== COMMIT_BODY_BYTES) continue;
      if (frameCrc(bytes, i, COMMIT_BODY_BYTES) !== view.getUint32(i + 5)) continue;
      const p = i + FRAME_HEADER_BYTES;
      const hi = view.getUint32(p);
      const seq = hi * 0x1_0000_0000 + view.getUint32(p + 4);
      const start = view.getUint32(p + 8) * 0x1_0000_0000 + view.getUint32(p + 12);
      if (view.getUint32(p + 20) === segment && seq > sequence + 1 && start > from && start < base + i) return true;
    }
  }
  return false;
}
