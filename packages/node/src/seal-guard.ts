import { blockHash, decodeBlock, encodeBlock, SafechainError, toHex, type Block } from '@safechain/core';
import type { ChainStore } from '@safechain/storage';

/** Meta key of the last height this node sealed, and the block it sealed there. */
const LAST_SEALED_KEY = 'poa.lastSealed';
/** Meta key of this node's own last proposal, whole: finished after a restart instead of sealing a second block. */
const PROPOSAL_KEY = 'poa.proposal';

/** The stored record of the last seal does not decode: the store is damaged. */
export class SealRecordCorruptError extends SafechainError {
  override readonly name = 'SealRecordCorruptError' as const;
}

/**
 * A validator signs at most one block per height: two seals by one validator at one height are equivocation, which
 * the other nodes detect and report, and which is what could let two conflicting blocks both become final. The guard
 * keeps the height and hash of the last block this node sealed (its own proposals and the blocks it co-signed) in
 * the store, durably before the seal leaves the node, so a restart does not forget it. A block at a lower height, or
 * another block at the same height, is refused; the same block again is allowed (a proposer asking twice).
 *
 * A proposer's own block is kept whole as well: a restart while it gathered seals would otherwise leave the height
 * stuck (the node may not seal a second block there, and validators that sealed the first may not seal another), so
 * the node finishes that block instead (`proposal`).
 */
export class SealGuard {
  readonly #store: ChainStore;
  #last: { readonly height: number; readonly hash: string } | undefined;
  #proposal: Block | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(store: ChainStore, last: { readonly height: number; readonly hash: string } | undefined, proposal: Block | undefined) {
    this.#store = store;
    this.#last = last;
    this.#proposal = proposal;
  }

  /** @throws SealRecordCorruptError; the store's errors. */
  static async open(store: ChainStore): Promise<SealGuard> {
    const raw = await store.getMeta(LAST_SEALED_KEY);
    const encoded = await store.getMeta(PROPOSAL_KEY);
    let proposal: Block | undefined;
    try {
      proposal = encoded === undefined ? undefined : decodeBlock(encoded);
    } catch (error) {
      throw new SealRecordCorruptError(`${PROPOSAL_KEY}: ${(error as Error).message}`, { cause: error });
    }
    if (raw === undefined) return new SealGuard(store, undefined, proposal);
    if (raw.length !== 40) throw new SealRecordCorruptError(`${LAST_SEALED_KEY}: expected 40 bytes, got ${raw.length}`);
    const height = Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0));
    return new SealGuard(store, { height, hash: toHex(raw.subarray(8)) }, proposal);
  }

  /** This node's own block at the height it last sealed, when that block was its proposal; else undefined. */
  get proposal(): Block | undefined {
    const p = this.#proposal;
    const last = this.#last;
    if (p === undefined || last === undefined || p.header.height !== last.height) return undefined;
    return toHex(blockHash(p.header)) === last.hash ? p : undefined;
  }

  /** The last height and block hash sealed, if any. */
  get last(): { readonly height: number; readonly hash: string } | undefined {
    return this.#last;
  }

  /**
   * Claims `height` for the block `hash` (32 bytes). Resolves true when this node may seal it (recorded durably
   * first), false when it sealed another block at this height or has sealed a higher one. Claims run one at a time.
   */
  claim(height: number, hash: Uint8Array): Promise<boolean> {
    return this.#claim(height, hash, undefined);
  }

  /** `claim` for this node's own proposal, which is kept whole with the claim (see `proposal`). */
  claimProposal(block: Block): Promise<boolean> {
    return this.#claim(block.header.height, blockHash(block.header), block);
  }

  #claim(height: number, hash: Uint8Array, proposal: Block | undefined): Promise<boolean> {
    const run = this.#tail.then(async () => {
      const key = toHex(hash);
      const last = this.#last;
      if (last !== undefined && (height < last.height || (height === last.height && key !== last.hash))) return false;
      if (last !== undefined && height === last.height) return true;
      const value = new Uint8Array(40);
      new DataView(value.buffer).setBigUint64(0, BigInt(height));
      value.set(hash, 8);
      const meta: [string, Uint8Array][] = [[LAST_SEALED_KEY, value]];
      if (proposal !== undefined) meta.push([PROPOSAL_KEY, encodeBlock(proposal)]);
      await this.#store.commit({ meta });
      this.#last = { height, hash: key };
      if (proposal !== undefined) this.#proposal = proposal;
      return true;
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
