/**
 * Self-repair of the local network with real node processes: a thin node killed with SIGKILL while it ingests is
 * restarted and catches up (and every record it acknowledged before the kill still reaches a block), the producer
 * killed with SIGKILL while it holds a peer's records in memory only still puts them in blocks after a restart, and an archive
 * node joining late syncs a chain of a few hundred blocks, payloads included. Blocks are cut one transaction each
 * (`producer.maxBlockTransactions: 1`) so a few hundred records make a few hundred blocks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killClusterChildren, netStatus, startFullAndThinWithLateArchive, waitForConvergence, waitForPeers, type Cluster } from './helpers/net-cluster.js';
import { getJson, http, postNdjson, removeDir, sleep, tempDir, waitFor, type TxView } from './helpers/node-process.js';

interface TxViewFull extends TxView {
  readonly stripped: boolean;
}

const LATE_BLOCKS = 300;

async function batch(url: string, tag: string, n: number): Promise<string[]> {
  const r = await postNdjson<{ ids: string[] }>(
    `${url}/v1/records/batch`,
    Array.from({ length: n }, (_, i) => ({ json: { tag, i, at: Date.now() } })),
  );
  if (r.status !== 202) throw new Error(`POST ${url}/v1/records/batch: ${r.status} ${r.text}`);
  return r.body.ids;
}

/** Waits until every id is committed at `url`; the ids are checked in parallel groups. */
async function allCommitted(url: string, ids: readonly string[], timeoutMs: number): Promise<void> {
  const left = new Set(ids);
  await waitFor(
    `${ids.length} transactions to be committed at ${url}`,
    async () => {
      const group = [...left].slice(0, 64);
      const views = await Promise.all(group.map((id) => getJson<TxView>(`${url}/v1/transactions/${id}?payload=false`)));
      views.forEach((v, i) => {
        if (v.status === 200 && v.body.status === 'committed') left.delete(group[i]!);
      });
      return left.size === 0;
    },
    timeoutMs,
    100,
  );
}

describe('a local network repairing itself', () => {
  let root = '';
  let net: Cluster;
  const acknowledged: string[] = [];

  beforeAll(async () => {
    root = await tempDir('net-recovery');
    net = await startFullAndThinWithLateArchive(root, { producer: { blockIntervalMs: 100, maxBlockTransactions: 1 } });
  }, 180_000);

  afterAll(async () => {
    await killClusterChildren();
    await removeDir(root);
  });

  it('catches up after a thin node is killed with SIGKILL while ingesting, and loses nothing it acknowledged', async () => {
    const thinUrl = net.url('thin');
    // Ingest on the thin node; kill it between two acknowledged batches, with the last ones maybe not flooded yet.
    let killed = false;
    const load = (async (): Promise<void> => {
      for (let i = 0; i < 200 && !killed; i++) {
        try {
          acknowledged.push(...(await batch(thinUrl, `before-kill-${i}`, 5)));
        } catch {
          return; // the kill cut the request: not acknowledged
        }
      }
    })();
    await waitFor('some records acknowledged by the thin node', () => acknowledged.length >= 40, 60_000, 20);
    killed = true;
    await net.kill('thin');
    await load;
    const before = await netStatus(net.url('full'));

    // The chain moves on while the thin node is down.
    const whileDown = await batch(net.url('full'), 'while-down', 60);
    await waitFor('blocks while the thin node is down', async () => (await netStatus(net.url('full'))).height >= before.height + 30, 60_000, 100);

    await net.start('thin');
    const thinNow = net.url('thin');
    await waitForPeers([thinNow], 1, 60_000);
    // Records the thin node acknowledged before the kill are durable there and reach a block after the restart.
    await allCommitted(net.url('full'), acknowledged, 90_000);
    await allCommitted(thinNow, [...acknowledged, ...whileDown], 90_000);
    const tip = await waitForConvergence([net.url('full'), thinNow], before.height + 60, 90_000);
    expect(tip.height).toBeGreaterThanOrEqual(before.height + 60);
    // The thin node's own records stayed in full there.
    const own = await getJson<TxViewFull>(`${thinNow}/v1/transactions/${acknowledged[0]!}`);
    expect(own.body).toMatchObject({ status: 'committed', stripped: false });
  }, 300_000);

  it('the producer killed with SIGKILL while it holds a peer\'s records in memory only: they still reach a block', async () => {
    // Blocks of one transaction every 100 ms: 80 records from the thin node wait seconds in the producer's mempool,
    // where a peer's transactions are held in memory only (their origin keeps them durably).
    const thinUrl = net.url('thin');
    const before = await netStatus(net.url('full'));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(...(await batch(thinUrl, `held-by-producer-${i}`, 20)));
    await waitFor('the producer to hold the thin node\'s records', async () => (await netStatus(net.url('full'))).mempool.count >= 40, 30_000, 20);
    await net.kill('full');
    await net.start('full');
    const fullNow = net.url('full');
    await waitForPeers([fullNow, thinUrl], 1, 60_000);
    // The restarted producer lost them; the thin node offers its pending records again on the new link.
    await allCommitted(fullNow, ids, 90_000);
    await allCommitted(thinUrl, ids, 90_000);
    const tip = await waitForConvergence([fullNow, thinUrl], before.height + ids.length, 90_000);
    expect(tip.height).toBeGreaterThanOrEqual(before.height + ids.length);
  }, 300_000);

  it(`syncs a late joiner over a chain of ${LATE_BLOCKS}+ blocks, payloads included on an archive node`, async () => {
    const fullUrl = net.url('full');
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(...(await batch(i % 2 === 0 ? fullUrl : net.url('thin'), `history-${i}`, 50)));
    await waitFor(`a chain of ${LATE_BLOCKS} blocks`, async () => (await netStatus(fullUrl)).height >= LATE_BLOCKS, 120_000, 200);
    const target = await waitForConvergence([fullUrl, net.url('thin')], LATE_BLOCKS, 120_000);

    await net.start('late');
    const lateUrl = net.url('late');
    const tip = await waitForConvergence([fullUrl, net.url('thin'), lateUrl], target.height, 120_000);
    expect(tip.tip).toBe(target.tip);
    const s = await netStatus(lateUrl);
    expect(s.network!.sync.blocks).toBeGreaterThanOrEqual(target.height - 1);
    expect(s.network!.counts.connected).toBe(2);
    const metrics = await http(`${lateUrl}/metrics`);
    expect(metrics.text).toMatch(/^safechain_peers_connected 2$/m);
    expect(metrics.text).toMatch(new RegExp(`^safechain_chain_height ${target.height}$`, 'm'));

    // An archive keeps all transaction data, whoever ingested it and whoever it synced from.
    const sample = [...acknowledged.slice(0, 20), ...ids.filter((_, i) => i % 15 === 0)];
    for (const id of sample) {
      const v = await getJson<TxViewFull>(`${lateUrl}/v1/transactions/${id}`);
      expect(v.status, id).toBe(200);
      expect(v.body).toMatchObject({ status: 'committed', stripped: false });
      expect(v.body.payload).not.toBeNull();
    }
    await sleep(10);
  }, 300_000);
});
