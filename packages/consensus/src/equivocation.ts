import {
  blockHash,
  blockSigningMessage,
  equalBytes,
  toHex,
  verifySignature,
  type BlockHeader,
  type CryptoProvider,
} from '@safechain/core';
import type { EquivocationEvidence } from './consensus.js';
import type { KeySet } from './options.js';

/**
 * Equivocation detection for proof of authority: a validator that signs two different blocks at one height breaks
 * the promise finality rests on. The detector remembers, per height, which block each validator signed, and reports
 * a second, different block signed by the same validator as evidence.
 *
 * Memory is bounded twice: only the last `heightWindow` heights (counted back from the highest observed) are
 * remembered, at most one entry per validator per height; and at most `evidenceLimit` pieces of evidence are kept,
 * oldest dropped first. Evidence is always checked: both headers carry a valid signature by the validator, even if a
 * caller observed a header it had not validated.
 */

export interface EquivocationDetectorOptions {
  readonly validators: KeySet;
  readonly heightWindow: number;
  readonly evidenceLimit: number;
  readonly provider: CryptoProvider;
}

interface Signed {
  readonly hash: Uint8Array;
  readonly header: BlockHeader;
}

function sealOf(header: BlockHeader, publicKey: Uint8Array): Uint8Array | undefined {
  return header.signatures.find((s) => equalBytes(s.publicKey, publicKey))?.signature;
}

export class EquivocationDetector {
  readonly #options: EquivocationDetectorOptions;
  /** height -> validator (hex) -> the block it signed there. */
  readonly #signed = new Map<number, Map<string, Signed>>();
  /** `validator:height:firstHash:secondHash` -> evidence, in the order found. */
  readonly #evidence = new Map<string, EquivocationEvidence>();
  #highest = -1;

  constructor(options: EquivocationDetectorOptions) {
    this.#options = options;
  }

  /** Records the validator seals of `header`; returns the evidence it completes (usually none). */
  observe(header: BlockHeader): EquivocationEvidence[] {
    const { heightWindow, validators, provider } = this.#options;
    if (header.height + heightWindow <= this.#highest) return [];
    if (header.height > this.#highest) {
      this.#highest = header.height;
      this.#prune();
    }
    const hash = blockHash(header, provider);
    let atHeight = this.#signed.get(header.height);
    if (atHeight === undefined) {
      atHeight = new Map();
      this.#signed.set(header.height, atHeight);
    }
    const found: EquivocationEvidence[] = [];
    for (const seal of header.signatures) {
      const validator = toHex(seal.publicKey);
      if (!validators.index.has(validator)) continue;
      const earlier = atHeight.get(validator);
      if (earlier === undefined) {
        atHeight.set(validator, { hash, header });
        continue;
      }
      if (equalBytes(earlier.hash, hash)) continue;
      // A conflict: only now is it worth verifying both signatures.
      if (!this.#signedBy(seal.publicKey, hash, seal.signature)) continue;
      const earlierSeal = sealOf(earlier.header, seal.publicKey);
      if (earlierSeal === undefined || !this.#signedBy(seal.publicKey, earlier.hash, earlierSeal)) {
        atHeight.set(validator, { hash, header }); // the earlier entry was never really signed: forget it
        continue;
      }
      const key = `${validator}:${header.height}:${toHex(earlier.hash)}:${toHex(hash)}`;
      if (this.#evidence.has(key)) continue;
      const evidence: EquivocationEvidence = { validator, height: header.height, first: earlier.header, second: header };
      this.#remember(key, evidence);
      found.push(evidence);
    }
    return found;
  }

  /** Evidence found so far, oldest first (at most `evidenceLimit`). */
  evidence(): readonly EquivocationEvidence[] {
    return [...this.#evidence.values()];
  }

  #signedBy(publicKey: Uint8Array, hash: Uint8Array, signature: Uint8Array): boolean {
    return verifySignature(publicKey, blockSigningMessage(hash), signature, this.#options.provider);
  }

  #remember(key: string, evidence: EquivocationEvidence): void {
    this.#evidence.set(key, evidence);
    while (this.#evidence.size > this.#options.evidenceLimit) {
      const oldest = this.#evidence.keys().next().value;
      if (oldest === undefined) break;
      this.#evidence.delete(oldest);
    }
  }

  #prune(): void {
    if (this.#signed.size <= this.#options.heightWindow) return;
    for (const height of this.#signed.keys()) {
      if (height + this.#options.heightWindow <= this.#highest) this.#signed.delete(height);
    }
  }
}
