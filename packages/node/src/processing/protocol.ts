/**
 * Messages between the processing pool and its worker threads. Bulk bytes (payloads, encoded transactions,
 * signatures) travel packed into one `ArrayBuffer` per batch and are transferred, not cloned: structured clone of
 * thousands of small `Uint8Array`s costs more than the crypto it hands over. Only small per-record metadata is cloned.
 */

/** Per-record fields of a signing request that are not bytes. */
export interface SignMeta {
  readonly sequence: number;
  readonly createdAt: number;
  readonly contentType: string;
  readonly source: string | null;
  readonly traceCodes: readonly string[];
}

/** Items `i` of a packed batch are `data[offsets[i] .. offsets[i + 1])`. */
export interface PackedBatch {
  readonly data: ArrayBuffer;
  readonly offsets: Float64Array;
}

export type WorkerRequest =
  | {
      readonly type: 'sign';
      readonly id: number;
      /** Item i holds the 32-byte chain id followed by the payload. */
      readonly batch: PackedBatch;
      readonly meta: readonly SignMeta[];
    }
  | {
      readonly type: 'verify';
      readonly id: number;
      readonly batch: PackedBatch;
      /** When not null, transactions of another chain are not valid. */
      readonly chainId: Uint8Array | null;
    }
  | { readonly type: 'hash'; readonly id: number; readonly batch: PackedBatch }
  | { readonly type: 'crash-on-next-task'; readonly mode: 'throw' | 'exit' };

export type WorkerResponse =
  | { readonly type: 'ready'; readonly publicKey: Uint8Array | null }
  /** 128 bytes per record: the 64-byte signature, the 32-byte payload hash, then the 32-byte transaction id. */
  | {
      readonly type: 'signed';
      readonly id: number;
      readonly out: ArrayBuffer;
      /** The request's packed batch, handed back so payloads come from the snapshot taken at call time. */
      readonly data: ArrayBuffer;
    }
  /** One byte per transaction: 1 valid, 0 not. */
  | { readonly type: 'verified'; readonly id: number; readonly out: ArrayBuffer }
  /** 32 bytes per item. */
  | { readonly type: 'hashed'; readonly id: number; readonly out: ArrayBuffer }
  | {
      readonly type: 'failed';
      readonly id: number;
      readonly errorName: string;
      readonly message: string;
      /** Index in the chunk of the item that failed, when one did. */
      readonly index?: number;
    };

/** What the pool hands a worker at start. The seed is a secret: never logged, never echoed back. */
export interface WorkerInit {
  readonly seed: Uint8Array | null;
  readonly testHooks: boolean;
}

export const SIGN_RESULT_BYTES = 128;

/** Packs `items` into one fresh buffer. `prefix`, when given, is written before every item (the chain id). */
export function packItems(items: readonly Uint8Array[], prefixes?: readonly Uint8Array[]): PackedBatch {
  let total = 0;
  for (let i = 0; i < items.length; i++) total += items[i]!.length + (prefixes?.[i]?.length ?? 0);
  const data = new Uint8Array(total);
  const offsets = new Float64Array(items.length + 1);
  let at = 0;
  for (let i = 0; i < items.length; i++) {
    offsets[i] = at;
    const prefix = prefixes?.[i];
    if (prefix !== undefined) {
      data.set(prefix, at);
      at += prefix.length;
    }
    const item = items[i]!;
    data.set(item, at);
    at += item.length;
  }
  offsets[items.length] = at;
  return { data: data.buffer, offsets };
}

/** Views of the items of a packed batch (no copy). */
export function unpackItems(batch: PackedBatch): Uint8Array[] {
  const out: Uint8Array[] = [];
  const count = batch.offsets.length - 1;
  for (let i = 0; i < count; i++) {
    const start = batch.offsets[i]!;
    out.push(new Uint8Array(batch.data, start, batch.offsets[i + 1]! - start));
  }
  return out;
}
