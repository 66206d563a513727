import { createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  concatBytes,
  DecodeError,
  equalBytes,
  getCryptoProvider,
  sha256,
  utf8,
  verifySignature,
  Writer,
  type Ed25519Signer,
} from '@safechain/core';
import {
  ForeignChainError,
  HandshakeError,
  HandshakeSignatureError,
  KeyAgreementError,
  MalformedHandshakeError,
  NotAMemberError,
  ReplayedHelloError,
  SelfConnectionError,
  StaleHelloError,
} from './errors.js';
import { MAX_HANDSHAKE_MESSAGE_BYTES, PROTOCOL_VERSION } from './limits.js';
import type { Membership } from './membership.js';
import {
  addressSigningMessage,
  decodeAuth,
  decodeHello,
  encodeAuth,
  encodeHello,
  type AddressRecord,
  type AdmissionCertificate,
  type Hello,
} from './messages.js';
import type { SeenCache } from './seen-cache.js';
import { deriveSessionKeys, SessionCipher, type HandshakeRole } from './session.js';

/**
 * The handshake: three flights over a fresh WebSocket connection.
 *
 * ```
 * initiator -> responder   HELLO_I
 * responder -> initiator   HELLO_R, AUTH_R = sign_R("safechain/p2p/auth/v1" || "R" || th)
 * initiator -> responder   AUTH_I = sign_I("safechain/p2p/auth/v1" || "I" || th)
 * th = SHA-256("safechain/p2p/transcript/v1" || u32 len || HELLO_I || u32 len || HELLO_R)
 * ```
 * Each hello carries the node key, a fresh X25519 key, a fresh 32-byte nonce, the chain id, the protocol version and
 * the signed listen address. Signing the transcript hash (both hellos byte for byte, so both nonces, both ephemeral
 * keys and the chain id) proves possession of the node key and binds it to this session: a recorded AUTH never
 * verifies against another session's fresh nonce. Keys then come from the X25519 secret and `th`
 * (`deriveSessionKeys`); every later message is an encrypted frame.
 *
 * `Handshake` is the transport-free state machine; `peer.ts` feeds it WebSocket messages.
 */

const TRANSCRIPT_DOMAIN = utf8('safechain/p2p/transcript/v1');
const AUTH_DOMAIN = utf8('safechain/p2p/auth/v1');
const ROLE_BYTE: Record<HandshakeRole, number> = { initiator: 0x49, responder: 0x52 };
const X25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00]);

/** What a node says about itself in its hello. */
export interface LocalIdentity {
  /** The node key: signs the transcript. */
  readonly key: Ed25519Signer;
  /** Genesis hash of the chain. */
  readonly chainId: Uint8Array;
  /** The node's signed listen address, when it accepts connections. */
  readonly address?: AddressRecord;
  /** The node's admission certificate, in admission mode. */
  readonly admission?: AdmissionCertificate;
}

/** A one-connection X25519 key pair. */
export interface EphemeralKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: KeyObject;
}

/** A fresh X25519 key pair (node:crypto, OpenSSL). */
export function generateEphemeralKey(): EphemeralKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  return { publicKey: spki.slice(X25519_SPKI_PREFIX.length), privateKey };
}

/**
 * The X25519 shared secret of `privateKey` and the peer's raw public key.
 * @throws KeyAgreementError when the peer key is malformed or of low order (the secret would be all zero)
 */
export function x25519SharedSecret(privateKey: KeyObject, remotePublicKey: Uint8Array): Uint8Array {
  let secret: Uint8Array;
  try {
    const publicKey = createPublicKey({ key: Buffer.from(concatBytes(X25519_SPKI_PREFIX, remotePublicKey)), format: 'der', type: 'spki' });
    secret = new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch (error) {
    throw new KeyAgreementError('X25519 key agreement failed', { cause: error });
  }
  if (secret.length !== 32 || secret.every((b) => b === 0)) throw new KeyAgreementError('X25519 shared secret is all zero');
  return secret;
}

/** The transcript hash over both hellos, initiator's first. */
export function transcriptHash(helloInitiator: Uint8Array, helloResponder: Uint8Array): Uint8Array {
  const w = new Writer(64 + helloInitiator.length + helloResponder.length);
  w.fixed(TRANSCRIPT_DOMAIN).u32(helloInitiator.length).fixed(helloInitiator).u32(helloResponder.length).fixed(helloResponder);
  return sha256(w.finish());
}

/** The bytes a side signs to authenticate: domain, its role, the transcript hash. */
export function authSigningMessage(role: HandshakeRole, transcript: Uint8Array): Uint8Array {
  return concatBytes(AUTH_DOMAIN, Uint8Array.of(ROLE_BYTE[role]), transcript);
}

/** What `checkHello` needs to judge a remote hello. */
export interface HelloCheckContext {
  readonly chainId: Uint8Array;
  readonly localKey: Uint8Array;
  readonly membership: Membership;
  /** Nonces of recent hellos: a repeat is a replay. */
  readonly nonces: SeenCache;
  /** Local clock, ms. */
  readonly now: number;
  /** How far a hello's timestamp may be from `now`. */
  readonly maxClockSkewMs: number;
}

/**
 * The protocol's checks of a remote hello, cheapest first. Records the nonce as seen.
 * @throws ForeignChainError, SelfConnectionError, StaleHelloError, ReplayedHelloError, NotAMemberError,
 *   MalformedHandshakeError (address record for another key, or with a bad signature)
 */
export function checkHello(hello: Hello, ctx: HelloCheckContext): void {
  if (!equalBytes(hello.chainId, ctx.chainId)) throw new ForeignChainError('peer belongs to another chain');
  if (equalBytes(hello.nodeKey, ctx.localKey)) throw new SelfConnectionError('peer is this node');
  if (Math.abs(hello.timestamp - ctx.now) > ctx.maxClockSkewMs) {
    throw new StaleHelloError(`hello timestamp is ${hello.timestamp - ctx.now} ms off the local clock`);
  }
  const nonce = Buffer.from(hello.nonce).toString('hex');
  if (ctx.nonces.has(nonce)) throw new ReplayedHelloError('hello nonce seen before');
  ctx.nonces.add(nonce);
  if (!ctx.membership.isMember(hello.nodeKey, hello.admission)) throw new NotAMemberError('peer is not a member of this network');
  const address = hello.address;
  if (address !== undefined) {
    if (!equalBytes(address.nodeKey, hello.nodeKey)) throw new MalformedHandshakeError('address record names another key');
    if (!verifySignature(address.nodeKey, addressSigningMessage(ctx.chainId, address), address.signature)) {
      throw new MalformedHandshakeError('address record signature does not verify');
    }
  }
}

/** The outcome of a completed handshake. */
export interface EstablishedSession {
  readonly role: HandshakeRole;
  /** The remote hello: its node key is now authenticated. */
  readonly remote: Hello;
  readonly transcriptHash: Uint8Array;
  readonly cipher: SessionCipher;
}

/** What one step of the handshake produced: messages to send now, and the session once complete. */
export interface HandshakeStep {
  readonly send: readonly Uint8Array[];
  readonly established?: EstablishedSession;
}

export interface HandshakeOptions {
  /** Judges the remote hello; throws a HandshakeError to refuse it. Runs before this side signs anything. */
  readonly validate: (hello: Hello) => void;
  /** Local clock, ms; defaults to Date.now. */
  readonly now?: () => number;
}

type State = 'new' | 'await-hello' | 'await-auth' | 'done' | 'failed';

/**
 * One side of one handshake. Call `start()` once, then `receive()` for each incoming message until it returns
 * `established`. Any error leaves the handshake failed; the caller closes the connection with the error's code.
 */
export class Handshake {
  readonly role: HandshakeRole;
  readonly #local: LocalIdentity;
  readonly #options: HandshakeOptions;
  readonly #ephemeral: EphemeralKeyPair;
  #state: State = 'new';
  #localHello: Uint8Array | undefined;
  #remote: Hello | undefined;
  #transcript: Uint8Array | undefined;
  #shared: Uint8Array | undefined;

  constructor(role: HandshakeRole, local: LocalIdentity, options: HandshakeOptions) {
    this.role = role;
    this.#local = local;
    this.#options = options;
    this.#ephemeral = generateEphemeralKey();
  }

  /** The remote hello, once received and validated (its key is authenticated only once established). */
  get remoteHello(): Hello | undefined {
    return this.#remote;
  }

  #hello(): Uint8Array {
    const local = this.#local;
    return encodeHello({
      version: PROTOCOL_VERSION,
      chainId: local.chainId,
      nodeKey: local.key.publicKey,
      ephemeralKey: this.#ephemeral.publicKey,
      nonce: getCryptoProvider().randomBytes(32),
      timestamp: (this.#options.now ?? Date.now)(),
      ...(local.address === undefined ? {} : { address: local.address }),
      ...(local.admission === undefined ? {} : { admission: local.admission }),
    });
  }

  /** Begins: the initiator's HELLO to send; nothing for the responder, which waits for one. */
  start(): HandshakeStep {
    if (this.#state !== 'new') throw new MalformedHandshakeError('handshake already started');
    this.#state = 'await-hello';
    if (this.role === 'responder') return { send: [] };
    this.#localHello = this.#hello();
    return { send: [this.#localHello] };
  }

  /**
   * Feeds one incoming handshake message.
   * @throws a HandshakeError subclass: the handshake has failed and the connection must close with its code
   */
  receive(bytes: Uint8Array): HandshakeStep {
    try {
      if (bytes.length > MAX_HANDSHAKE_MESSAGE_BYTES) {
        throw new MalformedHandshakeError(`handshake message of ${bytes.length} bytes (limit ${MAX_HANDSHAKE_MESSAGE_BYTES})`);
      }
      if (this.#state === 'await-hello') return this.#onHello(bytes);
      if (this.#state === 'await-auth') return this.#onAuth(bytes);
      throw new MalformedHandshakeError(`unexpected handshake message in state ${this.#state}`);
    } catch (error) {
      this.#state = 'failed';
      if (error instanceof HandshakeError) throw error;
      if (error instanceof DecodeError) throw new MalformedHandshakeError(`malformed handshake message: ${error.message}`, { cause: error });
      throw error;
    }
  }

  #onHello(bytes: Uint8Array): HandshakeStep {
    const hello = decodeHello(bytes);
    this.#options.validate(hello);
    this.#remote = hello;
    this.#shared = x25519SharedSecret(this.#ephemeral.privateKey, hello.ephemeralKey);
    this.#state = 'await-auth';
    if (this.role === 'initiator') {
      this.#transcript = transcriptHash(this.#localHello!, bytes);
      return { send: [] };
    }
    this.#localHello = this.#hello();
    this.#transcript = transcriptHash(bytes, this.#localHello);
    const auth = encodeAuth({ signature: this.#local.key.sign(authSigningMessage('responder', this.#transcript)) });
    return { send: [this.#localHello, auth] };
  }

  #onAuth(bytes: Uint8Array): HandshakeStep {
    const { signature } = decodeAuth(bytes);
    const remote = this.#remote!;
    const transcript = this.#transcript!;
    const remoteRole: HandshakeRole = this.role === 'initiator' ? 'responder' : 'initiator';
    if (!verifySignature(remote.nodeKey, authSigningMessage(remoteRole, transcript), signature)) {
      throw new HandshakeSignatureError('transcript signature does not verify for this session');
    }
    const send: Uint8Array[] = [];
    if (this.role === 'initiator') {
      send.push(encodeAuth({ signature: this.#local.key.sign(authSigningMessage('initiator', transcript)) }));
    }
    const cipher = new SessionCipher(deriveSessionKeys(this.#shared!, transcript, this.role));
    this.#shared = undefined;
    this.#state = 'done';
    return { send, established: { role: this.role, remote, transcriptHash: transcript, cipher } };
  }
}
