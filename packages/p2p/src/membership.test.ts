import { InvalidKeyError, NodeKey } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { issueAdmission, Membership, verifyAdmission } from './membership.js';

const chainId = new Uint8Array(32).fill(1);
const a = NodeKey.generate();
const b = NodeKey.generate();
const authority = NodeKey.generate();

describe('Membership', () => {
  it('is open without allowlist or admission keys', () => {
    const m = new Membership(chainId);
    expect(m.open).toBe(true);
    expect(m.isMember(a.publicKey)).toBe(true);
  });

  it('admits exactly the allowlisted keys, and follows allowlist changes', () => {
    const m = new Membership(chainId, { allow: [a.id] });
    expect(m.isMember(a.publicKey)).toBe(true);
    expect(m.isMember(b.publicKey)).toBe(false);
    m.setAllowlist([b.id]);
    expect(m.isMember(a.publicKey)).toBe(false);
    expect(m.isMember(b.publicKey)).toBe(true);
    m.setAllowlist(undefined);
    expect(m.open).toBe(true);
  });

  it('admits a key with a certificate of a trusted admission key for this chain', () => {
    const m = new Membership(chainId, { admissionKeys: [authority.id] });
    const cert = issueAdmission(authority, chainId, a.publicKey);
    expect(verifyAdmission(chainId, a.publicKey, cert)).toBe(true);
    expect(m.isMember(a.publicKey, cert)).toBe(true);
    expect(m.isMember(a.publicKey)).toBe(false);
    expect(m.isMember(b.publicKey, cert)).toBe(false);
    expect(m.isMember(a.publicKey, issueAdmission(authority, new Uint8Array(32).fill(2), a.publicKey))).toBe(false);
    expect(m.isMember(a.publicKey, issueAdmission(b, chainId, a.publicKey))).toBe(false);
  });

  it('refuses malformed keys', () => {
    expect(() => new Membership(chainId, { allow: ['zz'] })).toThrow(InvalidKeyError);
    expect(() => new Membership(chainId, { admissionKeys: ['00'.repeat(31)] })).toThrow(InvalidKeyError);
  });
});
