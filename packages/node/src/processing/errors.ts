import { SafechainError } from '@safechain/core';

/**
 * Errors of the processing pool: one class per condition, each with a literal `name`, so callers branch on
 * `instanceof` or `name`.
 */

/** The pool was used before `start()` finished or after `stop()`; work still queued at `stop()` fails with it. */
export class ProcessingPoolStoppedError extends SafechainError {
  override readonly name = 'ProcessingPoolStoppedError' as const;
}

/**
 * A worker thread died (uncaught exception, `process.exit`, out of memory) while it held a batch. That batch failed
 * and nothing of it was returned; the worker has been replaced. Signing the same drafts again is safe.
 */
export class WorkerCrashedError extends SafechainError {
  override readonly name = 'WorkerCrashedError' as const;
  /** Thread id of the worker that died. */
  readonly threadId: number;

  constructor(threadId: number, detail: string, options?: { readonly cause?: unknown }) {
    super(`processing worker ${threadId} died: ${detail}`, options);
    this.threadId = threadId;
  }
}

/** A worker thread could not start (its module failed to load, or it died before it was ready). */
export class WorkerStartError extends SafechainError {
  override readonly name = 'WorkerStartError' as const;
}

/** `signRecords` was called on a pool started without a node key seed. */
export class NoSigningKeyError extends SafechainError {
  override readonly name = 'NoSigningKeyError' as const;
}

/** A worker reported an error other than an invalid argument while processing a batch. */
export class ProcessingTaskError extends SafechainError {
  override readonly name = 'ProcessingTaskError' as const;
}
