import type { ChainStore } from '@safechain/storage';

/**
 * Per-origin sequence numbers that never repeat across restarts or crashes. Numbers are leased from the store in
 * blocks: the lease's upper end is made durable before any number under it is used, so after a crash the node starts
 * above every number it may have signed with. A crash leaves a gap; gaps are expected, repeats never happen.
 */
const LEASE_KEY = 'ingest.sequenceLease';
const LEASE_SIZE = 100_000;

function encode(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export class SequenceLease {
  #next: number;
  #limit: number;
  readonly #store: ChainStore;
  #extending: Promise<void> | undefined;

  private constructor(store: ChainStore, start: number) {
    this.#store = store;
    this.#next = start;
    this.#limit = start;
  }

  static async open(store: ChainStore): Promise<SequenceLease> {
    const stored = await store.getMeta(LEASE_KEY);
    const start = stored === undefined || stored.length !== 8 ? 0 : Number(new DataView(stored.buffer, stored.byteOffset, 8).getBigUint64(0));
    return new SequenceLease(store, start);
  }

  /** `count` consecutive numbers, durable-leased before they are handed out. */
  async take(count: number): Promise<number> {
    while (this.#next + count > this.#limit) {
      this.#extending ??= (async (): Promise<void> => {
        const limit = Math.max(this.#limit, this.#next) + Math.max(LEASE_SIZE, count);
        await this.#store.commit({ meta: [[LEASE_KEY, encode(limit)]] });
        this.#limit = limit;
      })().finally(() => {
        this.#extending = undefined;
      });
      await this.#extending;
    }
    const first = this.#next;
    this.#next += count;
    return first;
  }
}
