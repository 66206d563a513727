/**
 * Transaction payloads across the local network, with real node processes. Blocks travel compact (transactions a
 * peer already has go stripped) and a block larger than one network message (4 MiB) travels stripped, so the
 * receiving node must put the payloads back: from its mempool, or fetched from peers. Here a block of about 5 MB
 * reaches a thin node that was connected, and an archive node that joins later and syncs it from a full node and a
 * thin node: the archive ends up with every payload, as Table I requires.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killClusterChildren, netStatus, startFullAndThinWithLateArchive, waitForConvergence, type Cluster } from './helpers/net-cluster.js';
import { getJson, http, removeDir, tempDir, waitFor, type TxView } from './helpers/node-process.js';

interface TxViewFull extends TxView {
  readonly stripped: boolean;
}

const RECORDS = 4_200;
const RECORD_BYTES = 1_024;
/** A block above the network's default 4 MiB message limit: RECORDS x (1 kB payload + signed header). */
const MESSAGE_LIMIT = 4 * 1024 * 1024;

describe('payloads of a block larger than one network message', () => {
  let root = '';
  let net: Cluster;
  const ids: string[] = [];
  const payloads = new Map<string, string>();

  beforeAll(async () => {
    root = await tempDir('net-payloads');
    // One cut every 4 s: the burst below lands in one block.
    net = await startFullAndThinWithLateArchive(root, { producer: { blockIntervalMs: 4_000 } });
  }, 180_000);

  afterAll(async () => {
    await killClusterChildren();
    await removeDir(root);
  });

  it('reaches a connected thin node and a late archive node; the archive restores every payload', async () => {
    const lines = Array.from({ length: RECORDS }, () => `{"payload":"${randomBytes(RECORD_BYTES).toString('base64')}"}`);
    const r = await http<{ ids: string[] }>(
      `${net.url('full')}/v1/records/batch`,
      { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: `${lines.join('\n')}\n` },
      60_000,
    );
    expect(r.status).toBe(202);
    ids.push(...r.body.ids);
    ids.forEach((id, i) => payloads.set(id, (JSON.parse(lines[i]!) as { payload: string }).payload));

    // One block holds them all, too large for one message.
    const first = await waitFor(
      'the burst to be committed on the full node',
      async () => {
        const v = await getJson<TxViewFull>(`${net.url('full')}/v1/transactions/${ids[0]!}?payload=false`);
        return v.status === 200 && v.body.status === 'committed' ? v.body : undefined;
      },
      60_000,
      200,
    );
    const block = await getJson<{ txCount: number; transactionIds: string[] }>(`${net.url('full')}/v1/blocks/${first.block!.height}`);
    expect(block.body.txCount).toBe(RECORDS);
    expect(block.body.txCount * (RECORD_BYTES + 200)).toBeGreaterThan(MESSAGE_LIMIT);

    const tip = await waitForConvergence([net.url('full'), net.url('thin')], first.block!.height, 90_000);

    // The archive joins late: it syncs the block (served stripped: it does not fit one message) and fetches the
    // payloads from its peers.
    await net.start('late');
    await waitForConvergence([net.url('full'), net.url('thin'), net.url('late')], tip.height, 120_000);
    const late = net.url('late');
    const sample = [ids[0]!, ids[ids.length - 1]!, ...ids.filter((_, i) => i % 40 === 0)];
    for (const id of sample) {
      const v = await getJson<TxViewFull>(`${late}/v1/transactions/${id}`);
      expect(v.status, id).toBe(200);
      expect(v.body.stripped, id).toBe(false);
      expect(v.body.payload).toBe(payloads.get(id));
    }
    const s = await netStatus(late);
    expect(s.network!.sync.blocks).toBeGreaterThanOrEqual(1);
    expect((s.network as unknown as { drops: Record<string, number> }).drops['payload-unavailable'] ?? 0).toBe(0);
    // The thin node keeps headers only for records it did not ingest.
    const onThin = await getJson<TxViewFull>(`${net.url('thin')}/v1/transactions/${ids[0]!}`);
    expect(onThin.body).toMatchObject({ status: 'committed', stripped: true, payload: null });
  }, 300_000);
});
