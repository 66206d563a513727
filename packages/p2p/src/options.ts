import { networkInterfaces } from 'node:os';
import { assertBytes, InvalidArgumentError, type Ed25519Signer } from '@safechain/core';
import type { BackoffOptions } from './backoff.js';
import { FRAME_OVERHEAD_BYTES, MAX_BLOCKS_PER_MESSAGE, MAX_HEADERS_PER_MESSAGE, MAX_HOST_BYTES } from './limits.js';
import type { AdmissionCertificate } from './messages.js';
import { scoringPolicy, type ScoringOptions, type ScoringPolicy } from './scoring.js';

/** A host and TCP port. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/**
 * Options of `createNetwork`. Only `key` and `chainId` are required; every limit has a default sized for a factory
 * network of tens of nodes ingesting thousands of small records a second.
 */
export interface NetworkOptions {
  /** The node key: the node's identity on the network. */
  readonly key: Ed25519Signer;
  /** Genesis block hash (32 bytes): must equal the adapter's chain id. */
  readonly chainId: Uint8Array;
  /** Where to accept connections (port 0 picks a free port). Without it the node only dials. */
  readonly listen?: Address;
  /**
   * The address other nodes should dial, signed into this node's address record. Default: `listen`, with a wildcard
   * host (0.0.0.0, ::) replaced by the first non-internal IPv4 address of this machine, and the actual port.
   */
  readonly advertise?: Address;
  /** Seed addresses (`host:port` or objects) to bootstrap from. */
  readonly seeds?: readonly (string | Address)[];
  /** Allowlist of member node keys (hex). See `Membership`. */
  readonly allow?: readonly string[];
  /** Trusted admission keys (hex): a node showing a certificate from one of them is a member. */
  readonly admissionKeys?: readonly string[];
  /** This node's admission certificate, shown in its hello and address record. */
  readonly admission?: AdmissionCertificate;
  /** Outbound connections to hold. Default 8. */
  readonly maxOutbound?: number;
  /** Inbound connections accepted. Default 32. */
  readonly maxInbound?: number;
  /** Inbound connections in their handshake at once. Default 16. */
  readonly maxPendingHandshakes?: number;
  /** Largest message (plaintext) in bytes; the WebSocket `maxPayload`. Default 4 MiB: a block of 1,000 1 kB records fits with room. */
  readonly maxMessageBytes?: number;
  /** Messages per second a peer may send (burst twice that). Default 500. */
  readonly messagesPerSecond?: number;
  /** Bytes per second a peer may send (burst: 2 messages of maximum size, at least). Default 32 MiB. */
  readonly bytesPerSecond?: number;
  /** Requests this node keeps outstanding per peer. Default 8. */
  readonly maxOutstandingRequests?: number;
  /** Requests from one peer served at once. Default 16. */
  readonly maxInboundRequests?: number;
  /** Default 15 s. */
  readonly requestTimeoutMs?: number;
  /** Default 5 s. */
  readonly handshakeTimeoutMs?: number;
  /** Keep-alive ping interval. Default 5 s. */
  readonly pingIntervalMs?: number;
  /** A peer silent this long is dropped. Default 20 s. */
  readonly idleTimeoutMs?: number;
  /** Period of the maintenance loop (keep-alives, outbound slots, scores). Default 1 s. */
  readonly maintenanceIntervalMs?: number;
  /** Period of peer exchange with a random peer. Default 30 s. */
  readonly peerExchangeIntervalMs?: number;
  /** Period of asking every peer for its tip (catches missed blocks and healed partitions). Default 15 s. */
  readonly tipPollIntervalMs?: number;
  /** How far a hello's timestamp may be off the local clock. Default 10 minutes. */
  readonly maxClockSkewMs?: number;
  /** Dial backoff for unreachable addresses. Default 500 ms doubling to 60 s. */
  readonly backoff?: BackoffOptions;
  readonly scoring?: ScoringOptions;
  /** Ids in each seen-cache (transactions, blocks). Default 100,000. */
  readonly seenCacheSize?: number;
  /** Ids remembered per peer as known to it. Default 16,384. */
  readonly knownCacheSize?: number;
  /** Address book size. Default 1,000. */
  readonly maxKnownPeers?: number;
  /** A peer reported connected within this window is listed online. Default 2 minutes. */
  readonly onlineWindowMs?: number;
  /** Batching delay of transaction flooding. Default 20 ms. */
  readonly txFlushIntervalMs?: number;
  /** Transactions waiting to be flooded. Default 100,000. */
  readonly maxRelayQueue?: number;
  /** Blocks, and transaction messages, waiting for the ledger adapter (each lane). Default 1,024. */
  readonly maxLedgerQueue?: number;
  /** Unsent bytes per peer above which flooded messages to it are skipped. Default 16 MiB. */
  readonly maxBufferedBytes?: number;
  /** Pending transactions offered to each new peer (when the adapter lists them). Default 10,000. */
  readonly maxPendingOffer?: number;
  /**
   * How often the ids of transactions still pending since the previous round (at most `maxPendingOffer`) are
   * announced again to every peer, so a peer that lost them (restarted, or dropped them when its mempool was full)
   * asks for them. 0 turns it off. Default 10,000 ms.
   */
  readonly resendPendingIntervalMs?: number;
  /** Headers per sync request (at most 2,000). Default 2,000. */
  readonly syncHeaderBatch?: number;
  /** Blocks per sync request (at most 512). Default 128. */
  readonly syncBlockBatch?: number;
}

/** Options with every default applied and every value checked. */
export interface ResolvedOptions {
  readonly key: Ed25519Signer;
  readonly chainId: Uint8Array;
  readonly listen: Address | undefined;
  readonly advertise: Address | undefined;
  readonly seeds: readonly Address[];
  readonly allow: readonly string[] | undefined;
  readonly admissionKeys: readonly string[];
  readonly admission: AdmissionCertificate | undefined;
  readonly maxOutbound: number;
  readonly maxInbound: number;
  readonly maxPendingHandshakes: number;
  readonly maxMessageBytes: number;
  readonly messagesPerSecond: number;
  readonly bytesPerSecond: number;
  readonly maxOutstandingRequests: number;
  readonly maxInboundRequests: number;
  readonly requestTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly maintenanceIntervalMs: number;
  readonly peerExchangeIntervalMs: number;
  readonly tipPollIntervalMs: number;
  readonly maxClockSkewMs: number;
  readonly backoff: BackoffOptions;
  readonly scoring: ScoringPolicy;
  readonly seenCacheSize: number;
  readonly knownCacheSize: number;
  readonly maxKnownPeers: number;
  readonly onlineWindowMs: number;
  readonly txFlushIntervalMs: number;
  readonly maxRelayQueue: number;
  readonly maxLedgerQueue: number;
  readonly maxBufferedBytes: number;
  readonly maxPendingOffer: number;
  readonly resendPendingIntervalMs: number;
  readonly syncHeaderBatch: number;
  readonly syncBlockBatch: number;
}

function int(value: unknown, fallback: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name}: expected an integer ${min}-${max}, got ${String(v)}`);
  }
  return v;
}

/** Parses `host:port`, `[v6]:port` or an address object. @throws InvalidArgumentError */
export function parseAddress(value: string | Address, name: string): Address {
  let host: unknown;
  let port: unknown;
  if (typeof value === 'string') {
    const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
    if (match === null) throw new InvalidArgumentError(`${name}: expected host:port, got ${value}`);
    host = match[1] ?? match[2];
    port = Number(match[3]);
  } else if (typeof value === 'object' && value !== null) {
    ({ host, port } = value);
  } else {
    throw new InvalidArgumentError(`${name}: expected host:port or { host, port }, got ${String(value)}`);
  }
  if (typeof host !== 'string' || host.length === 0 || Buffer.byteLength(host) > MAX_HOST_BYTES) {
    throw new InvalidArgumentError(`${name}.host: expected 1-${MAX_HOST_BYTES} bytes, got ${String(host)}`);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`${name}.port: expected 0-65535, got ${String(port)}`);
  }
  return { host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** True for hosts that mean "every interface": not dialable. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '' || host === '[::]';
}

/** The first non-internal IPv4 address of this machine, or 127.0.0.1. */
export function defaultAdvertiseHost(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.family === 'IPv4' && !entry.internal) return entry.address;
  }
  return '127.0.0.1';
}

/** Applies defaults and checks every option. @throws InvalidArgumentError, InvalidKeyError */
export function resolveOptions(options: NetworkOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options: expected an object');
  const key = options.key;
  if (typeof key !== 'object' || key === null || typeof key.sign !== 'function') {
    throw new InvalidArgumentError('key: expected a NodeKey (an ed25519 signer)');
  }
  assertBytes(key.publicKey, 'key.publicKey', 32);
  assertBytes(options.chainId, 'chainId', 32);
  const listen = options.listen === undefined ? undefined : parseAddress(options.listen, 'listen');
  const advertise = options.advertise === undefined ? undefined : parseAddress(options.advertise, 'advertise');
  if (!Array.isArray(options.seeds ?? [])) throw new InvalidArgumentError('seeds: expected an array');
  const seeds = (options.seeds ?? []).map((s, i) => {
    const address = parseAddress(s, `seeds[${i}]`);
    if (address.port === 0) throw new InvalidArgumentError(`seeds[${i}].port: expected 1-65535`);
    return address;
  });
  const maxMessageBytes = int(options.maxMessageBytes, 4 * 1024 * 1024, 'maxMessageBytes', 64 * 1024, 256 * 1024 * 1024);
  const bytesPerSecond = int(options.bytesPerSecond, 32 * 1024 * 1024, 'bytesPerSecond', 1024);
  const pingIntervalMs = int(options.pingIntervalMs, 5_000, 'pingIntervalMs', 10);
  const idleTimeoutMs = int(options.idleTimeoutMs, 20_000, 'idleTimeoutMs', 20);
  if (idleTimeoutMs <= pingIntervalMs) {
    throw new InvalidArgumentError(`idleTimeoutMs (${idleTimeoutMs}) must exceed pingIntervalMs (${pingIntervalMs})`);
  }
  return {
    key,
    chainId: options.chainId.slice(),
    listen,
    advertise,
    seeds,
    allow: options.allow,
    admissionKeys: options.admissionKeys ?? [],
    admission: options.admission,
    maxOutbound: int(options.maxOutbound, 8, 'maxOutbound', 0, 1_000),
    maxInbound: int(options.maxInbound, 32, 'maxInbound', 0, 10_000),
    maxPendingHandshakes: int(options.maxPendingHandshakes, 16, 'maxPendingHandshakes', 1, 10_000),
    maxMessageBytes,
    messagesPerSecond: int(options.messagesPerSecond, 500, 'messagesPerSecond', 1),
    bytesPerSecond,
    maxOutstandingRequests: int(options.maxOutstandingRequests, 8, 'maxOutstandingRequests', 1, 1_000),
    maxInboundRequests: int(options.maxInboundRequests, 16, 'maxInboundRequests', 1, 1_000),
    requestTimeoutMs: int(options.requestTimeoutMs, 15_000, 'requestTimeoutMs', 10),
    handshakeTimeoutMs: int(options.handshakeTimeoutMs, 5_000, 'handshakeTimeoutMs', 10),
    pingIntervalMs,
    idleTimeoutMs,
    maintenanceIntervalMs: int(options.maintenanceIntervalMs, 1_000, 'maintenanceIntervalMs', 5),
    peerExchangeIntervalMs: int(options.peerExchangeIntervalMs, 30_000, 'peerExchangeIntervalMs', 10),
    tipPollIntervalMs: int(options.tipPollIntervalMs, 15_000, 'tipPollIntervalMs', 10),
    maxClockSkewMs: int(options.maxClockSkewMs, 10 * 60_000, 'maxClockSkewMs', 0),
    backoff: options.backoff ?? {},
    scoring: scoringPolicy(options.scoring),
    seenCacheSize: int(options.seenCacheSize, 100_000, 'seenCacheSize', 16),
    knownCacheSize: int(options.knownCacheSize, 16_384, 'knownCacheSize', 16),
    maxKnownPeers: int(options.maxKnownPeers, 1_000, 'maxKnownPeers', 1),
    onlineWindowMs: int(options.onlineWindowMs, 2 * 60_000, 'onlineWindowMs', 0),
    txFlushIntervalMs: int(options.txFlushIntervalMs, 20, 'txFlushIntervalMs', 0, 60_000),
    maxRelayQueue: int(options.maxRelayQueue, 100_000, 'maxRelayQueue', 1),
    maxLedgerQueue: int(options.maxLedgerQueue, 1_024, 'maxLedgerQueue', 1),
    maxBufferedBytes: int(options.maxBufferedBytes, 16 * 1024 * 1024, 'maxBufferedBytes', 0),
    maxPendingOffer: int(options.maxPendingOffer, 10_000, 'maxPendingOffer', 0),
    resendPendingIntervalMs: int(options.resendPendingIntervalMs, 10_000, 'resendPendingIntervalMs', 0),
    syncHeaderBatch: int(options.syncHeaderBatch, MAX_HEADERS_PER_MESSAGE, 'syncHeaderBatch', 1, MAX_HEADERS_PER_MESSAGE),
    syncBlockBatch: int(options.syncBlockBatch, 128, 'syncBlockBatch', 1, MAX_BLOCKS_PER_MESSAGE),
  };
}

/** The WebSocket `maxPayload`: the largest message plus the frame tag. */
export function maxFrameBytes(options: ResolvedOptions): number {
  return options.maxMessageBytes + FRAME_OVERHEAD_BYTES;
}
