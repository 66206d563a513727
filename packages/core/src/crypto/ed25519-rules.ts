/**
 * The ed25519 acceptance rules shared by every provider. Libraries disagree at the edges of RFC 8032 (OpenSSL
 * accepts small-order public keys; noble's default follows ZIP-215 and uses the cofactored equation). safechain
 * applies these checks before any library is asked, and every provider then uses the cofactorless equation, so all
 * providers reach the same verdict on every input:
 *
 * 1. the public key is 32 bytes and the signature 64 bytes;
 * 2. A (the public key) and R (the first half of the signature) are canonical encodings: y < p;
 * 3. neither A nor R is a point of small order (order 1, 2, 4 or 8), whatever the sign bit;
 * 4. S (the second half) is canonical: S < L.
 *
 * All checks are on public data and cost a few byte comparisons.
 */

/**
 * The y-coordinates (little-endian, sign bit cleared) of the eight points of order dividing 8: y = 0 (two points of
 * order 4), y = 1 (identity), y = p - 1 (order 2), and the two y values of the four order-8 points. Exported for the
 * test that recomputes them; not part of the package's entry points.
 */
export const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((hex) => Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16))));

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_BYTES = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/** True when the 32 bytes at `offset` encode y < p = 2^255 - 19 (the sign bit is ignored). */
function isCanonicalY(bytes: Uint8Array, offset: number): boolean {
  // y >= p only when y is in [2^255 - 19, 2^255 - 1]: top byte 0x7f, bytes 30..1 all 0xff, low byte >= 0xed.
  if ((bytes[offset + 31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (bytes[offset + i] !== 0xff) return true;
  return bytes[offset]! < 0xed;
}

function isSmallOrderY(bytes: Uint8Array, offset: number): boolean {
  outer: for (const y of SMALL_ORDER_Y) {
    for (let i = 0; i < 31; i++) if (bytes[offset + i] !== y[i]) continue outer;
    if ((bytes[offset + 31]! & 0x7f) === y[31]) return true;
  }
  return false;
}

/** True when the 32 bytes at `offset` are a little-endian integer below L. */
function isCanonicalScalar(bytes: Uint8Array, offset: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const b = bytes[offset + i]!;
    const l = L_BYTES[i]!;
    if (b < l) return true;
    if (b > l) return false;
  }
  return false; // equal to L
}

/** Applies rules 1 to 4 above. A false here is the final verdict; a true means "ask the provider". */
export function passesEd25519Rules(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  if (!isCanonicalY(publicKey, 0) || isSmallOrderY(publicKey, 0)) return false;
  if (!isCanonicalY(signature, 0) || isSmallOrderY(signature, 0)) return false;
  return isCanonicalScalar(signature, 32);
}

/** True for a 32-byte public key that rules 2 and 3 accept: keys failing this can never verify anything. */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  return publicKey instanceof Uint8Array && publicKey.length === 32 && isCanonicalY(publicKey, 0) && !isSmallOrderY(publicKey, 0);
}
