/**
 * Crash safety of a real full node (apps/full-node on SQLite): `kill -9` under heavy ingest from the API and the inbox,
 * several rounds, a clean stop under the same load, then a restart. Nothing acknowledged is lost (invariant 4), nothing is committed twice, no file is
 * lost or ingested twice, and no sequence number is used twice.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataDir } from '../src/data-dir.js';
import {
  canonicalBlocks,
  dropFile,
  getJson,
  killChildren,
  mapLimit,
  postNdjson,
  removeDir,
  runCli,
  sleep,
  startFullNode,
  status,
  tempDir,
  waitFor,
  writeConfig,
  type NodeProcess,
  type TxView,
} from './helpers/node-process.js';

const ROUNDS = 3;
const BATCH = 25;
const API_CLIENTS = 2;

interface Receipt {
  readonly file: string;
  readonly sha256: string;
  readonly transactions: readonly string[];
}

const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('a full node killed with SIGKILL under load', () => {
  let root = '';
  let data = '';
  let inbox = '';
  let node: NodeProcess | undefined;
  const acknowledged: string[] = [];
  /** File name to the SHA-256 of what was written. */
  const files = new Map<string, string>();
  let fileCount = 0;

  beforeAll(async () => {
    root = await tempDir('crash');
    data = join(root, 'node');
    await initDataDir({ dataDir: data, type: 'full', consensus: 'single' });
    await writeConfig(data, { type: 'full', producer: { blockIntervalMs: 250 }, processing: { workers: 1 }, log: { level: 'warn' } });
    inbox = join(data, 'inbox');
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  async function writeFiles(count: number, tag: string): Promise<void> {
    for (let i = 0; i < count; i++) {
      const name = `${tag}-${String(fileCount++).padStart(5, '0')}.json`;
      const content = JSON.stringify({ file: name, station: fileCount % 7, values: [fileCount, fileCount * 2] });
      await dropFile(inbox, name, content);
      files.set(name, sha256Hex(content));
    }
  }

  it(`loses nothing acknowledged and commits nothing twice across ${ROUNDS} kill -9 rounds and a SIGTERM under load`, async () => {
    const outputs: string[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      node = await startFullNode(data);
      const url = node.url;
      let loading = true;
      let refused = 0;
      let firstRefusal = '';
      const apiLoad = async (client: number): Promise<void> => {
        for (let i = 0; loading && i < 1000; i++) {
          const lines = Array.from({ length: BATCH }, (_, k) => ({ json: { round, client, batch: i, k }, traceCodes: [`R${round}`] }));
          let r;
          try {
            r = await postNdjson<{ ids: string[] }>(`${url}/v1/records/batch`, lines);
          } catch {
            return; // the node died under the request: not acknowledged
          }
          if (r.status === 202) acknowledged.push(...r.body.ids);
          else if (refused++ === 0) firstRefusal = `${r.status} ${r.text}`;
        }
      };
      const fileLoad = async (): Promise<void> => {
        for (let i = 0; loading && i < 1000; i++) {
          await writeFiles(1, `r${round}`);
          await sleep(10);
        }
      };
      const load = Promise.all([...Array.from({ length: API_CLIENTS }, (_, c) => apiLoad(c)), fileLoad()]);
      await sleep(1000 + Math.floor(Math.random() * 1000));
      if (round < ROUNDS) {
        const exit = await node.kill();
        loading = false;
        await load;
        expect(exit.signal).toBe('SIGKILL');
        expect(refused, `round ${round}: refused batches, the first: ${firstRefusal}`).toBe(0);
      } else {
        // The last round stops cleanly under the same load: exit 0, and what it answered 202 to is kept too.
        const exit = await node.stop();
        loading = false;
        await load;
        expect(exit, node.output().slice(-2000)).toEqual({ code: 0, signal: null });
      }
      outputs.push(node.output());
      // Files that arrive while the node is down are found at the next start.
      await writeFiles(5, `down${round}`);
    }
    expect(acknowledged.length).toBeGreaterThan(ROUNDS * BATCH);
    for (const o of outputs) expect(o).not.toMatch(/internal error|uncaught/i);

    node = await startFullNode(data);
    const url = node.url;
    await waitFor(
      'the mempool and the inbox to drain',
      async () => {
        const s = await status(url);
        const waiting = (await readdir(inbox)).filter((n) => !n.endsWith('.tmp'));
        return s.mempool.count === 0 && waiting.length === 0;
      },
      90_000,
      200,
    );

    // The chain: linked, and no transaction in two blocks.
    const blocks = await canonicalBlocks(url);
    const inChain = new Map<string, number>();
    let previous = (await getJson<{ hash: string }>(`${url}/v1/blocks/0`)).body.hash;
    for (const b of blocks) {
      expect(b.previousHash).toBe(previous);
      previous = b.hash;
      for (const id of b.transactionIds) inChain.set(id, (inChain.get(id) ?? 0) + 1);
    }
    const twice = [...inChain].filter(([, n]) => n > 1);
    expect(twice, 'transactions in more than one block').toEqual([]);

    // Every acknowledged record: in the chain once, and committed when asked for.
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    const lost = acknowledged.filter((id) => !inChain.has(id));
    expect(lost, 'acknowledged but not in the chain').toEqual([]);

    // Every file: processed with one receipt (its bytes, its committed transaction), or still in the inbox.
    const processed = await readdir(join(data, 'processed'));
    const receipts = new Map<string, Receipt[]>();
    for (const name of processed.filter((n) => n.endsWith('.receipt.json'))) {
      const r = JSON.parse(await readFile(join(data, 'processed', name), 'utf8')) as Receipt;
      receipts.set(r.file, [...(receipts.get(r.file) ?? []), r]);
    }
    const stillWaiting = new Set(await readdir(inbox));
    const fileTxs: string[] = [];
    for (const [name, sha] of files) {
      const rs = receipts.get(name) ?? [];
      if (rs.length === 0) {
        expect(stillWaiting.has(name), `${name} neither processed nor in the inbox`).toBe(true);
        continue;
      }
      expect(rs, `${name} ingested more than once`).toHaveLength(1);
      expect(rs[0]!.sha256).toBe(sha);
      expect(rs[0]!.transactions).toHaveLength(1);
      expect(processed).toContain(name);
      fileTxs.push(...rs[0]!.transactions);
    }
    expect(receipts.size).toBe(files.size - [...files.keys()].filter((n) => stillWaiting.has(n)).length);
    for (const id of fileTxs) expect(inChain.get(id), `file transaction ${id}`).toBe(1);

    // Each transaction by id: committed, at the block that lists it; sequence numbers never repeat across crashes.
    const sequences = new Set<number>();
    const views = await mapLimit([...acknowledged, ...fileTxs], 8, async (id) => {
      const r = await getJson<TxView>(`${url}/v1/transactions/${id}?payload=false`);
      expect(r.status).toBe(200);
      return r.body;
    });
    for (const v of views) {
      expect(v.status).toBe('committed');
      sequences.add(v.sequence);
    }
    expect(sequences.size).toBe(views.length);
    const byHash = new Map(blocks.map((b) => [b.hash, b]));
    for (const v of views.filter((_, i) => i % 97 === 0)) expect(byHash.get(v.block!.blockHash)!.transactionIds[v.block!.index]).toBe(v.id);

    // A clean stop, and the whole stored chain checks out.
    const exit = await node.stop();
    expect(exit.code).toBe(0);
    const check = await runCli(['db', 'check', '--data', data]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`tip height ${blocks.length}`);
  });
});
