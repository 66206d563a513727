import { toHex } from '@safechain/core';
import type { Backoff } from './backoff.js';
import type { PeerEntry } from './messages.js';

/**
 * The address book: every node this node has heard of, with its newest signed address record, whether it is online
 * as far as this node knows, and the dial backoff for it. The paper's "complete list of all nodes which are currently
 * online": `online(now)` is that list. Bounded: when full, the entry heard of longest ago that is not connected is
 * forgotten; an address that keeps failing and that nobody reports online any more is forgotten too.
 */

export interface KnownPeer {
  /** Node key, hex. */
  readonly key: string;
  /** The newest signed address record (and certificate) seen for the key. */
  entry: PeerEntry;
  /** Consecutive failed dials. */
  failures: number;
  /** No dial before this time (ms): the backoff. */
  nextAttemptAt: number;
  /**
   * Last time the node was connected to us, or reported connected by a peer (ms). Peers report only the nodes they
   * are connected to, never hearsay, so a node that went away stops being refreshed once the last connection to it
   * closed.
   */
  lastSeenOnline: number;
  /** Whether a connection to it is open now. */
  connected: boolean;
}

export interface PeerTableOptions {
  readonly capacity: number;
  /** A peer reported online within this window counts as online. */
  readonly onlineWindowMs: number;
  /** Forget an address after this many consecutive failures once nobody reported it online within the window. */
  readonly forgetAfterFailures: number;
}

export type UpsertResult = 'added' | 'updated' | 'unchanged';

export class PeerTable {
  readonly #peers = new Map<string, KnownPeer>();
  readonly #options: PeerTableOptions;
  readonly #backoff: Backoff;

  constructor(options: PeerTableOptions, backoff: Backoff) {
    this.#options = options;
    this.#backoff = backoff;
  }

  get size(): number {
    return this.#peers.size;
  }

  get(key: string): KnownPeer | undefined {
    return this.#peers.get(key);
  }

  /** All entries (for status). */
  list(): readonly KnownPeer[] {
    return [...this.#peers.values()];
  }

  /**
   * Records an entry whose signature and membership the caller has checked. A newer record replaces the address;
   * `seenOnline` refreshes the online time.
   */
  upsert(entry: PeerEntry, now: number, seenOnline: boolean): UpsertResult {
    const key = toHex(entry.record.nodeKey);
    const existing = this.#peers.get(key);
    if (existing !== undefined) {
      let result: UpsertResult = 'unchanged';
      if (entry.record.issuedAt > existing.entry.record.issuedAt) {
        const moved = entry.record.host !== existing.entry.record.host || entry.record.port !== existing.entry.record.port;
        existing.entry = entry;
        if (moved) {
          existing.failures = 0;
          existing.nextAttemptAt = 0;
        }
        result = 'updated';
      }
      if (seenOnline) existing.lastSeenOnline = Math.max(existing.lastSeenOnline, now);
      return result;
    }
    if (this.#peers.size >= this.#options.capacity && !this.#evictOne()) return 'unchanged';
    this.#peers.set(key, { key, entry, failures: 0, nextAttemptAt: 0, lastSeenOnline: seenOnline ? now : 0, connected: false });
    return 'added';
  }

  #evictOne(): boolean {
    let victim: KnownPeer | undefined;
    for (const peer of this.#peers.values()) {
      if (peer.connected) continue;
      if (victim === undefined || peer.lastSeenOnline < victim.lastSeenOnline) victim = peer;
    }
    if (victim === undefined) return false;
    this.#peers.delete(victim.key);
    return true;
  }

  markConnected(key: string, now: number): void {
    const peer = this.#peers.get(key);
    if (peer === undefined) return;
    peer.connected = true;
    peer.failures = 0;
    peer.nextAttemptAt = 0;
    peer.lastSeenOnline = now;
  }

  markDisconnected(key: string, now: number): void {
    const peer = this.#peers.get(key);
    if (peer === undefined) return;
    peer.connected = false;
    peer.lastSeenOnline = now;
  }

  /** A dial failed: back off exponentially, with jitter. */
  markFailure(key: string, now: number): void {
    const peer = this.#peers.get(key);
    if (peer === undefined) return;
    peer.failures++;
    peer.nextAttemptAt = now + this.#backoff.delay(peer.failures);
  }

  /** Makes every entry dialable now (membership changed, the network healed). */
  resetBackoff(): void {
    for (const peer of this.#peers.values()) {
      peer.failures = 0;
      peer.nextAttemptAt = 0;
    }
  }

  delete(key: string): void {
    this.#peers.delete(key);
  }

  /** Entries that may be dialled now and are not excluded, in random order. */
  candidates(now: number, exclude: (peer: KnownPeer) => boolean, random: () => number): KnownPeer[] {
    const out: KnownPeer[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.connected || peer.nextAttemptAt > now || exclude(peer)) continue;
      out.push(peer);
    }
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    // Fewer failures first: a node that just answered is a better bet than one that keeps failing.
    return out.sort((a, b) => a.failures - b.failures);
  }

  /** Entries connected now or reported online within the window. */
  online(now: number): KnownPeer[] {
    return [...this.#peers.values()].filter(
      (p) => p.connected || (p.lastSeenOnline > 0 && now - p.lastSeenOnline <= this.#options.onlineWindowMs),
    );
  }

  /** Forgets entries that keep failing and that nobody reported online within the window. */
  prune(now: number): void {
    for (const peer of [...this.#peers.values()]) {
      if (peer.connected) continue;
      if (peer.failures >= this.#options.forgetAfterFailures && now - peer.lastSeenOnline > this.#options.onlineWindowMs) {
        this.#peers.delete(peer.key);
      }
    }
  }
}
