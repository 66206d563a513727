import { NodeKey } from '@safechain/core';
import { it } from 'vitest';
import { ChildNode } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

it('scratch', async () => {
  const producer = NodeKey.generate();
  const t0 = Date.now();
  const p = await ChildNode.start({ seed: producer.seedHex(), producer: producer.id, genesisTimestamp: 1_700_000_000_000 });
  console.log('start', Date.now() - t0);
  const t1 = Date.now();
  console.log(await p.request({ cmd: 'preload', blocks: Number(process.env.N ?? 1000) }, 300_000), 'preload ms', Date.now() - t1);
  const late = await ChildNode.start({ seed: NodeKey.generate().seedHex(), producer: producer.id, genesisTimestamp: 1_700_000_000_000, seeds: [p.address] });
  const t2 = Date.now();
  const target = (await p.status()).height;
  await waitFor(async () => (await late.status()).height === target, 'sync', 300_000, 200);
  console.log('sync ms', Date.now() - t2);
  await p.stop(); await late.stop();
}, 600_000);
