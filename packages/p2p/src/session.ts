import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { assertBytes, InvalidArgumentError, utf8 } from '@safechain/core';
import { FrameAuthenticationError, SessionExhaustedError } from './errors.js';
import { FRAME_OVERHEAD_BYTES, MAX_FRAMES_PER_SESSION } from './limits.js';

/**
 * Session crypto: the key schedule and the frame cipher of an established connection.
 *
 * Key schedule: `HKDF-SHA256(ikm = X25519 shared secret, salt = transcript hash, info = "safechain/p2p/session/v1",
 * 64 bytes)`; the first 32 bytes key the initiator-to-responder direction, the last 32 the other one. Each direction
 * has its own key, so one counter per direction never repeats a (key, nonce) pair.
 *
 * Frames: AES-256-GCM, 12-byte nonce = 4 zero bytes || the direction's frame counter as u64 big-endian, starting at
 * 0. The counter is implicit: the receiver uses the next number it expects, so a replayed, reordered, dropped or
 * duplicated frame fails authentication, and the session is over (a failed cipher refuses everything after).
 */

const SESSION_INFO = utf8('safechain/p2p/session/v1');
const KEY_BYTES = 32;

/** Which end of the handshake this side was: the dialler is the initiator. */
export type HandshakeRole = 'initiator' | 'responder';

/** The two directional keys of one side of a session. */
export interface SessionKeys {
  readonly send: Uint8Array;
  readonly receive: Uint8Array;
}

/**
 * Derives this side's send and receive keys from the X25519 shared secret and the transcript hash.
 * @throws InvalidArgumentError on a wrong length
 */
export function deriveSessionKeys(sharedSecret: Uint8Array, transcriptHash: Uint8Array, role: HandshakeRole): SessionKeys {
  assertBytes(sharedSecret, 'sharedSecret', 32);
  assertBytes(transcriptHash, 'transcriptHash', 32);
  const okm = new Uint8Array(hkdfSync('sha256', sharedSecret, transcriptHash, SESSION_INFO, 2 * KEY_BYTES));
  const initiatorToResponder = okm.slice(0, KEY_BYTES);
  const responderToInitiator = okm.slice(KEY_BYTES);
  return role === 'initiator'
    ? { send: initiatorToResponder, receive: responderToInitiator }
    : { send: responderToInitiator, receive: initiatorToResponder };
}

function frameNonce(counter: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 4);
  iv.writeUInt32BE(counter >>> 0, 8);
  return iv;
}

/**
 * Seals outgoing and opens incoming frames of one session. Not thread-safe by design: one connection, one cipher,
 * frames in WebSocket order.
 */
export class SessionCipher {
  readonly #sendKey: Uint8Array;
  readonly #receiveKey: Uint8Array;
  #sent = 0;
  #received = 0;
  #failed = false;

  /** @throws InvalidArgumentError unless both keys are 32 bytes */
  constructor(keys: SessionKeys) {
    assertBytes(keys.send, 'keys.send', KEY_BYTES);
    assertBytes(keys.receive, 'keys.receive', KEY_BYTES);
    this.#sendKey = keys.send.slice();
    this.#receiveKey = keys.receive.slice();
  }

  /** Frames sealed so far. */
  get framesSent(): number {
    return this.#sent;
  }

  /** Frames opened so far. */
  get framesReceived(): number {
    return this.#received;
  }

  /**
   * Encrypts the next outgoing frame: `ciphertext || 16-byte tag`.
   * @throws SessionExhaustedError after MAX_FRAMES_PER_SESSION frames; InvalidArgumentError on a non-byte input
   */
  seal(plaintext: Uint8Array): Uint8Array {
    assertBytes(plaintext, 'plaintext');
    if (this.#sent >= MAX_FRAMES_PER_SESSION) throw new SessionExhaustedError('send counter exhausted: reconnect');
    const cipher = createCipheriv('aes-256-gcm', this.#sendKey, frameNonce(this.#sent));
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const tag = cipher.getAuthTag();
    this.#sent++;
    const out = new Uint8Array(head.length + tail.length + tag.length);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(tag, head.length + tail.length);
    return out;
  }

  /**
   * Decrypts and authenticates the next incoming frame. After one failure every later call fails too: a session
   * that saw a forged or replayed frame is not trusted again.
   * @throws FrameAuthenticationError when the frame is not the next authentic frame of this session;
   *   SessionExhaustedError after MAX_FRAMES_PER_SESSION frames
   */
  open(frame: Uint8Array): Uint8Array {
    if (!(frame instanceof Uint8Array)) throw new InvalidArgumentError('frame: expected Uint8Array');
    if (this.#failed) throw new FrameAuthenticationError('session already failed authentication');
    if (this.#received >= MAX_FRAMES_PER_SESSION) throw new SessionExhaustedError('receive counter exhausted: reconnect');
    if (frame.length < FRAME_OVERHEAD_BYTES) {
      this.#failed = true;
      throw new FrameAuthenticationError(`frame of ${frame.length} bytes is shorter than the ${FRAME_OVERHEAD_BYTES}-byte tag`);
    }
    const body = frame.subarray(0, frame.length - FRAME_OVERHEAD_BYTES);
    const tag = frame.subarray(frame.length - FRAME_OVERHEAD_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#receiveKey, frameNonce(this.#received));
      decipher.setAuthTag(tag);
      const head = decipher.update(body);
      const tail = decipher.final();
      this.#received++;
      // GCM has no padding: `final` adds nothing, and `head` is a buffer of its own, handed out without a copy (as a
      // plain Uint8Array: decoders' `subarray` of a Buffer would return Buffers).
      if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
      const out = new Uint8Array(head.length + tail.length);
      out.set(head, 0);
      out.set(tail, head.length);
      return out;
    } catch (error) {
      this.#failed = true;
      throw new FrameAuthenticationError(`frame ${this.#received} failed authentication`, { cause: error });
    }
  }
}
