/**
 * `@safechain/p2p`: the local network of a safechain node over WebSocket. Authenticated and encrypted peers (node
 * keys, X25519, AES-256-GCM), seed bootstrapping, peer exchange, flooding of transactions and blocks, headers-first
 * sync and self-repair. The node plugs its chain in through `LedgerAdapter`. docs/p2p-protocol.md is the wire spec.
 */
export { createNetwork, Network } from './network.js';
export type { NetworkEvents } from './network.js';
export type { KnownPeerStatus, NetworkStatus, PeerStatus } from './status.js';
export type { Address, NetworkOptions } from './options.js';
export { formatAddress, parseAddress } from './options.js';
export type { Awaitable, BlockVerdict, LedgerAdapter, PeerRef, TransactionVerdict } from './adapter.js';
export * from './errors.js';
export * from './limits.js';
export {
  addressSigningMessage,
  admissionSigningMessage,
  decodeAuth,
  decodeHello,
  decodeMessage,
  encodeAuth,
  encodeHello,
  encodeMessage,
  MessageType,
  messageTypeName,
} from './messages.js';
export type { AddressRecord, AdmissionCertificate, Auth, ChainTip, Hello, MessageTypeName, PeerEntry, SessionMessage } from './messages.js';
export { issueAdmission, Membership, verifyAdmission, type MembershipOptions } from './membership.js';
export {
  authSigningMessage,
  checkHello,
  generateEphemeralKey,
  Handshake,
  transcriptHash,
  x25519SharedSecret,
} from './handshake.js';
export type { EstablishedSession, HandshakeOptions, HandshakeStep, HelloCheckContext, LocalIdentity } from './handshake.js';
export { deriveSessionKeys, SessionCipher, type HandshakeRole, type SessionKeys } from './session.js';
export { DEFAULT_PENALTIES, scoringPolicy, type Offence, type ScoringOptions, type ScoringPolicy } from './scoring.js';
export { Backoff, type BackoffOptions } from './backoff.js';
export { SeenCache } from './seen-cache.js';
export type { SyncStatus } from './sync.js';
