/**
 * The node's HTTP API on a real full node (apps/full-node, SQLite): records in every form, transactions from pending
 * to committed, blocks, status, health, metrics, proofs that verify offline, and a clean restart with the chain intact.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, toBase64, verifyProof, type ProofBundle } from '@safechain/core';
import {
  canonicalBlocks,
  getJson,
  http,
  killChildren,
  postJson,
  postNdjson,
  removeDir,
  runCli,
  startFullNode,
  status,
  tempDir,
  waitCommitted,
  waitFor,
  type BlockView,
  type NodeProcess,
  type TxView,
} from './helpers/node-process.js';

const QUIET = { SAFECHAIN_LOG_LEVEL: 'warn', SAFECHAIN_WORKERS: '1' };
const HEX64 = /^[0-9a-f]{64}$/;

interface Sent {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly contentType: string;
  readonly source: string | null;
  readonly traceCodes: readonly string[];
}

describe('the HTTP API of a running full node', () => {
  let root = '';
  let data = '';
  let node: NodeProcess;
  const sent: Sent[] = [];
  let batchIds: string[] = [];
  let identity = '';

  beforeAll(async () => {
    root = await tempDir('api');
    data = join(root, 'node');
    // No config yet: the app sets the folder up on first start; the block interval comes from the environment.
    node = await startFullNode(data, { env: { ...QUIET, SAFECHAIN_BLOCK_INTERVAL_MS: '400' } });
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('takes a raw record, JSON envelopes (text, json, base64 payload) and a 1,000-record NDJSON batch with 202 and ids', async () => {
    const raw = new Uint8Array([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a, 0x0d, 0x00]);
    const r1 = await http<{ id: string }>(`${node.url}/v1/records`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'application/vnd.press-trace', 'x-safechain-source': 'press-7', 'x-safechain-trace-codes': 'LOT-1, SN%2C42' },
    });
    expect(r1.status, r1.text).toBe(202);
    expect(r1.body.id).toMatch(HEX64);
    sent.push({ id: r1.body.id, payload: raw, contentType: 'application/vnd.press-trace', source: 'press-7', traceCodes: ['LOT-1', 'SN,42'] });

    const text = 'spindle 2 temperature 61.2 C';
    const r2 = await postJson<{ id: string }>(`${node.url}/v1/records/json`, { text, source: 'mill-3', traceCodes: ['PART-9'] });
    expect(r2.status, r2.text).toBe(202);
    sent.push({ id: r2.body.id, payload: new TextEncoder().encode(text), contentType: 'text/plain;charset=utf-8', source: 'mill-3', traceCodes: ['PART-9'] });

    const json = { station: 4, ok: true, values: [1.5, 2.5] };
    const r3 = await postJson<{ id: string }>(`${node.url}/v1/records/json`, { json });
    expect(r3.status, r3.text).toBe(202);
    sent.push({ id: r3.body.id, payload: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json', source: null, traceCodes: [] });

    const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
    const r4 = await postJson<{ id: string }>(`${node.url}/v1/records/json`, { payload: toBase64(bytes), contentType: 'application/x-cad' });
    expect(r4.status, r4.text).toBe(202);
    sent.push({ id: r4.body.id, payload: bytes, contentType: 'application/x-cad', source: null, traceCodes: [] });

    const lines = Array.from({ length: 1000 }, (_, i) => ({ json: { sensor: 'S-12', reading: i }, traceCodes: [`R-${i}`] }));
    const batch = await postNdjson<{ ids: string[] }>(`${node.url}/v1/records/batch`, lines);
    expect(batch.status, batch.text).toBe(202);
    expect(batch.body.ids).toHaveLength(1000);
    expect(new Set(batch.body.ids).size).toBe(1000);
    for (const id of batch.body.ids) expect(id).toMatch(HEX64);
    batchIds = batch.body.ids;

    expect(new Set(sent.map((s) => s.id)).size).toBe(sent.length);
    // Acknowledged means stored: each is readable at once, pending or already in a block, with what was sent.
    for (const s of sent) {
      const r = await getJson<TxView>(`${node.url}/v1/transactions/${s.id}`);
      expect(r.status).toBe(200);
      expect(['pending', 'committed']).toContain(r.body.status);
      expect(fromBase64(r.body.payload!)).toEqual(s.payload);
      expect(r.body.contentType).toBe(s.contentType);
      expect(r.body.source).toBe(s.source);
      expect(r.body.traceCodes).toEqual(s.traceCodes);
    }
    const withoutPayload = await getJson<TxView>(`${node.url}/v1/transactions/${sent[0]!.id}?payload=false`);
    expect(withoutPayload.body.payload).toBeNull();
  });

  it('commits every record into canonical blocks that read the same by height and by hash', async () => {
    expect(sent).toHaveLength(4);
    for (const s of sent) {
      const tx = await waitCommitted(node.url, s.id, 20_000);
      expect(tx.block!.blockHash).toMatch(HEX64);
      const byHeight = await getJson<BlockView>(`${node.url}/v1/blocks/${tx.block!.height}`);
      const byHash = await getJson<BlockView>(`${node.url}/v1/blocks/${tx.block!.blockHash}`);
      expect(byHeight.status).toBe(200);
      expect(byHash.body).toEqual(byHeight.body);
      expect(byHeight.body.hash).toBe(tx.block!.blockHash);
      expect(byHeight.body.canonical).toBe(true);
      expect(byHeight.body.transactionIds[tx.block!.index]).toBe(s.id);
      expect(byHeight.body.txCount).toBe(byHeight.body.transactionIds.length);
    }
    await waitCommitted(node.url, batchIds[batchIds.length - 1]!, 20_000);
    const blocks = await canonicalBlocks(node.url);
    const genesis = await getJson<BlockView>(`${node.url}/v1/blocks/0`);
    expect(genesis.status).toBe(200);
    let previous = genesis.body.hash;
    const inChain = new Map<string, number>();
    for (const b of blocks) {
      expect(b.previousHash).toBe(previous);
      previous = b.hash;
      for (const id of b.transactionIds) inChain.set(id, (inChain.get(id) ?? 0) + 1);
    }
    for (const id of [...batchIds, ...sent.map((s) => s.id)]) expect(inChain.get(id)).toBe(1);
    const tip = await getJson<BlockView>(`${node.url}/v1/tip`);
    expect(tip.body.hash).toBe(previous);

    const missing = await getJson(`${node.url}/v1/blocks/${blocks.length + 1000}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'no-such-block' });
    const unknownTx = await getJson(`${node.url}/v1/transactions/${'ab'.repeat(32)}`);
    expect(unknownTx.status).toBe(404);
    expect(unknownTx.body).toMatchObject({ error: 'no-such-transaction' });
  });

  it('answers /v1/status, /health and /metrics (Prometheus text with the chain gauges)', async () => {
    const s = await waitFor('the mempool to drain', async () => {
      const v = await status(node.url);
      return v.mempool.count === 0 ? v : undefined;
    });
    const genesisFile = JSON.parse(await readFile(join(data, 'genesis.json'), 'utf8')) as { chainId: string };
    expect(s.type).toBe('full');
    expect(s.chainId).toBe(genesisFile.chainId);
    expect(s.identity).toMatch(HEX64);
    expect(s.height).toBeGreaterThanOrEqual(1);
    expect(s.store.kind).toBe('sqlite');
    expect(s.store.bytes).toBeGreaterThan(0);
    identity = s.identity;

    const health = await getJson(`${node.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });

    const metrics = await http(`${node.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const lines = metrics.text.trimEnd().split('\n');
    const value = (name: string): number => {
      const line = lines.find((l) => l.startsWith(`${name} `));
      expect(line, `${name} in\n${metrics.text}`).toBeDefined();
      return Number(line!.slice(name.length + 1));
    };
    for (const l of lines) {
      // Exposition format 0.0.4: comments (HELP/TYPE) or `name{labels} value`.
      expect(l).toMatch(/^(# (HELP|TYPE) [a-z_:][a-z0-9_:]* .+|[a-z_:][a-z0-9_:]*(\{[^}]*\})? -?[0-9.e+]+)$/);
    }
    for (const gauge of ['safechain_chain_height', 'safechain_mempool_transactions', 'safechain_mempool_bytes', 'safechain_store_bytes']) {
      expect(lines).toContain(`# TYPE ${gauge} gauge`);
    }
    expect(value('safechain_chain_height')).toBeGreaterThanOrEqual(s.height);
    expect(value('safechain_mempool_transactions')).toBe(0);
    expect(value('safechain_store_bytes')).toBeGreaterThan(0);
    expect(value('safechain_transactions_committed_total')).toBeGreaterThanOrEqual(1004);
    expect(value('safechain_blocks_committed_total')).toBeGreaterThanOrEqual(1);
  });

  it('serves proofs that verify offline with @safechain/core alone', async () => {
    expect(identity).not.toBe('');
    for (const id of [sent[0]!.id, sent[3]!.id, batchIds[0]!, batchIds[999]!]) {
      const tx = await waitCommitted(node.url, id);
      const r = await getJson<ProofBundle>(`${node.url}/v1/proofs/${id}`);
      expect(r.status).toBe(200);
      const verdict = verifyProof(r.body, { trustedOrigins: [identity], trustedBlocks: [tx.block!.blockHash] });
      expect(verdict).toMatchObject({
        valid: true,
        txId: id,
        blockHash: tx.block!.blockHash,
        height: tx.block!.height,
        index: tx.block!.index,
        origin: identity,
        payloadIncluded: true,
        originTrusted: true,
        blockTrusted: true,
      });
    }
  });

  it('restarts after SIGTERM (exit 0) with the chain intact: same blocks, same proofs, higher sequence numbers', async () => {
    const before = await status(node.url);
    const oldProof = (await getJson<ProofBundle>(`${node.url}/v1/proofs/${sent[1]!.id}`)).body;
    const oldTx = await waitCommitted(node.url, sent[1]!.id);
    let maxSequence = 0;
    for (const id of [...sent.map((s) => s.id), ...batchIds.slice(-5)]) {
      maxSequence = Math.max(maxSequence, (await getJson<TxView>(`${node.url}/v1/transactions/${id}?payload=false`)).body.sequence);
    }

    const exit = await node.stop();
    expect(exit, node.output().slice(-2000)).toEqual({ code: 0, signal: null });
    await expect(fetch(`${node.url}/health`)).rejects.toThrow();

    node = await startFullNode(data, { env: { ...QUIET, SAFECHAIN_BLOCK_INTERVAL_MS: '400' } });
    const after = await status(node.url);
    expect(after.height).toBeGreaterThanOrEqual(before.height);
    expect(after.identity).toBe(before.identity);
    expect(after.chainId).toBe(before.chainId);
    const sameHeight = await getJson<BlockView>(`${node.url}/v1/blocks/${before.height}`);
    expect(sameHeight.body.hash).toBe(before.tip);
    expect((await getJson<TxView>(`${node.url}/v1/transactions/${sent[1]!.id}?payload=false`)).body.block).toEqual(oldTx.block);
    const proof = await getJson<ProofBundle>(`${node.url}/v1/proofs/${sent[1]!.id}`);
    expect(proof.status).toBe(200);
    expect(proof.body).toEqual(oldProof);
    expect(verifyProof(proof.body).valid).toBe(true);

    const fresh = await postNdjson<{ ids: string[] }>(`${node.url}/v1/records/batch`, [{ text: 'after restart 1' }, { text: 'after restart 2' }]);
    expect(fresh.status, fresh.text).toBe(202);
    for (const id of fresh.body.ids) {
      const tx = await waitCommitted(node.url, id, 20_000);
      expect(tx.sequence).toBeGreaterThan(maxSequence);
      expect(tx.block!.height).toBeGreaterThan(before.height);
    }
  });
});

describe('a record not yet in a block', () => {
  let root = '';
  let data = '';
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    root = await tempDir('api-pending');
    data = join(root, 'node');
    // One block an hour: what is submitted stays pending for the whole test.
    node = await startFullNode(data, { env: { ...QUIET, SAFECHAIN_BLOCK_INTERVAL_MS: '3600000' } });
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('is pending with no block and no proof yet (409; safechain proof exits 3), and is committed after a restart', async () => {
    const r = await postJson<{ id: string }>(`${node!.url}/v1/records/json`, { text: 'waiting for a block' });
    expect(r.status, r.text).toBe(202);
    const id = r.body.id;
    const tx = await getJson<TxView>(`${node!.url}/v1/transactions/${id}`);
    expect(tx.status).toBe(200);
    expect(tx.body).toMatchObject({ id, status: 'pending', block: null });

    const proof = await getJson(`${node!.url}/v1/proofs/${id}`);
    expect(proof.status).toBe(409);
    expect(proof.body).toMatchObject({ error: 'not-in-block-yet' });
    expect(typeof proof.body['message']).toBe('string');
    expect(typeof proof.body['hint']).toBe('string');

    const cli = await runCli(['proof', id, '--api', node!.url]);
    expect(cli.code, cli.stderr).toBe(3);
    expect(cli.stderr).toContain('not-in-block-yet');
    expect(cli.stdout).toBe('');

    // The pending record is durable: a restart with short blocks commits it.
    const exit = await node!.stop();
    expect(exit.code).toBe(0);
    node = await startFullNode(data, { env: { ...QUIET, SAFECHAIN_BLOCK_INTERVAL_MS: '200' } });
    const committed = await waitCommitted(node.url, id, 20_000);
    expect(committed.block!.height).toBe(1);
    const cliAfter = await runCli(['proof', id, '--api', node.url]);
    expect(cliAfter.code, cliAfter.stderr).toBe(0);
    expect(verifyProof(JSON.parse(cliAfter.stdout)).valid).toBe(true);
  });
});
