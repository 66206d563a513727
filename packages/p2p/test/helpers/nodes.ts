import { NodeKey } from '@safechain/core';
import { createNetwork, type Network, type NetworkOptions } from '@safechain/p2p';
import WebSocket from 'ws';
import { TestLedger } from './ledger.js';

/** Short timers so behaviour that takes seconds in production shows within a test. */
export const FAST: Partial<NetworkOptions> = {
  maintenanceIntervalMs: 50,
  pingIntervalMs: 200,
  idleTimeoutMs: 1_500,
  peerExchangeIntervalMs: 300,
  tipPollIntervalMs: 500,
  handshakeTimeoutMs: 1_500,
  requestTimeoutMs: 3_000,
  backoff: { baseMs: 50, maxMs: 500 },
  txFlushIntervalMs: 5,
};

export interface TestNode {
  readonly key: NodeKey;
  readonly ledger: TestLedger;
  readonly network: Network;
  readonly address: string;
}

/** Starts a network on 127.0.0.1 with a free port over `ledger`. */
export async function startNode(
  ledger: TestLedger,
  options: Partial<NetworkOptions> & { key?: NodeKey } = {},
): Promise<TestNode> {
  const key = options.key ?? NodeKey.generate();
  const network = createNetwork(
    { ...FAST, listen: { host: '127.0.0.1', port: 0 }, ...options, key, chainId: ledger.chainId },
    ledger,
  );
  await network.start();
  const listen = network.listenAddress!;
  return { key, ledger, network, address: `${listen.host}:${listen.port}` };
}

/** Stops every node, in parallel. */
export async function stopAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.network.stop()));
}

/** A raw WebSocket client: sends arbitrary bytes, collects what comes back and how the connection closed. */
export class RawClient {
  readonly socket: WebSocket;
  readonly received: Uint8Array[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];

  private constructor(socket: WebSocket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    socket.on('message', (data: Buffer) => {
      this.received.push(new Uint8Array(data));
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('error', () => undefined);
  }

  static async connect(address: string, maxPayload = 64 * 1024 * 1024): Promise<RawClient> {
    const socket = new WebSocket(`ws://${address}/`, { perMessageDeflate: false, maxPayload });
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  send(bytes: Uint8Array | string): void {
    this.socket.send(bytes, { binary: typeof bytes !== 'string' });
  }

  /** The next message not yet taken (waits up to `timeoutMs`). */
  async next(timeoutMs = 3_000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (Date.now() > deadline) throw new Error('no message');
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), this.closed, sleepMs(50)]);
      if (this.socket.readyState === WebSocket.CLOSED && this.received.length === 0) throw new Error('closed');
    }
    return this.received.shift()!;
  }

  close(): void {
    this.socket.terminate();
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
