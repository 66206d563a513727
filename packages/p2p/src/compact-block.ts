import { concatBytes, encodeBlockHeader, encodeTransaction, stripTransaction, toHex, transactionId, type Block } from '@safechain/core';
import { MessageType } from './messages.js';

/**
 * A flooded block, encoded once per block and assembled once per peer: the transactions a peer is known to have
 * (it sent them to us, or we sent them to it) travel stripped, the peer restores their payloads from what it holds,
 * and a block of records every node already has costs a few hundred bytes a record instead of the whole payload
 * again. The bytes are core's block encoding (the header, then each transaction full or stripped), so the message is
 * an ordinary BLOCK message whatever the mix.
 */
export class CompactBlock {
  /** Transaction ids (hex), in block order. */
  readonly ids: readonly string[];
  readonly #block: Block;
  readonly #header: Uint8Array;
  readonly #full: (Uint8Array | undefined)[];
  readonly #stripped: (Uint8Array | undefined)[];
  readonly #maxMessageBytes: number;

  /** @throws InvalidArgumentError when the block is malformed (a caller bug: blocks here were accepted). */
  constructor(block: Block, maxMessageBytes: number) {
    this.#block = block;
    this.#header = encodeBlockHeader(block.header);
    this.ids = block.data.map((tx) => toHex(transactionId(tx)));
    this.#full = new Array<Uint8Array | undefined>(block.data.length);
    this.#stripped = new Array<Uint8Array | undefined>(block.data.length);
    this.#maxMessageBytes = maxMessageBytes;
  }

  #strippedAt(i: number): Uint8Array {
    return (this.#stripped[i] ??= encodeTransaction(stripTransaction(this.#block.data[i]!)));
  }

  #fullAt(i: number): Uint8Array {
    const tx = this.#block.data[i]!;
    return tx.payload === undefined ? this.#strippedAt(i) : (this.#full[i] ??= encodeTransaction(tx));
  }

  /**
   * The BLOCK message for a peer that has the transactions `known` says it has: those stripped, the others in full.
   * When that does not fit one message, every transaction goes stripped; undefined when even that does not fit.
   */
  messageFor(known: (id: string) => boolean): Uint8Array | undefined {
    const n = this.ids.length;
    const parts: Uint8Array[] = new Array<Uint8Array>(n + 2);
    parts[0] = Uint8Array.of(MessageType.block);
    parts[1] = this.#header;
    let size = 1 + this.#header.length;
    for (let i = 0; i < n; i++) {
      const part = known(this.ids[i]!) ? this.#strippedAt(i) : this.#fullAt(i);
      parts[i + 2] = part;
      size += part.length;
    }
    if (size > this.#maxMessageBytes) {
      size = 1 + this.#header.length;
      for (let i = 0; i < n; i++) {
        parts[i + 2] = this.#strippedAt(i);
        size += parts[i + 2]!.length;
      }
      if (size > this.#maxMessageBytes) return undefined;
    }
    return concatBytes(...parts);
  }
}
