import { assertBytes, describe, fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { isAcceptablePublicKey } from './crypto/ed25519-rules.js';
import { getCryptoProvider, type CryptoProvider, type Ed25519Signer } from './crypto/provider.js';
import { InvalidArgumentError, InvalidKeyError, InvalidTextEncodingError } from './errors.js';

/**
 * Node keys. A node's identity is its ed25519 public key; its private key signs every transaction it ingests and
 * every block it seals. Keys move as raw hex or as PEM (PKCS#8 for private keys, SPKI for public keys), the forms
 * OpenSSL and every mainstream crypto library read.
 */

const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const MAX_PEM_CHARS = 4096;

function toPem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function fromPem(label: string, pem: string, prefix: Uint8Array): Uint8Array {
  if (typeof pem !== 'string') throw new InvalidArgumentError(`pem: expected string, got ${describe(pem)}`);
  if (pem.length > MAX_PEM_CHARS) throw new InvalidKeyError(`PEM ${label}: longer than ${MAX_PEM_CHARS} characters`);
  const match = new RegExp(`^\\s*-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${label}-----\\s*$`).exec(pem);
  if (match === null) throw new InvalidKeyError(`PEM: expected one "${label}" block`);
  let der: Uint8Array;
  try {
    der = fromBase64(match[1]!.replace(/\r?\n/g, ''));
  } catch (error) {
    throw new InvalidKeyError(`PEM ${label}: invalid base64`, { cause: error });
  }
  if (der.length !== prefix.length + 32 || !prefix.every((b, i) => der[i] === b)) {
    throw new InvalidKeyError(`PEM ${label}: not an ed25519 key (expected ${prefix.length + 32} DER bytes of OID 1.3.101.112)`);
  }
  return der.slice(prefix.length);
}

function keyFromHex(hex: string, what: string): Uint8Array {
  try {
    return fromHex(hex, 32);
  } catch (error) {
    if (error instanceof InvalidTextEncodingError) throw new InvalidKeyError(`${what}: ${error.message}`, { cause: error });
    throw error;
  }
}

/**
 * Checks that `publicKey` is a usable ed25519 public key: 32 bytes, canonical, not of small order.
 * @throws InvalidArgumentError when not a Uint8Array; InvalidKeyError otherwise.
 */
export function assertPublicKey(publicKey: unknown, name = 'publicKey'): asserts publicKey is Uint8Array {
  assertBytes(publicKey, name);
  if (publicKey.length !== 32) throw new InvalidKeyError(`${name}: expected 32 bytes, got ${publicKey.length}`);
  if (!isAcceptablePublicKey(publicKey)) throw new InvalidKeyError(`${name}: not a canonical point of large order`);
}

/** Parses a public key from 64 lower-case hex characters. @throws InvalidKeyError */
export function publicKeyFromHex(hex: string): Uint8Array {
  const key = keyFromHex(hex, 'public key');
  assertPublicKey(key);
  return key;
}

/** SPKI PEM of a public key. */
export function publicKeyToPem(publicKey: Uint8Array): string {
  assertPublicKey(publicKey);
  return toPem('PUBLIC KEY', new Uint8Array([...SPKI_PREFIX, ...publicKey]));
}

/** Parses an SPKI PEM ed25519 public key. @throws InvalidKeyError */
export function publicKeyFromPem(pem: string): Uint8Array {
  const key = fromPem('PUBLIC KEY', pem, SPKI_PREFIX);
  assertPublicKey(key);
  return key;
}

/**
 * A node's key pair. The seed is held privately: `toJSON` and inspection show only the public key, so a logged or
 * serialised NodeKey never leaks it. Export it on purpose with `toPem()` or `seedHex()`.
 */
export class NodeKey implements Ed25519Signer {
  /** 32-byte public key: the node identity. */
  readonly publicKey: Uint8Array;
  /** The node identity as 64 lower-case hex characters. */
  readonly id: string;
  readonly #seed: Uint8Array;
  readonly #signer: Ed25519Signer;

  private constructor(seed: Uint8Array, provider: CryptoProvider) {
    this.#seed = seed.slice();
    this.#signer = provider.ed25519Signer(this.#seed);
    this.publicKey = this.#signer.publicKey;
    this.id = toHex(this.publicKey);
  }

  /** A fresh random key. */
  static generate(provider: CryptoProvider = getCryptoProvider()): NodeKey {
    return new NodeKey(provider.randomBytes(32), provider);
  }

  /** The key of a 32-byte RFC 8032 seed. @throws InvalidArgumentError on a wrong length. */
  static fromSeed(seed: Uint8Array, provider: CryptoProvider = getCryptoProvider()): NodeKey {
    assertBytes(seed, 'seed', 32);
    return new NodeKey(seed, provider);
  }

  /** The key of a seed in 64 lower-case hex characters. @throws InvalidKeyError */
  static fromSeedHex(hex: string, provider: CryptoProvider = getCryptoProvider()): NodeKey {
    return new NodeKey(keyFromHex(hex, 'private key'), provider);
  }

  /** Parses a PKCS#8 PEM ed25519 private key (`openssl genpkey -algorithm ed25519` writes these). @throws InvalidKeyError */
  static fromPem(pem: string, provider: CryptoProvider = getCryptoProvider()): NodeKey {
    return new NodeKey(fromPem('PRIVATE KEY', pem, PKCS8_PREFIX), provider);
  }

  /** 64-byte signature of `message`. @throws InvalidArgumentError unless `message` is a Uint8Array. */
  sign(message: Uint8Array): Uint8Array {
    // Checked here so every provider refuses the same inputs (node:crypto would sign a string's UTF-8 bytes).
    assertBytes(message, 'message');
    return this.#signer.sign(message);
  }

  /** The private key as PKCS#8 PEM. Write it with file mode 0600. */
  toPem(): string {
    return toPem('PRIVATE KEY', new Uint8Array([...PKCS8_PREFIX, ...this.#seed]));
  }

  /** The private key's seed as hex. Handle as a secret. */
  seedHex(): string {
    return toHex(this.#seed);
  }

  /** The public key as SPKI PEM. */
  publicKeyPem(): string {
    return publicKeyToPem(this.publicKey);
  }

  toJSON(): { readonly publicKey: string } {
    return { publicKey: this.id };
  }

  toString(): string {
    return `NodeKey(${this.id})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}
