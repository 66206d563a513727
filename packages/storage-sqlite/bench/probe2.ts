import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransaction, NodeKey, sha256, utf8, blockHash, merkleRoot, ZERO_HASH, type BlockHeader } from '@safechain/core';
import type { BlockWrite } from '@safechain/storage';
import { SqliteStore } from '../src/index.js';
import { FsStore } from '../../storage-fs/src/index.js';
const which = process.argv[2] ?? 'sqlite';
const key = NodeKey.fromSeed(sha256(utf8('k')));
const chainId = sha256(utf8('c'));
const txs = Array.from({ length: 1000 }, (_, i) => createTransaction({ chainId, payload: new Uint8Array(1024).fill(i), sequence: i, createdAt: 1, contentType: 'application/json', traceCodes: ['batch-1'] }, key));
const chain: BlockWrite[] = [];
let prev: BlockHeader | null = null;
for (let b = 0; b < 60; b++) {
  const ids = txs.map((_, i) => sha256(utf8(`${b}/${i}`)));
  const header: BlockHeader = { height: b, timestamp: 1, previousHash: prev ? blockHash(prev) : ZERO_HASH, merkleRoot: merkleRoot(ids), txCount: 1000, difficulty: 1n, nonces: [], extraData: new Uint8Array(0), signatures: [] };
  chain.push({ hash: blockHash(header), block: { header, data: txs }, ids, totalWork: 1n });
  prev = header;
}
const dir = mkdtempSync(join(tmpdir(), 'probe-'));
const store = which === 'fs' ? await FsStore.open({ dir: join(dir, 'fs') }) : await SqliteStore.open({ path: join(dir, 'x.db') });
const t = performance.now();
for (const b of chain) await store.commit({ blocks: [b], canonical: { fromHeight: b.block.header.height, hashes: [b.hash] } });
console.log(which, 'tx/s', Math.round(60000 / ((performance.now() - t) / 1000)));
const ids = chain.flatMap((b) => b.ids);
const t2 = performance.now();
for (let i = 0; i < 60000; i++) await store.getTransaction(ids[(i * 7919) % ids.length]!);
console.log(which, 'lookups/s', Math.round(60000 / ((performance.now() - t2) / 1000)));
await store.close();
if (which === 'fs') { const t3 = performance.now(); const s = await FsStore.open({ dir: join(dir, 'fs') }); console.log('open ms', Math.round(performance.now() - t3), s.recovery); await s.close(); }
rmSync(dir, { recursive: true, force: true });
