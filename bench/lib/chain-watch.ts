import { HttpClient, type BlockView, type StatusView } from './http.js';

/**
 * Watches a node's canonical chain the way a client would: polls GET /v1/status every `intervalMs` and, when the
 * height moves, fetches each new block (GET /v1/blocks/:height, with its transaction ids). A block's `seenAt` is the
 * moment the poll that first showed its height was answered, so "ingest to block" latencies measured against it are
 * upper bounds, late by at most one poll interval plus one status round trip: that is the stated resolution.
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
  readonly #client: HttpClient;
  #height = 0;
  #stopped = false;
  #loop: Promise<void>;
  #polls = 0;
  #pollTimeTotal = 0;
  #lastStatus: StatusView | undefined;

  constructor(options: ChainWatchOptions, startHeight: number) {
    this.#options = options;
    this.#client = new HttpClient(options.apiUrl, { connections: 1, timeoutMs: 30_000 });
    this.#height = startHeight;
    this.#loop = this.#run();
  }

  get height(): number {
    return this.#height;
  }

  get lastStatus(): StatusView | undefined {
    return this.#lastStatus;
  }

  /** Mean time of one status round trip, ms: part of the latency resolution. */
  get meanPollMs(): number {
    return this.#polls === 0 ? Number.NaN : this.#pollTimeTotal / this.#polls;
  }

  async #run(): Promise<void> {
    const deadline = performance.now() + this.#options.maxDurationMs;
    while (!this.#stopped && performance.now() < deadline) {
      const started = performance.now();
      let status: StatusView | undefined;
      try {
        status = await this.#client.getJson<StatusView>('/v1/status');
      } catch {
        status = undefined; // the node is busy or stopping: try again at the next tick
      }
      const at = performance.now();
      this.#polls++;
      this.#pollTimeTotal += at - started;
      if (status !== undefined) {
        this.#lastStatus = status;
        this.#options.onStatus?.(status, at);
        for (let h = this.#height + 1; h <= status.height && !this.#stopped; h++) {
          const block = await this.#client.getJson<BlockView>(`/v1/blocks/${h}`).catch(() => undefined);
          if (block === undefined) break; // fetched again at the next tick
          this.#height = h;
          this.#options.onBlock({ block, seenAt: at });
        }
      }
      const wait = this.#options.intervalMs - (performance.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
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
    await this.#loop;
    this.#client.close();
  }
}
