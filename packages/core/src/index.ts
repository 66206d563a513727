/**
 * `@safechain/core`: the canonical codec, keys and signatures, transactions and their stripped form, Merkle trees and
 * inclusion proofs, blocks, and offline proof verification. This entry runs anywhere (browsers, Deno, Bun, Node):
 * it uses `Uint8Array` only and the portable crypto provider. On Node, the package's `node` export condition loads
 * `node.ts` instead, which registers the faster Node provider.
 */
import { portableCryptoProvider } from './crypto/portable.js';
import { getCryptoProvider, setCryptoProvider } from './crypto/provider.js';

// Register the portable provider unless an entry (the Node one) has already registered its own.
try {
  getCryptoProvider();
} catch {
  setCryptoProvider(portableCryptoProvider);
}

export * from './errors.js';
export * from './limits.js';
export {
  assertBytes,
  compareBytes,
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
  utf8,
} from './bytes.js';
export { Reader, Writer, type ReaderOptions } from './codec.js';
export { getCryptoProvider, setCryptoProvider, type CryptoProvider, type Ed25519Signer } from './crypto/provider.js';
export { portableCryptoProvider } from './crypto/portable.js';
export { isAcceptablePublicKey, passesEd25519Rules } from './crypto/ed25519-rules.js';
export { sha256, verifySignature } from './crypto/signature.js';
export { SHA256_IV, SHA256_K, sha256Compress } from './crypto/sha256-compress.js';
export { NodeKey, assertPublicKey, publicKeyFromHex, publicKeyFromPem, publicKeyToPem } from './keys.js';
export * from './transaction.js';
export * from './merkle.js';
export * from './block.js';
export * from './proof.js';
