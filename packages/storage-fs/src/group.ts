import { encodeBlockHeader, encodeTransaction } from '@safechain/core';
import { encodeTransactions, type CommitPlan, type EncodedTransactions } from '@safechain/storage';
import { COMMIT_BODY_BYTES, FRAME_HEADER_BYTES, RecordType, sealFrame, workToBytes, writeU64 } from './format.js';

/**
 * A commit as one group of framed records (see format.ts), and where each part landed, so the in-memory index can
 * point at it. Recovery parses the same shape back into a `Group`.
 */

/** A block's place in a segment. Offsets are absolute within the segment file. */
export interface BlockPlacement {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly txCount: number;
  /** Frame start of the BLOCK record. */
  readonly offset: number;
  /** Bytes of the BLOCK frame (what `getBlockInfo` reads). */
  readonly infoLength: number;
  /** Bytes from the BLOCK frame start to the end of the last TX frame (what `getBlock` reads). */
  readonly span: number;
  /** The leaves: txCount × 32 bytes. */
  readonly ids: Uint8Array;
  /** Frame start of each TX record. */
  readonly txOffsets: Float64Array;
  /** Body length of each TX record. */
  readonly txLengths: Uint32Array;
}

export interface PendingPlacement {
  readonly id: Uint8Array;
  /** Frame start of the PENDING_ADD record. */
  readonly offset: number;
  readonly length: number;
}

/** One commit's effect, as written or as recovered. */
export interface Group {
  readonly blocks: BlockPlacement[];
  canonical: { readonly fromHeight: number; readonly hashes: readonly Uint8Array[] } | undefined;
  readonly pendingAdd: PendingPlacement[];
  readonly pendingRemove: Uint8Array[];
  readonly meta: [string, Uint8Array][];
}

export function emptyGroup(): Group {
  return { blocks: [], canonical: undefined, pendingAdd: [], pendingRemove: [], meta: [] };
}

interface EncodedBlock {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly work: Uint8Array;
  readonly header: Uint8Array;
  readonly ids: readonly Uint8Array[];
  readonly bodies: EncodedTransactions;
}

/** A commit encoded and sized, not yet placed: its bytes depend on where it goes (sequence, offset, segment). */
export interface PreparedGroup {
  readonly plan: CommitPlan;
  readonly blocks: readonly EncodedBlock[];
  readonly pendingBodies: readonly Uint8Array[];
  readonly metaKeys: readonly Uint8Array[];
  /** Total bytes of the group, COMMIT record included. */
  readonly size: number;
  /** Records before the COMMIT record. */
  readonly records: number;
}

const encoder = new TextEncoder();

/**
 * Encodes every part of `plan`. Throws before anything is written when a transaction or header does not encode.
 * @throws InvalidArgumentError (from the core encoders) on a malformed transaction or header.
 */
export function prepareGroup(plan: CommitPlan): PreparedGroup {
  let size = 0;
  let records = 0;
  const frame = (body: number): void => {
    size += FRAME_HEADER_BYTES + body;
    records++;
  };
  const blocks = plan.blocks.map((b): EncodedBlock => {
    const header = encodeBlockHeader(b.block.header);
    const work = workToBytes(b.totalWork);
    const bodies = encodeTransactions(b.block.data);
    const n = bodies.ends.length;
    frame(32 + 4 + 1 + work.length + header.length);
    frame(36 * n);
    size += n * FRAME_HEADER_BYTES + bodies.bytes.length;
    records += n;
    return { hash: b.hash, height: b.block.header.height, work, header, ids: b.ids, bodies };
  });
  if (plan.canonical !== undefined) frame(12 + 32 * plan.canonical.hashes.length);
  const pendingBodies = plan.pendingAdd.map((p) => {
    const body = encodeTransaction(p.transaction);
    frame(32 + body.length);
    return body;
  });
  if (plan.pendingRemove.length > 0) frame(4 + 32 * plan.pendingRemove.length);
  const metaKeys = plan.meta.map(([key, value]) => {
    const k = encoder.encode(key);
    frame(2 + k.length + value.length);
    return k;
  });
  size += FRAME_HEADER_BYTES + COMMIT_BODY_BYTES;
  return { plan, blocks, pendingBodies, metaKeys, size, records };
}

/**
 * Lays `prepared` out as bytes for segment `segment` at file offset `start`, closed by a COMMIT record with
 * sequence number `sequence`. Returns the bytes and the group as the index sees it.
 */
export function layOutGroup(prepared: PreparedGroup, sequence: number, start: number, segment: number): { bytes: Uint8Array; group: Group } {
  const buf = new Uint8Array(prepared.size);
  const view = new DataView(buf.buffer);
  const group = emptyGroup();
  let at = 0;
  const seal = (type: RecordType, bodyLength: number): void => {
    sealFrame(buf, view, at, type, bodyLength);
    at += FRAME_HEADER_BYTES + bodyLength;
  };
  for (const b of prepared.blocks) {
    const offset = at;
    let p = at + FRAME_HEADER_BYTES;
    buf.set(b.hash, p);
    const n = b.bodies.ends.length;
    view.setUint32(p + 32, n);
    buf[p + 36] = b.work.length;
    buf.set(b.work, p + 37);
    buf.set(b.header, p + 37 + b.work.length);
    seal(RecordType.BLOCK, 37 + b.work.length + b.header.length);
    const infoLength = at - offset;
    const { bytes: all, ends } = b.bodies;
    p = at + FRAME_HEADER_BYTES;
    const ids = new Uint8Array(32 * n);
    b.ids.forEach((id, i) => ids.set(id, 32 * i));
    buf.set(ids, p);
    for (let i = 0; i < n; i++) view.setUint32(p + 32 * n + 4 * i, ends[i]! - (i === 0 ? 0 : ends[i - 1]!));
    seal(RecordType.LEAVES, 36 * n);
    const txOffsets = new Float64Array(n);
    const txLengths = new Uint32Array(n);
    for (let i = 0, from = 0; i < n; i++) {
      const length = ends[i]! - from;
      txOffsets[i] = start + at;
      txLengths[i] = length;
      buf.set(all.subarray(from, ends[i]!), at + FRAME_HEADER_BYTES);
      seal(RecordType.TX, length);
      from = ends[i]!;
    }
    group.blocks.push({ hash: b.hash, height: b.height, txCount: n, offset: start + offset, infoLength, span: at - offset, ids, txOffsets, txLengths });
  }
  const { canonical, pendingAdd, pendingRemove, meta } = prepared.plan;
  if (canonical !== undefined) {
    const p = at + FRAME_HEADER_BYTES;
    writeU64(view, p, canonical.fromHeight);
    view.setUint32(p + 8, canonical.hashes.length);
    canonical.hashes.forEach((h, i) => buf.set(h, p + 12 + 32 * i));
    seal(RecordType.CANONICAL, 12 + 32 * canonical.hashes.length);
    group.canonical = canonical;
  }
  pendingAdd.forEach((entry, i) => {
    const body = prepared.pendingBodies[i]!;
    const offset = at;
    buf.set(entry.id, at + FRAME_HEADER_BYTES);
    buf.set(body, at + FRAME_HEADER_BYTES + 32);
    seal(RecordType.PENDING_ADD, 32 + body.length);
    group.pendingAdd.push({ id: entry.id, offset: start + offset, length: 32 + body.length });
  });
  if (pendingRemove.length > 0) {
    const p = at + FRAME_HEADER_BYTES;
    view.setUint32(p, pendingRemove.length);
    pendingRemove.forEach((id, i) => buf.set(id, p + 4 + 32 * i));
    seal(RecordType.PENDING_REMOVE, 4 + 32 * pendingRemove.length);
    for (const id of pendingRemove) group.pendingRemove.push(id);
  }
  meta.forEach(([key, value], i) => {
    const k = prepared.metaKeys[i]!;
    const p = at + FRAME_HEADER_BYTES;
    view.setUint16(p, k.length);
    buf.set(k, p + 2);
    buf.set(value, p + 2 + k.length);
    seal(RecordType.META, 2 + k.length + value.length);
    group.meta.push([key, value]);
  });
  const p = at + FRAME_HEADER_BYTES;
  writeU64(view, p, sequence);
  writeU64(view, p + 8, start);
  view.setUint32(p + 16, prepared.records);
  view.setUint32(p + 20, segment);
  seal(RecordType.COMMIT, COMMIT_BODY_BYTES);
  return { bytes: buf, group };
}
