/**
 * Bad input against a real full node (apps/full-node on SQLite): a refused configuration, bodies too large or malformed,
 * unknown routes, files over the intake limit, a full mempool and a full store. Every refusal has a status a client
 * can act on and a JSON body `{ error, message, hint }`, and the node keeps running (invariant 5).
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64 } from '@safechain/core';
import { initDataDir } from '../src/data-dir.js';
import {
  dropFile,
  getJson,
  http,
  killChildren,
  postJson,
  postNdjson,
  removeDir,
  runAppToExit,
  startFullNode,
  status,
  tempDir,
  waitCommitted,
  waitFor,
  writeConfig,
  type HttpResult,
  type NodeProcess,
  type TxView,
} from './helpers/node-process.js';

/** Every API error answers with a JSON body of three strings. */
function expectErrorBody(r: HttpResult, status: number, error?: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(typeof r.body).toBe('object');
  expect(Object.keys(r.body).sort()).toEqual(['error', 'hint', 'message']);
  for (const k of ['error', 'message', 'hint']) expect(typeof r.body[k]).toBe('string');
  expect(String(r.body['message']).length).toBeGreaterThan(0);
  if (error !== undefined) expect(r.body['error']).toBe(error);
}

async function newDataDir(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await initDataDir({ dataDir: dir, type: 'full', consensus: 'single' });
  return dir;
}

describe('a configuration the full node app refuses', () => {
  let root = '';
  beforeAll(async () => {
    root = await tempDir('bad-config');
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  const cases: ReadonlyArray<{ name: string; config: string; key: string; says: string }> = [
    { name: 'an unknown key', config: JSON.stringify({ type: 'full', producer: { blockIntervalSecs: 1 } }), key: 'producer.blockIntervalSecs', says: 'unknown setting' },
    { name: 'a value of the wrong type', config: JSON.stringify({ type: 'full', api: { maxBodyBytes: '16MB' } }), key: 'api.maxBodyBytes', says: 'expected an integer' },
    { name: 'text that is not JSON', config: '{ "type": "full", ', key: 'config.json', says: 'not valid JSON' },
  ];
  for (const c of cases) {
    it(`exits 2 naming the key for ${c.name}`, async () => {
      const data = await newDataDir(root, c.name.replace(/\W+/g, '-'));
      await writeFile(join(data, 'config.json'), c.config);
      const r = await runAppToExit(['--data', data, '--api', '127.0.0.1:0']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain(c.key);
      expect(r.stderr).toContain(c.says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).not.toContain('api ');
    });
  }
});

describe('a start that fails after the API is up', () => {
  let root = '';
  beforeAll(async () => {
    root = await tempDir('bad-start');
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('ends the process with an error instead of leaving a half-started node running', async () => {
    const data = await newDataDir(root, 'node');
    // processed/ cannot be created (its parent is a file): the ingest fails to start after the API listens.
    await writeConfig(data, { type: 'full', ingest: { processed: 'genesis.json/processed' }, producer: { blockIntervalMs: 100 }, processing: { workers: 1 } });
    const r = await runAppToExit(['--data', data, '--api', '127.0.0.1:0'], { timeoutMs: 40_000 });
    expect(r.code, r.stderr.slice(-2000)).not.toBe(0);
    expect(r.stderr).toContain('genesis.json');
    expect(r.stderr).not.toContain('StoreClosedError');
  });
});

describe('bad requests, oversized files and a full mempool', () => {
  const MAX_BODY = 64 * 1024;
  const MAX_FILE = 1024;
  const MEMPOOL_MAX = 40;
  let root = '';
  let data = '';
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    root = await tempDir('bad-input');
    data = await newDataDir(root, 'node');
    await writeConfig(data, {
      type: 'full',
      api: { maxBodyBytes: MAX_BODY, maxBatchRecords: 100 },
      ingest: { maxFileBytes: MAX_FILE },
      mempool: { maxCount: MEMPOOL_MAX },
      // No block for an hour: the mempool only fills.
      producer: { blockIntervalMs: 3_600_000 },
      processing: { workers: 1 },
      log: { level: 'warn' },
    });
    node = await startFullNode(data);
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('answers 413 with a JSON body to a body over api.maxBodyBytes, on every record route', async () => {
    const big = new Uint8Array(MAX_BODY + 1024).fill(0x41);
    expectErrorBody(await http(`${node!.url}/v1/records`, { method: 'POST', body: big, headers: { 'content-type': 'application/octet-stream' } }), 413, 'body-too-large');
    expectErrorBody(await postJson(`${node!.url}/v1/records/json`, { text: 'a'.repeat(MAX_BODY + 10) }), 413, 'body-too-large');
    expectErrorBody(await postNdjson(`${node!.url}/v1/records/batch`, [{ text: 'b'.repeat(MAX_BODY + 10) }]), 413, 'body-too-large');
    // Within the byte limit but over api.maxBatchRecords.
    expectErrorBody(await postNdjson(`${node!.url}/v1/records/batch`, Array.from({ length: 101 }, () => ({ text: 'c' }))), 413, 'batch-too-large');
  });

  it('answers 400 with {error, message, hint} to malformed JSON, NDJSON and envelopes', async () => {
    const url = node!.url;
    const post = (path: string, body: string, type = 'application/json'): Promise<HttpResult> =>
      http(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
    expectErrorBody(await post('/v1/records/json', '{"text": "unterminated'), 400, 'invalid-body');
    expectErrorBody(await post('/v1/records/json', '[1,2,3]'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"text": "a", "json": {}}'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"txt": "a"}'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"payload": "not base64!"}'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"payload": "QUJ"}'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"payload": 12}'), 400, 'invalid-envelope');
    expectErrorBody(await post('/v1/records/json', '{"text": "a", "traceCodes": "LOT-1"}'), 400, 'invalid-envelope');
    const ndjson = await post('/v1/records/batch', '{"text": "fine"}\n{"text": broken}\n', 'application/x-ndjson');
    expectErrorBody(ndjson, 400, 'invalid-ndjson');
    expect(ndjson.body['message']).toContain('line 2');
    const badLine = await post('/v1/records/batch', `{"text": "fine"}\n{"payload": "%%%%"}\n`, 'application/x-ndjson');
    expectErrorBody(badLine, 400, 'invalid-envelope');
    expect(badLine.body['message']).toContain('line 2');
    expectErrorBody(await post('/v1/records/batch', '\n\n', 'application/x-ndjson'), 400, 'empty-body');
    expectErrorBody(await http(`${url}/v1/records`, { method: 'POST' }), 400, 'empty-body');
    // Metadata headers are percent-encoded UTF-8; a broken escape is the client's error, not the node's.
    const raw = (headers: Record<string, string>): Promise<HttpResult> =>
      http(`${url}/v1/records`, { method: 'POST', body: 'r', headers: { 'content-type': 'text/plain', ...headers } });
    expectErrorBody(await raw({ 'x-safechain-trace-codes': 'LOT-1,%E0%A4%A' }), 400, 'invalid-header');
    expectErrorBody(await raw({ 'x-safechain-source': 'press%zz' }), 400, 'invalid-header');
    expectErrorBody(await getJson(`${url}/v1/transactions/not-a-hash`), 400, 'invalid-transaction-id');
    expectErrorBody(await getJson(`${url}/v1/blocks/zz`), 400, 'invalid-block-hash');
    // A refused batch is refused whole: nothing of it entered the mempool.
    expect((await status(url)).mempool.count).toBe(0);
  });

  it('answers 404 with a JSON body to an unknown route', async () => {
    expectErrorBody(await getJson(`${node!.url}/v2/status`), 404, 'no-such-route');
    expectErrorBody(await http(`${node!.url}/v1/records`, { method: 'DELETE' }), 404, 'no-such-route');
    expectErrorBody(await getJson(`${node!.url}/`), 404, 'no-such-route');
  });

  it('moves a file over ingest.maxFileBytes to rejected/ with a reason file, and still takes a small one', async () => {
    const inbox = join(data, 'inbox');
    await dropFile(inbox, 'too-big.csv', 'x'.repeat(MAX_FILE + 1));
    await dropFile(inbox, 'small.csv', 'part,ok\n1,yes\n');
    const reason = await waitFor(
      'the reason file in rejected/',
      async () => readFile(join(data, 'rejected', 'too-big.csv.reason.txt'), 'utf8').catch(() => undefined),
      20_000,
    );
    expect(reason).toMatch(/^FileTooLargeError: /);
    expect(reason).toContain(String(MAX_FILE));
    // The reason file is written first, then the file moves: wait for the move too.
    const rejected = await waitFor(
      'the file in rejected/',
      async () => readFile(join(data, 'rejected', 'too-big.csv'), 'utf8').catch(() => undefined),
      20_000,
    );
    expect(rejected).toHaveLength(MAX_FILE + 1);
    const receipt = await waitFor(
      'the small file in processed/',
      async () => readFile(join(data, 'processed', 'small.csv.receipt.json'), 'utf8').catch(() => undefined),
      20_000,
    );
    expect((JSON.parse(receipt) as { transactions: string[] }).transactions).toHaveLength(1);
    // The receipt is written first, then the file moves out of the inbox.
    expect(await waitFor('the inbox to empty', async () => ((await readdir(inbox)).length === 0 ? [] : undefined), 20_000)).toEqual([]);
    // The counters follow the events, a moment after the files moved.
    const s = await waitFor('the ingest counters', async () => {
      const v = await status(node!.url);
      return v.ingest.files + v.ingest.rejected >= 2 ? v : undefined;
    });
    expect(s.ingest.rejected).toBe(1);
    expect(s.ingest.files).toBe(1);
  });

  let acknowledged: string[] = [];
  it('answers 429 with Retry-After when the mempool is full, keeps running, and loses nothing once blocks resume', async () => {
    const url = node!.url;
    let full: HttpResult | undefined;
    for (let i = 0; i < MEMPOOL_MAX + 5 && full === undefined; i++) {
      const r = await postJson<{ id: string }>(`${url}/v1/records/json`, { json: { filling: i } });
      if (r.status === 202) acknowledged.push(r.body.id);
      else full = r;
    }
    expect(full, 'the mempool never filled').toBeDefined();
    expectErrorBody(full!, 429, 'mempool-full');
    const retryAfter = Number(full!.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
    // The file in the inbox counted once: the mempool held it plus what was acknowledged here.
    expect(acknowledged.length).toBe(MEMPOOL_MAX - 1);
    // A batch that does not fit is refused whole, and still with 429.
    expectErrorBody(await postNdjson(`${url}/v1/records/batch`, [{ text: 'a' }, { text: 'b' }]), 429, 'mempool-full');

    // Still running: health, status and reads answer.
    expect((await getJson(`${url}/health`)).status).toBe(200);
    expect((await status(url)).mempool.count).toBe(MEMPOOL_MAX);
    const pending = await getJson<TxView>(`${url}/v1/transactions/${acknowledged[0]!}`);
    expect(pending.body.status).toBe('pending');

    // A file dropped meanwhile waits in the inbox instead of being lost or rejected.
    await dropFile(join(data, 'inbox'), 'while-full.txt', 'waiting for room');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await readdir(join(data, 'inbox'))).toContain('while-full.txt');
    expect(await readdir(join(data, 'rejected'))).not.toContain('while-full.txt');

    // Restart with short blocks: everything acknowledged is committed and the waiting file goes in.
    const exit = await node!.stop();
    expect(exit.code).toBe(0);
    node = await startFullNode(data, { env: { SAFECHAIN_BLOCK_INTERVAL_MS: '200' } });
    for (const id of acknowledged) await waitCommitted(node.url, id, 20_000);
    const receipt = await waitFor(
      'the waiting file in processed/',
      async () => readFile(join(data, 'processed', 'while-full.txt.receipt.json'), 'utf8').catch(() => undefined),
      20_000,
    );
    await waitCommitted(node.url, (JSON.parse(receipt) as { transactions: string[] }).transactions[0]!, 20_000);
  });
});

describe('a full store (store.maxBytes)', () => {
  let root = '';
  let data = '';
  let node: NodeProcess | undefined;

  beforeAll(async () => {
    root = await tempDir('store-full');
    data = await newDataDir(root, 'node');
    await writeConfig(data, {
      type: 'full',
      store: { kind: 'sqlite', maxBytes: 2 * 1024 * 1024 },
      producer: { blockIntervalMs: 200 },
      processing: { workers: 1 },
      log: { level: 'warn' },
    });
    node = await startFullNode(data);
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('answers 503 store-full once the limit is reached, keeps serving reads and health, and keeps what it acknowledged', async () => {
    const url = node!.url;
    const acknowledged: string[] = [];
    let refused: HttpResult | undefined;
    const chunk = new Uint8Array(60 * 1024);
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const lines = Array.from({ length: 4 }, (_, k) => {
        chunk.fill((i * 4 + k) & 0xff);
        return { payload: toBase64(chunk), source: `round-${i}-${k}` };
      });
      const r = await postNdjson<{ ids: string[] }>(`${url}/v1/records/batch`, lines);
      if (r.status === 202) acknowledged.push(...r.body.ids);
      else refused = r;
    }
    expect(refused, 'the store never filled').toBeDefined();
    expectErrorBody(refused!, 503, 'store-full');
    expect(refused!.body['hint']).toContain('store.maxBytes');
    expect(acknowledged.length).toBeGreaterThan(0);

    // Still running: a second refusal (blocks taking in the mempool free the room kept for them, so a record or
    // two may still fit first), then health, status, blocks, metrics and every acknowledged record answer.
    let again: HttpResult | undefined;
    for (let i = 0; i < 20; i++) {
      again = await postJson(`${url}/v1/records/json`, { payload: toBase64(new Uint8Array(200 * 1024).fill(i)) });
      if (again.status !== 202) break;
      acknowledged.push((again.body as { id: string }).id);
    }
    expectErrorBody(again!, 503, 'store-full');
    const health = await getJson(`${url}/health`);
    expect(health.status).toBe(200);
    // The room kept free for the mempool's block lets that block in, full as the store is.
    const s = await waitFor('a block despite the full store', async () => {
      const current = await status(url);
      return current.height >= 1 ? current : undefined;
    });
    expect(s.height, node!.output()).toBeGreaterThanOrEqual(1);
    expect((await getJson(`${url}/v1/blocks/1`)).status).toBe(200);
    expect((await http(`${url}/metrics`)).status).toBe(200);
    for (const id of acknowledged) {
      const r = await getJson<TxView>(`${url}/v1/transactions/${id}?payload=false`);
      expect(r.status, `acknowledged ${id}`).toBe(200);
    }
    expect(node!.child.exitCode).toBeNull();
  });
});
