import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { InvalidArgumentError } from '@safechain/core';
import { describe, expect, it } from 'vitest';
import { FrameAuthenticationError } from './errors.js';
import { deriveSessionKeys, SessionCipher } from './session.js';

function pair(): { initiator: SessionCipher; responder: SessionCipher } {
  const shared = randomBytes(32);
  const transcript = randomBytes(32);
  return {
    initiator: new SessionCipher(deriveSessionKeys(shared, transcript, 'initiator')),
    responder: new SessionCipher(deriveSessionKeys(shared, transcript, 'responder')),
  };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('key schedule', () => {
  it('gives each side the other side\'s send key as its receive key, and different keys per direction', () => {
    const shared = randomBytes(32);
    const th = randomBytes(32);
    const i = deriveSessionKeys(shared, th, 'initiator');
    const r = deriveSessionKeys(shared, th, 'responder');
    expect(i.send).toEqual(r.receive);
    expect(i.receive).toEqual(r.send);
    expect(i.send).not.toEqual(i.receive);
  });

  it('binds the keys to the transcript: another transcript gives other keys', () => {
    const shared = randomBytes(32);
    const a = deriveSessionKeys(shared, randomBytes(32), 'initiator');
    const b = deriveSessionKeys(shared, randomBytes(32), 'initiator');
    expect(a.send).not.toEqual(b.send);
  });

  it('matches HKDF-SHA256 as specified (RFC 5869 through node:crypto, split 32/32)', async () => {
    const { hkdfSync } = await import('node:crypto');
    const shared = new Uint8Array(32).fill(1);
    const th = new Uint8Array(32).fill(2);
    const okm = new Uint8Array(hkdfSync('sha256', shared, th, text('safechain/p2p/session/v1'), 64));
    const keys = deriveSessionKeys(shared, th, 'initiator');
    expect(keys.send).toEqual(okm.slice(0, 32));
    expect(keys.receive).toEqual(okm.slice(32));
  });

  it('refuses wrong lengths', () => {
    expect(() => deriveSessionKeys(new Uint8Array(31), new Uint8Array(32), 'initiator')).toThrow(InvalidArgumentError);
    expect(() => new SessionCipher({ send: new Uint8Array(16), receive: new Uint8Array(32) })).toThrow(InvalidArgumentError);
  });
});

describe('SessionCipher', () => {
  it('round-trips frames in both directions, each 16 bytes longer than its plaintext', () => {
    const { initiator, responder } = pair();
    for (const message of ['a', '', 'hello world', 'x'.repeat(10_000)]) {
      const frame = initiator.seal(text(message));
      expect(frame.length).toBe(text(message).length + 16);
      expect(new TextDecoder().decode(responder.open(frame))).toBe(message);
      expect(new TextDecoder().decode(initiator.open(responder.seal(text(message))))).toBe(message);
    }
    expect(initiator.framesSent).toBe(4);
    expect(responder.framesReceived).toBe(4);
  });

  it('fails on any flipped bit, and stays failed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (plaintext, at, bit) => {
        const { initiator, responder } = pair();
        const frame = initiator.seal(plaintext);
        frame[at % frame.length]! ^= 1 << bit;
        expect(() => responder.open(frame)).toThrow(FrameAuthenticationError);
        // Even the genuine next frame is refused now: the session is over.
        expect(() => responder.open(initiator.seal(plaintext))).toThrow(FrameAuthenticationError);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a replayed frame', () => {
    const { initiator, responder } = pair();
    const frame = initiator.seal(text('transfer'));
    responder.open(frame);
    expect(() => responder.open(frame)).toThrow(FrameAuthenticationError);
  });

  it('refuses reordered frames', () => {
    const { initiator, responder } = pair();
    const first = initiator.seal(text('one'));
    const second = initiator.seal(text('two'));
    expect(() => responder.open(second)).toThrow(FrameAuthenticationError);
    expect(() => responder.open(first)).toThrow(FrameAuthenticationError);
  });

  it('refuses a dropped frame (the next one fails)', () => {
    const { initiator, responder } = pair();
    initiator.seal(text('lost'));
    expect(() => responder.open(initiator.seal(text('next')))).toThrow(FrameAuthenticationError);
  });

  it('refuses a frame reflected back to its sender, a frame of another session and a short frame', () => {
    const a = pair();
    const b = pair();
    const frame = a.initiator.seal(text('x'));
    expect(() => a.initiator.open(frame)).toThrow(FrameAuthenticationError);
    expect(() => b.responder.open(frame)).toThrow(FrameAuthenticationError);
    expect(() => pair().responder.open(new Uint8Array(15))).toThrow(FrameAuthenticationError);
  });
});
