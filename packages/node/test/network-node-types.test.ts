/**
 * The node types of the paper's Table I on a real local network: every member is one of the apps, in its own data
 * folder, joined through one seed (the archive node, as the paper suggests), with `network.allow` listing the
 * members. A full node is the chain's single producer; archive and thin nodes do not produce; the archive keeps every
 * payload, thin nodes keep headers, their own transactions and what their retention filter selects, and a proof from
 * a thin node for a stripped transaction still verifies. Records ingested on any node (API or inbox) reach a block
 * and every node converges on one tip. A node outside the allowlist is refused. A second chain shows a
 * `producer`-type node producing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyProof, type ProofBundle } from '@safechain/core';
import { Cluster, killClusterChildren, netStatus, waitForConvergence, waitForPeers } from './helpers/net-cluster.js';
import {
  canonicalBlocks,
  dropFile,
  getJson,
  http,
  postJson,
  postNdjson,
  removeDir,
  sleep,
  tempDir,
  waitCommitted,
  waitFor,
  type TxView,
} from './helpers/node-process.js';

interface TxViewFull extends TxView {
  readonly stripped: boolean;
}

interface BlockViewSigned {
  readonly height: number;
  readonly hash: string;
  readonly signers: readonly string[];
  readonly transactionIds: readonly string[];
}

const MEMBERS = ['full', 'archive', 'thin', 'thin-lot'] as const;

async function tx(url: string, id: string): Promise<TxViewFull> {
  const r = await getJson<TxViewFull>(`${url}/v1/transactions/${id}`);
  if (r.status !== 200) throw new Error(`GET ${url}/v1/transactions/${id}: ${r.status} ${r.text}`);
  return r.body;
}

async function record(url: string, text: string, traceCodes: readonly string[] = []): Promise<string> {
  const r = await postJson<{ id: string }>(`${url}/v1/records/json`, { text, ...(traceCodes.length > 0 ? { traceCodes } : {}) });
  if (r.status !== 202) throw new Error(`POST ${url}/v1/records/json: ${r.status} ${r.text}`);
  return r.body.id;
}

async function blocksOf(url: string): Promise<BlockViewSigned[]> {
  return (await canonicalBlocks(url)) as unknown as BlockViewSigned[];
}

describe('a local network of every node type (Table I)', () => {
  let root = '';
  let net: Cluster;
  const urls = (): string[] => MEMBERS.map((m) => net.url(m));
  /** Transaction ids by the member that ingested them. */
  const ingested = new Map<string, string[]>();
  let lotFromFull = '';
  let inboxTx = '';

  beforeAll(async () => {
    root = await tempDir('net-types');
    net = await Cluster.create({
      root,
      genesisBy: 'full',
      seed: 'archive',
      members: [
        { name: 'full', type: 'full' },
        { name: 'archive', type: 'archive' },
        { name: 'thin', type: 'thin' },
        { name: 'thin-lot', type: 'thin', config: { retention: { traceCodes: ['LOT-7'] } } },
        { name: 'outsider', type: 'thin', outsider: true },
      ],
    });
    await net.startAll([...MEMBERS]);
    await waitForPeers(urls(), MEMBERS.length - 1, 90_000);
  }, 240_000);

  afterAll(async () => {
    await killClusterChildren();
    await removeDir(root);
  });

  it('connects every member through the seed: status lists the peers, /metrics counts them', async () => {
    const keys = new Set(MEMBERS.map((m) => net.member(m).identity));
    for (const name of MEMBERS) {
      const s = await netStatus(net.url(name));
      expect(s.type).toBe(net.member(name).type);
      expect(s.network).not.toBeNull();
      const peers = s.network!.peers.map((p) => p.key);
      expect(new Set(peers)).toEqual(new Set([...keys].filter((k) => k !== net.member(name).identity)));
      const metrics = await http(`${net.url(name)}/metrics`);
      expect(metrics.text).toMatch(new RegExp(`^safechain_peers_connected ${MEMBERS.length - 1}$`, 'm'));
    }
  });

  it('refuses a node holding the genesis but missing from the allowlist', async () => {
    const outsider = net.member('outsider');
    await net.start('outsider');
    const url = net.url('outsider');
    // The seed closes the connection with "not a member" once the outsider's hello is checked.
    const refused = await waitFor(
      'the outsider to be refused',
      async () => {
        const s = await netStatus(url);
        return (s.network?.disconnects?.['notAMember'] ?? 0) > 0 ? s : undefined;
      },
      60_000,
      200,
    );
    expect(refused.network!.counts.connected).toBe(0);
    const id = await record(url, 'written by a node the network does not admit');
    await sleep(1500);
    for (const name of MEMBERS) {
      const s = await netStatus(net.url(name));
      expect(s.network!.peers.map((p) => p.key)).not.toContain(outsider.identity);
      expect((await getJson(`${net.url(name)}/v1/transactions/${id}`)).status).toBe(404);
    }
    expect((await netStatus(url)).network!.counts.connected).toBe(0);
    await net.stop('outsider');
  });

  it('takes records on every node (API and inbox); all reach a block and every node converges on one tip', async () => {
    for (const name of MEMBERS) {
      const url = net.url(name);
      const ids: string[] = [];
      ids.push(await record(url, `${name}: record one`));
      const batch = await postNdjson<{ ids: string[] }>(`${url}/v1/records/batch`, [
        { text: `${name}: batch a` },
        { json: { station: name, value: 2 } },
        { text: `${name}: batch c`, traceCodes: ['LOT-9'] },
      ]);
      expect(batch.status).toBe(202);
      ids.push(...batch.body.ids);
      ingested.set(name, ids);
    }
    lotFromFull = await record(net.url('full'), 'full: a record of lot 7', ['LOT-7']);
    ingested.get('full')!.push(lotFromFull);

    // A file dropped in the thin node's inbox.
    const thin = net.member('thin');
    await dropFile(join(thin.dataDir, 'inbox'), 'press-17.json', JSON.stringify({ press: 17, force: [1.2, 1.4] }));

    for (const [, ids] of ingested) for (const id of ids) for (const url of urls()) await waitCommitted(url, id, 60_000);

    // The inbox record: find it on the full node by its origin and source.
    inboxTx = await waitFor(
      'the inbox file to be committed on the full node',
      async () => {
        for (const b of await blocksOf(net.url('full'))) {
          for (const id of b.transactionIds) {
            const v = await tx(net.url('full'), id);
            if (v.origin === thin.identity && v.source === 'press-17.json') return id;
          }
        }
        return undefined;
      },
      60_000,
      500,
    );
    ingested.get('thin')!.push(inboxTx);
    for (const url of urls()) await waitCommitted(url, inboxTx, 60_000);

    const tip = await waitForConvergence(urls(), 1, 60_000);
    const all = await Promise.all(urls().map(blocksOf));
    for (const chain of all) {
      expect(chain.length).toBe(tip.height);
      expect(chain.map((b) => b.hash)).toEqual(all[0]!.map((b) => b.hash));
    }
    // Each committed transaction sits in the same block on every node.
    for (const [, ids] of ingested) {
      for (const id of ids) {
        const views = await Promise.all(urls().map((u) => tx(u, id)));
        for (const v of views) expect(v.block).toEqual(views[0]!.block);
      }
    }
  });

  it('lets only the full node (the producer named in genesis) produce; archive and thin nodes do not', async () => {
    const full = net.member('full');
    const blocks = await blocksOf(net.url('archive'));
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(b.signers).toEqual([full.identity]);
    expect(net.running('full')!.output()).toMatch(/^ {2}blocks {4}every \d+ ms$/m);
    for (const name of ['archive', 'thin', 'thin-lot']) {
      expect(net.running(name)!.output()).toMatch(/^ {2}blocks {4}not produced here$/m);
    }
  });

  it('keeps every payload on the archive and full nodes', async () => {
    for (const name of ['archive', 'full']) {
      for (const [, ids] of ingested) {
        for (const id of ids) {
          const v = await tx(net.url(name), id);
          expect(v.stripped, `${name} ${id}`).toBe(false);
          expect(v.payload).not.toBeNull();
        }
      }
    }
  });

  it('keeps headers, its own transactions and nothing else in full on a thin node', async () => {
    const url = net.url('thin');
    for (const [origin, ids] of ingested) {
      for (const id of ids) {
        const v = await tx(url, id);
        expect(v.status).toBe('committed');
        if (origin === 'thin') {
          expect(v.stripped).toBe(false);
          expect(v.payload).not.toBeNull();
        } else {
          expect(v.stripped, `${origin} ${id}`).toBe(true);
          expect(v.payload).toBeNull();
          expect(v.payloadHash).toMatch(/^[0-9a-f]{64}$/);
        }
      }
    }
    // Every header is there: the same canonical chain as the archive's.
    expect((await blocksOf(url)).map((b) => b.hash)).toEqual((await blocksOf(net.url('archive'))).map((b) => b.hash));
  });

  it('keeps what its retention filter selects (retention.traceCodes) in full on a thin node', async () => {
    const url = net.url('thin-lot');
    const lot = await tx(url, lotFromFull);
    expect(lot.traceCodes).toEqual(['LOT-7']);
    expect(lot.stripped).toBe(false);
    expect(lot.payload).not.toBeNull();
    for (const [origin, ids] of ingested) {
      for (const id of ids) {
        if (id === lotFromFull) continue;
        const v = await tx(url, id);
        expect(v.stripped, `${origin} ${id}`).toBe(origin !== 'thin-lot');
      }
    }
  });

  it('gives proofs from a thin node for stripped transactions that still verify offline', async () => {
    const full = net.member('full');
    const id = ingested.get('archive')![0]!;
    const r = await getJson<ProofBundle>(`${net.url('thin')}/v1/proofs/${id}`);
    expect(r.status).toBe(200);
    expect(r.body.transaction.payload).toBeUndefined();
    const verdict = verifyProof(r.body, { trustedOrigins: [net.member('archive').identity] });
    expect(verdict).toMatchObject({ valid: true, txId: id, payloadIncluded: false, originTrusted: true, blockSigners: [full.identity] });
    // The archive's proof of the same record carries the payload and names the same block.
    const a = await getJson<ProofBundle>(`${net.url('archive')}/v1/proofs/${id}`);
    const full_ = verifyProof(a.body);
    expect(full_).toMatchObject({ valid: true, txId: id, payloadIncluded: true });
    if (verdict.valid && full_.valid) expect(full_.blockHash).toBe(verdict.blockHash);
    // A tampered bundle does not verify.
    const tampered = { ...r.body, inclusion: { ...r.body.inclusion, index: r.body.inclusion.index + 1 } };
    expect(verifyProof(tampered).valid).toBe(false);
  });
});

describe('a chain whose blocks a producer-type node produces', () => {
  let root = '';
  let net: Cluster;

  beforeAll(async () => {
    root = await tempDir('net-producer');
    net = await Cluster.create({
      root,
      genesisBy: 'producer',
      seed: 'producer',
      members: [
        { name: 'producer', type: 'producer' },
        { name: 'thin', type: 'thin' },
      ],
    });
    await net.startAll();
    await waitForPeers([net.url('producer'), net.url('thin')], 1, 90_000);
  }, 180_000);

  afterAll(async () => {
    await killClusterChildren();
    await removeDir(root);
  });

  it('produces every block; keeps its own records in full and others stripped', async () => {
    const producer = net.member('producer');
    const fromProducer = await record(net.url('producer'), 'producer: own record');
    const fromThin = await record(net.url('thin'), 'thin: a machine record');
    for (const url of [net.url('producer'), net.url('thin')]) {
      await waitCommitted(url, fromProducer, 60_000);
      await waitCommitted(url, fromThin, 60_000);
    }
    await waitForConvergence([net.url('producer'), net.url('thin')], 1);
    for (const b of await blocksOf(net.url('thin'))) expect(b.signers).toEqual([producer.identity]);
    expect(net.running('producer')!.output()).toMatch(/^ {2}blocks {4}every \d+ ms$/m);

    // Table I: a block producer has no mass storage: it keeps its own transactions, not the thin node's.
    expect(await tx(net.url('producer'), fromProducer)).toMatchObject({ stripped: false });
    expect(await tx(net.url('producer'), fromThin)).toMatchObject({ stripped: true, payload: null });
    expect(await tx(net.url('thin'), fromThin)).toMatchObject({ stripped: false });
    expect(await tx(net.url('thin'), fromProducer)).toMatchObject({ stripped: true, payload: null });
  });
});
