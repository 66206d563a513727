import { assertBytes } from '../bytes.js';
import { passesEd25519Rules } from './ed25519-rules.js';
import { getCryptoProvider, type CryptoProvider } from './provider.js';

/**
 * Verifies an ed25519 signature under safechain's rules (see `ed25519-rules.ts`): strict encodings, no small-order
 * points, canonical S, cofactorless equation. Every provider gives the same answer. Never throws on bad input:
 * a wrong length or a malformed key is simply "not valid".
 */
export function verifySignature(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  provider: CryptoProvider = getCryptoProvider(),
): boolean {
  if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array) || !(message instanceof Uint8Array)) {
    return false;
  }
  return passesEd25519Rules(publicKey, signature) && provider.ed25519Verify(publicKey, message, signature);
}

/** SHA-256 through the default provider (or the one given). @throws InvalidArgumentError unless `data` is bytes. */
export function sha256(data: Uint8Array, provider: CryptoProvider = getCryptoProvider()): Uint8Array {
  // Checked here: node:crypto would hash a string's UTF-8 bytes where noble refuses it.
  assertBytes(data, 'data');
  return provider.sha256(data);
}
