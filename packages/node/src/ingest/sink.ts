import type { Transaction } from '@safechain/core';

/**
 * Where the ingest hands what it reads. The node implements it with the processing pool (signing) and the mempool
 * (durability); tests use a file log.
 */

/** One transaction's worth of data from a source, before signing. */
export interface IngestRecord {
  readonly payload: Uint8Array;
  readonly contentType: string;
  /** The file name, with the line range in line mode (`batch.csv#L2-L11`). */
  readonly source: string;
  readonly traceCodes: readonly string[];
  /** Milliseconds since the epoch: when the ingest read the file. */
  readonly createdAt: number;
}

/**
 * The two steps the ingest needs, so that it can journal signed transactions before they become durable.
 *
 * Trust: records come from untrusted files but have been bounded and validated by the ingest (sizes within core's
 * limits).
 *
 * Sequence numbers: the sink assigns them in `sign`. A transaction can be signed in one run and committed in the next
 * (from the journal), so the counter must never hand out a number that a journalled transaction may hold. Either
 * persist a high-water mark before signing with it (reserve blocks of numbers durably), or, with a single FileIngest,
 * rely on it committing every journalled transaction in `start()` before it signs anything new, and raise the
 * counter above every sequence that `commit` sees. Transactions signed but never journalled leave gaps.
 */
export interface IngestSink {
  /**
   * Signs one transaction per record, in order: chain id, origin and sequence are the sink's. Nothing is durable yet.
   */
  sign(records: readonly IngestRecord[]): Promise<readonly Transaction[]>;
  /**
   * Makes the transactions durable and resolves only then. Idempotent: ids the sink already holds are no-ops, because
   * after a crash the ingest commits journalled transactions again.
   */
  commit(transactions: readonly Transaction[]): Promise<void>;
}
