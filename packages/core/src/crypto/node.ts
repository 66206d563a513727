import * as nodeCrypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { markStandardSha256, type CryptoProvider, type Ed25519Signer } from './provider.js';

// DER prefixes of an ed25519 key in SPKI (public) and PKCS#8 (private) form; the raw 32 bytes follow.
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function withPrefix(prefix: Uint8Array, raw: Uint8Array): Buffer {
  const der = Buffer.allocUnsafe(prefix.length + raw.length);
  der.set(prefix, 0);
  der.set(raw, prefix.length);
  return der;
}

function asUint8Array(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

// Importing a public key costs about as much as a verification, and a node sees few distinct origins, so the
// KeyObjects are kept. The cache is dropped whole when full: simple, and bounded against a flood of new keys.
const KEY_CACHE_LIMIT = 4096;
const publicKeyCache = new Map<string, KeyObject>();
// Records arrive in runs from one origin (a block of one machine's records), so the last key is checked first: a
// 32-byte comparison instead of building a string to look up the map.
const lastKeyBytes = new Uint8Array(32);
let lastKey: KeyObject | undefined;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  if (lastKey !== undefined) {
    let same = true;
    for (let i = 0; i < 32; i++) {
      if (publicKey[i] !== lastKeyBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastKey;
  }
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, 32).toString('latin1');
  let key = publicKeyCache.get(id);
  if (key === undefined) {
    key = nodeCrypto.createPublicKey({ key: withPrefix(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' });
    if (publicKeyCache.size >= KEY_CACHE_LIMIT) publicKeyCache.clear();
    publicKeyCache.set(id, key);
  }
  lastKeyBytes.set(publicKey.subarray(0, 32));
  lastKey = key;
  return key;
}

const hashOneShot: ((algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer) | undefined = (
  nodeCrypto as unknown as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer }
).hash;

/** The provider for Node: OpenSSL through `node:crypto`, about 30 times faster than the portable one. */
export const nodeCryptoProvider: CryptoProvider = {
  name: 'node',
  sha256: hashOneShot
    ? (data: Uint8Array): Uint8Array => asUint8Array(hashOneShot('sha256', data, 'buffer'))
    : (data: Uint8Array): Uint8Array => asUint8Array(nodeCrypto.createHash('sha256').update(data).digest()),
  randomBytes: (length: number): Uint8Array => asUint8Array(nodeCrypto.randomBytes(length)),
  ed25519Signer(seed: Uint8Array): Ed25519Signer {
    const privateKey = nodeCrypto.createPrivateKey({ key: withPrefix(PKCS8_PREFIX, seed), format: 'der', type: 'pkcs8' });
    const spki = nodeCrypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
    const publicKey = Uint8Array.from(spki.subarray(spki.length - 32));
    return {
      publicKey,
      sign: (message: Uint8Array): Uint8Array => asUint8Array(nodeCrypto.sign(null, message, privateKey)),
    };
  },
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      return nodeCrypto.verify(null, message, publicKeyObject(publicKey), signature);
    } catch {
      return false;
    }
  },
};

markStandardSha256(nodeCryptoProvider);
