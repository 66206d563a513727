import { NodeKey } from '@safechain/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildNode } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

/**
 * Real processes: each node is a Block Tree + Mempool + MemoryStore with the single-producer consensus
 * (test/fixtures/chain-node.ts), one of them producing blocks, joined by @safechain/p2p over 127.0.0.1.
 */

const GENESIS_TIME = 1_700_000_000_000;
const children: ChildNode[] = [];

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()));
});

async function spawn(config: Parameters<typeof ChildNode.start>[0]): Promise<ChildNode> {
  const node = await ChildNode.start(config);
  children.push(node);
  return node;
}

async function included(nodes: readonly ChildNode[], ids: readonly string[]): Promise<boolean> {
  for (const node of nodes) if ((await node.request({ cmd: 'included', ids })).missing !== 0) return false;
  return true;
}

async function sameTip(nodes: readonly ChildNode[]): Promise<boolean> {
  const tips = await Promise.all(nodes.map(async (n) => (await n.status()).tip));
  return tips.every((t) => t === tips[0]);
}

async function ingest(node: ChildNode, count: number): Promise<string[]> {
  return (await node.request({ cmd: 'ingest', count, size: 256 })).ids as string[];
}

describe('multi-process network', () => {
  it('8 nodes join through one seed and converge; a killed node is replaced; the seed leaves after bootstrap', async () => {
    const producer = NodeKey.generate();
    const base = { producer: producer.id, genesisTimestamp: GENESIS_TIME, maxOutbound: 3 };
    const seed = await spawn({ ...base, seed: NodeKey.generate().seedHex() });
    const rest = await Promise.all([
      spawn({ ...base, seed: producer.seedHex(), produce: true, blockIntervalMs: 200, seeds: [seed.address] }),
      ...Array.from({ length: 6 }, () => spawn({ ...base, seed: NodeKey.generate().seedHex(), seeds: [seed.address] })),
    ]);
    const all = [seed, ...rest];
    const [p, n1, n2, n3, n4, n5, n6] = rest as [ChildNode, ChildNode, ChildNode, ChildNode, ChildNode, ChildNode, ChildNode];
    await waitFor(
      async () => (await Promise.all(all.map((n) => n.status()))).every((s) => s.peers.length >= 2 && s.known >= 7),
      'every node connected and knowing all 7 others',
      30_000,
      200,
    );

    const ids = (await Promise.all([n1, n2, n3, n4, n5, n6].map((n) => ingest(n, 50)))).flat();
    await waitFor(() => included(all, ids), '300 transactions in every chain', 60_000, 250);
    await waitFor(() => sameTip(all), 'one tip', 20_000, 200);

    // A node dies without a goodbye; another one joins.
    await n3.kill();
    const n7 = await spawn({ ...base, seed: NodeKey.generate().seedHex(), seeds: [seed.address] });
    const alive = [seed, p, n1, n2, n4, n5, n6, n7];
    await waitFor(async () => (await n7.status()).height === (await p.status()).height, 'newcomer synced', 30_000, 200);

    // The seed goes away after bootstrap: the others stay connected and keep converging.
    await seed.kill();
    const survivors = alive.filter((n) => n !== seed);
    const later = [...(await ingest(n7, 20)), ...(await ingest(n1, 20))];
    await waitFor(() => included(survivors, later), 'transactions after the seed left in every chain', 60_000, 250);
    await waitFor(() => sameTip(survivors), 'one tip without the seed', 20_000, 200);
    const statuses = await Promise.all(survivors.map((n) => n.status()));
    expect(statuses.every((s) => s.peers.length >= 2)).toBe(true);
    expect(statuses.every((s) => !s.peers.includes(seed.key) && !s.peers.includes(n3.key))).toBe(true);
  });

  it('a late joiner syncs 10,000 blocks from a peer', async () => {
    const producer = NodeKey.generate();
    const base = { producer: producer.id, genesisTimestamp: GENESIS_TIME };
    const p = await spawn({ ...base, seed: producer.seedHex() });
    const preloaded = await p.request({ cmd: 'preload', blocks: 10_000 }, 120_000);
    expect(preloaded.height).toBe(10_000);
    const started = Date.now();
    const late = await spawn({ ...base, seed: NodeKey.generate().seedHex(), seeds: [p.address] });
    await waitFor(async () => (await late.status()).height === 10_000, 'late joiner at height 10,000', 120_000, 250);
    const elapsed = Date.now() - started;
    expect(await sameTip([p, late])).toBe(true);
    console.info(`late joiner: 10,000 blocks synced in ${elapsed} ms (process start included)`);
  });

  it('a partition heals and no transaction is lost', async () => {
    const producer = NodeKey.generate();
    const keys = [producer, NodeKey.generate(), NodeKey.generate(), NodeKey.generate()];
    const everyone = keys.map((k) => k.id);
    const base = { producer: producer.id, genesisTimestamp: GENESIS_TIME, allow: everyone };
    const p = await spawn({ ...base, seed: producer.seedHex(), produce: true, blockIntervalMs: 200 });
    const [a, b, c] = await Promise.all(keys.slice(1).map((k) => spawn({ ...base, seed: k.seedHex(), seeds: [p.address] })));
    const nodes = [p, a!, b!, c!];
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.peers.length === 3), 'full mesh', 30_000, 200);

    const left = [p.key, a!.key];
    const right = [b!.key, c!.key];
    await Promise.all([p.request({ cmd: 'allow', keys: left }), a!.request({ cmd: 'allow', keys: left })]);
    await Promise.all([b!.request({ cmd: 'allow', keys: right }), c!.request({ cmd: 'allow', keys: right })]);
    await waitFor(async () => (await Promise.all(nodes.map((n) => n.status()))).every((s) => s.peers.length === 1), 'partitioned', 15_000, 100);

    const leftIds = await ingest(a!, 30);
    const rightIds = [...(await ingest(b!, 30)), ...(await ingest(c!, 30))];
    await waitFor(() => included([p, a!], leftIds), 'left side keeps producing', 30_000, 200);
    expect((await p.request({ cmd: 'included', ids: rightIds })).missing).toBe(60);
    expect((await b!.status()).mempool).toBe(60);

    await Promise.all(nodes.map((n) => n.request({ cmd: 'allow', keys: everyone })));
    await waitFor(() => included(nodes, [...leftIds, ...rightIds]), 'all 90 transactions in every chain', 60_000, 250);
    await waitFor(() => sameTip(nodes), 'one tip after healing', 20_000, 200);
  });
});
