import type { ProofBundle } from '@safechain/core';
import type { NodeType } from '../config.js';

/**
 * What the HTTP and GraphQL API needs from a node. The API is a thin adapter over this; the node implements it with
 * its Block Tree, Mempool, store and ingest. Keeping it an interface lets the API be tested against a real node and
 * lets other front ends (a CLI, an embedded host) use the same calls.
 */

/** A record to ingest, as an API caller gives it. */
export interface RecordInput {
  readonly payload: Uint8Array;
  readonly contentType?: string;
  readonly source?: string;
  readonly traceCodes?: readonly string[];
}

export interface TxLocationView {
  readonly blockHash: string;
  readonly height: number;
  readonly index: number;
}

/** A transaction as the API shows it. */
export interface TxView {
  readonly id: string;
  /** `pending`: durable in the mempool, not yet in a block. */
  readonly status: 'pending' | 'committed';
  readonly block: TxLocationView | null;
  readonly origin: string;
  readonly sequence: number;
  readonly createdAt: number;
  readonly contentType: string;
  readonly source: string | null;
  readonly traceCodes: readonly string[];
  readonly payloadHash: string;
  readonly payloadSize: number;
  readonly signature: string;
  /** Base64 payload; null when stripped here (or not requested). */
  readonly payload: string | null;
  readonly stripped: boolean;
}

export interface BlockView {
  readonly hash: string;
  readonly height: number;
  readonly timestamp: number;
  readonly previousHash: string;
  readonly merkleRoot: string;
  readonly txCount: number;
  readonly difficulty: string;
  readonly nonces: readonly string[];
  readonly signers: readonly string[];
  readonly canonical: boolean;
  readonly transactionIds: readonly string[];
}

export interface NodeStatusView {
  readonly type: NodeType;
  readonly identity: string;
  readonly chainId: string;
  readonly chainName: string;
  readonly consensus: string;
  readonly height: number;
  readonly tip: string;
  readonly mempool: { readonly count: number; readonly bytes: number };
  readonly store: { readonly kind: string; readonly bytes: number };
  readonly uptimeMs: number;
  readonly ingest: { readonly inbox: string | null; readonly files: number; readonly rejected: number };
  readonly network: Readonly<Record<string, unknown>> | null;
}

/** Filters of the archive query API (GraphQL). All given filters must match. */
export interface TransactionQuery {
  readonly traceCode?: string;
  readonly origin?: string;
  readonly contentType?: string;
  /** Creation time range, milliseconds since the epoch, inclusive. */
  readonly from?: number;
  readonly to?: number;
  /** Page size (bounded by the node) and the cursor of the previous page. */
  readonly limit: number;
  readonly after?: string;
}

export interface TransactionPage {
  readonly items: readonly TxView[];
  /** Pass as `after` to get the next page; null at the end. */
  readonly next: string | null;
}

export interface NodeService {
  readonly type: NodeType;
  /** Signs and stores records durably in the mempool; resolves with their ids once durable. */
  submit(records: readonly RecordInput[]): Promise<readonly string[]>;
  transaction(idHex: string, withPayload: boolean): Promise<TxView | undefined>;
  blockByHash(hashHex: string): Promise<BlockView | undefined>;
  blockByHeight(height: number): Promise<BlockView | undefined>;
  status(): Promise<NodeStatusView>;
  /** The proof bundle; `pending` while the transaction is not yet in a block. */
  proof(idHex: string): Promise<ProofBundle | 'pending' | undefined>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /** Archive queries; undefined on node types without mass storage. */
  readonly query: ((query: TransactionQuery) => Promise<TransactionPage>) | undefined;
  /** True while the node can take writes (false while starting or stopping). */
  ready(): boolean;
}
