import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import {
  blockHash,
  equalBytes,
  fromHex,
  getCryptoProvider,
  MAX_CONTENT_TYPE_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_SOURCE_BYTES,
  MAX_TRACE_CODE_BYTES,
  MAX_TRACE_CODES,
  SafechainError,
  toBase64,
  toHex,
  utf8,
  type Block,
  type BlockHeader,
  type NodeKey,
  type ProofBundle,
  type Transaction,
} from '@safechain/core';
import { chainSpecOf, createConsensus, type ChainSpec, type Consensus } from '@safechain/consensus';
import { BlockProducer, BlockTree, Mempool } from '@safechain/chain';
import { createRetentionFilter, type ChainStore, type RetentionFilter } from '@safechain/storage';
import { openStore } from './stores.js';
import { QueryIndex } from './query-index.js';
import { createNetwork, type Network } from '@safechain/p2p';
import { createLedgerAdapter, InFlightVerifications } from './ledger-adapter.js';
import type { FastifyInstance } from 'fastify';
import type { NodeConfig } from './config.js';
import { loadGenesis, loadNodeKey, resolveIn } from './data-dir.js';
import { createApiServer } from './api/server.js';
import type { BlockView, NodeService, NodeStatusView, RecordInput, TransactionPage, TransactionQuery, TxView } from './api/service.js';
import { FileIngest, type IngestRecord, type IngestSink } from './ingest/index.js';
import { ProcessingPool, type RecordDraft } from './processing/index.js';
import { createLogger, type Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { SealGuard } from './seal-guard.js';
import { SequenceLease } from './sequence.js';
import { cachedVerifier, KnownValidTransactions } from './verifier.js';

/** A record handed to the node is outside core's limits; the message names the field. */
export class RecordRejectedError extends SafechainError {
  override readonly name = 'RecordRejectedError' as const;
}

/** This node already sealed another block at this height (or a higher one): sealing this one would equivocate. */
export class AlreadySealedError extends SafechainError {
  override readonly name = 'AlreadySealedError' as const;
}

/** The node is starting or stopping and cannot take this request. */
export class NodeNotReadyError extends SafechainError {
  override readonly name = 'NodeNotReadyError' as const;
}

export interface NodeStartOptions {
  readonly dataDir: string;
  readonly config: NodeConfig;
  readonly logger?: Logger;
}

/** Where the node listens, known once it started (ports may be 0 in the configuration). */
export interface NodeAddresses {
  readonly api: string | null;
}

const textLength = (s: string): number => utf8(s).length;

function checkRecord(r: RecordInput, i: number): void {
  const at = `record ${i}`;
  if (r.payload.length > MAX_PAYLOAD_BYTES) throw new RecordRejectedError(`${at}: payload over ${MAX_PAYLOAD_BYTES} bytes`);
  if (r.contentType !== undefined && textLength(r.contentType) > MAX_CONTENT_TYPE_BYTES) {
    throw new RecordRejectedError(`${at}: content type over ${MAX_CONTENT_TYPE_BYTES} bytes`);
  }
  if (r.source !== undefined && textLength(r.source) > MAX_SOURCE_BYTES) throw new RecordRejectedError(`${at}: source over ${MAX_SOURCE_BYTES} bytes`);
  const codes = r.traceCodes ?? [];
  if (codes.length > MAX_TRACE_CODES) throw new RecordRejectedError(`${at}: more than ${MAX_TRACE_CODES} trace codes`);
  for (const c of codes) {
    if (textLength(c) > MAX_TRACE_CODE_BYTES) throw new RecordRejectedError(`${at}: a trace code over ${MAX_TRACE_CODE_BYTES} bytes`);
  }
  for (const s of [r.contentType, r.source, ...codes]) {
    if (s !== undefined && !s.isWellFormed()) throw new RecordRejectedError(`${at}: text with a lone surrogate`);
  }
}

/** A stop step that takes longer than this is named in the log (and again every interval). */
const STOP_STEP_WARN_MS = 5_000;
/**
 * How long a stop lets the API's open connections finish: requests in progress complete, and new ones on open
 * connections get 503 with `Connection: close`. After that every remaining connection is cut (its requests were
 * not answered, so nothing is acknowledged that was not kept): a client holding a half-sent request, or one that
 * keeps a connection busy, must not hold a stopping node for minutes.
 */
const API_CLOSE_GRACE_MS = 5_000;

/**
 * A safechain node: the modules its configuration enables, assembled and started in order and stopped in reverse.
 * Table I of the paper: every type runs the chain and the API; `full` and `producer` produce blocks; `full` and
 * `archive` keep all transaction data; `thin` and `producer` keep headers, their own transactions and what the
 * retention filter selects, the rest stripped.
 */
export class SafechainNode implements NodeService {
  readonly type: NodeConfig['type'];
  readonly key: NodeKey;
  readonly genesis: Block;
  readonly chainId: Uint8Array;
  readonly spec: ChainSpec;
  readonly config: NodeConfig;
  readonly dataDir: string;
  readonly log: Logger;
  readonly metricsRegistry = new Metrics();
  readonly store: ChainStore;
  readonly consensus: Consensus;
  readonly tree: BlockTree;
  readonly mempool: Mempool;
  readonly pool: ProcessingPool;
  readonly producer: BlockProducer | null;
  readonly ingest: FileIngest | null;
  readonly retention: RetentionFilter;
  readonly network: Network | null;
  readonly #known: KnownValidTransactions;
  /** Signature checks on the worker pool, shared between the mempool's intake from peers and the Block Tree. */
  readonly #verifications: InFlightVerifications;
  readonly #sequence: SequenceLease;
  readonly #queryIndex: QueryIndex | null;
  readonly #started = Date.now();
  #api: FastifyInstance | null = null;
  #apiUrl: string | null = null;
  #futureTimer: ReturnType<typeof setInterval> | undefined;
  #ready = false;
  #stopping: Promise<void> | undefined;
  #ingestCounts = { files: 0, rejected: 0 };
  /** Signed transactions waiting for the next group commit (see `#commit`). */
  readonly #commitQueue: {
    readonly txs: readonly Transaction[];
    readonly resolve: (ids: readonly Uint8Array[]) => void;
    readonly reject: (error: unknown) => void;
  }[] = [];
  #committing = false;
  /** Payload arrays the workers hashed and signed in this process (see `KnownValidTransactions.hashedByUs`). */
  readonly #signedHere = new WeakSet<Uint8Array>();
  /** What this validator sealed (poa with a threshold above one), else null. */
  readonly #sealGuard: SealGuard | null;
  /** Why this node, though listed as a producer or validator, does not produce (undefined when it does or is not). */
  readonly #cannotProduce: string | undefined;
  /** Ids the workers computed for the transactions they signed: the mempool need not hash them again. */
  readonly #signedIds = new WeakMap<Transaction, Uint8Array>();
  #lastBlockAt = 0;

  private constructor(parts: {
    options: NodeStartOptions;
    key: NodeKey;
    genesis: Block;
    spec: ChainSpec;
    consensus: Consensus;
    store: ChainStore;
    tree: BlockTree;
    mempool: Mempool;
    pool: ProcessingPool;
    retention: RetentionFilter;
    known: KnownValidTransactions;
    verifications: InFlightVerifications;
    sequence: SequenceLease;
    log: Logger;
    queryIndex: QueryIndex | null;
    sealGuard: SealGuard | null;
  }) {
    this.config = parts.options.config;
    this.dataDir = parts.options.dataDir;
    this.type = this.config.type;
    this.key = parts.key;
    this.genesis = parts.genesis;
    this.chainId = blockHash(parts.genesis.header);
    this.spec = parts.spec;
    this.consensus = parts.consensus;
    this.store = parts.store;
    this.tree = parts.tree;
    this.mempool = parts.mempool;
    this.pool = parts.pool;
    this.retention = parts.retention;
    this.#known = parts.known;
    this.#verifications = parts.verifications;
    this.#sequence = parts.sequence;
    this.#queryIndex = parts.queryIndex;
    this.#sealGuard = parts.sealGuard;
    const index = parts.queryIndex;
    this.query =
      index === null
        ? undefined
        : async (q: TransactionQuery): Promise<TransactionPage> => {
            const page = index.query(q);
            const items = await Promise.all(page.ids.map((id) => this.transaction(id, true)));
            return { items: items.filter((t): t is TxView => t !== undefined), next: page.next };
          };
    this.log = parts.log;
    const listed = (this.type === 'full' || this.type === 'producer') && mayProduce(this.spec, this.key.id);
    const threshold = sealThreshold(this.spec);
    // A block of such a chain needs the seals of other validators, gathered over the network: without it a producer
    // here would cut blocks the Block Tree can only refuse, every interval. The node then runs as a full node that
    // validates and stores the chain, and says so when it starts.
    this.#cannotProduce =
      listed && threshold > 1 && !this.config.network.enabled
        ? `poa threshold ${threshold}: the other validators' seals are gathered over the network, which this configuration disables`
        : undefined;
    const produces = listed && this.#cannotProduce === undefined;
    this.producer = produces
      ? new BlockProducer({
          tree: this.tree,
          mempool: this.mempool,
          consensus: this.consensus,
          key: this.key,
          blockIntervalMs: this.config.producer.blockIntervalMs,
          maxBlockBytes: this.config.producer.maxBlockBytes,
          maxBlockTransactions: this.config.producer.maxBlockTransactions,
          emptyBlocks: this.config.producer.emptyBlocks,
          ...(threshold > 1 ? { collectSeals: (header: BlockHeader, signal: AbortSignal, txs: readonly Transaction[]) => this.#collectSeals(header, signal, txs) } : {}),
        })
      : null;
    this.ingest = this.config.ingest.enabled ? this.#createIngest() : null;
    this.network = this.config.network.enabled ? this.#createNetwork() : null;
  }

  #createNetwork(): Network {
    const n = this.config.network;
    const adapter = createLedgerAdapter({
      tree: this.tree,
      mempool: this.mempool,
      known: this.#known,
      verify: (txs, ids) => this.#verifications.verify(txs, ids),
      retention: this.retention,
      ...(this.#sealGuard === null ? {} : { cosign: (block: Block) => this.#cosign(block) }),
    });
    const network = createNetwork(
      {
        key: this.key,
        chainId: this.chainId,
        listen: { host: n.host, port: n.port },
        seeds: n.seeds,
        maxOutbound: n.maxOutbound,
        ...(n.allow.length > 0 ? { allow: [...n.allow, this.key.id] } : {}),
      },
      adapter,
    );
    if (n.allow.length === 0) this.log.warn('network open to every node of this chain: list members in network.allow');
    network.on('adapter:failed', (e) => this.log.warn('network adapter call failed', { ...e }));
    return network;
  }

  /**
   * Gathers the other validators' seals for a block this node proposes (poa with a threshold above one). This
   * node's own seal counts like any other: it is claimed first, so the node never seals two blocks at one height.
   * Gives up (BlockSupersededError) once another block filled the height.
   * @throws AlreadySealedError; the network's errors; the abort reason when production is stopped.
   */
  async #collectSeals(header: BlockHeader, signal: AbortSignal, transactions: readonly Transaction[]): Promise<BlockHeader | Block> {
    const guard = this.#sealGuard;
    const network = this.network;
    if (guard === null || network === null) throw new AlreadySealedError('this node cannot gather seals (not a validator, or no network)');
    const validators = sealerKeys(this.spec) ?? [];
    const gather = (h: BlockHeader, txs: readonly Transaction[]): Promise<BlockHeader> =>
      network.collectSeals(h, txs, { validators, threshold: sealThreshold(this.spec), stillWanted: () => this.tree.tip.height < h.height }, signal);
    if (await guard.claimProposal({ header, data: transactions })) return gather(header, transactions);
    // This node already sealed a block at this height. When that was its own proposal, cut short by a restart, it
    // finishes that block instead (the producer adds it; the new transactions stay pending).
    const earlier = guard.proposal;
    if (earlier !== undefined && earlier.header.height === header.height) {
      this.log.info('finishing the block this node proposed before it restarted', { height: header.height });
      return { header: await gather(earlier.header, earlier.data), data: earlier.data };
    }
    throw new AlreadySealedError(`this node already sealed another block at height ${header.height}, or a higher one (${guard.last?.height ?? '?'})`);
  }

  /**
   * This validator's seal for a block another validator proposes and is gathering seals for: only for a block that
   * extends this node's canonical tip and passes every rule but the seal count, and only one block per height.
   */
  async #cosign(block: Block): Promise<Uint8Array | undefined> {
    const guard = this.#sealGuard;
    if (guard === null) return undefined;
    const verdict = await this.tree.checkCandidate(block);
    if (!verdict.valid) {
      this.log.debug('seal refused', { height: block.header.height, reason: verdict.reason, message: verdict.message });
      return undefined;
    }
    if (!(await guard.claim(block.header.height, verdict.hash))) {
      this.log.info('seal refused: already sealed another block at this height', { height: block.header.height });
      return undefined;
    }
    const sealed = await this.consensus.seal(block.header, this.key);
    return sealed.signatures.find((s) => equalBytes(s.publicKey, this.key.publicKey))?.signature;
  }

  /**
   * Opens the data folder's store and starts every enabled module. On failure, what was started is stopped again.
   * @throws DataDirError, ConfigError, InvalidGenesisFileError, GenesisMismatchError, store errors
   */
  static async start(options: NodeStartOptions): Promise<SafechainNode> {
    const log = options.logger ?? createLogger(options.config.log.level);
    const config = options.config;
    const key = await loadNodeKey(options.dataDir);
    const genesis = await loadGenesis(options.dataDir);
    const spec = chainSpecOf(genesis.header);
    const consensus = createConsensus(spec);
    const store = await openStore(config, options.dataDir);
    let pool: ProcessingPool | undefined;
    let node: SafechainNode | undefined;
    try {
      const archive = config.type === 'full' || config.type === 'archive';
      const retention = createRetentionFilter(
        archive
          ? { mode: 'archive' }
          : { mode: 'filter', origins: config.retention.origins, contentTypes: config.retention.contentTypes, traceCodes: config.retention.traceCodes },
        key.id,
      );
      pool = await ProcessingPool.start({
        size: config.processing.workers > 0 ? config.processing.workers : availableParallelism(),
        seed: fromHex(key.seedHex()),
      });
      const started = pool;
      const known = new KnownValidTransactions();
      const verifications = new InFlightVerifications((txs) => started.verifyTransactions(txs));
      const provider = getCryptoProvider();
      const tree = await BlockTree.open({
        store,
        consensus,
        genesis,
        retention,
        verifyTransactions: cachedVerifier(known, (txs) => verifications.verify(txs), provider),
      });
      // Local records are signed here and peers' transactions are verified before they are added: the mempool need
      // not verify again.
      const mempool = await Mempool.open({ store, maxCount: config.mempool.maxCount, maxBytes: config.mempool.maxBytes, chain: tree, verifyTransactions: false });
      const sequence = await SequenceLease.open(store);
      // Archive queries (GraphQL) on the node types that keep all transaction data.
      const queryIndex = archive ? await QueryIndex.open(join(options.dataDir, 'chain', 'query.sqlite'), tree, store, log.child({ module: 'query' })) : null;
      // A validator of a chain whose blocks need several seals keeps a durable record of what it sealed.
      const sealGuard = sealThreshold(spec) > 1 && spec.consensus.engine === 'poa' && mayProduce(spec, key.id) ? await SealGuard.open(store) : null;
      node = new SafechainNode({ options, key, genesis, spec, consensus, store, tree, mempool, pool, retention, known, verifications, sequence, log, queryIndex, sealGuard });
      await node.#startModules();
      return node;
    } catch (error) {
      // Modules started before the failure (producer, API, timers) would keep the process alive on a closed store.
      if (node !== undefined) await node.stop().catch(() => undefined);
      await pool?.stop().catch(() => undefined);
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  async #startModules(): Promise<void> {
    this.#wireMetrics();
    // Transactions in a canonical block need no verification shortcut any more (a reorg verifies them again).
    this.tree.on('tip:changed', (e) => this.#known.forget(e.included));
    this.#futureTimer = setInterval(() => {
      const at = this.tree.nextFutureRetryAt();
      if (at !== undefined && at <= Date.now()) void this.tree.retryFuture().catch((error: unknown) => this.log.error('retrying future blocks failed', { error }));
    }, 500);
    this.#futureTimer.unref();
    if (this.config.api.enabled) {
      this.#api = await createApiServer(this, this.config.api);
      const address = await this.#api.listen({ host: this.config.api.host, port: this.config.api.port });
      this.#apiUrl = address;
    }
    if (this.network !== null) {
      await this.network.start();
      this.producer?.on('block:produced', ({ block }) => {
        if (this.network?.status().state === 'running') this.network.broadcastBlock(block);
      });
      // When each node committed each block, by its own clock: how long blocks take to cross the network.
      this.tree.on('tip:changed', (e) => this.log.debug('block committed', { height: e.tip.height, hash: toHex(e.tip.hash), transactions: e.included.length }));
    }
    this.#ready = true;
    this.producer?.start();
    if (this.ingest !== null) await this.ingest.start();
  }

  #wireMetrics(): void {
    const m = this.metricsRegistry;
    m.gauge('safechain_chain_height', 'Height of the canonical tip', () => this.tree.tip.height);
    m.gauge('safechain_mempool_transactions', 'Transactions waiting for a block', () => this.mempool.size);
    m.gauge('safechain_mempool_bytes', 'Encoded bytes waiting for a block', () => this.mempool.bytes);
    m.gauge('safechain_store_bytes', 'Bytes the store occupies on disk', () => this.store.sizeBytes());
    m.gauge('safechain_orphan_blocks', 'Blocks held until their parent arrives', () => this.tree.orphanCount);
    m.gauge('safechain_uptime_seconds', 'Seconds since the node started', () => Math.round((Date.now() - this.#started) / 1000));
    if (this.network !== null) {
      const network = this.network;
      m.gauge('safechain_peers_connected', 'Peers connected on the local network', () => network.status().counts.connected);
      m.gauge('safechain_peers_known', 'Peers known online on the local network', () => network.status().counts.online);
      m.gauge('safechain_network_bytes_in', 'Bytes received from peers', () => network.status().bytes.in);
      m.gauge('safechain_network_bytes_out', 'Bytes sent to peers', () => network.status().bytes.out);
      m.gauge('safechain_network_drops', 'Peer messages dropped (all reasons; see /v1/status for each)', () =>
        Object.values(network.status().drops).reduce((a, b) => a + b, 0),
      );
      m.gauge('safechain_network_resent_transactions', 'Ids of long-pending transactions announced to peers again', () => network.status().resent.transactions);
    }
    this.tree.on('tip:changed', (e) => {
      m.inc('safechain_blocks_committed_total', 'Blocks that joined the canonical chain');
      m.inc('safechain_transactions_committed_total', 'Transactions that joined the canonical chain', e.included.length);
      const now = Date.now();
      if (this.#lastBlockAt > 0) m.set('safechain_block_interval_seconds', 'Time between the last two canonical blocks', (now - this.#lastBlockAt) / 1000);
      this.#lastBlockAt = now;
    });
    this.tree.on('reorg', () => m.inc('safechain_reorgs_total', 'Reorganisations of the canonical chain'));
    this.tree.on('block:rejected', (e) => {
      m.inc('safechain_blocks_rejected_total', 'Blocks refused, by reason', 1, { reason: e.reason });
      this.log.warn('block rejected', { reason: e.reason, message: e.message });
    });
    this.tree.on('equivocation', (e) => this.log.error('validator signed two blocks at one height', { validator: e.validator, height: e.height }));
    this.producer?.on('block:produced', ({ block }) => this.log.debug('block produced', { height: block.header.height, transactions: block.data.length }));
    this.producer?.on('production:failed', ({ error }) => this.log.warn('block production failed', { error }));
    if (this.#cannotProduce !== undefined) this.log.warn('not producing blocks', { reason: this.#cannotProduce });
  }

  #createIngest(): FileIngest {
    const c = this.config.ingest;
    const mode =
      c.mode === 'file' ? { kind: 'file' as const } : { kind: c.mode, recordsPerTransaction: c.recordsPerTransaction };
    const sink: IngestSink = {
      sign: async (records: readonly IngestRecord[]) => this.#sign(records.map((r) => ({ ...r }))),
      commit: async (txs: readonly Transaction[]) => {
        await this.#commitWhenRoom(txs);
      },
    };
    const ingest = new FileIngest({
      inbox: resolveIn(this.dataDir, c.inbox),
      processedDir: resolveIn(this.dataDir, c.processed),
      rejectedDir: resolveIn(this.dataDir, c.rejected),
      journalDir: join(this.dataDir, '.ingest-journal'),
      afterIngest: c.deleteProcessed ? 'delete' : 'move',
      criteria: { extensions: c.extensions, maxFileBytes: c.maxFileBytes },
      mode,
      rules: {
        contentTypeByExtension: c.contentTypes,
        ...(c.traceCodePattern !== null ? { traceCodeRules: [new RegExp(c.traceCodePattern)] } : {}),
      },
      logger: this.log.child({ module: 'ingest' }),
    }, sink);
    ingest.on('file:ingested', (e) => {
      this.#ingestCounts.files++;
      this.metricsRegistry.inc('safechain_ingest_files_total', 'Files ingested');
      this.log.info('file ingested', { file: e.name, transactions: e.transactions.length });
    });
    ingest.on('file:rejected', (e) => {
      this.#ingestCounts.rejected++;
      this.metricsRegistry.inc('safechain_ingest_files_rejected_total', 'Files refused');
      this.log.warn('file rejected', { file: e.name, reason: e.reason });
    });
    ingest.on('ingest:progress', (p) => {
      if (p.phase === 'rescan' || p.queued > 1000) this.log.info('ingest progress', { ...p });
    });
    return ingest;
  }

  /** Assigns sequence numbers and signs on the worker pool. */
  async #sign(records: readonly RecordInput[]): Promise<Transaction[]> {
    records.forEach(checkRecord);
    const first = await this.#sequence.take(records.length);
    const now = Date.now();
    const drafts: RecordDraft[] = records.map((r, i) => ({
      chainId: this.chainId,
      payload: r.payload,
      sequence: first + i,
      createdAt: now,
      contentType: r.contentType ?? 'application/octet-stream',
      traceCodes: r.traceCodes ?? [],
      ...(r.source !== undefined ? { source: r.source } : {}),
    }));
    const signed = await this.pool.signRecordsWithIds(drafts);
    const txs: Transaction[] = new Array<Transaction>(signed.length);
    signed.forEach(({ transaction, id }, i) => {
      txs[i] = transaction;
      if (transaction.payload !== undefined) this.#signedHere.add(transaction.payload);
      this.#signedIds.set(transaction, id);
    });
    return txs;
  }

  /**
   * Makes signed transactions durable in the mempool. Callers arriving while a commit runs, or in the same turn of
   * the event loop, are committed together next: one store transaction and one fsync for many API batches and files.
   * @throws MempoolFullError, RecordRejectedError, store errors
   */
  #commit(txs: readonly Transaction[]): Promise<readonly Uint8Array[]> {
    return new Promise<readonly Uint8Array[]>((resolve, reject) => {
      this.#commitQueue.push({ txs, resolve, reject });
      if (this.#committing) return;
      this.#committing = true;
      setImmediate(() => void this.#drainCommits());
    });
  }

  async #drainCommits(): Promise<void> {
    while (this.#commitQueue.length > 0) {
      const group = this.#commitQueue.splice(0);
      if (group.length > 1) {
        try {
          const ids = await this.#commitNow(group.flatMap((g) => g.txs));
          let at = 0;
          for (const g of group) g.resolve(ids.slice(at, (at += g.txs.length)));
          continue;
        } catch {
          // A refusal (mempool full, a malformed transaction) belongs to one caller, not to the group: each is tried
          // alone, and what the group commit already stored comes back as duplicates, which count as held.
        }
      }
      for (const g of group) await this.#commitNow(g.txs).then(g.resolve, g.reject);
    }
    this.#committing = false;
  }

  async #commitNow(txs: readonly Transaction[]): Promise<readonly Uint8Array[]> {
    const report = await this.mempool.add(txs, { ids: txs.map((tx) => this.#signedIds.get(tx)) });
    const ids: Uint8Array[] = [];
    for (const o of report.outcomes) {
      if (o.status === 'invalid') {
        // Only size is the caller's doing; anything else about a transaction this node signed is the node's fault.
        if (o.reason === 'too-large') throw new RecordRejectedError(`record too large for the mempool: ${o.message}`);
        throw new Error(`the mempool refused a transaction this node signed (${o.reason}): ${o.message}`);
      }
      ids.push(o.id);
    }
    // Payloads signed in this process were hashed from these very arrays; a transaction read back from the ingest
    // journal after a restart was not, and keeps the full payload check.
    this.#known.remember(
      ids,
      txs.map((tx) => (tx.payload !== undefined && this.#signedHere.has(tx.payload) ? tx.payload : undefined)),
    );
    // Flood to the local network once durable here: a peer never holds a record this node could lose.
    if (this.network?.status().state === 'running') this.network.broadcastTransactions(txs);
    this.metricsRegistry.inc('safechain_ingest_transactions_total', 'Transactions ingested (durable)', report.added);
    return ids;
  }

  /**
   * The ingest's commit: a full mempool is waited out (blocks make room) instead of failing, because the ingest
   * finishes journalled files at start, before the first block, and a refusal there would stop the node from starting.
   * The API answers 429 instead. @throws MempoolFullError after the wait, store errors
   */
  async #commitWhenRoom(txs: readonly Transaction[]): Promise<void> {
    const deadline = Date.now() + Math.max(30_000, 2 * this.config.producer.blockIntervalMs);
    for (;;) {
      try {
        await this.#commit(txs);
        return;
      } catch (error) {
        const full = error instanceof Error && error.name === 'MempoolFullError';
        if (!full || this.#stopping !== undefined || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  // ---- NodeService ----

  ready(): boolean {
    return this.#ready;
  }

  async submit(records: readonly RecordInput[]): Promise<readonly string[]> {
    if (!this.#ready) throw new NodeNotReadyError('the node is not running');
    const ids = await this.#commit(await this.#sign(records));
    return ids.map(toHex);
  }

  async transaction(idHex: string, withPayload: boolean): Promise<TxView | undefined> {
    const id = fromHex(idHex, 32);
    const stored = await this.tree.getTransaction(id);
    if (stored !== undefined) {
      return txView(idHex, stored.transaction, withPayload, { blockHash: toHex(stored.blockHash), height: stored.height, index: stored.index });
    }
    const pending = this.mempool.get(id);
    return pending === undefined ? undefined : txView(idHex, pending, withPayload, null);
  }

  async blockByHash(hashHex: string): Promise<BlockView | undefined> {
    const hash = fromHex(hashHex, 32);
    const info = await this.tree.getBlockInfo(hash);
    if (info === undefined) return undefined;
    const ids = (await this.store.getLeaves(hash)) ?? [];
    const h = info.header;
    return {
      hash: hashHex,
      height: h.height,
      timestamp: h.timestamp,
      previousHash: toHex(h.previousHash),
      merkleRoot: toHex(h.merkleRoot),
      txCount: h.txCount,
      difficulty: h.difficulty.toString(),
      nonces: h.nonces.map(String),
      signers: h.signatures.map((s) => toHex(s.publicKey)),
      canonical: await this.tree.isCanonical(hash),
      transactionIds: ids.map(toHex),
    };
  }

  async blockByHeight(height: number): Promise<BlockView | undefined> {
    const hash = await this.tree.getCanonicalHash(height);
    return hash === undefined ? undefined : this.blockByHash(toHex(hash));
  }

  async status(): Promise<NodeStatusView> {
    const tip = this.tree.tip;
    return {
      type: this.type,
      identity: this.key.id,
      chainId: toHex(this.chainId),
      chainName: this.spec.name,
      consensus: this.spec.consensus.engine,
      height: tip.height,
      tip: toHex(tip.hash),
      mempool: { count: this.mempool.size, bytes: this.mempool.bytes },
      store: { kind: this.store.kind, bytes: await this.store.sizeBytes() },
      uptimeMs: Date.now() - this.#started,
      ingest: {
        inbox: this.ingest === null ? null : resolveIn(this.dataDir, this.config.ingest.inbox),
        files: this.#ingestCounts.files,
        rejected: this.#ingestCounts.rejected,
      },
      network: this.network === null ? null : networkSummary(this.network),
    };
  }

  async proof(idHex: string): Promise<ProofBundle | 'pending' | undefined> {
    const id = fromHex(idHex, 32);
    const bundle = await this.tree.proofFor(id);
    if (bundle !== undefined) return bundle;
    return this.mempool.has(id) ? 'pending' : undefined;
  }

  async metrics(): Promise<string> {
    return this.metricsRegistry.render();
  }

  readonly query: ((query: TransactionQuery) => Promise<TransactionPage>) | undefined;

  /** The API's base URL once listening. */
  get apiUrl(): string | null {
    return this.#apiUrl;
  }

  async #closeApi(): Promise<void> {
    const api = this.#api;
    if (api === null) return;
    const closed = api.close();
    const cut = setTimeout(() => {
      this.log.warn('stopping: closing the API connections still open', { afterMs: API_CLOSE_GRACE_MS });
      api.server.closeAllConnections();
    }, API_CLOSE_GRACE_MS);
    try {
      await closed;
    } finally {
      clearTimeout(cut);
    }
  }

  /** Stops in reverse order of start: intake first, then production, API, workers, store. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async (): Promise<void> => {
      this.#ready = false;
      clearInterval(this.#futureTimer);
      // Each step is named in the log when it takes long, so a stop that hangs says what it waits for.
      const step = async (name: string, run: () => Promise<void> | undefined): Promise<void> => {
        const started = Date.now();
        const watch = setInterval(() => this.log.warn('stopping: still waiting', { step: name, seconds: Math.round((Date.now() - started) / 1000) }), STOP_STEP_WARN_MS);
        watch.unref();
        try {
          await run();
        } catch (error) {
          this.log.error(`stopping: ${name} failed`, { error });
        } finally {
          clearInterval(watch);
        }
      };
      await step('ingest', () => this.ingest?.stop());
      await step('producer', () => this.producer?.stop());
      await step('api', () => this.#closeApi());
      await step('network', () => this.network?.stop());
      this.mempool.close();
      await step('query index', () => this.#queryIndex?.close());
      await step('workers', () => this.pool.stop());
      await this.store.close();
    })();
    return this.#stopping;
  }
}

/**
 * Whether the chain lets this key seal at all: a full node of a chain whose genesis names other producers (or
 * validators) runs no Block Producer, which would otherwise go through the mempool every interval for nothing.
 */
/** Distinct seals a block of the chain needs (1 for every engine but poa). */
function sealThreshold(spec: ChainSpec): number {
  const c = spec.consensus;
  return c.engine === 'poa' && typeof c['threshold'] === 'number' ? c['threshold'] : 1;
}

/** The keys (hex) the chain lets seal blocks: `single` producers or `poa` validators; undefined for engines open to all. */
function sealerKeys(spec: ChainSpec): string[] | undefined {
  const c = spec.consensus;
  const listed = c.engine === 'single' ? c['producers'] : c.engine === 'poa' ? c['validators'] : undefined;
  return Array.isArray(listed) ? listed.filter((k): k is string => typeof k === 'string') : undefined;
}

function mayProduce(spec: ChainSpec, keyId: string): boolean {
  const listed = sealerKeys(spec);
  return listed === undefined || listed.some((k) => k.toLowerCase() === keyId.toLowerCase());
}

function networkSummary(network: Network): Readonly<Record<string, unknown>> {
  const s = network.status();
  return {
    listening: s.listening ?? null,
    peers: s.peers.map((p) => ({ key: p.key, address: p.address, direction: p.direction, score: p.score })),
    counts: s.counts,
    messages: s.messages,
    bytes: s.bytes,
    drops: s.drops,
    // Refused handshakes show here (notAMember, banned, ...): an operator's first question when a node stays alone.
    disconnects: s.disconnects,
    sync: s.sync,
    // Ids of long-pending transactions announced to peers again: climbs when blocks do not take records in.
    resent: s.resent,
  };
}

function txView(idHex: string, tx: Transaction, withPayload: boolean, block: TxView['block']): TxView {
  const h = tx.header;
  return {
    id: idHex,
    status: block === null ? 'pending' : 'committed',
    block,
    origin: toHex(h.origin),
    sequence: h.sequence,
    createdAt: h.createdAt,
    contentType: h.contentType,
    source: h.source ?? null,
    traceCodes: h.traceCodes,
    payloadHash: toHex(h.payloadHash),
    payloadSize: h.payloadSize,
    signature: toHex(tx.signature),
    payload: withPayload && tx.payload !== undefined ? toBase64(tx.payload) : null,
    stripped: tx.payload === undefined,
  };
}

