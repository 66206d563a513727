/**
 * Hard limits enforced by every decoder before it allocates. They bound what an untrusted peer, file or proof can
 * make a node spend; raising one is a format change, so they live in one place.
 */

/** Largest transaction payload: 64 MiB. Bigger artefacts (CAD files) are split or referenced by hash. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Content type, as a MIME type: `application/json`, `text/csv;charset=utf-8`. */
export const MAX_CONTENT_TYPE_BYTES = 255;
/** Source name: a file name, an OPC UA node id, a machine name. */
export const MAX_SOURCE_BYTES = 1024;
/** Trace codes per transaction (product, batch, order codes). */
export const MAX_TRACE_CODES = 32;
/** One trace code. */
export const MAX_TRACE_CODE_BYTES = 256;
/** Transactions in one block: 2^22, so an inclusion path has at most 22 hashes. */
export const MAX_BLOCK_TRANSACTIONS = 4_194_304;
/** Signatures on one block header: room for a large validator set. */
export const MAX_BLOCK_SIGNATURES = 256;
/** Entries in a header's nonce list. */
export const MAX_NONCES = 16;
/** A header's extra data (consensus parameters in genesis, proposer data). */
export const MAX_EXTRA_DATA_BYTES = 64 * 1024;
/** Hashes in one Merkle inclusion path: enough for the largest block. */
export const MAX_MERKLE_PATH = 22;
