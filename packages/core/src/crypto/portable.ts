import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { markStandardSha256, type CryptoProvider, type Ed25519Signer } from './provider.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

function leToBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  return v;
}

/**
 * Cofactorless RFC 8032 verification on noble's point arithmetic: `[S]B - [k]A` must encode to exactly R. noble's
 * own `verify` uses the cofactored equation, which accepts some signatures OpenSSL rejects; this keeps the portable
 * and Node providers in agreement.
 */
function verifyCofactorless(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const A = Point.fromBytes(publicKey, false);
    const R = signature.subarray(0, 32);
    const S = leToBigInt(signature.subarray(32, 64));
    if (S >= L) return false;
    const h = sha512.create().update(R).update(publicKey).update(message).digest();
    const k = leToBigInt(h) % L;
    const rCheck = Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k)).toBytes();
    for (let i = 0; i < 32; i++) if (rCheck[i] !== R[i]) return false;
    return true;
  } catch {
    return false;
  }
}

/** The provider that runs anywhere: `@noble/curves` and `@noble/hashes`, pure TypeScript. */
export const portableCryptoProvider: CryptoProvider = {
  name: 'portable',
  sha256: (data: Uint8Array): Uint8Array => sha256(data),
  randomBytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    globalThis.crypto.getRandomValues(out);
    return out;
  },
  ed25519Signer(seed: Uint8Array): Ed25519Signer {
    const secret = seed.slice();
    const publicKey = ed25519.getPublicKey(secret);
    return { publicKey, sign: (message: Uint8Array): Uint8Array => ed25519.sign(message, secret) };
  },
  ed25519Verify: verifyCofactorless,
};

markStandardSha256(portableCryptoProvider);
