import { NodeKey, blockHash, stripTransaction, toHex, transactionId, type Block } from '@safechain/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createNetwork, NetworkStateError, type NetworkEvents } from '@safechain/p2p';
import { makeTransaction, TestLedger } from './helpers/ledger.js';
import { startNode, stopAll, type TestNode } from './helpers/nodes.js';
import { sleep, waitFor } from './helpers/wait.js';

const running: TestNode[] = [];
afterEach(async () => {
  await stopAll(running.splice(0));
});

async function node(ledger: TestLedger, options: Parameters<typeof startNode>[1] = {}): Promise<TestNode> {
  const n = await startNode(ledger, options);
  running.push(n);
  return n;
}

function connectedTo(a: TestNode, b: TestNode): boolean {
  return a.network.connectedPeers().includes(b.key.id);
}

describe('two nodes', () => {
  it('connect through a seed, authenticate each other and report it in status', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const a = await node(base);
    const connected: NetworkEvents['peer:connected'][] = [];
    const b = await node(base.fork(), { seeds: [a.address] });
    b.network.on('peer:connected', (e) => connected.push(e));
    await waitFor(() => connectedTo(a, b) && connectedTo(b, a), 'connection');
    const sa = a.network.status();
    const sb = b.network.status();
    expect(sa.peers).toHaveLength(1);
    expect(sa.peers[0]).toMatchObject({ key: b.key.id, direction: 'inbound', address: b.address });
    expect(sb.peers[0]).toMatchObject({ key: a.key.id, direction: 'outbound', address: a.address });
    expect(sb.seeds[0]).toMatchObject({ address: a.address, key: a.key.id, self: false });
    expect(sb.knownPeers.map((p) => p.key)).toContain(a.key.id);
    expect(sa.messages.in.handshake).toBe(2);
    expect(JSON.parse(JSON.stringify(sb))).toEqual(sb);
    expect(connected.length + sb.peers.length).toBeGreaterThan(0);
  });

  it('flood transactions in batches and blocks; relay only what the ledger accepted', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const a = await node(base);
    const b = await node(base.fork(), { seeds: [a.address] });
    await waitFor(() => connectedTo(a, b), 'connection');
    const txs = Array.from({ length: 300 }, () => makeTransaction(producer, base.chainId, 200));
    a.ledger.acceptTransactions(txs);
    expect(a.network.broadcastTransactions(txs)).toBe(300);
    expect(a.network.broadcastTransactions(txs)).toBe(0); // already seen
    await waitFor(() => b.ledger.mempoolSize === 300, 'transactions at b');
    // Batched: far fewer messages than transactions.
    expect(b.network.status().messages.in.transactions ?? 0).toBeLessThan(10);
    const block = a.ledger.produce(producer);
    expect(a.network.broadcastBlock(block)).toBe(1);
    await waitFor(() => b.ledger.height === 1, 'block at b');
    expect(b.ledger.tipHash()).toBe(toHex(blockHash(block.header)));
    expect(b.ledger.mempoolSize).toBe(0);
  });

  it('refuses each other on different chains', async () => {
    // Two genesis blocks with different timestamps: two chains.
    const a = await node(TestLedger.create(NodeKey.generate(), 1_700_000_000_000));
    const b = await node(TestLedger.create(NodeKey.generate(), 1_700_000_000_001), { seeds: [a.address] });
    const failures: NetworkEvents['handshake:failed'][] = [];
    b.network.on('handshake:failed', (e) => failures.push(e));
    await waitFor(() => failures.length > 0, 'handshake failure');
    expect(failures[0]).toMatchObject({ code: 4004 });
    expect(a.network.connectedPeers()).toEqual([]);
  });

  it('refuses a node off the allowlist and drops a peer removed from it', async () => {
    const base = TestLedger.create(NodeKey.generate());
    const [ka, kb, kc] = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    const allow = [ka.id, kb.id];
    const a = await node(base, { key: ka, allow });
    const c = await node(base.fork(), { key: kc, seeds: [a.address] });
    const refused: number[] = [];
    c.network.on('handshake:failed', (e) => refused.push(e.code));
    await waitFor(() => refused.length > 0, 'refusal');
    expect(refused[0]).toBe(4005);
    const b = await node(base.fork(), { key: kb, allow, seeds: [a.address] });
    await waitFor(() => connectedTo(a, b), 'member connects');
    const gone: NetworkEvents['peer:disconnected'][] = [];
    b.network.on('peer:disconnected', (e) => gone.push(e));
    a.network.setAllowlist([ka.id]);
    await waitFor(() => gone.length > 0, 'removed member dropped');
    expect(gone[0]!.code).toBe(4005);
  });

  it('dialling each other at the same moment ends with exactly one connection, the same on both sides', async () => {
    for (let round = 0; round < 3; round++) {
      const base = TestLedger.create(NodeKey.generate());
      const a = await node(base);
      const b = await node(base.fork());
      a.network.addSeed(b.address);
      b.network.addSeed(a.address);
      await waitFor(() => connectedTo(a, b) && connectedTo(b, a), 'connection');
      await sleep(300);
      const pa = a.network.status().peers;
      const pb = b.network.status().peers;
      expect(pa).toHaveLength(1);
      expect(pb).toHaveLength(1);
      // One TCP connection: outbound on one side, inbound on the other.
      expect([pa[0]!.direction, pb[0]!.direction].sort()).toEqual(['inbound', 'outbound']);
      await stopAll(running.splice(0));
    }
  });

  it('treats a seed that is itself as self and does not dial it again', async () => {
    const base = TestLedger.create(NodeKey.generate());
    const key = NodeKey.generate();
    const first = await node(base, { key });
    const port = Number(first.address.split(':')[1]);
    await first.network.stop();
    running.splice(running.indexOf(first), 1);
    const self = await node(base.fork(), { key, listen: { host: '127.0.0.1', port }, advertise: { host: 'localhost', port } });
    self.network.addSeed(`127.0.0.1:${port}`);
    await waitFor(() => self.network.status().seeds[0]?.self === true, 'self detection');
    const before = self.network.status().disconnects.selfConnection ?? 0;
    await sleep(300);
    expect(self.network.status().disconnects.selfConnection ?? 0).toBe(before);
  });
});

describe('several nodes', () => {
  it('bootstrap through one seed, learn every node, and flood a transaction to all', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const seed = await node(base, { maxOutbound: 3 });
    const others: TestNode[] = [];
    for (let i = 0; i < 5; i++) others.push(await node(base.fork(), { seeds: [seed.address], maxOutbound: 3 }));
    const all = [seed, ...others];
    await waitFor(() => all.every((n) => n.network.status().counts.known >= all.length - 1), 'every node knows every other', 15_000);
    // Each node holds outbound connections until its slots are full or every other node is already connected.
    await waitFor(
      () => all.every((n) => n.network.status().counts.outbound === 3 || n.network.connectedPeers().length === all.length - 1),
      'outbound slots filled',
      15_000,
    );
    const tx = makeTransaction(producer, base.chainId, 100);
    others[4]!.ledger.acceptTransactions([tx]);
    others[4]!.network.broadcastTransactions([tx]);
    const id = toHex(transactionId(tx));
    await waitFor(() => all.every((n) => n.ledger.knowsTransaction(id)), 'transaction everywhere');
    await sleep(100);
    // Each node accepts and relays it once and never sends it back to a peer it came from: the origin pushes it
    // whole, relays announce its id and a node lacking it asks for it. Every link carries it whole at most once per
    // direction, and every node but the origin gets it once as new, so the rest are the crossings.
    const links = all.reduce((sum, n) => sum + n.network.status().counts.outbound, 0);
    const duplicates = all.reduce((sum, n) => sum + (n.network.status().drops.duplicate ?? 0), 0);
    const inbound = (type: string): number => all.reduce((sum, n) => sum + (n.network.status().messages.in[type] ?? 0), 0);
    const received = inbound('transactions') + inbound('transactionData');
    expect(received).toBeLessThanOrEqual(2 * links);
    expect(received).toBe(all.length - 1 + duplicates);
    expect(inbound('transactionIds')).toBeLessThanOrEqual(2 * links);
    expect(all.every((n) => n.ledger.accepted.tx === 1)).toBe(true);
  });

  it('relays through a middle node when the ends may not talk to each other', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const [ka, kb, kc] = [NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    const b = await node(base.fork(), { key: kb });
    const a = await node(base.fork(), { key: ka, allow: [ka.id, kb.id], seeds: [b.address] });
    const c = await node(base.fork(), { key: kc, allow: [kb.id, kc.id], seeds: [b.address] });
    await waitFor(() => connectedTo(b, a) && connectedTo(b, c), 'line a-b-c');
    const tx = makeTransaction(producer, base.chainId, 50);
    a.ledger.acceptTransactions([tx]);
    a.network.broadcastTransactions([tx]);
    await waitFor(() => c.ledger.knowsTransaction(toHex(transactionId(tx))), 'relay to c');
    const block = base.produce(producer);
    b.ledger.acceptBlock(block);
    b.network.broadcastBlock(block);
    await waitFor(() => a.ledger.height === 1 && c.ledger.height === 1, 'block to both ends');
    expect(connectedTo(a, c)).toBe(false);
  });

  it('replaces a lost outbound connection at once (self-repair), and the seed may go away', async () => {
    const base = TestLedger.create(NodeKey.generate());
    const seed = await node(base);
    const nodes: TestNode[] = [];
    // The watcher takes no inbound connections, so every node it is connected to is an outbound slot.
    nodes.push(await node(base.fork(), { seeds: [seed.address], maxOutbound: 2, maxInbound: 0 }));
    for (let i = 0; i < 3; i++) nodes.push(await node(base.fork(), { seeds: [seed.address], maxOutbound: 2 }));
    const watcher = nodes[0]!;
    await waitFor(() => watcher.network.status().counts.known >= 4 && watcher.network.status().counts.outbound === 2, 'watcher has 2 outbound', 15_000);
    await seed.network.stop();
    running.splice(running.indexOf(seed), 1);
    await waitFor(() => watcher.network.status().counts.outbound === 2 && !watcher.network.connectedPeers().includes(seed.key.id), 'repaired after seed left', 15_000);
    const victimKey = watcher.network.status().peers.find((p) => p.direction === 'outbound')!.key;
    const victim = nodes.find((n) => n.key.id === victimKey)!;
    await victim.network.stop();
    running.splice(running.indexOf(victim), 1);
    const lostAt = Date.now();
    await waitFor(
      () => watcher.network.status().counts.outbound === 2 && !watcher.network.connectedPeers().includes(victimKey),
      'outbound slot refilled',
      5_000,
      5,
    );
    // "At once": well within one keep-alive interval, not after a timeout.
    expect(Date.now() - lostAt).toBeLessThan(1_000);
  });
});

describe('sync', () => {
  it('a late joiner catches up headers first, then blocks, with progress events', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    for (let i = 0; i < 300; i++) {
      base.acceptTransactions([makeTransaction(producer, base.chainId, 32)]);
      base.produce(producer, 10, 1_700_000_000_000 + i);
    }
    const source = await node(base, { syncBlockBatch: 64, syncHeaderBatch: 100 });
    const late = base.fork();
    const progress: number[] = [];
    const joiner = await node(late, { seeds: [source.address], syncBlockBatch: 64, syncHeaderBatch: 100 });
    joiner.network.on('sync:progress', (e) => progress.push(e.height));
    const done = new Promise<NetworkEvents['sync:completed']>((resolve) => joiner.network.on('sync:completed', resolve));
    await waitFor(() => late.height === 300, 'late joiner at height 300', 20_000);
    expect((await done).height).toBe(300);
    expect(late.tipHash()).toBe(base.tipHash());
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    const status = joiner.network.status();
    expect(status.sync).toMatchObject({ state: 'idle', completed: 1, blocks: 300 });
    expect(status.messages.in.headers).toBeGreaterThanOrEqual(3);
  });

  it('a node on a shorter fork switches to the longer chain', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const other = base.fork();
    for (let i = 0; i < 5; i++) other.produce(producer, 10, 1_700_000_000_000 + i);
    for (let i = 0; i < 12; i++) base.produce(producer, 10, 1_800_000_000_000 + i);
    const a = await node(base);
    await node(other, { seeds: [a.address] });
    await waitFor(() => other.tipHash() === base.tipHash(), 'fork resolved', 10_000);
  });

  it('fetches the full data of a stripped transaction from a peer, checked against its header', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const tx = makeTransaction(producer, base.chainId, 500);
    base.acceptTransactions([tx]);
    base.produce(producer);
    const a = await node(base);
    const b = await node(base.fork(), { seeds: [a.address] });
    await waitFor(() => connectedTo(b, a), 'connection');
    const id = transactionId(tx);
    const found = await b.network.fetchTransactions([id, new Uint8Array(32)]);
    expect([...found.keys()]).toEqual([toHex(id)]);
    expect(found.get(toHex(id))!.payload).toEqual(tx.payload);
    expect(transactionId(found.get(toHex(id))!)).toEqual(transactionId(stripTransaction(tx)));
  });
});

describe('partition', () => {
  it('heals: transactions taken in on the cut-off side reach the producer and its blocks come back', async () => {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const keys = [producer, NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    const all = keys.map((k) => k.id);
    const nodes: TestNode[] = [];
    nodes.push(await node(base, { key: keys[0]!, allow: all }));
    for (let i = 1; i < 4; i++) nodes.push(await node(base.fork(), { key: keys[i]!, allow: all, seeds: [nodes[0]!.address] }));
    await waitFor(() => nodes.every((n) => n.network.connectedPeers().length >= 2), 'mesh', 15_000);
    // Cut {0,1} from {2,3}.
    const left = [keys[0]!.id, keys[1]!.id];
    const right = [keys[2]!.id, keys[3]!.id];
    nodes[0]!.network.setAllowlist(left);
    nodes[1]!.network.setAllowlist(left);
    nodes[2]!.network.setAllowlist(right);
    nodes[3]!.network.setAllowlist(right);
    await waitFor(() => nodes.every((n) => n.network.connectedPeers().length === 1), 'partitioned', 10_000);
    const cutOff = Array.from({ length: 20 }, () => makeTransaction(keys[3]!, base.chainId, 64));
    nodes[3]!.ledger.acceptTransactions(cutOff);
    nodes[3]!.network.broadcastTransactions(cutOff);
    await waitFor(() => nodes[2]!.ledger.mempoolSize === 20, 'right side has them');
    await sleep(200);
    expect(base.mempoolSize).toBe(0);
    for (const n of nodes) n.network.setAllowlist(all);
    await waitFor(() => base.mempoolSize === 20, 'producer got the cut-off transactions', 10_000);
    const block = base.produce(producer);
    nodes[0]!.network.broadcastBlock(block);
    await waitFor(() => nodes.every((n) => n.ledger.height === 1 && n.ledger.mempoolSize === 0), 'block everywhere', 10_000);
    const ids = cutOff.map((t) => toHex(transactionId(t)));
    for (const n of nodes) expect(ids.every((id) => n.ledger.includedIds().has(id))).toBe(true);
  });
});

describe('pending transactions announced again', () => {
  /** `a` floods `count` transactions to `b`, whose mempool has no room for them; then `b` has room again. */
  async function refusedByFullPeer(resendPendingIntervalMs: number, count: number): Promise<{ a: TestNode; b: TestNode }> {
    const producer = NodeKey.generate();
    const base = TestLedger.create(producer);
    const a = await node(base, { resendPendingIntervalMs });
    const b = await node(base.fork(), { seeds: [a.address] });
    await waitFor(() => connectedTo(a, b) && connectedTo(b, a), 'connection');
    b.ledger.full = true;
    const txs = Array.from({ length: count }, () => makeTransaction(producer, base.chainId, 100));
    a.ledger.acceptTransactions(txs);
    a.network.broadcastTransactions(txs);
    await waitFor(() => (b.network.status().drops['ledger-full'] ?? 0) === count, 'b refused them for want of room');
    expect(b.ledger.mempoolSize).toBe(0);
    b.ledger.full = false;
    return { a, b };
  }

  it('a peer that had no room for them gets them from the next resend round', async () => {
    const { a, b } = await refusedByFullPeer(300, 40);
    // Pending at a for a whole round, then announced again; b asks for them (its seen-cache forgot them).
    await waitFor(() => b.ledger.mempoolSize === 40, 'b took them from a resend', 5_000);
    expect(a.network.status().resent.transactions).toBeGreaterThanOrEqual(40);
  });

  it('resends nothing when turned off', async () => {
    const { a, b } = await refusedByFullPeer(0, 5);
    await sleep(1_000);
    expect(b.ledger.mempoolSize).toBe(0);
    expect(a.network.status().resent.transactions).toBe(0);
  });
});

describe('lifecycle', () => {
  it('backs off exponentially from an unreachable seed', async () => {
    const base = TestLedger.create(NodeKey.generate());
    const probe = await node(base);
    const deadPort = Number(probe.address.split(':')[1]);
    await probe.network.stop();
    running.splice(running.indexOf(probe), 1);
    const n = await node(base.fork(), { seeds: [`127.0.0.1:${deadPort}`], backoff: { baseMs: 100, maxMs: 10_000 } });
    await sleep(1_600);
    const failures = n.network.status().seeds[0]!.failures;
    // Without backoff the 50 ms maintenance loop would have dialled ~30 times; with it: 100+200+400+800 ms at most.
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(failures).toBeLessThanOrEqual(7);
  });

  it('stops cleanly: sockets and the port closed, calls after stop refused', async () => {
    const base = TestLedger.create(NodeKey.generate());
    const a = await node(base);
    const b = await node(base.fork(), { seeds: [a.address] });
    await waitFor(() => connectedTo(a, b), 'connection');
    await a.network.stop();
    await a.network.stop();
    expect(a.network.status().state).toBe('stopped');
    expect(() => a.network.broadcastTransactions([])).toThrow(NetworkStateError);
    await waitFor(() => b.network.connectedPeers().length === 0, 'b sees a gone');
    const again = createNetwork({ key: NodeKey.generate(), chainId: base.chainId, listen: { host: '127.0.0.1', port: Number(a.address.split(':')[1]) } }, base.fork());
    await again.start(); // the port is free again
    await again.stop();
    await expect(a.network.start()).rejects.toThrow(NetworkStateError);
  });

  it('refuses an adapter of another chain', () => {
    const ledger = TestLedger.create(NodeKey.generate());
    expect(() => createNetwork({ key: NodeKey.generate(), chainId: new Uint8Array(32) }, ledger)).toThrow(NetworkStateError);
  });
});

export type { Block };
