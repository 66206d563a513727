import { HttpClient, type BlockView, type StatusView } from './http.js';

/**
 * Watches a node's canonical chain the way a client would: polls GET /v1/status every `intervalMs` and, when the
 * height moves, fetches each new block (GET /v1/blocks/:height, with its transaction ids). A block's `seenAt` is the
 * moment the poll that first showed its height was answered, so "ingest to block" latencies measured against it are
 * upper bounds, late by at most one poll interval plus one status round trip: that is the stated resolution.
 *
 * Polling and fetching run as two loops on separate connections, so a large block being fetched does not delay the
 * next status poll (and with it the time stamp of the next block).
 */

export interface SeenBlock {
  readonly block: BlockView;
  /** performance.now() when the block was first seen committed. */
  readonly seenAt: number;
}

export interface ChainWatchOptions {
  readonly apiUrl: string;
  readonly intervalMs: number;
  /** The watcher stops by itself after this long, whatever happens. */
  readonly maxDurationMs: number;
  readonly onBlock: (seen: SeenBlock) => void;
  /** Called with every status answer (mempool depth, for the benchmarks' backlog checks). */
  readonly onStatus?: (status: StatusView, at: number) => void;
}

export class ChainWatch {
  readonly #options: ChainWatchOptions;
  readonly #poller: HttpClient;
  readonly #fetcher: HttpClient;
  /** Highest height a status poll has shown, and when each height was first shown. */
  #shownHeight: number;
  readonly #shownAt = new Map<number, number>();
  /** Highest height whose block was fetched and handed to `onBlock`. */
  #height: number;
  #stopped = false;
  readonly #loops: Promise<void>;
  #polls = 0;
  #pollTimeTotal = 0;
  #lastStatus: StatusView | undefined;
  #wake: (() => void) | undefined;

  constructor(options: ChainWatchOptions, startHeight: number) {
    this.#options = options;
    this.#poller = new HttpClient(options.apiUrl, { connections: 1, timeoutMs: 30_000 });
    this.#fetcher = new HttpClient(options.apiUrl, { connections: 1, timeoutMs: 60_000 });
    this.#height = startHeight;
    this.#shownHeight = startHeight;
    const deadline = performance.now() + options.maxDurationMs;
    this.#loops = Promise.all([this.#poll(deadline), this.#fetch(deadline)]).then(() => undefined);
  }

  /** Height of the last block handed to `onBlock`. */
  get height(): number {
    return this.#height;
  }

  /** Highest height a status poll has shown (blocks may still be being fetched). */
  get shownHeight(): number {
    return this.#shownHeight;
  }

  get lastStatus(): StatusView | undefined {
    return this.#lastStatus;
  }

  /** Mean time of one status round trip, ms: part of the latency resolution. */
  get meanPollMs(): number {
    return this.#polls === 0 ? Number.NaN : this.#pollTimeTotal / this.#polls;
  }

  async #poll(deadline: number): Promise<void> {
    while (!this.#stopped && performance.now() < deadline) {
      const started = performance.now();
      let status: StatusView | undefined;
      try {
        status = await this.#poller.getJson<StatusView>('/v1/status');
      } catch {
        status = undefined; // the node is busy or stopping: try again at the next tick
      }
      const at = performance.now();
      this.#polls++;
      this.#pollTimeTotal += at - started;
      if (status !== undefined) {
        this.#lastStatus = status;
        this.#options.onStatus?.(status, at);
        for (let h = this.#shownHeight + 1; h <= status.height; h++) this.#shownAt.set(h, at);
        if (status.height > this.#shownHeight) {
          this.#shownHeight = status.height;
          this.#wake?.();
        }
      }
      const wait = this.#options.intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  async #fetch(deadline: number): Promise<void> {
    while (!this.#stopped && performance.now() < deadline) {
      if (this.#height >= this.#shownHeight) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, 100);
        });
        this.#wake = undefined;
        continue;
      }
      const h = this.#height + 1;
      const block = await this.#fetcher.getJson<BlockView>(`/v1/blocks/${h}`).catch(() => undefined);
      if (block === undefined) {
        await new Promise((r) => setTimeout(r, 20)); // fetched again shortly
        continue;
      }
      this.#height = h;
      const seenAt = this.#shownAt.get(h) ?? performance.now();
      this.#shownAt.delete(h);
      this.#options.onBlock({ block, seenAt });
    }
  }

  /** Waits until `predicate` holds or `timeoutMs` passes; true when it held. */
  async until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (predicate()) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return predicate();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loops;
    this.#poller.close();
    this.#fetcher.close();
  }
}
