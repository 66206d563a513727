/**
 * Protocol limits: every decoder checks these before it allocates. They bound what one message from an untrusted
 * peer can make a node spend; the byte size of a whole message is bounded separately by the configured
 * `maxMessageBytes` (the WebSocket `maxPayload`).
 */

/**
 * The protocol version this implementation speaks (the hello's version byte). Version 2 added TRANSACTION_IDS
 * announcements and the GET_SEAL/SEAL exchange; a peer of another version is refused at the handshake.
 */
export const PROTOCOL_VERSION = 2;
/** Peer entries in one PEERS response. */
export const MAX_PEER_ENTRIES = 64;
/** Host name or address in an address record: a DNS name is at most 253 characters. */
export const MAX_HOST_BYTES = 253;
/** Transactions in one TRANSACTIONS or TRANSACTION_DATA message. */
export const MAX_TRANSACTIONS_PER_MESSAGE = 10_000;
/** Block headers in one HEADERS response (and the largest `max` a GET_HEADERS may ask for). */
export const MAX_HEADERS_PER_MESSAGE = 2_000;
/** Blocks in one BLOCKS response, and hashes in one GET_BLOCKS request. */
export const MAX_BLOCKS_PER_MESSAGE = 512;
/** Transaction ids in one GET_TRANSACTIONS request. */
export const MAX_IDS_PER_REQUEST = 1_024;
/** Total work of a chain tip, as unsigned big-endian bytes: 256 bits. */
export const MAX_WORK_BYTES = 32;
/** A handshake message (HELLO or AUTH) is small; anything larger before the session exists is refused. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 1_024;
/** Bytes the AES-256-GCM tag adds to every encrypted frame. */
export const FRAME_OVERHEAD_BYTES = 16;
/**
 * Frames one session key may protect before the connection must be re-established. Far below the 2^64 counter
 * space and the GCM usage limits; at 10,000 frames a second it lasts over three years.
 */
export const MAX_FRAMES_PER_SESSION = 2 ** 40;
