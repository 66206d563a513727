import { concatBytes, toHex, type Block, type BlockHeader, type Transaction } from '@safechain/core';
import WebSocket from 'ws';
import {
  CloseCode,
  FrameAuthenticationError,
  HandshakeError,
  HandshakeTimeoutError,
  InvalidResponseError,
  PeerDisconnectedError,
  RequestLimitError,
  RequestTimeoutError,
} from './errors.js';
import { Handshake, type LocalIdentity } from './handshake.js';
import { MAX_PEER_ENTRIES } from './limits.js';
import {
  decodeMessage,
  encodeMessage,
  messageTypeName,
  RESPONSE_TYPE,
  type ChainTip,
  type Hello,
  type MessageTypeName,
  type PeerEntry,
  type RequestMessage,
  type ResponseMessage,
  type SessionMessage,
} from './messages.js';
import { TokenBucket } from './rate-limit.js';
import { PeerScore, type Offence, type ScoringPolicy } from './scoring.js';
import { SeenCache } from './seen-cache.js';
import type { SessionCipher } from './session.js';

/**
 * One connection to one peer: the WebSocket, the handshake, the session cipher, rate limits, the score, request and
 * response matching, and keep-alive bookkeeping. A Peer never trusts a byte it receives: every frame is
 * authenticated, decoded within limits and rate-checked before the network sees it, and every failure ends as an
 * offence against the peer's score or a closed connection, never as an exception out of a socket event.
 */

export type Direction = 'inbound' | 'outbound';
export type PeerState = 'handshaking' | 'open' | 'closed';

/** Per-connection limits (filled from the network options). */
export interface PeerLimits {
  /** Largest plaintext message; the WebSocket `maxPayload` is this plus the 16-byte tag. */
  readonly maxMessageBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly bytesPerSecond: number;
  readonly byteBurst: number;
  /** Requests this node may have waiting on the peer. */
  readonly maxOutstandingRequests: number;
  /** Requests from the peer this node serves at once; more are refused as flooding. */
  readonly maxInboundRequests: number;
  readonly requestTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  /** Unsent bytes above which flooded messages to this peer are skipped (a slow peer must not eat memory). */
  readonly maxBufferedBytes: number;
  /** Ids remembered per peer as "the peer has it". */
  readonly knownCacheSize: number;
}

/** What a peer reports to its owner (the network). */
export interface PeerHandler {
  /** Extra checks of the remote hello (bans, duplicates, expected key); throws a HandshakeError to refuse. */
  validateHello(peer: Peer, hello: Hello): void;
  /** The handshake completed; throws a HandshakeError to refuse the connection (duplicate). */
  established(peer: Peer): void;
  /** A request or a flooded message from an open peer. */
  message(peer: Peer, message: Exclude<SessionMessage, ResponseMessage | { type: 'ping' | 'pong' }>, bytes: number): void;
  offence(peer: Peer, offence: Offence, detail: string): void;
  /** The connection is over (called once). `error` is the handshake error when the handshake failed. */
  closed(peer: Peer, code: number, reason: string, error?: Error): void;
  traffic(direction: 'in' | 'out', type: MessageTypeName | 'handshake' | 'unknown', bytes: number): void;
}

interface PendingRequest {
  readonly expect: ResponseMessage['type'];
  readonly resolve: (response: ResponseMessage) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

const CLOSE_GRACE_MS = 2_000;
const MAX_EXPIRED_IDS = 64;
const RESPONSE_TYPES = new Set<string>(Object.values(RESPONSE_TYPE));

/**
 * Runs `fn` after the event loop's next I/O poll. A timeout that fires late (the loop was busy) must not beat the
 * very message it waits for when that message already sits in the socket: timers run before I/O in a loop turn,
 * immediates after it.
 */
function afterPendingIo(fn: () => void): void {
  setImmediate(fn);
}

function toBytes(data: WebSocket.RawData): Uint8Array {
  if (Array.isArray(data)) return concatBytes(...data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function truncateReason(reason: string): string {
  const bytes = Buffer.from(reason, 'utf8');
  return bytes.length <= 120 ? reason : bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD+$/, '');
}

export interface PeerInit {
  readonly socket: WebSocket;
  readonly direction: Direction;
  /** For an outbound connection: the address dialled. For inbound: the socket's remote address. */
  readonly address: string;
  readonly local: LocalIdentity;
  readonly limits: PeerLimits;
  readonly scoring: ScoringPolicy;
  readonly handler: PeerHandler;
  readonly now: () => number;
  /** The key the dialled address should answer with, when known from its address record. */
  readonly expectedKey?: string;
}

export class Peer {
  readonly direction: Direction;
  readonly score: PeerScore;
  /** Ids of transactions the peer is known to have (sent to it, or received from it). */
  readonly knownTransactions: SeenCache;
  /** Hashes of blocks the peer is known to have. */
  readonly knownBlocks: SeenCache;
  readonly expectedKey: string | undefined;
  readonly startedAt: number;
  #address: string;
  #state: PeerState = 'handshaking';
  #hello: Hello | undefined;
  #key: string | undefined;
  #cipher: SessionCipher | undefined;
  readonly #socket: WebSocket;
  readonly #handshake: Handshake;
  readonly #limits: PeerLimits;
  readonly #handler: PeerHandler;
  readonly #now: () => number;
  readonly #messages: TokenBucket;
  readonly #bytes: TokenBucket;
  readonly #requests = new Map<number, PendingRequest>();
  /** Ids of requests that timed out: a late response to one is not unsolicited. */
  readonly #expired = new Set<number>();
  #nextRequestId = 1;
  #inboundRequests = 0;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #closeTimer: NodeJS.Timeout | undefined;
  #connectedAt = 0;
  #lastReceivedAt: number;
  #pingNonce: number | undefined;
  #pingSentAt = 0;
  #rttMs: number | undefined;
  #messagesIn = 0;
  #messagesOut = 0;
  #bytesIn = 0;
  #bytesOut = 0;
  #socketClosed!: () => void;
  /** Resolves once the socket is closed (after `close()`, at most a short grace period later). */
  readonly closed: Promise<void> = new Promise((resolve) => {
    this.#socketClosed = resolve;
  });

  constructor(init: PeerInit) {
    this.direction = init.direction;
    this.#address = init.address;
    this.#socket = init.socket;
    this.#limits = init.limits;
    this.#handler = init.handler;
    this.#now = init.now;
    this.expectedKey = init.expectedKey;
    this.score = new PeerScore(init.scoring);
    this.knownTransactions = new SeenCache(init.limits.knownCacheSize);
    this.knownBlocks = new SeenCache(Math.max(16, Math.floor(init.limits.knownCacheSize / 8)));
    this.startedAt = init.now();
    this.#lastReceivedAt = this.startedAt;
    this.#messages = new TokenBucket(init.limits.messagesPerSecond, init.limits.messageBurst, this.startedAt);
    this.#bytes = new TokenBucket(init.limits.bytesPerSecond, init.limits.byteBurst, this.startedAt);
    this.#handshake = new Handshake(init.direction === 'outbound' ? 'initiator' : 'responder', init.local, {
      validate: (hello) => this.#handler.validateHello(this, hello),
      now: init.now,
    });
    this.#handshakeTimer = setTimeout(
      () =>
        afterPendingIo(() => {
          if (this.#state === 'handshaking') {
            this.#fail(new HandshakeTimeoutError(`handshake not complete after ${init.limits.handshakeTimeoutMs} ms`));
          }
        }),
      init.limits.handshakeTimeoutMs,
    );

    const socket = this.#socket;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    socket.on('close', (code, reason) => {
      this.#finish(code, reason.toString('utf8'));
      clearTimeout(this.#closeTimer);
      this.#socketClosed();
    });
    socket.on('error', (error: Error & { code?: string }) => this.#onSocketError(error));
    if (socket.readyState === WebSocket.OPEN) this.#begin();
    else socket.once('open', () => this.#begin());
  }

  get state(): PeerState {
    return this.#state;
  }

  /** The remote node key as hex, once the remote hello was received (authenticated once `state` is `open`). */
  get key(): string | undefined {
    return this.#key;
  }

  /** The remote hello (with the peer's signed address record, if it listens). */
  get hello(): Hello | undefined {
    return this.#hello;
  }

  /** The address as shown in status: the dialled one, or the peer's advertised listen address once known. */
  get address(): string {
    return this.#address;
  }

  get connectedAt(): number {
    return this.#connectedAt;
  }

  get lastReceivedAt(): number {
    return this.#lastReceivedAt;
  }

  /** Round-trip time of the last answered ping, ms. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  get outstandingRequests(): number {
    return this.#requests.size;
  }

  get counters(): { messagesIn: number; messagesOut: number; bytesIn: number; bytesOut: number } {
    return { messagesIn: this.#messagesIn, messagesOut: this.#messagesOut, bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
  }

  /** Unsent bytes queued on the socket. */
  get bufferedBytes(): number {
    return this.#socket.bufferedAmount;
  }

  #begin(): void {
    if (this.#state !== 'handshaking') return;
    try {
      this.#sendHandshake(this.#handshake.start().send);
    } catch (error) {
      this.#fail(error);
    }
  }

  #sendHandshake(messages: readonly Uint8Array[]): void {
    for (const bytes of messages) {
      this.#socket.send(bytes, { binary: true });
      this.#bytesOut += bytes.length;
      this.#handler.traffic('out', 'handshake', bytes.length);
    }
  }

  #onSocketError(error: Error & { code?: string }): void {
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && this.#state === 'open') {
      this.#handler.offence(this, 'oversized', error.message);
    }
    // ws closes the socket after an error; 'close' follows and finishes the peer. Terminate in case it does not.
    if (this.#state !== 'closed') this.#scheduleTerminate();
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    const bytes = toBytes(data);
    this.#bytesIn += bytes.length;
    if (!isBinary) {
      if (this.#state === 'open') this.#handler.offence(this, 'protocol-violation', 'text frame');
      this.close(CloseCode.protocolViolation, 'text frames are not part of the protocol');
      return;
    }
    if (this.#state === 'handshaking') this.#onHandshakeMessage(bytes);
    else this.#onFrame(bytes);
  }

  #onHandshakeMessage(bytes: Uint8Array): void {
    this.#handler.traffic('in', 'handshake', bytes.length);
    try {
      const step = this.#handshake.receive(bytes);
      const hello = this.#handshake.remoteHello;
      if (hello !== undefined && this.#key === undefined) {
        this.#hello = hello;
        this.#key = toHex(hello.nodeKey);
        if (hello.address !== undefined && this.direction === 'inbound') {
          this.#address = `${hello.address.host}:${hello.address.port}`;
        }
      }
      this.#sendHandshake(step.send);
      if (step.established !== undefined) {
        this.#cipher = step.established.cipher;
        this.#state = 'open';
        this.#connectedAt = this.#now();
        this.#lastReceivedAt = this.#connectedAt;
        clearTimeout(this.#handshakeTimer);
        this.#handshakeTimer = undefined;
        this.#handler.established(this);
      }
    } catch (error) {
      this.#fail(error);
    }
  }

  #onFrame(frame: Uint8Array): void {
    let plaintext: Uint8Array;
    try {
      plaintext = this.#cipher!.open(frame);
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      // Closed first, so the peer learns the reason (4007); the offence (a ban with the default penalties) follows.
      this.close(CloseCode.frameAuthentication, 'frame failed authentication');
      if (error instanceof FrameAuthenticationError) this.#handler.offence(this, 'frame-authentication', detail);
      return;
    }
    const now = this.#now();
    this.#lastReceivedAt = now;
    this.#messagesIn++;
    const typeName = plaintext.length > 0 ? messageTypeName(plaintext[0]!) : 'unknown';
    // Responses are exempt: this node asked for them (at most maxOutstandingRequests at a time), and a peer serving
    // a fast sync must not be blamed for it. Unsolicited responses are penalised when matched.
    const solicited = RESPONSE_TYPES.has(typeName) && this.#requests.size > 0;
    if (!solicited && (!this.#messages.take(1, now) || !this.#bytes.take(frame.length, now))) {
      this.#handler.offence(this, 'flooding', `over ${this.#limits.messagesPerSecond} messages/s or ${this.#limits.bytesPerSecond} bytes/s`);
      return;
    }
    let message: SessionMessage;
    try {
      message = decodeMessage(plaintext, this.#limits.maxMessageBytes);
    } catch (error) {
      this.#handler.traffic('in', typeName, frame.length);
      this.#handler.offence(this, 'malformed', error instanceof Error ? error.message : String(error));
      return;
    }
    this.#handler.traffic('in', message.type, frame.length);
    switch (message.type) {
      case 'ping':
        this.send({ type: 'pong', nonce: message.nonce });
        return;
      case 'pong':
        if (this.#pingNonce !== undefined && message.nonce === this.#pingNonce) {
          this.#rttMs = now - this.#pingSentAt;
          this.#pingNonce = undefined;
        }
        return;
      case 'peers':
      case 'tip':
      case 'headers':
      case 'blocks':
      case 'transactionData':
      case 'seal':
        this.#onResponse(message);
        return;
      default:
        this.#handler.message(this, message, frame.length);
    }
  }

  #onResponse(message: ResponseMessage): void {
    const pending = this.#requests.get(message.id);
    if (pending === undefined) {
      // A late answer to a request that timed out (already penalised as a timeout) is dropped without more blame.
      if (!this.#expired.delete(message.id)) {
        this.#handler.offence(this, 'unsolicited', `${message.type} for unknown request ${message.id}`);
      }
      return;
    }
    this.#requests.delete(message.id);
    clearTimeout(pending.timer);
    if (message.type !== pending.expect) {
      this.#handler.offence(this, 'invalid-response', `expected ${pending.expect}, got ${message.type}`);
      pending.reject(new InvalidResponseError(`expected ${pending.expect}, got ${message.type}`));
      return;
    }
    pending.resolve(message);
  }

  /**
   * Encrypts and sends a session message. Returns false when the peer is not open.
   * @throws InvalidArgumentError when the message does not encode (a caller bug, not a peer's)
   */
  send(message: SessionMessage): boolean {
    return this.sendEncoded(message.type, encodeMessage(message), false);
  }

  /**
   * Sends an already encoded message. With `droppable` (flooded messages), the message is skipped when the peer is
   * slow to read (more than `maxBufferedBytes` unsent): it returns false and the caller counts a drop.
   */
  sendEncoded(type: MessageTypeName, plaintext: Uint8Array, droppable: boolean): boolean {
    if (this.#state !== 'open' || this.#socket.readyState !== WebSocket.OPEN) return false;
    if (droppable && this.#socket.bufferedAmount > this.#limits.maxBufferedBytes) return false;
    let frame: Uint8Array;
    try {
      frame = this.#cipher!.seal(plaintext);
    } catch {
      this.close(CloseCode.normal, 'session exhausted');
      return false;
    }
    this.#socket.send(frame, { binary: true });
    this.#messagesOut++;
    this.#bytesOut += frame.length;
    this.#handler.traffic('out', type, frame.length);
    return true;
  }

  /** Sends a ping (keep-alive and round-trip time). */
  ping(nonce: number): void {
    if (this.send({ type: 'ping', nonce })) {
      if (this.#pingNonce === undefined) {
        this.#pingNonce = nonce;
        this.#pingSentAt = this.#now();
      }
    }
  }

  /** Counts a request from the peer being served; false when the peer already has too many in progress. */
  beginInboundRequest(): boolean {
    if (this.#inboundRequests >= this.#limits.maxInboundRequests) return false;
    this.#inboundRequests++;
    return true;
  }

  endInboundRequest(): void {
    this.#inboundRequests = Math.max(0, this.#inboundRequests - 1);
  }

  /**
   * Sends a request and resolves with the matching response.
   * @throws (rejects) RequestLimitError, RequestTimeoutError, PeerDisconnectedError, InvalidResponseError
   */
  request(make: (id: number) => RequestMessage): Promise<ResponseMessage> {
    if (this.#state !== 'open') return Promise.reject(new PeerDisconnectedError('peer is not connected'));
    if (this.#requests.size >= this.#limits.maxOutstandingRequests) {
      return Promise.reject(new RequestLimitError(`${this.#requests.size} requests already outstanding`));
    }
    const id = this.#nextRequestId;
    this.#nextRequestId = this.#nextRequestId >= 0xffff_ffff ? 1 : this.#nextRequestId + 1;
    const message = make(id);
    let resolve!: (response: ResponseMessage) => void;
    let reject!: (error: Error) => void;
    const promise = new Promise<ResponseMessage>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const timer = setTimeout(() => afterPendingIo(() => {
      if (this.#requests.delete(id)) {
        this.#expired.add(id);
        if (this.#expired.size > MAX_EXPIRED_IDS) this.#expired.delete(this.#expired.values().next().value!);
        this.#handler.offence(this, 'timeout', `${message.type} unanswered after ${this.#limits.requestTimeoutMs} ms`);
        reject(new RequestTimeoutError(`${message.type} unanswered after ${this.#limits.requestTimeoutMs} ms`));
      }
    }), this.#limits.requestTimeoutMs);
    this.#requests.set(id, { expect: RESPONSE_TYPE[message.type], resolve, reject, timer });
    if (!this.send(message)) {
      this.#requests.delete(id);
      clearTimeout(timer);
      reject(new PeerDisconnectedError('peer is not connected'));
    }
    return promise;
  }

  /** The peer's chain tip. */
  async requestTip(): Promise<ChainTip> {
    const response = await this.request((id) => ({ type: 'getTip', id }));
    if (response.type !== 'tip') throw new InvalidResponseError(`expected tip, got ${response.type}`);
    return response.tip;
  }

  /** Up to `max` canonical headers from `fromHeight`. @throws (rejects) InvalidResponseError on more than asked */
  async requestHeaders(fromHeight: number, max: number): Promise<readonly BlockHeader[]> {
    const response = await this.request((id) => ({ type: 'getHeaders', id, fromHeight, max }));
    if (response.type !== 'headers') throw new InvalidResponseError(`expected headers, got ${response.type}`);
    if (response.headers.length > max) return this.#invalid(`${response.headers.length} headers for max ${max}`);
    return response.headers;
  }

  /** Blocks by hash (a prefix of `hashes`, as the peer can serve them). */
  async requestBlocks(hashes: readonly Uint8Array[]): Promise<readonly Block[]> {
    const response = await this.request((id) => ({ type: 'getBlocks', id, hashes }));
    if (response.type !== 'blocks') throw new InvalidResponseError(`expected blocks, got ${response.type}`);
    if (response.blocks.length > hashes.length) return this.#invalid(`${response.blocks.length} blocks for ${hashes.length} hashes`);
    return response.blocks;
  }

  /** Full transactions by id (those the peer has). */
  async requestTransactions(ids: readonly Uint8Array[]): Promise<readonly Transaction[]> {
    const response = await this.request((id) => ({ type: 'getTransactions', id, ids }));
    if (response.type !== 'transactionData') throw new InvalidResponseError(`expected transactionData, got ${response.type}`);
    if (response.txs.length > ids.length) return this.#invalid(`${response.txs.length} transactions for ${ids.length} ids`);
    return response.txs;
  }

  /** The peer's seal for `block` (transactions stripped), or null when it refused. */
  async requestSeal(block: Block): Promise<Uint8Array | null> {
    const response = await this.request((id) => ({ type: 'getSeal', id, block }));
    if (response.type !== 'seal') throw new InvalidResponseError(`expected seal, got ${response.type}`);
    return response.signature;
  }

  /** The peer's known online peers. */
  async requestPeers(): Promise<readonly PeerEntry[]> {
    const response = await this.request((id) => ({ type: 'getPeers', id }));
    if (response.type !== 'peers') throw new InvalidResponseError(`expected peers, got ${response.type}`);
    if (response.entries.length > MAX_PEER_ENTRIES) return this.#invalid('too many peer entries');
    return response.entries;
  }

  #invalid(detail: string): never {
    this.#handler.offence(this, 'invalid-response', detail);
    throw new InvalidResponseError(detail);
  }

  #fail(error: unknown): void {
    if (this.#state === 'closed') return;
    const err = error instanceof Error ? error : new Error(String(error));
    const code = error instanceof HandshakeError ? error.closeCode : CloseCode.handshakeFailed;
    this.close(code, err.message, err);
  }

  /**
   * Closes the connection with `code` and `reason` (sent to the peer). Idempotent. Outstanding requests reject with
   * PeerDisconnectedError; the handler's `closed` runs once.
   */
  close(code: number, reason: string, error?: Error): void {
    if (this.#state === 'closed') return;
    const socket = this.#socket;
    try {
      if (socket.readyState === WebSocket.OPEN) socket.close(code, truncateReason(reason));
      else socket.terminate();
    } catch {
      socket.terminate();
    }
    this.#finish(code, reason, error);
    this.#scheduleTerminate();
  }

  #scheduleTerminate(): void {
    if (this.#closeTimer !== undefined) return;
    this.#closeTimer = setTimeout(() => this.#socket.terminate(), CLOSE_GRACE_MS);
    this.#closeTimer.unref();
  }

  #finish(code: number, reason: string, error?: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#handshakeTimer);
    for (const [id, pending] of this.#requests) {
      clearTimeout(pending.timer);
      pending.reject(new PeerDisconnectedError(`connection closed (${code})`));
      this.#requests.delete(id);
    }
    this.#handler.closed(this, code, reason, error);
  }
}
