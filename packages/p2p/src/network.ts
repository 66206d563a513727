import type { AddressInfo } from 'node:net';
import {
  attachPayload,
  blockHash,
  blockSigningMessage,
  encodeTransaction,
  equalBytes,
  fromHex,
  stripTransaction,
  toHex,
  transactionId,
  verifySignature,
  withBlockSignature,
  type Block,
  type BlockHeader,
  type Transaction,
} from '@safechain/core';
import WebSocket, { WebSocketServer } from 'ws';
import type { BlockVerdict, LedgerAdapter, PeerRef } from './adapter.js';
import { Backoff } from './backoff.js';
import {
  BannedPeerError,
  BlockSupersededError,
  CloseCode,
  DuplicateConnectionError,
  NetworkStateError,
  UnexpectedPeerKeyError,
} from './errors.js';
import { Emitter } from './events.js';
import { CompactBlock } from './compact-block.js';
import { TransactionRelay } from './flood.js';
import { checkHello, type LocalIdentity } from './handshake.js';
import { MAX_IDS_PER_REQUEST, MAX_PEER_ENTRIES, MAX_TRANSACTIONS_PER_MESSAGE } from './limits.js';
import { Membership } from './membership.js';
import {
  addressSigningMessage,
  encodeTransactionIdsMessage,
  encodeTransactionsMessage,
  type AddressRecord,
  type Hello,
  type MessageTypeName,
  type PeerEntry,
  type RequestMessage,
  type SessionMessage,
} from './messages.js';
import {
  defaultAdvertiseHost,
  formatAddress,
  isWildcardHost,
  maxFrameBytes,
  resolveOptions,
  type Address,
  type NetworkOptions,
  type ResolvedOptions,
} from './options.js';
import { Peer, type Direction, type PeerHandler, type PeerLimits } from './peer.js';
import { PeerTable } from './peer-table.js';
import { BanList, type Offence } from './scoring.js';
import { SeenCache } from './seen-cache.js';
import { LedgerQueue } from './ledger-queue.js';
import { answerRequest, type ServeContext } from './serve.js';
import { closeName, type KnownPeerStatus, type NetworkStatus, type PeerStatus } from './status.js';
import { Synchronizer } from './sync.js';

/**
 * The local network of one node (the paper's "Local Network"): it listens for and dials authenticated, encrypted
 * connections to the other nodes of the chain, bootstraps from seed addresses, learns every online node through peer
 * exchange, keeps `maxOutbound` outbound connections and replaces a lost one at once, floods transactions and blocks,
 * and syncs the chain from peers that are ahead. All chain knowledge goes through the `LedgerAdapter`.
 */

/** Events of a network, named `noun:verb`. */
export interface NetworkEvents {
  'peer:connected': { readonly key: string; readonly address: string; readonly direction: Direction };
  'peer:disconnected': {
    readonly key: string;
    readonly address: string;
    readonly direction: Direction;
    readonly code: number;
    readonly reason: string;
  };
  'peer:discovered': { readonly key: string; readonly address: string };
  'peer:penalized': { readonly key: string; readonly offence: Offence; readonly detail: string; readonly score: number };
  'peer:banned': { readonly key: string; readonly until: number; readonly reason: string };
  'handshake:failed': {
    readonly address: string;
    readonly direction: Direction;
    readonly code: number;
    readonly error: string;
    readonly message: string;
  };
  'sync:started': { readonly peer: string; readonly fromHeight: number; readonly targetHeight: number };
  'sync:progress': { readonly peer: string; readonly height: number; readonly targetHeight: number };
  'sync:completed': { readonly peer: string; readonly height: number };
  'sync:failed': { readonly peer: string; readonly reason: string };
  'adapter:failed': { readonly operation: string; readonly message: string };
}

interface Seed {
  readonly address: Address;
  key: string | undefined;
  failures: number;
  nextAttemptAt: number;
  self: boolean;
}

/** Transactions of one TRANSACTIONS message that were new here, waiting for the adapter. */
interface WaitingTransactions {
  readonly peer: Peer;
  readonly fresh: readonly Fresh[];
}

/** A transaction new here, with its id (hex and bytes). */
interface Fresh {
  readonly tx: Transaction;
  readonly id: string;
  readonly idBytes: Uint8Array;
}

/** Transactions handed to the adapter in one call at most (whole messages; see LedgerQueue). */
const MAX_LEDGER_BATCH = 2_048;

function increment(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

/** A running local network. Create it with `createNetwork`. */
export class Network extends Emitter<NetworkEvents> {
  /** This node's key, hex. */
  readonly key: string;
  readonly chainId: Uint8Array;
  readonly #options: ResolvedOptions;
  readonly #adapter: LedgerAdapter;
  readonly #membership: Membership;
  readonly #backoff: Backoff;
  readonly #table: PeerTable;
  readonly #bans = new BanList();
  readonly #nonces = new SeenCache(8_192);
  readonly #seenTransactions: SeenCache;
  readonly #seenBlocks: SeenCache;
  readonly #ledger: LedgerQueue<WaitingTransactions>;
  /** Transactions waiting in the ledger queue by id (hex): a block arriving first takes its payloads from here. */
  readonly #waiting = new Map<string, Transaction>();
  /** Announced transactions asked of a peer, by id (hex), until the answer is in. */
  readonly #requested = new Set<string>();
  readonly #relay: TransactionRelay;
  readonly #sync: Synchronizer;
  readonly #peers = new Map<string, Peer>();
  readonly #handshaking = new Set<Peer>();
  readonly #seeds: Seed[];
  readonly #limits: PeerLimits;
  readonly #handler: PeerHandler;
  readonly #serveContext: ServeContext;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #server: WebSocketServer | undefined;
  #listening: Address | undefined;
  #local: LocalIdentity;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  /** Last time a maintenance tick came late (the event loop was blocked). */
  #lagAt = 0;
  #lastExchange = 0;
  #lastTipPoll = 0;
  #lastResend = 0;
  /** Ids (hex) of the transactions pending at the previous resend round. */
  #pendingBefore = new Set<string>();
  #resending = false;
  #lastPing = new WeakMap<Peer, number>();
  #pingNonce = 1;
  #fillScheduled = false;
  readonly #messagesIn: Record<string, number> = {};
  readonly #messagesOut: Record<string, number> = {};
  readonly #drops: Record<string, number> = {};
  readonly #disconnects: Record<string, number> = {};
  #bytesIn = 0;
  #bytesOut = 0;
  /** Ids announced again by `#resendPending`. */
  #resent = 0;

  /** @throws InvalidArgumentError, InvalidKeyError for bad options; InvalidArgumentError when chain ids differ */
  constructor(options: NetworkOptions, adapter: LedgerAdapter) {
    super();
    const resolved = resolveOptions(options);
    if (typeof adapter !== 'object' || adapter === null || !(adapter.chainId instanceof Uint8Array)) {
      throw new NetworkStateError('adapter: expected a LedgerAdapter');
    }
    if (!equalBytes(adapter.chainId, resolved.chainId)) throw new NetworkStateError('adapter.chainId differs from options.chainId');
    this.#options = resolved;
    this.#adapter = adapter;
    this.key = toHex(resolved.key.publicKey);
    this.chainId = resolved.chainId;
    this.#membership = new Membership(resolved.chainId, {
      ...(resolved.allow === undefined ? {} : { allow: resolved.allow }),
      admissionKeys: resolved.admissionKeys,
    });
    this.#backoff = new Backoff(resolved.backoff);
    this.#table = new PeerTable(
      { capacity: resolved.maxKnownPeers, onlineWindowMs: resolved.onlineWindowMs, forgetAfterFailures: 10 },
      this.#backoff,
    );
    this.#seenTransactions = new SeenCache(resolved.seenCacheSize);
    this.#seenBlocks = new SeenCache(resolved.seenCacheSize);
    this.#ledger = new LedgerQueue<WaitingTransactions>({
      maxBlocks: resolved.maxLedgerQueue,
      maxMessages: resolved.maxLedgerQueue,
      maxBatch: MAX_LEDGER_BATCH,
      count: (m) => m.fresh.length,
      drain: (messages) => this.#acceptWaiting(messages),
      onError: (error, messages) => {
        for (const m of messages) for (const f of m.fresh) this.#seenTransactions.delete(f.id);
        this.#adapterFailed('acceptTransactions', error);
      },
    });
    this.#seeds = resolved.seeds.map((address) => ({ address, key: undefined, failures: 0, nextAttemptAt: 0, self: false }));
    this.#local = this.#identity(undefined);
    this.#limits = {
      maxMessageBytes: resolved.maxMessageBytes,
      messagesPerSecond: resolved.messagesPerSecond,
      messageBurst: resolved.messagesPerSecond * 2,
      bytesPerSecond: resolved.bytesPerSecond,
      byteBurst: Math.max(resolved.bytesPerSecond * 2, maxFrameBytes(resolved) * 2),
      maxOutstandingRequests: resolved.maxOutstandingRequests,
      maxInboundRequests: resolved.maxInboundRequests,
      requestTimeoutMs: resolved.requestTimeoutMs,
      handshakeTimeoutMs: resolved.handshakeTimeoutMs,
      maxBufferedBytes: resolved.maxBufferedBytes,
      knownCacheSize: resolved.knownCacheSize,
    };
    this.#relay = new TransactionRelay({
      maxMessageBytes: resolved.maxMessageBytes,
      maxQueued: resolved.maxRelayQueue,
      flushIntervalMs: resolved.txFlushIntervalMs,
      maxBufferedBytes: resolved.maxBufferedBytes,
      peers: () => this.#peers.values(),
      drop: (reason, count) => increment(this.#drops, reason, count),
    });
    this.#sync = new Synchronizer({
      adapter,
      options: { headerBatch: resolved.syncHeaderBatch, blockBatch: resolved.syncBlockBatch, maxRounds: 100 },
      acceptBlock: (block, peer) => this.#ledger.runBlock(async () => (await this.#acceptBlock(block, peer)).verdict),
      offence: (peer, offence, detail) => this.#offence(peer, offence, detail),
      started: (peer, fromHeight, targetHeight) => this.emit('sync:started', { peer: peer.key ?? '', fromHeight, targetHeight }),
      progress: (peer, height, targetHeight) => this.emit('sync:progress', { peer: peer.key ?? '', height, targetHeight }),
      completed: (peer, height) => this.emit('sync:completed', { peer: peer.key ?? '', height }),
      failed: (peer, reason) => this.emit('sync:failed', { peer: peer.key ?? '', reason }),
    });
    this.#serveContext = {
      adapter,
      maxMessageBytes: resolved.maxMessageBytes,
      onlineEntries: (requester) => this.#onlineEntries(requester),
      adapterFailed: (operation, error) => this.#adapterFailed(operation, error),
    };
    this.#handler = {
      validateHello: (peer, hello) => this.#validateHello(peer, hello),
      established: (peer) => this.#established(peer),
      message: (peer, message, bytes) => this.#onPeerMessage(peer, message, bytes),
      offence: (peer, offence, detail) => this.#offence(peer, offence, detail),
      closed: (peer, code, reason, error) => this.#closed(peer, code, reason, error),
      traffic: (direction, type, bytes) => this.#traffic(direction, type, bytes),
    };
  }

  /** The address the server listens on (with the actual port), once started. */
  get listenAddress(): Address | undefined {
    return this.#listening;
  }

  /** The signed address this node advertises, once started. */
  get addressRecord(): AddressRecord | undefined {
    return this.#local.address;
  }

  #identity(address: AddressRecord | undefined): LocalIdentity {
    const o = this.#options;
    return {
      key: o.key,
      chainId: o.chainId,
      ...(address === undefined ? {} : { address }),
      ...(o.admission === undefined ? {} : { admission: o.admission }),
    };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts listening (when `listen` is set) and dialling seeds.
   * @throws NetworkStateError when already started or stopped; the listen error (EADDRINUSE, ...) when the server
   *   cannot bind
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new NetworkStateError(`cannot start a network that is ${this.#state}`);
    this.#state = 'starting';
    const o = this.#options;
    try {
      if (o.listen !== undefined) {
        const server = new WebSocketServer({
          host: o.listen.host,
          port: o.listen.port,
          maxPayload: maxFrameBytes(o),
          perMessageDeflate: false,
          clientTracking: false,
          verifyClient: () => this.#acceptsInbound(),
        });
        this.#server = server;
        await new Promise<void>((resolve, reject) => {
          server.once('listening', resolve);
          server.once('error', reject);
        });
        server.on('error', () => increment(this.#drops, 'server-error'));
        server.on('connection', (socket, request) => this.#onInbound(socket, request.socket.remoteAddress, request.socket.remotePort));
        const bound = server.address() as AddressInfo;
        this.#listening = { host: o.listen.host, port: bound.port };
        const advertise = o.advertise ?? {
          host: isWildcardHost(o.listen.host) ? defaultAdvertiseHost() : o.listen.host,
          port: bound.port,
        };
        this.#local = this.#identity(this.#signAddress({ host: advertise.host, port: advertise.port === 0 ? bound.port : advertise.port }));
      }
    } catch (error) {
      this.#state = 'stopped';
      await this.#closeServer();
      throw error;
    }
    this.#state = 'running';
    const now = Date.now();
    this.#lastTick = now;
    this.#lastExchange = now;
    this.#lastTipPoll = now;
    this.#lastResend = now;
    this.#timer = setInterval(() => this.#tick(), o.maintenanceIntervalMs);
    this.#fillOutbound();
  }

  #signAddress(address: Address): AddressRecord {
    const record = { nodeKey: this.#options.key.publicKey, host: address.host, port: address.port, issuedAt: Date.now() };
    return { ...record, signature: this.#options.key.sign(addressSigningMessage(this.chainId, record)) };
  }

  /**
   * Stops: closes every connection and the server, clears every timer, and waits (a bounded time) for blocks and
   * transactions already handed to the adapter. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#relay.stop();
    this.#sync.stop();
    const peers = [...this.#peers.values(), ...this.#handshaking];
    const closed = peers.map((peer) => peer.closed);
    for (const peer of peers) peer.close(CloseCode.goingAway, 'node is stopping');
    await this.#closeServer();
    await Promise.race([Promise.all([...closed, this.#ledger.idle()]), delay(5_000)]);
  }

  async #closeServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Connections

  #acceptsInbound(): boolean {
    if (this.#state !== 'running') return false;
    let inbound = 0;
    let handshaking = 0;
    for (const peer of this.#peers.values()) if (peer.direction === 'inbound') inbound++;
    for (const peer of this.#handshaking) {
      if (peer.direction === 'inbound') {
        inbound++;
        handshaking++;
      }
    }
    const ok = inbound < this.#options.maxInbound && handshaking < this.#options.maxPendingHandshakes;
    if (!ok) increment(this.#drops, 'inbound-full');
    return ok;
  }

  #onInbound(socket: WebSocket, host: string | undefined, port: number | undefined): void {
    if (this.#state !== 'running') {
      socket.terminate();
      return;
    }
    const address = `${host ?? '?'}:${port ?? 0}`;
    this.#handshaking.add(this.#newPeer(socket, 'inbound', address, undefined));
  }

  #newPeer(socket: WebSocket, direction: Direction, address: string, expectedKey: string | undefined): Peer {
    return new Peer({
      socket,
      direction,
      address,
      local: this.#local,
      limits: this.#limits,
      scoring: this.#options.scoring,
      handler: this.#handler,
      now: Date.now,
      ...(expectedKey === undefined ? {} : { expectedKey }),
    });
  }

  #dial(address: Address, expectedKey: string | undefined): void {
    const url = `ws://${formatAddress(address)}/`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, {
        maxPayload: maxFrameBytes(this.#options),
        perMessageDeflate: false,
        handshakeTimeout: this.#options.handshakeTimeoutMs,
        followRedirects: false,
        // WebSocket masking guards proxies against attacker-chosen plaintext; every frame here is already AES-GCM
        // ciphertext, so a zero mask (which ws skips on both ends) saves XOR-ing every byte twice.
        generateMask: zeroMask,
      });
    } catch {
      increment(this.#drops, 'dial-error');
      return;
    }
    this.#handshaking.add(this.#newPeer(socket, 'outbound', formatAddress(address), expectedKey));
  }

  #validateHello(peer: Peer, hello: Hello): void {
    checkHello(hello, {
      chainId: this.chainId,
      localKey: this.#options.key.publicKey,
      membership: this.#membership,
      nonces: this.#nonces,
      now: Date.now(),
      maxClockSkewMs: this.#options.maxClockSkewMs,
    });
    const key = toHex(hello.nodeKey);
    if (this.#bans.isBanned(key, Date.now())) throw new BannedPeerError('peer is banned');
    if (peer.expectedKey !== undefined && key !== peer.expectedKey) {
      throw new UnexpectedPeerKeyError(`expected node ${peer.expectedKey.slice(0, 16)}, got ${key.slice(0, 16)}`);
    }
    const existing = this.#peers.get(key);
    if (existing !== undefined && existing.direction === peer.direction) throw new DuplicateConnectionError('already connected');
  }

  /** The node key (hex) of whoever dialled `peer`'s connection. */
  #initiator(peer: Peer): string {
    return peer.direction === 'outbound' ? this.key : peer.key!;
  }

  #established(peer: Peer): void {
    const key = peer.key!;
    const existing = this.#peers.get(key);
    if (existing !== undefined) {
      // Both nodes dialled each other at once: both keep the connection dialled by the lower key.
      if (existing.direction === peer.direction || this.#initiator(existing) <= this.#initiator(peer)) {
        throw new DuplicateConnectionError('already connected');
      }
      existing.close(CloseCode.duplicate, 'replaced by the connection dialled by the lower key');
    }
    if (this.#state !== 'running') throw new DuplicateConnectionError('node is stopping');
    this.#handshaking.delete(peer);
    this.#peers.set(key, peer);
    this.#lastPing.set(peer, Date.now());
    const now = Date.now();
    const hello = peer.hello!;
    if (hello.address !== undefined) {
      const entry: PeerEntry = hello.admission === undefined ? { record: hello.address } : { record: hello.address, admission: hello.admission };
      if (this.#table.upsert(entry, now, true) === 'added') {
        this.emit('peer:discovered', { key, address: formatAddress(hello.address) });
      }
    }
    this.#table.markConnected(key, now);
    if (peer.direction === 'outbound') {
      for (const seed of this.#seeds) {
        if (formatAddress(seed.address) === peer.address) {
          seed.key = key;
          seed.failures = 0;
          seed.nextAttemptAt = 0;
        }
      }
    }
    this.emit('peer:connected', { key, address: peer.address, direction: peer.direction });
    void this.#exchangePeers(peer);
    void this.#pollTip(peer);
    void this.#offerPending(peer);
  }

  #closed(peer: Peer, code: number, reason: string, error: Error | undefined): void {
    this.#handshaking.delete(peer);
    increment(this.#disconnects, closeName(code));
    const key = peer.key;
    const now = Date.now();
    if (key !== undefined && this.#peers.get(key) === peer) {
      this.#peers.delete(key);
      this.#table.markDisconnected(key, now);
      this.emit('peer:disconnected', { key, address: peer.address, direction: peer.direction, code, reason });
      this.#scheduleFill();
      return;
    }
    const seed = peer.direction === 'outbound' ? this.#seeds.find((s) => formatAddress(s.address) === peer.address) : undefined;
    if (peer.connectedAt > 0) {
      if (seed !== undefined) seed.key = key;
      // Authenticated, then refused as a duplicate: the node is reachable and already connected. A seed address is
      // not retried at once (it would meet the same connection).
      if (seed !== undefined) seed.nextAttemptAt = now + this.#backoff.delay(1);
      return;
    }
    // The connection never completed its handshake.
    this.emit('handshake:failed', {
      address: peer.address,
      direction: peer.direction,
      code,
      error: error?.name ?? closeName(code),
      message: error?.message ?? reason,
    });
    if (peer.direction !== 'outbound') return;
    if (code === CloseCode.selfConnection) {
      if (seed !== undefined) seed.self = true;
      return;
    }
    if (code === CloseCode.duplicate) {
      // Reachable; the existing connection stays. Retry a seed address later, not at once.
      if (seed !== undefined) seed.nextAttemptAt = now + this.#backoff.delay(1);
      return;
    }
    if (peer.expectedKey !== undefined) this.#table.markFailure(peer.expectedKey, now);
    if (seed !== undefined) {
      seed.failures++;
      seed.nextAttemptAt = now + this.#backoff.delay(seed.failures);
    }
    this.#scheduleFill();
  }

  #scheduleFill(): void {
    if (this.#fillScheduled || this.#state !== 'running') return;
    this.#fillScheduled = true;
    setImmediate(() => {
      this.#fillScheduled = false;
      this.#fillOutbound();
    });
  }

  /** Dials known peers (else seeds) until `maxOutbound` outbound connections are open or in their handshake. */
  #fillOutbound(): void {
    if (this.#state !== 'running') return;
    const now = Date.now();
    let outbound = 0;
    const busy = new Set<string>();
    const dialling = new Set<string>();
    for (const peer of this.#peers.values()) {
      if (peer.direction === 'outbound') outbound++;
      busy.add(peer.key!);
    }
    for (const peer of this.#handshaking) {
      if (peer.direction === 'outbound') {
        outbound++;
        dialling.add(peer.address);
        if (peer.expectedKey !== undefined) busy.add(peer.expectedKey);
      }
    }
    let need = this.#options.maxOutbound - outbound;
    if (need <= 0) return;
    const candidates = this.#table.candidates(
      now,
      (p) =>
        p.key === this.key ||
        busy.has(p.key) ||
        dialling.has(formatAddress(p.entry.record)) ||
        this.#bans.isBanned(p.key, now) ||
        !this.#membership.isMember(p.entry.record.nodeKey, p.entry.admission),
      Math.random,
    );
    for (const candidate of candidates) {
      if (need <= 0) break;
      this.#dial({ host: candidate.entry.record.host, port: candidate.entry.record.port }, candidate.key);
      dialling.add(formatAddress(candidate.entry.record));
      need--;
    }
    for (const seed of this.#seeds) {
      if (need <= 0) break;
      const addr = formatAddress(seed.address);
      if (seed.self || seed.nextAttemptAt > now || dialling.has(addr)) continue;
      if (seed.key !== undefined && busy.has(seed.key)) continue;
      if (this.#local.address !== undefined && addr === formatAddress(this.#local.address)) continue;
      // Seeds are the fallback: once the address book offers candidates, they are dialled first.
      if (candidates.length > 0 && this.#peers.size > 0) break;
      this.#dial(seed.address, undefined);
      dialling.add(addr);
      need--;
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // Maintenance

  #tick(): void {
    if (this.#state !== 'running') return;
    const now = Date.now();
    const elapsed = now - this.#lastTick;
    this.#lastTick = now;
    const o = this.#options;
    // When this tick comes late, the event loop itself was busy (a large batch verified, a long GC): frames, pongs
    // included, may wait unread in the sockets. Silence is judged only once the loop has run smoothly for a full
    // ping interval since, so every peer had a ping answered and read in that time.
    if (elapsed > 2 * o.maintenanceIntervalMs + 50) this.#lagAt = now;
    const judgeSilence = now - this.#lagAt >= o.pingIntervalMs;
    for (const peer of [...this.#peers.values()]) {
      peer.score.recover(elapsed);
      if (judgeSilence && now - peer.lastReceivedAt > o.idleTimeoutMs) {
        peer.close(CloseCode.idleTimeout, `silent for ${now - peer.lastReceivedAt} ms`);
        continue;
      }
      if (now - (this.#lastPing.get(peer) ?? 0) >= o.pingIntervalMs) {
        this.#lastPing.set(peer, now);
        this.#pingNonce = (this.#pingNonce % 0xffff_fff0) + 1;
        peer.ping(this.#pingNonce);
      }
    }
    this.#fillOutbound();
    if (now - this.#lastExchange >= o.peerExchangeIntervalMs) {
      this.#lastExchange = now;
      const peers = [...this.#peers.values()];
      const peer = peers[Math.floor(Math.random() * peers.length)];
      if (peer !== undefined) void this.#exchangePeers(peer);
      this.#table.prune(now);
    }
    if (now - this.#lastTipPoll >= o.tipPollIntervalMs) {
      this.#lastTipPoll = now;
      for (const peer of this.#peers.values()) void this.#pollTip(peer);
    }
    if (o.resendPendingIntervalMs > 0 && now - this.#lastResend >= o.resendPendingIntervalMs) {
      this.#lastResend = now;
      void this.#resendPending();
    }
  }

  /**
   * Gathers seals for a block this node proposes and has sealed (proof of authority with a threshold above one):
   * asks every connected validator that has not sealed it yet (the block goes with its transactions stripped),
   * checks each seal against the block hash and that peer's key, and asks again every `retryMs` (validators connect
   * and catch up) until `threshold` distinct validators sealed it. Resolves with the header carrying those seals.
   * @throws (rejects) the abort reason when `signal` aborts; BlockSupersededError once `stillWanted` answers false.
   */
  async collectSeals(
    header: BlockHeader,
    transactions: readonly Transaction[],
    options: { readonly validators: readonly string[]; readonly threshold: number; readonly retryMs?: number; readonly stillWanted?: () => boolean },
    signal: AbortSignal,
  ): Promise<BlockHeader> {
    const validators = new Set(options.validators.map((v) => v.toLowerCase()));
    const message = blockSigningMessage(blockHash(header));
    const block: Block = { header, data: transactions.map(stripTransaction) };
    let sealed = header;
    const sealers = (): Set<string> => new Set(sealed.signatures.map((s) => toHex(s.publicKey)).filter((k) => validators.has(k)));
    for (;;) {
      if (sealers().size >= options.threshold) return sealed;
      signal.throwIfAborted();
      if (options.stillWanted?.() === false) throw new BlockSupersededError(`height ${header.height} was filled while its seals were gathered`);
      const have = sealers();
      const asked = [...this.#peers.values()].filter((p) => p.state === 'open' && p.key !== undefined && validators.has(p.key) && !have.has(p.key));
      await Promise.all(
        asked.map(async (peer) => {
          let signature: Uint8Array | null;
          try {
            signature = await peer.requestSeal(block);
          } catch {
            return; // timed out or gone: asked again next round
          }
          if (signature === null || peer.key === undefined) return;
          const publicKey = fromHex(peer.key);
          if (!verifySignature(publicKey, message, signature)) {
            this.#offence(peer, 'invalid-response', 'a seal that does not verify');
            return;
          }
          sealed = withBlockSignature(sealed, { publicKey, signature });
        }),
      );
      if (sealers().size >= options.threshold) return sealed;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, options.retryMs ?? 500);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /**
   * Announces again, to every peer and whatever it is thought to hold, the ids of the transactions that were pending
   * here at the previous round and still are. A peer that lost them (it restarted: a node may hold a peer's
   * transactions in memory only, since their origin keeps them; or its mempool was full) asks for them; a peer that
   * has them ignores 32 bytes each. Without it, a record whose only other copy went down with a producer would wait
   * for its origin's next new link.
   */
  async #resendPending(): Promise<void> {
    if (this.#resending) return;
    this.#resending = true;
    try {
      const txs = await this.#pendingFromAdapter();
      if (txs === undefined) return;
      const current = new Set<string>();
      const stale: Uint8Array[] = [];
      for (const tx of txs) {
        let idBytes: Uint8Array;
        try {
          idBytes = transactionId(tx);
        } catch (error) {
          this.#adapterFailed('pendingTransactions', error);
          return;
        }
        const id = toHex(idBytes);
        current.add(id);
        if (this.#pendingBefore.has(id)) stale.push(idBytes);
      }
      this.#pendingBefore = current;
      if (stale.length === 0 || this.#state !== 'running') return;
      const perMessage = Math.max(1, Math.min(MAX_TRANSACTIONS_PER_MESSAGE, Math.floor((this.#options.maxMessageBytes - 16) / 32)));
      for (let i = 0; i < stale.length; i += perMessage) {
        const message = encodeTransactionIdsMessage(stale.slice(i, i + perMessage));
        for (const peer of this.#peers.values()) {
          if (peer.state === 'open' && !peer.sendEncoded('transactionIds', message, true)) increment(this.#drops, 'backpressure', 1);
        }
      }
      this.#resent += stale.length;
    } finally {
      this.#resending = false;
    }
  }

  async #exchangePeers(peer: Peer): Promise<void> {
    let entries: readonly PeerEntry[];
    try {
      entries = await peer.requestPeers();
    } catch {
      return;
    }
    const now = Date.now();
    let bad = 0;
    for (const entry of entries) {
      const record = entry.record;
      const key = toHex(record.nodeKey);
      if (key === this.key) continue;
      if (record.issuedAt > now + this.#options.maxClockSkewMs) {
        bad++;
        continue;
      }
      if (!this.#membership.isMember(record.nodeKey, entry.admission)) continue;
      const known = this.#table.get(key);
      if (known !== undefined && known.entry.record.issuedAt >= record.issuedAt) {
        this.#table.upsert(known.entry, now, true);
        continue;
      }
      if (!verifySignature(record.nodeKey, addressSigningMessage(this.chainId, record), record.signature)) {
        bad++;
        continue;
      }
      if (this.#table.upsert(entry, now, true) === 'added') this.emit('peer:discovered', { key, address: formatAddress(record) });
    }
    if (bad > 0) this.#offence(peer, 'invalid-peer-record', `${bad} peer records with a bad signature or time`);
    this.#scheduleFill();
  }

  async #pollTip(peer: Peer): Promise<void> {
    try {
      const tip = await peer.requestTip();
      await this.#sync.consider(peer, tip);
    } catch {
      // timeouts and disconnects are scored by the peer; nothing else to do
    }
  }

  /** Up to `maxPendingOffer` of the adapter's pending transactions; undefined when it lists none or failed. */
  async #pendingFromAdapter(): Promise<readonly Transaction[] | undefined> {
    const max = this.#options.maxPendingOffer;
    if (this.#adapter.pendingTransactions === undefined || max === 0) return undefined;
    try {
      return (await this.#adapter.pendingTransactions(max)).slice(0, max);
    } catch (error) {
      this.#adapterFailed('pendingTransactions', error);
      return undefined;
    }
  }

  async #offerPending(peer: Peer): Promise<void> {
    const txs = await this.#pendingFromAdapter();
    if (txs === undefined) return;
    let batch: Uint8Array[] = [];
    let size = 0;
    const send = (): void => {
      if (batch.length === 0) return;
      if (!peer.sendEncoded('transactions', encodeTransactionsMessage(batch), true)) {
        increment(this.#drops, 'backpressure', batch.length);
      }
      batch = [];
      size = 0;
    };
    for (const tx of txs) {
      if (peer.state !== 'open') return;
      let id: string;
      let bytes: Uint8Array;
      try {
        id = toHex(transactionId(tx));
        bytes = encodeTransaction(tx);
      } catch (error) {
        this.#adapterFailed('pendingTransactions', error);
        return;
      }
      if (peer.knownTransactions.has(id)) continue;
      if (size + bytes.length + 16 > this.#options.maxMessageBytes || batch.length >= MAX_TRANSACTIONS_PER_MESSAGE) send();
      if (bytes.length + 16 > this.#options.maxMessageBytes) continue;
      batch.push(bytes);
      size += bytes.length;
      peer.knownTransactions.add(id);
      this.#seenTransactions.add(id);
    }
    send();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Messages

  #traffic(direction: 'in' | 'out', type: MessageTypeName | 'handshake' | 'unknown', bytes: number): void {
    if (direction === 'in') {
      increment(this.#messagesIn, type);
      this.#bytesIn += bytes;
    } else {
      increment(this.#messagesOut, type);
      this.#bytesOut += bytes;
    }
  }

  #offence(peer: Peer, offence: Offence, detail: string, times = 1): void {
    increment(this.#drops, offence, 1);
    const key = peer.key;
    // Only an authenticated peer is scored (and banned): before the handshake completed, the key is only a claim.
    if (peer.connectedAt === 0 || key === undefined) return;
    const score = peer.score.penalize(offence, times);
    this.emit('peer:penalized', { key, offence, detail, score: peer.score.value });
    if (score > this.#options.scoring.banThreshold) return;
    const until = Date.now() + this.#options.scoring.banDurationMs;
    this.#bans.ban(key, until, offence);
    this.emit('peer:banned', { key, until, reason: offence });
    peer.close(CloseCode.banned, `banned for ${offence}`);
  }

  #peerRef(peer: Peer): PeerRef {
    return { key: peer.key ?? '', address: peer.address };
  }

  #adapterFailed(operation: string, error: unknown): void {
    increment(this.#drops, 'adapter-error');
    this.emit('adapter:failed', { operation, message: error instanceof Error ? error.message : String(error) });
  }

  #onPeerMessage(peer: Peer, message: Exclude<SessionMessage, { type: 'peers' | 'tip' | 'headers' | 'blocks' | 'transactionData' | 'seal' | 'ping' | 'pong' }>, _bytes: number): void {
    switch (message.type) {
      case 'transactions':
        this.#onTransactions(peer, message.txs);
        return;
      case 'block':
        this.#onBlock(peer, message.block);
        return;
      case 'transactionIds':
        this.#onAnnouncement(peer, message.ids);
        return;
      default:
        this.#serve(peer, message);
    }
  }

  /** Transactions a peer sent; `known` holds the ids of those the caller already hashed (by position). */
  #onTransactions(peer: Peer, txs: readonly Transaction[], known?: readonly { readonly id: string; readonly idBytes: Uint8Array }[]): void {
    const fresh: Fresh[] = [];
    let duplicates = 0;
    let foreign = 0;
    for (const [i, tx] of txs.entries()) {
      let id: string;
      let idBytes: Uint8Array;
      const given = known?.[i];
      if (given !== undefined) ({ id, idBytes } = given);
      else {
        try {
          idBytes = transactionId(tx);
          id = toHex(idBytes);
        } catch {
          foreign++;
          continue;
        }
      }
      peer.knownTransactions.add(id);
      if (!equalBytes(tx.header.chainId, this.chainId)) {
        foreign++;
        continue;
      }
      if (!this.#seenTransactions.add(id)) {
        duplicates++;
        continue;
      }
      fresh.push({ tx, id, idBytes });
    }
    if (duplicates > 0) increment(this.#drops, 'duplicate', duplicates);
    if (foreign > 0) this.#offence(peer, 'invalid-transaction', `${foreign} transactions of another chain`, Math.min(foreign, 10));
    if (fresh.length === 0) return;
    if (!this.#ledger.pushTransactions({ peer, fresh })) {
      for (const f of fresh) this.#seenTransactions.delete(f.id);
      increment(this.#drops, 'ledger-busy', fresh.length);
      return;
    }
    for (const f of fresh) this.#waiting.set(f.id, f.tx);
  }

  /** Hands waiting transactions to the adapter: one call per sending peer, in arrival order within each. */
  async #acceptWaiting(messages: readonly WaitingTransactions[]): Promise<void> {
    const byPeer = new Map<Peer, Fresh[]>();
    for (const m of messages) {
      const list = byPeer.get(m.peer);
      if (list === undefined) byPeer.set(m.peer, [...m.fresh]);
      else for (const f of m.fresh) list.push(f);
    }
    try {
      for (const [peer, fresh] of byPeer) {
        try {
          await this.#acceptTransactions(peer, fresh);
        } catch (error) {
          // Not judged after all: let the transactions be received again.
          for (const f of fresh) this.#seenTransactions.delete(f.id);
          this.#adapterFailed('acceptTransactions', error);
        }
      }
    } finally {
      for (const m of messages) for (const f of m.fresh) this.#waiting.delete(f.id);
    }
  }

  async #acceptTransactions(peer: Peer, fresh: readonly Fresh[]): Promise<void> {
    const verdicts = await this.#adapter.acceptTransactions(
      fresh.map((f) => f.tx),
      this.#peerRef(peer),
      fresh.map((f) => f.idBytes),
    );
    if (!Array.isArray(verdicts) || verdicts.length !== fresh.length) {
      throw new Error(`acceptTransactions returned ${Array.isArray(verdicts) ? verdicts.length : typeof verdicts} verdicts for ${fresh.length}`);
    }
    let invalid = 0;
    let useful = 0;
    let busy = 0;
    for (let i = 0; i < fresh.length; i++) {
      const verdict = verdicts[i];
      if (verdict === 'accepted') {
        useful++;
        // Relayed by id: peers that lack it ask for it.
        this.#relay.enqueue(fresh[i]!.id, fresh[i]!.idBytes, undefined, peer.key);
      } else if (verdict === 'invalid') invalid++;
      else if (verdict === 'busy') {
        // Not taken for want of room: the origin's next announcement of it must not meet the seen-cache.
        this.#seenTransactions.delete(fresh[i]!.id);
        busy++;
      }
    }
    if (busy > 0) increment(this.#drops, 'ledger-full', busy);
    if (useful > 0) peer.score.reward(1);
    if (invalid > 0) this.#offence(peer, 'invalid-transaction', `${invalid} invalid transactions`, Math.min(invalid, 10));
  }

  /**
   * A peer announces transactions it holds: the ones not seen here, and not asked for already, are asked of it
   * (GET_TRANSACTIONS); what comes back is taken in like flooded transactions.
   */
  #onAnnouncement(peer: Peer, ids: readonly Uint8Array[]): void {
    const wanted: Uint8Array[] = [];
    let known = 0;
    for (const idBytes of ids) {
      const id = toHex(idBytes);
      peer.knownTransactions.add(id);
      if (this.#seenTransactions.has(id) || this.#requested.has(id)) {
        known++;
        continue;
      }
      this.#requested.add(id);
      wanted.push(idBytes);
    }
    if (known > 0) increment(this.#drops, 'announced-known', known);
    for (let i = 0; i < wanted.length; i += MAX_IDS_PER_REQUEST) void this.#requestAnnounced(peer, wanted.slice(i, i + MAX_IDS_PER_REQUEST));
  }

  async #requestAnnounced(peer: Peer, ids: readonly Uint8Array[]): Promise<void> {
    const asked = new Set(ids.map(toHex));
    let txs: readonly Transaction[] = [];
    try {
      txs = await peer.requestTransactions(ids);
    } catch {
      // Timed out, disconnected or too many requests outstanding: another announcement, or the block, brings them.
    } finally {
      for (const id of asked) this.#requested.delete(id);
    }
    const good: Transaction[] = [];
    const goodIds: { id: string; idBytes: Uint8Array }[] = [];
    let bad = 0;
    for (const tx of txs) {
      let idBytes: Uint8Array;
      try {
        idBytes = transactionId(tx);
      } catch {
        bad++;
        continue;
      }
      const id = toHex(idBytes);
      if (!asked.has(id) || tx.payload === undefined) bad++;
      else {
        good.push(tx);
        goodIds.push({ id, idBytes });
      }
    }
    if (bad > 0) this.#offence(peer, 'invalid-response', `${bad} transactions not asked for or without payload`);
    if (good.length > 0) this.#onTransactions(peer, good, goodIds);
  }

  #onBlock(peer: Peer, block: Block): void {
    let id: string;
    try {
      id = toHex(blockHash(block.header));
    } catch (error) {
      this.#offence(peer, 'malformed', error instanceof Error ? error.message : String(error));
      return;
    }
    peer.knownBlocks.add(id);
    if (!this.#seenBlocks.add(id)) {
      increment(this.#drops, 'duplicate');
      return;
    }
    const queued = this.#ledger.pushBlock(
      async () => {
        const { verdict, block: complete } = await this.#acceptBlock(block, peer);
        if (verdict === 'accepted') {
          peer.score.reward(5);
          this.#relayBlock(complete, id, peer);
        } else if (verdict === 'orphan') {
          // Not seen after all: it may come again once its ancestors are here. Catch up with the sender.
          this.#seenBlocks.delete(id);
          void this.#pollTip(peer);
        } else if (verdict === 'invalid') {
          this.#offence(peer, 'invalid-block', `block at height ${block.header.height}`);
        }
      },
      (error) => {
        this.#seenBlocks.delete(id);
        this.#adapterFailed('acceptBlock', error);
      },
    );
    if (!queued) {
      this.#seenBlocks.delete(id);
      increment(this.#drops, 'ledger-busy');
    }
  }

  async #acceptBlock(block: Block, peer: Peer): Promise<{ readonly verdict: BlockVerdict; readonly block: Block }> {
    const complete = await this.#completeBlock(block, peer);
    const verdict = await this.#adapter.acceptBlock(complete, this.#peerRef(peer));
    if (verdict === 'accepted') this.#seenBlocks.add(toHex(blockHash(block.header)));
    return { verdict, block: complete };
  }

  /**
   * Restores the payloads of a block's stripped transactions before the adapter sees it: a flooded block comes with
   * the transactions its sender knew this node has stripped (a block too large for one message, or one served by a
   * node that keeps only headers, with more). Payloads come from the transactions waiting for the adapter (checked
   * against their signed header: they are not verified yet), from the adapter (mempool and store), and else from
   * peers, the sender first (checked likewise). Payloads the adapter does not want (`wantsPayload`) are fetched from
   * nobody. What no peer has stays stripped: the block is valid without it.
   */
  async #completeBlock(block: Block, from: Peer): Promise<Block> {
    let data: Transaction[] | undefined;
    const wanted: { readonly index: number; readonly id: Uint8Array; readonly hex: string }[] = [];
    for (let i = 0; i < block.data.length; i++) {
      const tx = block.data[i]!;
      if (tx.payload !== undefined) continue;
      let id: Uint8Array;
      try {
        id = transactionId(tx);
      } catch {
        return block; // malformed: the adapter judges the block as it came
      }
      const hex = toHex(id);
      let full: Transaction | undefined;
      const waiting = this.#waiting.get(hex);
      if (waiting?.payload !== undefined) {
        try {
          full = attachPayload(tx, waiting.payload);
        } catch {
          full = undefined;
        }
      }
      if (full === undefined) {
        // The adapter's transactions were verified when they entered: same id, same signed header, good payload.
        const held = await this.#localTransaction(id);
        if (held?.payload !== undefined) full = { header: tx.header, signature: tx.signature, payload: held.payload };
      }
      if (full !== undefined) {
        (data ??= [...block.data])[i] = full;
        continue;
      }
      if (this.#adapter.wantsPayload?.(tx) === false) continue;
      wanted.push({ index: i, id, hex });
    }
    if (wanted.length > 0) {
      const found = await this.#fetch(
        wanted.map((w) => w.id),
        from,
      );
      let missing = 0;
      for (const w of wanted) {
        const tx = found.get(w.hex);
        if (tx === undefined) missing++;
        else (data ??= [...block.data])[w.index] = tx;
      }
      if (missing > 0) increment(this.#drops, 'payload-unavailable', missing);
    }
    return data === undefined ? block : { header: block.header, data };
  }

  async #localTransaction(id: Uint8Array): Promise<Transaction | undefined> {
    try {
      return await this.#adapter.getTransaction(id);
    } catch (error) {
      this.#adapterFailed('getTransaction', error);
      return undefined;
    }
  }

  /**
   * Floods a block to every peer but `from` and those known to have it, each with the transactions it is known to
   * have stripped (see CompactBlock). Returns the number of peers it was sent to.
   */
  #relayBlock(block: Block, id: string, from: Peer | undefined): number {
    const targets = [...this.#peers.values()].filter((peer) => peer !== from && !peer.knownBlocks.has(id));
    if (targets.length === 0) return 0;
    let compact: CompactBlock;
    try {
      compact = new CompactBlock(block, this.#options.maxMessageBytes);
    } catch (error) {
      this.#adapterFailed('relayBlock', error);
      return 0;
    }
    let sent = 0;
    for (const peer of targets) {
      const message = compact.messageFor((txId) => peer.knownTransactions.has(txId));
      if (message === undefined) {
        increment(this.#drops, 'block-too-large');
        return sent;
      }
      if (peer.sendEncoded('block', message, true)) {
        peer.knownBlocks.add(id);
        sent++;
      } else increment(this.#drops, 'backpressure');
    }
    return sent;
  }

  #serve(peer: Peer, request: RequestMessage): void {
    if (!peer.beginInboundRequest()) {
      this.#offence(peer, 'request-flood', `more than ${this.#options.maxInboundRequests} requests in progress`);
      return;
    }
    void answerRequest(peer, request, this.#serveContext).finally(() => peer.endInboundRequest());
  }

  /** Peer exchange answer: this node and the peers it is connected to (never hearsay), at most 64, random. */
  #onlineEntries(requester: Peer): PeerEntry[] {
    const entries: PeerEntry[] = [];
    const own = this.#local.address;
    if (own !== undefined) entries.push(this.#options.admission === undefined ? { record: own } : { record: own, admission: this.#options.admission });
    const others: PeerEntry[] = [];
    for (const peer of this.#peers.values()) {
      if (peer === requester || peer.state !== 'open') continue;
      const known = this.#table.get(peer.key!);
      if (known !== undefined) others.push(known.entry);
    }
    for (let i = others.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [others[i], others[j]] = [others[j]!, others[i]!];
    }
    return [...entries, ...others].slice(0, MAX_PEER_ENTRIES);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Public operations

  #assertRunning(): void {
    if (this.#state !== 'running') throw new NetworkStateError(`network is ${this.#state}`);
  }

  /**
   * Floods transactions this node accepted (ingested locally, already in its mempool). Batched: they leave within
   * `txFlushIntervalMs`. Returns how many were queued (transactions already seen, or larger than one message, are not).
   * @throws NetworkStateError unless running
   */
  broadcastTransactions(txs: readonly Transaction[]): number {
    this.#assertRunning();
    let queued = 0;
    for (const tx of txs) {
      const idBytes = transactionId(tx);
      const id = toHex(idBytes);
      if (!this.#seenTransactions.add(id)) continue;
      if (this.#relay.enqueue(id, idBytes, encodeTransaction(tx), undefined)) queued++;
    }
    return queued;
  }

  /**
   * Floods a block this node produced or accepted. Sent whole when it fits one message, else stripped. Returns the
   * number of peers it was sent to.
   * @throws NetworkStateError unless running
   */
  broadcastBlock(block: Block): number {
    this.#assertRunning();
    const id = toHex(blockHash(block.header));
    this.#seenBlocks.add(id);
    return this.#relayBlock(block, id, undefined);
  }

  /**
   * Fetches the full data of transactions by id from peers (for a stripped transaction this node holds), asking up
   * to `maxPeers` peers in turn. Each answer is checked: its id must be one asked for (so its signed header is the one
   * the id names) and its payload must match the header's payload hash (`attachPayload`); a peer answering
   * otherwise is penalised. Returns the verified transactions by id (hex); ids nobody had are absent.
   * @throws NetworkStateError unless running
   */
  async fetchTransactions(ids: readonly Uint8Array[], maxPeers = 4): Promise<Map<string, Transaction>> {
    this.#assertRunning();
    return this.#fetch(ids, undefined, maxPeers);
  }

  /** `fetchTransactions`, asking `first` before the others. */
  async #fetch(ids: readonly Uint8Array[], first: Peer | undefined, maxPeers = 4): Promise<Map<string, Transaction>> {
    const wanted = new Map<string, Uint8Array>();
    for (const id of ids) wanted.set(toHex(id), id);
    const found = new Map<string, Transaction>();
    const others = [...this.#peers.values()].filter((p) => p !== first).sort(() => Math.random() - 0.5);
    const peers = (first !== undefined && first.state === 'open' ? [first, ...others] : others).slice(0, maxPeers);
    for (const peer of peers) {
      const missing = [...wanted.entries()].filter(([hex]) => !found.has(hex)).map(([, id]) => id);
      if (missing.length === 0) break;
      for (let i = 0; i < missing.length; i += MAX_IDS_PER_REQUEST) {
        let txs: readonly Transaction[];
        try {
          txs = await peer.requestTransactions(missing.slice(i, i + MAX_IDS_PER_REQUEST));
        } catch {
          break;
        }
        let bad = 0;
        for (const tx of txs) {
          const hex = toHex(transactionId(tx));
          if (!wanted.has(hex) || tx.payload === undefined) {
            bad++;
            continue;
          }
          try {
            found.set(hex, attachPayload(stripTransaction(tx), tx.payload));
          } catch {
            bad++;
          }
        }
        if (bad > 0) this.#offence(peer, 'invalid-response', `${bad} transactions not asked for or not matching their header`);
      }
    }
    return found;
  }

  /** Asks every connected peer for its tip now, syncing from one that is ahead. */
  syncNow(): void {
    this.#assertRunning();
    this.#lastTipPoll = Date.now();
    for (const peer of this.#peers.values()) void this.#pollTip(peer);
  }

  /**
   * Replaces the allowlist (undefined: no allowlist). Connected peers that are no longer members are dropped; every
   * known address becomes dialable again at once.
   * @throws InvalidKeyError for a malformed key
   */
  setAllowlist(keys: readonly string[] | undefined): void {
    this.#membership.setAllowlist(keys);
    for (const peer of [...this.#peers.values(), ...this.#handshaking]) {
      const hello = peer.hello;
      if (hello !== undefined && !this.#membership.isMember(hello.nodeKey, hello.admission)) {
        peer.close(CloseCode.notAMember, 'no longer a member');
      }
    }
    this.#table.resetBackoff();
    for (const seed of this.#seeds) {
      seed.failures = 0;
      seed.nextAttemptAt = 0;
    }
    this.#scheduleFill();
  }

  /** Adds a seed address at run time (`host:port` or an object). @throws InvalidArgumentError */
  addSeed(address: string | Address): void {
    const parsed = resolveOptions({ key: this.#options.key, chainId: this.chainId, seeds: [address] }).seeds[0]!;
    if (this.#seeds.some((s) => formatAddress(s.address) === formatAddress(parsed))) return;
    this.#seeds.push({ address: parsed, key: undefined, failures: 0, nextAttemptAt: 0, self: false });
    this.#scheduleFill();
  }

  /** Closes the connection to `key` (hex) without blame. Returns whether one was open. */
  disconnect(key: string): boolean {
    const peer = this.#peers.get(key);
    if (peer === undefined) return false;
    peer.close(CloseCode.normal, 'disconnected by operator');
    return true;
  }

  /** Bans `key` (hex) for `durationMs` and drops its connection. */
  ban(key: string, durationMs: number, reason = 'operator'): void {
    const until = Date.now() + durationMs;
    this.#bans.ban(key, until, reason);
    this.emit('peer:banned', { key, until, reason });
    this.#peers.get(key)?.close(CloseCode.banned, `banned: ${reason}`);
  }

  /** Lifts a ban. Returns whether there was one. */
  unban(key: string): boolean {
    return this.#bans.unban(key);
  }

  /** Keys (hex) of the peers connected now. */
  connectedPeers(): string[] {
    return [...this.#peers.keys()];
  }

  /** The network's state and counters as a plain object (for /metrics). */
  status(): NetworkStatus {
    const now = Date.now();
    const peers: PeerStatus[] = [...this.#peers.values()].map((peer) => ({
      key: peer.key!,
      address: peer.address,
      direction: peer.direction,
      score: peer.score.value,
      connectedAt: peer.connectedAt,
      ...(peer.rttMs === undefined ? {} : { rttMs: peer.rttMs }),
      ...peer.counters,
    }));
    const online = new Set(this.#table.online(now).map((p) => p.key));
    const knownPeers: KnownPeerStatus[] = this.#table.list().map((p) => ({
      key: p.key,
      address: formatAddress(p.entry.record),
      connected: p.connected,
      online: online.has(p.key),
      failures: p.failures,
      lastSeenOnline: p.lastSeenOnline,
    }));
    const bans = this.#bans.list(now);
    const listening = this.#listening;
    const advertised = this.#local.address;
    return {
      key: this.key,
      chainId: toHex(this.chainId),
      state: this.#state === 'starting' ? 'new' : this.#state,
      ...(listening === undefined ? {} : { listening: formatAddress(listening) }),
      ...(advertised === undefined ? {} : { advertised: formatAddress(advertised) }),
      peers,
      knownPeers,
      seeds: this.#seeds.map((s) => ({
        address: formatAddress(s.address),
        ...(s.key === undefined ? {} : { key: s.key }),
        failures: s.failures,
        self: s.self,
      })),
      counts: {
        connected: peers.length,
        inbound: peers.filter((p) => p.direction === 'inbound').length,
        outbound: peers.filter((p) => p.direction === 'outbound').length,
        handshaking: this.#handshaking.size,
        known: this.#table.size,
        online: online.size,
        banned: bans.length,
      },
      messages: { in: { ...this.#messagesIn }, out: { ...this.#messagesOut } },
      bytes: { in: this.#bytesIn, out: this.#bytesOut },
      drops: { ...this.#drops },
      disconnects: { ...this.#disconnects },
      bans,
      sync: this.#sync.status(),
      queues: { ledger: this.#ledger.size, relay: this.#relay.queued },
      seen: { transactions: this.#seenTransactions.size, blocks: this.#seenBlocks.size },
      resent: { transactions: this.#resent },
    };
  }
}

function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Creates the local network of a node. Nothing happens until `start()`.
 * @throws InvalidArgumentError or InvalidKeyError for bad options; NetworkStateError when the adapter's chain id
 *   differs from `options.chainId`
 */
export function createNetwork(options: NetworkOptions, adapter: LedgerAdapter): Network {
  return new Network(options, adapter);
}
