import { NodeKey, toHex } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import {
  ForeignChainError,
  HandshakeSignatureError,
  KeyAgreementError,
  MalformedHandshakeError,
  NotAMemberError,
  ProtocolVersionError,
  ReplayedHelloError,
  SelfConnectionError,
  StaleHelloError,
} from './errors.js';
import { checkHello, Handshake, type EstablishedSession, type LocalIdentity } from './handshake.js';
import { issueAdmission, Membership } from './membership.js';
import { addressSigningMessage, decodeHello, encodeHello, type AddressRecord } from './messages.js';
import { SeenCache } from './seen-cache.js';

const chainId = new Uint8Array(32).fill(0xc1);
const otherChain = new Uint8Array(32).fill(0xc2);
const alice = NodeKey.generate();
const bob = NodeKey.generate();
const mallory = NodeKey.generate();

function addressOf(key: NodeKey, port: number, chain = chainId): AddressRecord {
  const base = { nodeKey: key.publicKey, host: '127.0.0.1', port, issuedAt: Date.now() };
  return { ...base, signature: key.sign(addressSigningMessage(chain, base)) };
}

interface Side {
  readonly local: LocalIdentity;
  readonly membership: Membership;
  readonly nonces: SeenCache;
  readonly now?: number;
}

function side(key: NodeKey, options: Partial<Side> & { allow?: string[] } = {}): Side {
  return {
    local: options.local ?? { key, chainId, address: addressOf(key, 7000) },
    membership: options.membership ?? new Membership(chainId, options.allow === undefined ? {} : { allow: options.allow }),
    nonces: options.nonces ?? new SeenCache(100),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
}

function handshake(role: 'initiator' | 'responder', s: Side): Handshake {
  return new Handshake(role, s.local, {
    validate: (hello) =>
      checkHello(hello, {
        chainId: s.local.chainId,
        localKey: s.local.key.publicKey,
        membership: s.membership,
        nonces: s.nonces,
        now: Date.now(),
        maxClockSkewMs: 60_000,
      }),
    ...(s.now === undefined ? {} : { now: () => s.now! }),
  });
}

/** Runs a handshake to completion; returns both sessions and every message that crossed. */
function run(i: Side, r: Side): { a: EstablishedSession; b: EstablishedSession; wire: Uint8Array[] } {
  const hi = handshake('initiator', i);
  const hr = handshake('responder', r);
  const wire: Uint8Array[] = [];
  const [helloI] = hi.start().send;
  expect(hr.start().send).toEqual([]);
  wire.push(helloI!);
  const step1 = hr.receive(helloI!);
  const [helloR, authR] = step1.send;
  wire.push(helloR!, authR!);
  expect(hi.receive(helloR!).send).toEqual([]);
  const step2 = hi.receive(authR!);
  const [authI] = step2.send;
  wire.push(authI!);
  const step3 = hr.receive(authI!);
  return { a: step2.established!, b: step3.established!, wire };
}

describe('handshake', () => {
  it('establishes a session both ways with matching keys and an authenticated remote key', () => {
    const { a, b, wire } = run(side(alice), side(bob));
    expect(toHex(a.remote.nodeKey)).toBe(bob.id);
    expect(toHex(b.remote.nodeKey)).toBe(alice.id);
    expect(a.transcriptHash).toEqual(b.transcriptHash);
    expect(b.cipher.open(a.cipher.seal(Uint8Array.of(1, 2, 3)))).toEqual(Uint8Array.of(1, 2, 3));
    expect(a.cipher.open(b.cipher.seal(Uint8Array.of(4)))).toEqual(Uint8Array.of(4));
    expect(wire.map((m) => m.length)).toEqual([wire[0]!.length, wire[1]!.length, 65, 65]);
    // Fresh ephemeral keys and nonces every time.
    const again = run(side(alice), side(bob));
    expect(again.a.transcriptHash).not.toEqual(a.transcriptHash);
  });

  it('refuses a node of another chain', () => {
    const foreign = side(mallory, { local: { key: mallory, chainId: otherChain } });
    const hr = handshake('responder', side(bob));
    hr.start();
    expect(() => hr.receive(handshake('initiator', foreign).start().send[0]!)).toThrow(ForeignChainError);
  });

  it('refuses a non-member, and admits a member by allowlist or admission certificate', () => {
    const closed = side(bob, { allow: [bob.id, alice.id] });
    const hr = handshake('responder', closed);
    hr.start();
    expect(() => hr.receive(handshake('initiator', side(mallory)).start().send[0]!)).toThrow(NotAMemberError);
    expect(() => run(side(alice), side(bob, { allow: [bob.id, alice.id] }))).not.toThrow();

    const authority = NodeKey.generate();
    const admitted = side(mallory, {
      local: { key: mallory, chainId, admission: issueAdmission(authority, chainId, mallory.publicKey) },
    });
    const byAdmission = side(bob, { membership: new Membership(chainId, { admissionKeys: [authority.id] }) });
    expect(() => run(admitted, byAdmission)).not.toThrow();
    // A certificate for another key, or from an untrusted authority, admits nobody.
    const stolen = side(alice, { local: { key: alice, chainId, admission: issueAdmission(authority, chainId, mallory.publicKey) } });
    expect(() => run(stolen, side(bob, { membership: new Membership(chainId, { admissionKeys: [authority.id] }) }))).toThrow(NotAMemberError);
    const forged = side(mallory, { local: { key: mallory, chainId, admission: issueAdmission(mallory, chainId, mallory.publicKey) } });
    expect(() => run(forged, side(bob, { membership: new Membership(chainId, { admissionKeys: [authority.id] }) }))).toThrow(NotAMemberError);
  });

  it('refuses a connection to itself', () => {
    expect(() => run(side(alice), side(alice))).toThrow(SelfConnectionError);
  });

  it('refuses a stale hello', () => {
    const old = side(alice, { now: Date.now() - 10 * 60_000 });
    expect(() => run(old, side(bob))).toThrow(StaleHelloError);
  });

  it('refuses a replayed hello (same nonce)', () => {
    const responder = side(bob);
    const { wire } = run(side(alice), responder);
    const replay = handshake('responder', responder);
    replay.start();
    expect(() => replay.receive(wire[0]!)).toThrow(ReplayedHelloError);
  });

  it('refuses a replayed AUTH: a recorded session does not authenticate against a fresh responder nonce', () => {
    const { wire } = run(side(alice), side(bob));
    // A responder that has not seen the nonce (restarted) accepts the hello but not the old signature.
    const fresh = handshake('responder', side(bob));
    fresh.start();
    fresh.receive(wire[0]!);
    expect(() => fresh.receive(wire[3]!)).toThrow(HandshakeSignatureError);
  });

  it('refuses a responder AUTH replayed to another initiator session', () => {
    const { wire } = run(side(alice), side(bob));
    const hi = handshake('initiator', side(alice));
    hi.start();
    hi.receive(wire[1]!);
    expect(() => hi.receive(wire[2]!)).toThrow(HandshakeSignatureError);
  });

  it('detects a man in the middle swapping the ephemeral key', () => {
    const hi = handshake('initiator', side(alice));
    const hr = handshake('responder', side(bob));
    hr.start();
    const original = decodeHello(hi.start().send[0]!);
    const tampered = encodeHello({ ...original, ephemeralKey: NodeKey.generate().publicKey.map((b, i) => (i === 31 ? b & 0x7f : b)) });
    const [helloR, authR] = hr.receive(tampered).send;
    hi.receive(helloR!);
    // The responder signed a transcript with the attacker's hello: the initiator's transcript differs.
    expect(() => hi.receive(authR!)).toThrow(HandshakeSignatureError);
  });

  it('refuses an AUTH signed by another key than the hello named', () => {
    const hi = handshake('initiator', side(alice));
    const hr = handshake('responder', side(bob));
    hr.start();
    const [helloR] = hr.receive(hi.start().send[0]!).send;
    hi.receive(helloR!);
    expect(() => hi.receive(Uint8Array.from([0x02, ...mallory.sign(Uint8Array.of(1))]))).toThrow(HandshakeSignatureError);
  });

  it('refuses a low-order ephemeral key', () => {
    const hi = handshake('initiator', side(alice));
    const hr = handshake('responder', side(bob));
    hr.start();
    const original = decodeHello(hi.start().send[0]!);
    for (const bad of [new Uint8Array(32), Uint8Array.from([1, ...new Uint8Array(31)])]) {
      const h = handshake('responder', side(bob));
      h.start();
      expect(() => h.receive(encodeHello({ ...original, nonce: new Uint8Array(32).map(() => Math.floor(Math.random() * 256)), ephemeralKey: bad }))).toThrow(
        KeyAgreementError,
      );
    }
  });

  it('refuses another protocol version, malformed and out-of-order messages, and oversized messages', () => {
    const hr = handshake('responder', side(bob));
    hr.start();
    const hello = handshake('initiator', side(alice)).start().send[0]!;
    const v1 = hello.slice();
    v1[1] = 1; // the first version, without announcements and seal requests
    expect(() => hr.receive(v1)).toThrow(ProtocolVersionError);

    const h2 = handshake('responder', side(bob));
    h2.start();
    expect(() => h2.receive(Uint8Array.of(0x02, 1, 2))).toThrow(MalformedHandshakeError);
    const h3 = handshake('responder', side(bob));
    h3.start();
    expect(() => h3.receive(new Uint8Array(2_000))).toThrow(MalformedHandshakeError);
    // After a failure nothing more is accepted.
    expect(() => h3.receive(hello)).toThrow(MalformedHandshakeError);
  });

  it('refuses an address record signed for another key or another chain', () => {
    const wrongKey = side(alice, { local: { key: alice, chainId, address: { ...addressOf(mallory, 7000) } } });
    expect(() => run(wrongKey, side(bob))).toThrow(MalformedHandshakeError);
    const wrongChain = side(alice, { local: { key: alice, chainId, address: addressOf(alice, 7000, otherChain) } });
    expect(() => run(wrongChain, side(bob))).toThrow(MalformedHandshakeError);
  });
});
