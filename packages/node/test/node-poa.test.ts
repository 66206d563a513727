/**
 * Proof of authority with a threshold above one, with real node processes: validators take turns proposing, each
 * block gathers the other validators' seals over the network before it is added, and every node ends on one chain
 * whose blocks carry the threshold of seals. A validator whose configuration disables the network cannot gather
 * seals: it says so and runs as a full node instead of cutting blocks its own Block Tree would refuse.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeKey } from '@safechain/core';
import { createGenesisBlock } from '@safechain/consensus';
import { encodeGenesisFile, initDataDir, KEY_FILE } from '../src/data-dir.js';
import { Cluster, killClusterChildren, waitForConvergence, waitForPeers } from './helpers/net-cluster.js';
import { getJson, killChildren, postJson, postNdjson, removeDir, sleep, startFullNode, status, tempDir, waitFor, writeConfig, type TxView } from './helpers/node-process.js';

interface SignedBlockView {
  readonly height: number;
  readonly signers: readonly string[];
}

const dirs: string[] = [];
afterAll(async () => {
  await killClusterChildren();
  await killChildren();
  for (const d of dirs) await removeDir(d);
});

/** A poa chain of full nodes, every one a validator, `threshold` seals a block; the first named is the seed. */
async function poaCluster(prefix: string, names: readonly string[], threshold: number): Promise<Cluster> {
  const root = await tempDir(prefix);
  dirs.push(root);
  return Cluster.create({
    root,
    genesisBy: names[0]!,
    seed: names[0]!,
    poa: { validators: names, threshold },
    members: names.map((name) => ({ name, type: 'full' as const })),
  });
}

describe('proof of authority, two of three validators per block', () => {
  it('takes turns proposing, gathers seals over the network, and every node keeps the same chain', async () => {
    const net = await poaCluster('poa-net', ['v1', 'v2', 'v3'], 2);
    await net.startAll(['v1', 'v2', 'v3']);
    const urls = ['v1', 'v2', 'v3'].map((n) => net.url(n));
    await waitForPeers(urls, 2, 60_000);

    const ids: string[] = [];
    for (const [i, url] of urls.entries()) {
      const r = await postNdjson<{ ids: string[] }>(`${url}/v1/records/batch`, Array.from({ length: 20 }, (_, k) => ({ json: { from: i, k } })));
      expect(r.status).toBe(202);
      ids.push(...r.body.ids);
    }
    // Every record reaches a block on every node.
    for (const url of urls) {
      await waitFor(
        `all records committed at ${url}`,
        async () => {
          const views = await Promise.all(ids.map((id) => getJson<TxView>(`${url}/v1/transactions/${id}?payload=false`)));
          return views.every((v) => v.status === 200 && v.body.status === 'committed');
        },
        60_000,
        200,
      );
    }
    const tip = await waitForConvergence(urls, 1, 60_000);
    // Every block above genesis carries at least two validator seals, and more than one validator proposed.
    const signers = new Set<string>();
    for (let h = 1; h <= tip.height; h++) {
      const b = await getJson<SignedBlockView>(`${urls[0]}/v1/blocks/${h}`);
      expect(b.status).toBe(200);
      expect(b.body.signers.length, `block ${h}`).toBeGreaterThanOrEqual(2);
      for (const s of b.body.signers) signers.add(s);
    }
    expect(signers.size).toBeGreaterThanOrEqual(2);
    for (const n of ['v1', 'v2', 'v3']) expect(net.running(n)!.output()).not.toMatch(/block rejected|production failed|uncaught/i);
  }, 180_000);
});

describe('proof of authority, a proposer restarted while it gathers seals', () => {
  it('finishes the block it proposed before the kill instead of sealing a second block at that height', async () => {
    const net = await poaCluster('poa-restart', ['a', 'b'], 2);
    // The validator in turn at height 1 (validators in key order, height mod 2), started alone: no one can co-sign.
    const [first, second] = ['a', 'b'].sort((x, y) => (net.member(x).identity < net.member(y).identity ? -1 : 1)) as [string, string];
    const proposer = second;
    const other = first;
    await net.start(proposer);
    const r = await postJson<{ id: string }>(`${net.url(proposer)}/v1/records`, { json: { before: 'kill' } });
    expect(r.status).toBe(202);
    await sleep(1_500); // a few block intervals: the block is cut and sealed, and waits for a second seal
    expect((await status(net.url(proposer))).height).toBe(0);
    await net.kill(proposer);

    await net.startAll([proposer, other]);
    const urls = [net.url(proposer), net.url(other)];
    await waitForPeers(urls, 1, 60_000);
    const tip = await waitForConvergence(urls, 1, 60_000);
    // Height 1 is the block proposed before the kill: it holds the record acknowledged then.
    const tx = await waitFor('the record in a block', async () => {
      const v = await getJson<TxView>(`${urls[1]}/v1/transactions/${r.body.id}?payload=false`);
      return v.status === 200 && v.body.status === 'committed' ? v.body : undefined;
    }, 30_000, 100);
    expect(tx.block?.height).toBe(1);
    expect(tip.height).toBeGreaterThanOrEqual(1);
    expect(net.running(proposer)!.output()).not.toMatch(/already sealed another block/);
    // The chain goes on: a later record reaches a block on both nodes.
    const later = await postJson<{ id: string }>(`${urls[1]}/v1/records`, { json: { after: 'restart' } });
    for (const url of urls) {
      await waitFor(`the later record at ${url}`, async () => {
        const v = await getJson<TxView>(`${url}/v1/transactions/${later.body.id}?payload=false`);
        return v.status === 200 && v.body.status === 'committed';
      }, 60_000, 100);
    }
  }, 180_000);
});

describe('a poa validator without a network', () => {
  it('says it cannot produce, keeps records pending and keeps running', async () => {
    const root = await tempDir('poa-threshold');
    dirs.push(root);
    const data = join(root, 'node');
    await mkdir(data, { recursive: true, mode: 0o700 });
    const key = NodeKey.generate();
    await writeFile(join(data, KEY_FILE), key.toPem(), { mode: 0o600 });
    const genesis = createGenesisBlock(
      { name: 'poa-two-of-two', consensus: { engine: 'poa', validators: [key.id, NodeKey.generate().id], threshold: 2 } },
      Date.now(),
    );
    const genesisFile = join(root, 'genesis.json');
    await writeFile(genesisFile, encodeGenesisFile(genesis));
    await initDataDir({ dataDir: data, type: 'full', consensus: 'poa', genesisFile });
    await writeConfig(data, { type: 'full', network: { enabled: false } });

    const node = await startFullNode(data, { env: { SAFECHAIN_LOG_LEVEL: 'info', SAFECHAIN_WORKERS: '1', SAFECHAIN_BLOCK_INTERVAL_MS: '200' } });
    await waitFor('the warning', () => /not producing blocks/.test(node.output()), 10_000, 20);
    expect(node.output()).toMatch(/poa threshold 2/);

    const r = await postJson<{ id: string }>(`${node.url}/v1/records`, { json: { reading: 1 } });
    expect(r.status).toBe(202);
    await sleep(1_000); // five block intervals
    const s = await status(node.url);
    expect(s.height).toBe(0);
    expect(s.mempool.count).toBe(1);
    expect(node.output()).not.toMatch(/block production failed/);
    await node.stop();
  }, 90_000);
});
