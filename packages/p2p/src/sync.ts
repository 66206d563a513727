import { blockHash, equalBytes, toHex, type Block, type BlockHeader } from '@safechain/core';
import type { BlockVerdict, LedgerAdapter } from './adapter.js';
import { InvalidResponseError, SyncError } from './errors.js';
import type { ChainTip } from './messages.js';
import type { Peer } from './peer.js';
import type { Offence } from './scoring.js';

/**
 * Sync: catching up with a peer whose chain has more work (a node that joined late, was offline, or was on the
 * other side of a partition). Headers first, then blocks, in bounded batches:
 * 1. find a common block: probe the peer's header at our height, then at exponentially lower heights, until one is
 *    a block we have (at most ~2·log2(height) requests);
 * 2. fetch the peer's headers after it, `headerBatch` at a time, and check that they chain (heights contiguous,
 *    each `previousHash` the hash of the one before);
 * 3. fetch the blocks of those headers, `blockBatch` hashes per request with the next request already in flight,
 *    check each block hashes to its header, and hand them to the adapter in order.
 * One sync runs at a time; a better candidate seen meanwhile is kept and synced next.
 */

export interface SyncOptions {
  /** Headers per GET_HEADERS. */
  readonly headerBatch: number;
  /** Block hashes per GET_BLOCKS. */
  readonly blockBatch: number;
  /** Times a sync re-asks the peer's tip and continues after reaching the previous target. */
  readonly maxRounds: number;
}

export interface SyncHost {
  readonly adapter: LedgerAdapter;
  readonly options: SyncOptions;
  /** Hands a block to the adapter through the network's serial ledger queue. */
  acceptBlock(block: Block, peer: Peer): Promise<BlockVerdict>;
  offence(peer: Peer, offence: Offence, detail: string): void;
  started(peer: Peer, fromHeight: number, targetHeight: number): void;
  progress(peer: Peer, height: number, targetHeight: number): void;
  completed(peer: Peer, height: number): void;
  failed(peer: Peer, reason: string): void;
}

export interface SyncStatus {
  readonly state: 'idle' | 'syncing';
  /** Key of the peer being synced from. */
  readonly peer?: string;
  readonly height?: number;
  readonly targetHeight?: number;
  readonly completed: number;
  readonly failed: number;
  /** Blocks fetched by sync since start. */
  readonly blocks: number;
}

const MAX_PROBES = 64;

export class Synchronizer {
  readonly #host: SyncHost;
  #active: { peer: Peer; height: number; target: number } | undefined;
  #candidate: { peer: Peer; tip: ChainTip } | undefined;
  #completed = 0;
  #failed = 0;
  #blocks = 0;
  #stopped = false;

  constructor(host: SyncHost) {
    this.#host = host;
  }

  status(): SyncStatus {
    const active = this.#active;
    const base = { completed: this.#completed, failed: this.#failed, blocks: this.#blocks };
    if (active === undefined) return { state: 'idle', ...base };
    return { state: 'syncing', peer: active.peer.key ?? '', height: active.height, targetHeight: active.target, ...base };
  }

  get active(): boolean {
    return this.#active !== undefined;
  }

  stop(): void {
    this.#stopped = true;
    this.#candidate = undefined;
  }

  /**
   * Considers `tip`, just heard from `peer`: starts a sync when it has more work than the local tip and is not a
   * block we have. Never throws; failures are reported through the host.
   */
  async consider(peer: Peer, tip: ChainTip): Promise<void> {
    if (this.#stopped || peer.state !== 'open') return;
    if (this.#active !== undefined) {
      if (this.#active.peer !== peer && (this.#candidate === undefined || tip.totalWork > this.#candidate.tip.totalWork)) {
        this.#candidate = { peer, tip };
      }
      return;
    }
    try {
      const local = await this.#host.adapter.tip();
      if (tip.totalWork <= local.totalWork) return;
      if (await this.#host.adapter.hasBlock(tip.hash)) return;
    } catch {
      return;
    }
    if (this.#active !== undefined) return;
    this.#active = { peer, height: 0, target: tip.height };
    try {
      await this.#run(peer, tip);
      this.#completed++;
      this.#host.completed(peer, this.#active.height);
    } catch (error) {
      this.#failed++;
      this.#host.failed(peer, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    } finally {
      this.#active = undefined;
    }
    const next = this.#candidate;
    this.#candidate = undefined;
    if (next !== undefined && next.peer.state === 'open') await this.consider(next.peer, next.tip);
  }

  async #run(peer: Peer, firstTip: ChainTip): Promise<void> {
    let tip = firstTip;
    for (let round = 0; round < this.#host.options.maxRounds; round++) {
      const ancestor = await this.#findAncestor(peer, tip);
      if (round === 0) this.#host.started(peer, ancestor.height, tip.height);
      await this.#download(peer, ancestor, tip.height);
      if (this.#stopped || peer.state !== 'open') return;
      const next = await peer.requestTip();
      const local = await this.#host.adapter.tip();
      if (next.totalWork <= local.totalWork || (await this.#host.adapter.hasBlock(next.hash))) return;
      tip = next;
      this.#active!.target = tip.height;
    }
  }

  /** Highest probed height whose peer block we have. */
  async #findAncestor(peer: Peer, tip: ChainTip): Promise<{ height: number; hash: Uint8Array }> {
    const local = await this.#host.adapter.tip();
    let probe = Math.min(local.height, tip.height);
    let step = 1;
    for (let i = 0; i < MAX_PROBES; i++) {
      const headers = await peer.requestHeaders(probe, 1);
      const header = headers[0];
      if (header === undefined || header.height !== probe) {
        this.#host.offence(peer, 'invalid-response', `no header at height ${probe} below its tip ${tip.height}`);
        throw new InvalidResponseError(`peer has no header at height ${probe}`);
      }
      const hash = blockHash(header);
      if (await this.#host.adapter.hasBlock(hash)) return { height: probe, hash };
      if (probe === 0) {
        this.#host.offence(peer, 'invalid-response', 'genesis differs');
        throw new SyncError('peer chain shares no block with ours');
      }
      probe = Math.max(0, probe - step);
      step *= 2;
    }
    throw new SyncError(`no common block found in ${MAX_PROBES} probes`);
  }

  async #download(peer: Peer, ancestor: { height: number; hash: Uint8Array }, target: number): Promise<void> {
    const { headerBatch } = this.#host.options;
    let next = ancestor.height + 1;
    let previous = ancestor.hash;
    // Each round moves `next` forward by at least one header or stops: bounded by the target height.
    while (next <= target && !this.#stopped) {
      const headers = await peer.requestHeaders(next, Math.min(headerBatch, target - next + 1));
      if (headers.length === 0) return;
      const hashes = this.#checkChain(peer, headers, next, previous);
      await this.#fetchBlocks(peer, headers, hashes, target);
      next += headers.length;
      previous = hashes[hashes.length - 1]!;
    }
  }

  #checkChain(peer: Peer, headers: readonly BlockHeader[], from: number, previous: Uint8Array): Uint8Array[] {
    const hashes: Uint8Array[] = [];
    let prev = previous;
    for (let i = 0; i < headers.length; i++) {
      const header = headers[i]!;
      if (header.height !== from + i || !equalBytes(header.previousHash, prev)) {
        this.#host.offence(peer, 'invalid-response', `headers do not chain at height ${from + i}`);
        throw new InvalidResponseError(`headers do not chain at height ${from + i}`);
      }
      prev = blockHash(header);
      hashes.push(prev);
    }
    return hashes;
  }

  async #fetchBlocks(peer: Peer, headers: readonly BlockHeader[], hashes: readonly Uint8Array[], target: number): Promise<void> {
    const { blockBatch } = this.#host.options;
    // Skip blocks we already have (a fork we also saw, or an overshooting ancestor probe).
    const wanted: number[] = [];
    for (let i = 0; i < hashes.length; i++) if (!(await this.#host.adapter.hasBlock(hashes[i]!))) wanted.push(i);
    const chunks: number[][] = [];
    for (let i = 0; i < wanted.length; i += blockBatch) chunks.push(wanted.slice(i, i + blockBatch));
    const fetch = (chunk: number[]): Promise<Block[]> => this.#fetchChunk(peer, chunk.map((i) => hashes[i]!));
    let inFlight = chunks.length > 0 ? fetch(chunks[0]!) : undefined;
    for (let c = 0; c < chunks.length; c++) {
      const blocks = await inFlight!;
      // Pipelining: the next batch travels while this one is validated.
      inFlight = c + 1 < chunks.length ? fetch(chunks[c + 1]!) : undefined;
      inFlight?.catch(() => undefined);
      for (const block of blocks) {
        if (this.#stopped || peer.state !== 'open') return;
        const verdict = await this.#host.acceptBlock(block, peer);
        if (verdict === 'invalid') {
          this.#host.offence(peer, 'invalid-block', `block ${block.header.height} rejected during sync`);
          throw new SyncError(`block at height ${block.header.height} is invalid`);
        }
        if (verdict === 'orphan') throw new SyncError(`block at height ${block.header.height} does not connect`);
        this.#blocks++;
        this.#active!.height = block.header.height;
      }
      const last = chunks[c]![chunks[c]!.length - 1]!;
      this.#host.progress(peer, headers[last]!.height, target);
    }
  }

  /** Fetches the blocks of `hashes`, in order, re-asking for the rest when a response holds only a prefix. */
  async #fetchChunk(peer: Peer, hashes: readonly Uint8Array[]): Promise<Block[]> {
    const out: Block[] = [];
    let rest = hashes;
    while (rest.length > 0) {
      const blocks = await peer.requestBlocks(rest);
      if (blocks.length === 0) throw new SyncError(`peer does not serve block ${toHex(rest[0]!)}`);
      for (let i = 0; i < blocks.length; i++) {
        if (!equalBytes(blockHash(blocks[i]!.header), rest[i]!)) {
          this.#host.offence(peer, 'invalid-response', 'block does not match the requested hash');
          throw new InvalidResponseError('block does not match the requested hash');
        }
      }
      out.push(...blocks);
      rest = rest.slice(blocks.length);
    }
    return out;
  }
}
