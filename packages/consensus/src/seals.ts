import { assertBytes, compareBytes, toHex, verifyBlockSignatures, type BlockHeader, type CryptoProvider } from '@safechain/core';
import type { HeaderVerdict } from './consensus.js';
import type { KeySet } from './options.js';
import { invalid } from './verdicts.js';

/**
 * Checks of a header's seals (block signatures) shared by the signing engines. Cheap checks (order, membership)
 * come apart from the signature verification so engines can reject on them before spending time on curve maths.
 */

/**
 * The seals are in strictly ascending key order (so no key signs twice) and every signer is in `keys`.
 * Decoded headers already have canonical order; headers built in memory may not, so it is checked again here.
 */
export function checkSealSigners(header: BlockHeader, keys: KeySet): HeaderVerdict | null {
  const seals = header.signatures;
  for (let i = 1; i < seals.length; i++) {
    const order = compareBytes(seals[i - 1]!.publicKey, seals[i]!.publicKey);
    if (order === 0) return invalid('duplicate-signer', `key ${toHex(seals[i]!.publicKey)} signed twice`);
    if (order > 0) return invalid('unsorted-seals', `seal ${i} is out of ascending key order`);
  }
  for (const seal of seals) {
    const signer = toHex(seal.publicKey);
    if (!keys.index.has(signer)) return invalid('unknown-signer', `seal by ${signer}, which may not seal this chain`);
  }
  return null;
}

/** Every seal is a valid signature of the block hash by its key. */
export function checkSealSignatures(header: BlockHeader, provider: CryptoProvider): HeaderVerdict | null {
  const verdict = verifyBlockSignatures(header, provider);
  return verdict.valid ? null : invalid('bad-seal', verdict.message);
}

/**
 * The signer's key as hex, when it belongs to `keys`; otherwise `null`.
 * @throws InvalidArgumentError (core) when `signer.publicKey` is not 32 bytes.
 */
export function signerId(signer: { readonly publicKey: Uint8Array }, keys: KeySet): string | null {
  assertBytes(signer?.publicKey, 'signer.publicKey', 32);
  const id = toHex(signer.publicKey);
  return keys.index.has(id) ? id : null;
}
