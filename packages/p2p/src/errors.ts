import { DecodeError, SafechainError } from '@safechain/core';

/**
 * Typed errors of `@safechain/p2p`: one class per condition, each with a literal `name`. Handshake errors carry the
 * WebSocket close code the connection is closed with, so the remote side learns why it was refused.
 */

/** WebSocket close codes of the protocol (4000-4999 is the application range of RFC 6455). */
export const CloseCode = {
  /** Normal closure: the node is stopping or dropped the connection without blame. */
  normal: 1000,
  /** The node is shutting down. */
  goingAway: 1001,
  /** A message arrived that the current state does not allow (plaintext after the handshake, a second hello). */
  protocolViolation: 4000,
  /** The handshake failed for a reason not listed below (bad signature, malformed hello, timeout). */
  handshakeFailed: 4001,
  /** The remote node is this node. */
  selfConnection: 4002,
  /** A connection to that node already exists. */
  duplicate: 4003,
  /** The remote node belongs to another chain. */
  foreignChain: 4004,
  /** The remote node is not (or no longer) a member of the network. */
  notAMember: 4005,
  /** The remote node is banned for misbehaviour. */
  banned: 4006,
  /** A frame failed authenticated decryption (tampered, replayed, reordered or truncated). */
  frameAuthentication: 4007,
  /** No message within the idle timeout. */
  idleTimeout: 4008,
  /** The remote node speaks an unsupported protocol version. */
  protocolVersion: 4010,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Base of the errors that end a handshake: each says which close code the connection gets. */
export abstract class HandshakeError extends SafechainError {
  abstract readonly closeCode: CloseCodeValue;
}

/** The remote hello names a protocol version this node does not speak. */
export class ProtocolVersionError extends HandshakeError {
  override readonly name = 'ProtocolVersionError' as const;
  readonly closeCode = CloseCode.protocolVersion;
}

/** The remote hello names another chain (genesis hash). */
export class ForeignChainError extends HandshakeError {
  override readonly name = 'ForeignChainError' as const;
  readonly closeCode = CloseCode.foreignChain;
}

/** The remote node key is neither on the allowlist nor admitted by a trusted admission key. */
export class NotAMemberError extends HandshakeError {
  override readonly name = 'NotAMemberError' as const;
  readonly closeCode = CloseCode.notAMember;
}

/** The remote node key is this node's own key. */
export class SelfConnectionError extends HandshakeError {
  override readonly name = 'SelfConnectionError' as const;
  readonly closeCode = CloseCode.selfConnection;
}

/** A connection to the remote node already exists and wins the tie-break. */
export class DuplicateConnectionError extends HandshakeError {
  override readonly name = 'DuplicateConnectionError' as const;
  readonly closeCode = CloseCode.duplicate;
}

/** The remote node is banned. */
export class BannedPeerError extends HandshakeError {
  override readonly name = 'BannedPeerError' as const;
  readonly closeCode = CloseCode.banned;
}

/** The hello's timestamp is outside the allowed clock skew: a stale (recorded) or badly clocked hello. */
export class StaleHelloError extends HandshakeError {
  override readonly name = 'StaleHelloError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** The hello's nonce was seen before: a replayed hello. */
export class ReplayedHelloError extends HandshakeError {
  override readonly name = 'ReplayedHelloError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** The transcript signature does not verify: wrong key, or a signature from another session (replay). */
export class HandshakeSignatureError extends HandshakeError {
  override readonly name = 'HandshakeSignatureError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** The dialled node answered with another key than the one its address record named. */
export class UnexpectedPeerKeyError extends HandshakeError {
  override readonly name = 'UnexpectedPeerKeyError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** The X25519 exchange failed (a low-order ephemeral key makes the shared secret all zero). */
export class KeyAgreementError extends HandshakeError {
  override readonly name = 'KeyAgreementError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** The handshake did not complete in time. */
export class HandshakeTimeoutError extends HandshakeError {
  override readonly name = 'HandshakeTimeoutError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** A handshake message was malformed (decode error) or arrived out of order. */
export class MalformedHandshakeError extends HandshakeError {
  override readonly name = 'MalformedHandshakeError' as const;
  readonly closeCode = CloseCode.handshakeFailed;
}

/** A frame failed authenticated decryption: tampered, replayed, reordered, truncated, or under another key. */
export class FrameAuthenticationError extends SafechainError {
  override readonly name = 'FrameAuthenticationError' as const;
}

/** A session has sent or received the most frames one key may protect; the connection must be re-established. */
export class SessionExhaustedError extends SafechainError {
  override readonly name = 'SessionExhaustedError' as const;
}

/** A message's type byte is not one of the protocol's message types (or not allowed in this direction). */
export class UnknownMessageTypeError extends DecodeError {
  override readonly name = 'UnknownMessageTypeError' as const;
}

/** A request got no response within the request timeout. */
export class RequestTimeoutError extends SafechainError {
  override readonly name = 'RequestTimeoutError' as const;
}

/** A request could not complete because the connection closed. */
export class PeerDisconnectedError extends SafechainError {
  override readonly name = 'PeerDisconnectedError' as const;
}

/** Too many requests to one peer are outstanding; the caller should wait for one to finish. */
export class RequestLimitError extends SafechainError {
  override readonly name = 'RequestLimitError' as const;
}

/** An operation needs a started network (or one that is not stopped). */
export class NetworkStateError extends SafechainError {
  override readonly name = 'NetworkStateError' as const;
}

/** A value to send does not fit in one message under the configured message size limit. */
export class MessageTooLargeError extends SafechainError {
  override readonly name = 'MessageTooLargeError' as const;
}

/** A peer answered a request with a response that does not fit it (wrong type, too many items, wrong blocks). */
export class InvalidResponseError extends SafechainError {
  override readonly name = 'InvalidResponseError' as const;
}

/** A sync with a peer could not complete (the peer's chain does not connect, or it stopped serving blocks). */
export class SyncError extends SafechainError {
  override readonly name = 'SyncError' as const;
}

/** Seals were being gathered for a block that is no longer wanted: the chain moved past its height meanwhile. */
export class BlockSupersededError extends SafechainError {
  override readonly name = 'BlockSupersededError' as const;
}
