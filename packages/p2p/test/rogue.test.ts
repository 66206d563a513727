import {
  blockHash,
  buildBlock,
  NodeKey,
  signBlockHeader,
  type Block,
} from '@safechain/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CloseCode,
  decodeMessage,
  encodeMessage,
  Handshake,
  type NetworkEvents,
  type SessionCipher,
} from '@safechain/p2p';
import { makeTransaction, TestLedger } from './helpers/ledger.js';
import { RawClient, startNode, stopAll, type TestNode } from './helpers/nodes.js';
import { waitFor } from './helpers/wait.js';

/**
 * A rogue peer: a raw WebSocket client that completes the handshake correctly (it holds a member key) or not, and
 * then speaks the protocol badly. Every test ends by checking that the node still serves an honest peer.
 */

interface Session {
  readonly client: RawClient;
  readonly cipher: SessionCipher;
  /** The handshake messages this client sent, for replay. */
  readonly sent: Uint8Array[];
}

async function handshake(address: string, key: NodeKey, chainId: Uint8Array): Promise<Session> {
  const client = await RawClient.connect(address);
  const hs = new Handshake('initiator', { key, chainId }, { validate: () => undefined });
  const sent: Uint8Array[] = [];
  for (const m of hs.start().send) {
    client.send(m);
    sent.push(m);
  }
  hs.receive(await client.next());
  const step = hs.receive(await client.next());
  for (const m of step.send) {
    client.send(m);
    sent.push(m);
  }
  return { client, cipher: step.established!.cipher, sent };
}

function sendMessage(session: Session, plaintext: Uint8Array): void {
  session.client.send(session.cipher.seal(plaintext));
}

const producer = NodeKey.generate();
const base = TestLedger.create(producer);
let target: TestNode;
let events: { penalized: NetworkEvents['peer:penalized'][]; banned: NetworkEvents['peer:banned'][] };
const others: TestNode[] = [];

beforeEach(async () => {
  target = await startNode(base.fork(), { maxMessageBytes: 64 * 1024, messagesPerSecond: 100 });
  events = { penalized: [], banned: [] };
  target.network.on('peer:penalized', (e) => events.penalized.push(e));
  target.network.on('peer:banned', (e) => events.banned.push(e));
});

afterEach(async () => {
  // The node kept running: an honest node still connects and gets a block.
  const honest = await startNode(base.fork(), { seeds: [target.address] });
  others.push(honest);
  await waitFor(() => honest.network.connectedPeers().includes(target.key.id), 'honest peer connects after the rogue');
  const block = target.ledger.produce(producer);
  target.network.broadcastBlock(block);
  await waitFor(() => honest.ledger.tipHash() === target.ledger.tipHash(), 'honest peer gets a block');
  await stopAll([target, ...others.splice(0)]);
});

describe('rogue peer before the handshake', () => {
  it('garbage instead of a hello: closed with handshake-failed', async () => {
    const client = await RawClient.connect(target.address);
    client.send(Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    expect((await client.closed).code).toBe(CloseCode.handshakeFailed);
  });

  it('a text frame: closed as a protocol violation', async () => {
    const client = await RawClient.connect(target.address);
    client.send('hello');
    expect((await client.closed).code).toBe(CloseCode.protocolViolation);
  });

  it('an oversized frame: closed by the WebSocket layer (1009) before it is buffered', async () => {
    const client = await RawClient.connect(target.address);
    client.send(new Uint8Array(200 * 1024));
    expect((await client.closed).code).toBe(1009);
  });

  it('silence: closed after the handshake timeout', async () => {
    const client = await RawClient.connect(target.address);
    expect((await client.closed).code).toBe(CloseCode.handshakeFailed);
  });

  it('a replayed hello: refused (nonce seen); its recorded AUTH does not open a session on a restarted node', async () => {
    const key = NodeKey.generate();
    const honest = await handshake(target.address, key, base.chainId);
    honest.client.close();
    const replay = await RawClient.connect(target.address);
    replay.send(honest.sent[0]!);
    const closed = await replay.closed;
    expect(closed.code).toBe(CloseCode.handshakeFailed);
    expect(closed.reason).toMatch(/nonce/);

    // A node with a fresh nonce cache (same identity, restarted) accepts the hello but not the old signature.
    const restarted = await startNode(base.fork(), { key: target.key });
    others.push(restarted);
    const again = await RawClient.connect(restarted.address);
    again.send(honest.sent[0]!);
    await again.next(); // HELLO_R with a fresh nonce
    await again.next(); // AUTH_R
    again.send(honest.sent[1]!);
    const refused = await again.closed;
    expect(refused.code).toBe(CloseCode.handshakeFailed);
    expect(refused.reason).toMatch(/signature/);
  });

  it('a non-member and a hello of another protocol version are refused with their codes', async () => {
    const member = NodeKey.generate();
    const closedNode = await startNode(base.fork(), { allow: [member.id] });
    others.push(closedNode);
    const outsider = await RawClient.connect(closedNode.address);
    const hs = new Handshake('initiator', { key: NodeKey.generate(), chainId: base.chainId }, { validate: () => undefined });
    const hello = hs.start().send[0]!;
    outsider.send(hello);
    expect((await outsider.closed).code).toBe(CloseCode.notAMember);
    const future = await RawClient.connect(target.address);
    const v1 = hello.slice();
    v1[1] = 1;
    future.send(v1);
    expect((await future.closed).code).toBe(CloseCode.protocolVersion);
  });
});

describe('rogue peer after the handshake', () => {
  it('malformed messages: penalised, then banned; the ban holds for a new connection', async () => {
    const key = NodeKey.generate();
    const session = await handshake(target.address, key, base.chainId);
    for (let i = 0; i < 3; i++) sendMessage(session, Uint8Array.of(0x7e, i));
    expect((await session.client.closed).code).toBe(CloseCode.banned);
    expect(events.penalized.filter((e) => e.offence === 'malformed')).toHaveLength(3);
    expect(events.banned[0]).toMatchObject({ key: key.id, reason: 'malformed' });
    const back = await RawClient.connect(target.address);
    const hs = new Handshake('initiator', { key, chainId: base.chainId }, { validate: () => undefined });
    back.send(hs.start().send[0]!);
    expect((await back.closed).code).toBe(CloseCode.banned);
    expect(target.network.status().drops.malformed).toBe(3);
  });

  it('a tampered frame: closed and banned at once', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    const frame = session.cipher.seal(encodeMessage({ type: 'ping', nonce: 1 }));
    frame[0]! ^= 1;
    session.client.send(frame);
    const closed = await session.client.closed;
    expect(closed.code).toBe(CloseCode.frameAuthentication);
    expect(events.banned[0]?.reason).toBe('frame-authentication');
  });

  it('a replayed frame fails authentication', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    const frame = session.cipher.seal(encodeMessage({ type: 'ping', nonce: 7 }));
    session.client.send(frame);
    // The node opens with its own requests (peers, tip); the pong follows.
    let pong;
    for (let i = 0; i < 5 && pong?.type !== 'pong'; i++) pong = decodeMessage(session.cipher.open(await session.client.next()));
    expect(pong).toEqual({ type: 'pong', nonce: 7 });
    session.client.send(frame);
    const closed = await session.client.closed;
    expect(closed.code).toBe(CloseCode.frameAuthentication);
  });

  it('an oversized message after the handshake: closed (1009) and banned', async () => {
    const key = NodeKey.generate();
    const session = await handshake(target.address, key, base.chainId);
    session.client.send(new Uint8Array(100 * 1024));
    expect((await session.client.closed).code).toBe(1009);
    await waitFor(() => events.banned.some((b) => b.key === key.id && b.reason === 'oversized'), 'ban for oversized');
  });

  it('flooding: messages over the rate are dropped and the peer is banned', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    const ping = encodeMessage({ type: 'ping', nonce: 1 });
    for (let i = 0; i < 400; i++) sendMessage(session, ping);
    expect((await session.client.closed).code).toBe(CloseCode.banned);
    expect(events.banned[0]?.reason).toBe('flooding');
    expect(target.network.status().drops.flooding).toBeGreaterThanOrEqual(20);
  });

  it('invalid blocks: not relayed, the sender banned after two', async () => {
    const rogueKey = NodeKey.generate();
    const watcher = await startNode(base.fork(), { seeds: [target.address] });
    others.push(watcher);
    await waitFor(() => watcher.network.connectedPeers().includes(target.key.id), 'watcher connected');
    const session = await handshake(target.address, rogueKey, base.chainId);
    const forged = (height: number): Block => {
      const unsigned = buildBlock({ parent: base.genesis.header, transactions: [], timestamp: 1_700_000_000_000 + height });
      return { header: signBlockHeader(unsigned.header, rogueKey), data: [] }; // sealed by a key that may not seal
    };
    sendMessage(session, encodeMessage({ type: 'block', block: forged(1) }));
    sendMessage(session, encodeMessage({ type: 'block', block: forged(2) }));
    expect((await session.client.closed).code).toBe(CloseCode.banned);
    expect(events.banned[0]?.reason).toBe('invalid-block');
    expect(target.ledger.height).toBe(0);
    expect(watcher.network.status().messages.in.block ?? 0).toBe(0);
    expect(blockHash(forged(1).header)).toHaveLength(32);
  });

  it('invalid transactions are penalised per transaction and not relayed', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    const good = makeTransaction(producer, base.chainId, 10);
    const bad = { ...makeTransaction(producer, base.chainId, 10), signature: new Uint8Array(64).fill(1) };
    sendMessage(session, encodeMessage({ type: 'transactions', txs: [good, bad] }));
    await waitFor(() => events.penalized.some((e) => e.offence === 'invalid-transaction'), 'penalty');
    expect(target.ledger.mempoolSize).toBe(1);
    session.client.close();
  });

  it('unsolicited responses are penalised', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    sendMessage(session, encodeMessage({ type: 'tip', id: 999_999, tip: { height: 5, hash: new Uint8Array(32), totalWork: 6n } }));
    await waitFor(() => events.penalized.some((e) => e.offence === 'unsolicited'), 'penalty');
    session.client.close();
  });

  it('a peer claiming a longer chain but serving headers that do not chain is penalised and sync fails', async () => {
    const session = await handshake(target.address, NodeKey.generate(), base.chainId);
    const failed = new Promise<NetworkEvents['sync:failed']>((resolve) => target.network.on('sync:failed', resolve));
    // Answer the node's requests: a tip far ahead, then headers that do not link.
    const answer = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) {
        let message;
        try {
          message = decodeMessage(session.cipher.open(await session.client.next(2_000)));
        } catch {
          return;
        }
        if (message.type === 'getTip') {
          sendMessage(session, encodeMessage({ type: 'tip', id: message.id, tip: { height: 50, hash: new Uint8Array(32).fill(1), totalWork: 51n } }));
        } else if (message.type === 'getHeaders') {
          const headers = message.fromHeight === 0 ? [base.genesis.header] : [{ ...base.genesis.header, height: message.fromHeight, previousHash: new Uint8Array(32).fill(9) }];
          sendMessage(session, encodeMessage({ type: 'headers', id: message.id, headers: headers.slice(0, message.max) }));
        } else if (message.type === 'getPeers') {
          sendMessage(session, encodeMessage({ type: 'peers', id: message.id, entries: [] }));
        }
      }
    };
    void answer();
    expect((await failed).reason).toMatch(/InvalidResponseError/);
    expect(events.penalized.some((e) => e.offence === 'invalid-response')).toBe(true);
    session.client.close();
  });
});
