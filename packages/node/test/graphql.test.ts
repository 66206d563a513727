import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  killChildren,
  postJson,
  postNdjson,
  removeDir,
  startFullNode,
  tempDir,
  waitCommitted,
  writeConfig,
  type NodeProcess,
} from './helpers/node-process.js';

interface Page {
  readonly items: readonly { readonly id: string; readonly height: number; readonly traceCodes: readonly string[]; readonly contentType: string; readonly payload: string | null }[];
  readonly next: string | null;
}

async function gql<T>(url: string, query: string): Promise<{ data?: T; errors?: readonly { message: string }[] }> {
  const r = await postJson<{ data?: T; errors?: readonly { message: string }[] }>(`${url}/graphql`, { query });
  return r.body;
}

describe('GraphQL archive queries on a full node', () => {
  let dir = '';
  let node: NodeProcess;
  const ids: string[] = [];
  let firstCreatedAt = 0;

  beforeAll(async () => {
    dir = await tempDir('safechain-graphql-');
    await writeConfig(dir, { type: 'full', producer: { blockIntervalMs: 200 }, ingest: { enabled: false } });
    node = await startFullNode(dir);
    // 30 records: PART-A on every third, LOT-n on each, two content types.
    const lines = Array.from({ length: 30 }, (_, i) => ({
      text: `measurement ${i}`,
      contentType: i % 2 === 0 ? 'text/plain' : 'text/csv',
      traceCodes: [...(i % 3 === 0 ? ['PART-A'] : []), `LOT-${i}`],
    }));
    const r = await postNdjson<{ ids: string[] }>(`${node.url}/v1/records/batch`, lines);
    expect(r.status).toBe(202);
    ids.push(...r.body.ids);
    const last = await waitCommitted(node.url, ids[ids.length - 1]!);
    firstCreatedAt = (last as unknown as { createdAt: number }).createdAt;
  }, 120_000);

  afterAll(async () => {
    await killChildren();
    await removeDir(dir);
  });

  async function allPages(filter: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    let after: string | null = null;
    for (let round = 0; round < 100; round++) {
      const args: string = `${filter}${filter === '' ? '' : ', '}limit: ${limit}${after === null ? '' : `, after: "${after}"`}`;
      const r: { data?: { transactions: Page }; errors?: readonly { message: string }[] } = await gql<{ transactions: Page }>(node.url, `{ transactions(${args}) { items { id height traceCodes contentType payload } next } }`);
      expect(r.errors).toBeUndefined();
      const page: Page = r.data!.transactions;
      found.push(...page.items.map((t) => t.id));
      if (page.next === null) return found;
      after = page.next;
    }
    throw new Error('pagination did not end');
  }

  it('finds transactions by trace code, in chain order, across pages', async () => {
    const expected = ids.filter((_, i) => i % 3 === 0);
    expect(await allPages('traceCode: "PART-A"', 4)).toEqual(expected);
    expect(await allPages('traceCode: "LOT-7"', 10)).toEqual([ids[7]]);
    expect(await allPages('traceCode: "NO-SUCH-CODE"', 10)).toEqual([]);
  });

  it('filters by content type, origin and time range, combined', async () => {
    const csv = ids.filter((_, i) => i % 2 === 1);
    expect(await allPages('contentType: "text/csv"', 7)).toEqual(csv);
    const status = (await (await fetch(`${node.url}/v1/status`)).json()) as { identity: string };
    expect(await allPages(`origin: "${status.identity}"`, 50)).toEqual(ids);
    expect(await allPages(`origin: "${'ab'.repeat(32)}"`, 50)).toEqual([]);
    expect(await allPages(`traceCode: "PART-A", contentType: "text/plain"`, 50)).toEqual(ids.filter((_, i) => i % 6 === 0));
    expect(await allPages(`from: ${firstCreatedAt + 1}`, 50)).toEqual([]);
    expect(await allPages(`from: ${firstCreatedAt - 60_000}, to: ${firstCreatedAt}`, 50)).toEqual(ids);
  });

  it('returns payloads, blocks and proofs, and reports bad arguments as GraphQL errors', async () => {
    const r = await gql<{ transaction: { payload: string; height: number }; block: { txCount: number } }>(
      node.url,
      `{ transaction(id: "${ids[0]}") { payload height } block(height: 1) { txCount } }`,
    );
    expect(Buffer.from(r.data!.transaction.payload, 'base64').toString()).toBe('measurement 0');
    expect(r.data!.block.txCount).toBeGreaterThan(0);
    const proof = await gql<{ proof: string }>(node.url, `{ proof(id: "${ids[3]}") }`);
    expect(JSON.parse(proof.data!.proof)).toMatchObject({ format: 'safechain-proof' });
    expect((await gql(node.url, '{ transactions(limit: 100000) { next } }')).errors?.[0]?.message).toMatch(/limit/);
    expect((await gql(node.url, '{ transactions(after: "x1") { next } }')).errors?.[0]?.message).toMatch(/cursor/);
    expect((await gql(node.url, '{ transaction(id: "zz") { id } }')).errors).toBeDefined();
  });

  it('rebuilds the index from the chain when its file is lost', async () => {
    expect((await node.stop()).code).toBe(0);
    await rm(join(dir, 'chain', 'query.sqlite'), { force: true });
    await rm(join(dir, 'chain', 'query.sqlite-wal'), { force: true });
    await rm(join(dir, 'chain', 'query.sqlite-shm'), { force: true });
    node = await startFullNode(dir);
    expect(await allPages('traceCode: "PART-A"', 100)).toEqual(ids.filter((_, i) => i % 3 === 0));
  }, 120_000);
});
