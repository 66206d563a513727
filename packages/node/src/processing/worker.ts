/**
 * A processing worker thread: signs, verifies and hashes batches for the pool in `pool.ts`. It holds the node key
 * (derived from the seed in `workerData`) and answers one request at a time; every failure of a request is reported
 * as a `failed` message so that only a real crash ends the thread.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  NodeKey,
  decodeTransaction,
  getCryptoProvider,
  transactionId,
  txSigningMessage,
  verifyTransaction,
  type TxHeader,
} from '@safechain/core';
import {
  SIGN_RESULT_BYTES,
  unpackItems,
  type WorkerInit,
  type WorkerRequest,
  type WorkerResponse,
} from './protocol.js';

function fail(message: string): never {
  throw new Error(`processing worker: ${message}`);
}

if (isMainThread || parentPort === null) fail('must run in a worker thread started by ProcessingPool');
const port = parentPort;
const init = workerData as WorkerInit;
const key = init.seed === null ? null : NodeKey.fromSeed(init.seed);
const provider = getCryptoProvider();
let crashOnNextTask: 'throw' | 'exit' | null = null;

function post(message: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** Carries the index of the failing item to the pool's error message. */
class ItemError extends Error {
  constructor(
    readonly index: number,
    readonly inner: unknown,
  ) {
    super(inner instanceof Error ? inner.message : String(inner));
    this.name = inner instanceof Error ? inner.name : 'Error';
  }
}

function sign(request: Extract<WorkerRequest, { type: 'sign' }>): ArrayBuffer {
  if (key === null) throw new Error('no signing key');
  const items = unpackItems(request.batch);
  const out = new Uint8Array(items.length * SIGN_RESULT_BYTES);
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    const meta = request.meta[i]!;
    const payload = item.subarray(32);
    // The header createTransaction would build (the pool checked the payload's type and size). Only the signature
    // and the payload hash go back, so the copies createTransaction makes for its caller (payload, header, chain id)
    // are skipped: the same bytes are signed.
    const payloadHash = provider.sha256(payload);
    const base = {
      chainId: item.subarray(0, 32),
      origin: key.publicKey,
      sequence: meta.sequence,
      createdAt: meta.createdAt,
      contentType: meta.contentType,
      traceCodes: meta.traceCodes,
      payloadHash,
      payloadSize: payload.length,
    };
    const header: TxHeader = meta.source === null ? base : { ...base, source: meta.source };
    let signature: Uint8Array;
    try {
      signature = key.sign(txSigningMessage(header));
    } catch (error) {
      throw new ItemError(i, error);
    }
    out.set(signature, i * SIGN_RESULT_BYTES);
    out.set(payloadHash, i * SIGN_RESULT_BYTES + 64);
    // The id too: the mempool needs it at once, and hashing it here keeps that work off the node's main thread.
    out.set(transactionId({ header, signature }, provider), i * SIGN_RESULT_BYTES + 96);
  }
  return out.buffer;
}

function verify(request: Extract<WorkerRequest, { type: 'verify' }>): ArrayBuffer {
  const items = unpackItems(request.batch);
  const out = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    try {
      const options = request.chainId === null ? { provider } : { provider, chainId: request.chainId };
      // Views into the batch, not copies: the transaction lives only for this check.
      out[i] = verifyTransaction(decodeTransaction(items[i]!, { copy: false }), options).valid ? 1 : 0;
    } catch {
      out[i] = 0; // not decodable, or a header core refuses to encode: never valid
    }
  }
  return out.buffer;
}

function hash(request: Extract<WorkerRequest, { type: 'hash' }>): ArrayBuffer {
  const items = unpackItems(request.batch);
  const out = new Uint8Array(items.length * 32);
  for (let i = 0; i < items.length; i++) out.set(provider.sha256(items[i]!), i * 32);
  return out.buffer;
}

port.on('message', (request: WorkerRequest) => {
  if (request.type === 'crash-on-next-task') {
    if (init.testHooks) crashOnNextTask = request.mode;
    return;
  }
  if (crashOnNextTask === 'exit') process.exit(70);
  if (crashOnNextTask === 'throw') throw new Error('processing worker: crash requested by a test hook');
  try {
    switch (request.type) {
      case 'sign': {
        const out = sign(request);
        const data = request.batch.data;
        post({ type: 'signed', id: request.id, out, data }, [out, data]);
        break;
      }
      case 'verify': {
        const out = verify(request);
        post({ type: 'verified', id: request.id, out }, [out]);
        break;
      }
      case 'hash': {
        const out = hash(request);
        post({ type: 'hashed', id: request.id, out }, [out]);
        break;
      }
    }
  } catch (error) {
    const errorName = error instanceof Error ? error.name : 'Error';
    const message = error instanceof Error ? error.message : String(error);
    const failed = { type: 'failed', id: request.id, errorName, message } as const;
    post(error instanceof ItemError ? { ...failed, index: error.index } : failed);
  }
});

post({ type: 'ready', publicKey: key === null ? null : key.publicKey.slice() });
