/**
 * The crypto provider: every hash and signature in safechain goes through one of these, so the library runs anywhere
 * (the portable provider) and runs fast on Node (the Node provider), with one set of verdicts.
 *
 * Providers implement only the primitives. The encoding rules that make verdicts identical across libraries
 * (canonical points, no small-order points, canonical S) are applied once, in `verifySignature`, before a provider is
 * asked; see `ed25519-rules.ts`.
 */

/** A private key held by a provider: signs, and knows its public key. The seed never leaves it. */
export interface Ed25519Signer {
  /** 32-byte public key: the node identity. */
  readonly publicKey: Uint8Array;
  /** 64-byte RFC 8032 signature of `message`. */
  sign(message: Uint8Array): Uint8Array;
}

export interface CryptoProvider {
  /** Short name for logs and benchmarks: `node` or `portable`. */
  readonly name: string;
  /** SHA-256 of `data`. */
  sha256(data: Uint8Array): Uint8Array;
  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;
  /** A signer for the 32-byte ed25519 seed (RFC 8032 private key). */
  ed25519Signer(seed: Uint8Array): Ed25519Signer;
  /**
   * RFC 8032 verification with the cofactorless equation `[S]B = R + [k]A`, comparing encodings.
   * Callers use `verifySignature`, which applies the shared encoding rules first; this method may assume 32-byte
   * keys and 64-byte signatures and returns false (never throws) on any other failure.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

let current: CryptoProvider | undefined;

// Built-in providers whose `sha256` is plain SHA-256 computed in this process. For these, Merkle hashing may use the
// specialised fixed-input SHA-256 (crypto/sha256-merkle.ts) instead: same results, a fraction of the cost. A provider
// supplied from outside always has its own `sha256` called.
const standardSha256 = new WeakSet<CryptoProvider>();

/** Marks a built-in provider as computing plain SHA-256 (internal; not exported from the package). */
export function markStandardSha256(provider: CryptoProvider): void {
  standardSha256.add(provider);
}

/** True for a provider marked with `markStandardSha256` (internal). */
export function hasStandardSha256(provider: CryptoProvider): boolean {
  return standardSha256.has(provider);
}

/**
 * The provider used when a function is not given one. On Node (the package's `node` export condition) it is the
 * Node provider; elsewhere the portable one.
 */
export function getCryptoProvider(): CryptoProvider {
  if (current === undefined) throw new Error('no crypto provider registered: import @safechain/core, not a file in it');
  return current;
}

/** Replaces the default provider, for example with a hardware-backed one. Returns the previous provider. */
export function setCryptoProvider(provider: CryptoProvider): CryptoProvider | undefined {
  const previous = current;
  current = provider;
  return previous;
}
