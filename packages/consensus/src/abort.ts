import { AbortError } from './errors.js';

/**
 * Helpers for long-running seals: stop promptly when asked, and give the event loop its turn so a node keeps
 * serving peers and its API while it searches for a nonce.
 */

/** @throws AbortError (cause: the signal's reason) when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError('sealing aborted', { cause: signal.reason });
}

/**
 * Resolves after pending I/O callbacks have run. `setImmediate` where the platform has it (Node, Bun), otherwise a
 * zero-delay timer (browsers clamp those to a few milliseconds, which only slows the search a little).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve);
    else setTimeout(resolve, 0);
  });
}
