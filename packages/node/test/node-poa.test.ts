/**
 * A validator of a proof-of-authority chain whose threshold is above one: a block needs co-signatures of other
 * validators, which the node cannot gather over the network yet. It must say so when it starts and run as a full
 * node (take records in, keep them pending), not cut a block every interval that its own Block Tree refuses.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeKey } from '@safechain/core';
import { createGenesisBlock } from '@safechain/consensus';
import { encodeGenesisFile, initDataDir, KEY_FILE } from '../src/data-dir.js';
import { killChildren, postJson, removeDir, sleep, startFullNode, status, tempDir, waitFor } from './helpers/node-process.js';

const dirs: string[] = [];
afterAll(async () => {
  await killChildren();
  for (const d of dirs) await removeDir(d);
});

describe('a poa validator when blocks need more than its own seal', () => {
  it('says it does not produce, keeps records pending and keeps running', async () => {
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
