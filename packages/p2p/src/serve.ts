import { encodeBlock, encodeTransaction, stripTransaction, type Block, type Transaction } from '@safechain/core';
import type { LedgerAdapter } from './adapter.js';
import { MAX_HEADERS_PER_MESSAGE } from './limits.js';
import { encodeBlocksResponse, encodeMessage, prefixedSize, type PeerEntry, type RequestMessage } from './messages.js';
import type { Peer } from './peer.js';

/**
 * Answers to peers' requests, each kept within the message size limit: HEADERS cut short, BLOCKS stopping before
 * the first block that does not fit (a lone block too large is sent stripped), TRANSACTION_DATA leaving out what
 * does not fit. An adapter failure leaves the request unanswered (the peer times out) and is reported.
 */

export interface ServeContext {
  readonly adapter: LedgerAdapter;
  readonly maxMessageBytes: number;
  /** The peer exchange answer for `requester`. */
  onlineEntries(requester: Peer): PeerEntry[];
  adapterFailed(operation: string, error: unknown): void;
}

/** Encodes a block for one message: whole when it fits, else with its transactions stripped, else undefined. */
export function encodeBlockForWire(block: Block, maxMessageBytes: number): Uint8Array | undefined {
  const whole = encodeBlock(block);
  if (whole.length + 1 <= maxMessageBytes) return whole;
  const stripped = encodeBlock({ header: block.header, data: block.data.map(stripTransaction) });
  return stripped.length + 1 <= maxMessageBytes ? stripped : undefined;
}

/** Answers `request` from `peer`. Never throws. */
export async function answerRequest(peer: Peer, request: RequestMessage, ctx: ServeContext): Promise<void> {
  const max = ctx.maxMessageBytes;
  const adapter = ctx.adapter;
  try {
    switch (request.type) {
      case 'getPeers':
        peer.send({ type: 'peers', id: request.id, entries: ctx.onlineEntries(peer) });
        return;
      case 'getTip':
        peer.send({ type: 'tip', id: request.id, tip: await adapter.tip() });
        return;
      case 'getHeaders': {
        let headers = [...(await adapter.headersFrom(request.fromHeight, Math.min(request.max, MAX_HEADERS_PER_MESSAGE)))];
        headers = headers.slice(0, request.max);
        let encoded = encodeMessage({ type: 'headers', id: request.id, headers });
        while (encoded.length > max && headers.length > 1) {
          headers = headers.slice(0, Math.ceil(headers.length / 2));
          encoded = encodeMessage({ type: 'headers', id: request.id, headers });
        }
        peer.sendEncoded('headers', encoded, false);
        return;
      }
      case 'getBlocks': {
        const out: Uint8Array[] = [];
        let size = 16;
        for (const hash of request.hashes) {
          const block = await adapter.getBlock(hash);
          if (block === undefined) break;
          let bytes = encodeBlock(block);
          if (size + prefixedSize(bytes.length) > max) {
            if (out.length > 0) break;
            const stripped = encodeBlockForWire(block, max);
            if (stripped === undefined || size + prefixedSize(stripped.length) > max) break;
            bytes = stripped;
          }
          out.push(bytes);
          size += prefixedSize(bytes.length);
        }
        peer.sendEncoded('blocks', encodeBlocksResponse(request.id, out), false);
        return;
      }
      case 'getTransactions': {
        const txs: Transaction[] = [];
        let size = 16;
        for (const id of request.ids) {
          const tx = await adapter.getTransaction(id);
          if (tx === undefined || tx.payload === undefined) continue;
          const length = encodeTransaction(tx).length;
          if (size + length > max) break;
          txs.push(tx);
          size += length;
        }
        peer.send({ type: 'transactionData', id: request.id, txs });
        return;
      }
      case 'getSeal': {
        // Only validators seal, and only through an adapter that can judge a block still gathering seals.
        const signature = adapter.cosign === undefined ? null : ((await adapter.cosign(request.block, { key: peer.key ?? '', address: peer.address })) ?? null);
        peer.send({ type: 'seal', id: request.id, signature });
        return;
      }
    }
  } catch (error) {
    ctx.adapterFailed(request.type, error);
  }
}
