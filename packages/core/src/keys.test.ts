import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { inspect } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  InvalidKeyError,
  NodeKey,
  assertPublicKey,
  fromHex,
  nodeCryptoProvider,
  portableCryptoProvider,
  publicKeyFromHex,
  publicKeyFromPem,
  publicKeyToPem,
  toHex,
  verifySignature,
} from '@safechain/core';

const seed32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('NodeKey', () => {
  it('generates distinct keys whose id is the hex public key, and signs verifiably', () => {
    const a = NodeKey.generate();
    const b = NodeKey.generate(portableCryptoProvider);
    expect(a.id).not.toBe(b.id);
    expect(a.id).toBe(toHex(a.publicKey));
    const msg = Uint8Array.of(1, 2, 3);
    expect(verifySignature(a.publicKey, msg, a.sign(msg))).toBe(true);
    expect(verifySignature(b.publicKey, msg, b.sign(msg))).toBe(true);
  });

  it('derives the RFC 8032 key from a seed, the same with both providers and noble', () => {
    fc.assert(
      fc.property(seed32, fc.uint8Array({ maxLength: 64 }), (seed, msg) => {
        const viaNode = NodeKey.fromSeed(seed, nodeCryptoProvider);
        const viaNoble = NodeKey.fromSeed(seed, portableCryptoProvider);
        expect(viaNode.publicKey).toEqual(ed25519.getPublicKey(seed));
        expect(viaNoble.publicKey).toEqual(viaNode.publicKey);
        expect(viaNode.sign(msg)).toEqual(viaNoble.sign(msg));
      }),
      { numRuns: 30 },
    );
  });

  it('does not keep a reference to the seed it was given', () => {
    const seed = new Uint8Array(32).fill(5);
    const key = NodeKey.fromSeed(seed);
    seed.fill(0);
    expect(key.seedHex()).toBe('05'.repeat(32));
  });

  it('round-trips through seed hex and PKCS#8 PEM', () => {
    const key = NodeKey.generate();
    expect(NodeKey.fromSeedHex(key.seedHex()).id).toBe(key.id);
    const pem = key.toPem();
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END PRIVATE KEY-----\n$/);
    expect(NodeKey.fromPem(pem).id).toBe(key.id);
    expect(NodeKey.fromPem(pem.replace(/\n/g, '\r\n')).id).toBe(key.id);
    expect(NodeKey.fromPem(`\n  ${pem}\n`).id).toBe(key.id);
  });

  it('reads keys OpenSSL wrote and writes keys OpenSSL reads', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const key = NodeKey.fromPem(pem);
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    expect(key.id).toBe(toHex(spki.subarray(spki.length - 32)));
    const msg = Buffer.from('interop');
    expect(verifySignature(key.publicKey, msg, nodeSign(null, msg, privateKey))).toBe(true);

    const ours = NodeKey.generate();
    const theirs = createPrivateKey(ours.toPem());
    expect(theirs.asymmetricKeyType).toBe('ed25519');
    expect(verifySignature(ours.publicKey, msg, nodeSign(null, msg, theirs))).toBe(true);
    const theirPublic = createPublicKey(ours.publicKeyPem()).export({ format: 'der', type: 'spki' });
    expect(toHex(theirPublic.subarray(theirPublic.length - 32))).toBe(ours.id);
    expect(publicKeyFromPem(publicKey.export({ format: 'pem', type: 'spki' }).toString())).toEqual(key.publicKey);
  });

  it('never shows the seed in toJSON, toString, inspect or JSON', () => {
    const key = NodeKey.generate();
    const seed = key.seedHex();
    for (const shown of [JSON.stringify(key), String(key), `${key}`, inspect(key), inspect(key, { showHidden: true, depth: 5 }), JSON.stringify({ key })]) {
      expect(shown).not.toContain(seed);
      expect(shown).toContain(key.id);
    }
    expect(Object.keys(key)).toEqual(['publicKey', 'id']);
    expect(key.toJSON()).toEqual({ publicKey: key.id });
  });

  it('refuses bad PEM: wrong label, bad base64, another algorithm, wrong length, oversized', () => {
    const pem = NodeKey.generate().toPem();
    const body = pem.split('\n')[1]!;
    const bad = [
      '',
      pem.replace(/PRIVATE KEY/g, 'PUBLIC KEY'),
      pem.replace(/PRIVATE KEY/g, 'EC PRIVATE KEY'),
      pem.replace(body, `${body.slice(0, -2)}!=`),
      pem.replace(body, body.slice(4)),
      `${pem}${pem}`,
      pem.replace('-----END', 'x-----END'),
      `-----BEGIN PRIVATE KEY-----\n${Buffer.from('302e020100300506032b656e04220420' + '11'.repeat(32), 'hex').toString('base64')}\n-----END PRIVATE KEY-----\n`,
      `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(5000)}\n-----END PRIVATE KEY-----\n`,
    ];
    for (const text of bad) expect(() => NodeKey.fromPem(text), text).toThrow(InvalidKeyError);
    expect(() => NodeKey.fromPem(42 as unknown as string)).toThrow(InvalidArgumentError);
    expect(() => publicKeyFromPem(pem)).toThrow(InvalidKeyError);
  });

  it('refuses seeds of the wrong length or spelling', () => {
    for (const n of [0, 31, 33, 64]) expect(() => NodeKey.fromSeed(new Uint8Array(n))).toThrow(InvalidArgumentError);
    expect(() => NodeKey.fromSeed('00'.repeat(32) as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    for (const hex of ['', '00'.repeat(31), '00'.repeat(33), 'AB'.repeat(32), 'zz'.repeat(32)]) {
      expect(() => NodeKey.fromSeedHex(hex)).toThrow(InvalidKeyError);
    }
    expect(() => NodeKey.fromSeedHex(7 as unknown as string)).toThrow(InvalidArgumentError);
  });

  it('signs only byte arrays, with either provider', () => {
    for (const provider of [nodeCryptoProvider, portableCryptoProvider]) {
      const key = NodeKey.generate(provider);
      expect(() => key.sign('text' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    }
  });
});

describe('public keys', () => {
  it('round-trip through hex and SPKI PEM', () => {
    const key = NodeKey.generate();
    expect(publicKeyFromHex(key.id)).toEqual(key.publicKey);
    expect(publicKeyFromPem(publicKeyToPem(key.publicKey))).toEqual(key.publicKey);
    expect(key.publicKeyPem()).toBe(publicKeyToPem(key.publicKey));
  });

  it('refuse small-order, non-canonical and wrong-length keys', () => {
    const identity = fromHex('01'.padEnd(64, '0'));
    const nonCanonical = fromHex('ed'.padEnd(62, 'f') + '7f');
    expect(() => publicKeyFromHex(toHex(identity))).toThrow(InvalidKeyError);
    expect(() => publicKeyFromHex(toHex(nonCanonical))).toThrow(InvalidKeyError);
    expect(() => publicKeyFromHex('00'.repeat(31))).toThrow(InvalidKeyError);
    expect(() => assertPublicKey(new Uint8Array(33))).toThrow(InvalidKeyError);
    expect(() => assertPublicKey([1, 2, 3])).toThrow(InvalidArgumentError);
    expect(() => publicKeyToPem(identity)).toThrow(InvalidKeyError);
    expect(() => publicKeyToPem('ab' as unknown as Uint8Array)).toThrow(InvalidArgumentError);
  });
});
