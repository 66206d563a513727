const cpuNow = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createTransaction, NodeKey, sha256, utf8, blockHash, merkleRoot, ZERO_HASH, decodeTransaction, type BlockHeader } from '@safechain/core';
import { crc32c } from '@safechain/storage';
import type { BlockWrite } from '@safechain/storage';
import { SqliteStore } from '../src/index.js';
const key = NodeKey.fromSeed(sha256(utf8('k')));
const chainId = sha256(utf8('c'));
const txs = Array.from({ length: 1000 }, (_, i) => createTransaction({ chainId, payload: new Uint8Array(1024).fill(i), sequence: i, createdAt: 1, contentType: 'application/json', traceCodes: ['batch-1'] }, key));
const chain: BlockWrite[] = [];
let prev: BlockHeader | null = null;
const N = 100;
for (let b = 0; b < N; b++) {
  const ids = txs.map((_, i) => sha256(utf8(`${b}/${i}`)));
  const header: BlockHeader = { height: b, timestamp: 1, previousHash: prev ? blockHash(prev) : ZERO_HASH, merkleRoot: merkleRoot(ids), txCount: 1000, difficulty: 1n, nonces: [], extraData: new Uint8Array(0), signatures: [] };
  chain.push({ hash: blockHash(header), block: { header, data: txs }, ids, totalWork: 1n });
  prev = header;
}
const dir = mkdtempSync(join(tmpdir(), 'probe-'));
const path = join(dir, 'x.db');
const store = await SqliteStore.open({ path });
for (const b of chain) await store.commit({ blocks: [b], canonical: { fromHeight: b.block.header.height, hashes: [b.hash] } });
await store.close();
const db = new Database(path);
db.pragma('cache_size = -65536');
const ids = chain.flatMap((b) => b.ids);
const pick = Array.from({ length: 100000 }, (_, i) => ids[(i * 7919) % ids.length]!);
const qs: Record<string, string> = {
  join3: `SELECT t.pos AS pos, t.id AS id, t.body AS body, t.crc AS crc, b.hash AS hash, b.height AS height FROM txs t JOIN blocks b ON b.seq = (t.pos >> 22) JOIN canonical c ON c.height = b.height AND c.block = b.seq WHERE t.id = ? LIMIT 1`,
  join2: `SELECT t.pos AS pos, t.id AS id, t.body AS body, t.crc AS crc, b.hash AS hash, b.height AS height FROM txs t JOIN blocks b ON b.seq = (t.pos >> 22) WHERE t.id = ? LIMIT 1`,
  single: `SELECT pos, id, body, crc FROM txs WHERE id = ?`,
  bodyonly: `SELECT body FROM txs WHERE id = ?`,
};
const best: Record<string, number> = {};
for (let round = 0; round < 8; round++) for (const [name, sql] of Object.entries(qs)) {
  const st = db.prepare(sql);
  let t = cpuNow();
  for (const id of pick) st.get(id);
  const q = 100000 / ((cpuNow() - t) / 1000);
  const st2 = db.prepare(sql).raw();
  t = cpuNow();
  for (const id of pick) st2.get(id);
  const q2 = 100000 / ((cpuNow() - t) / 1000);
  best[name] = Math.max(best[name] ?? 0, q); best[name + '.raw'] = Math.max(best[name + '.raw'] ?? 0, q2);
}
console.log(best);
const st = db.prepare(qs.single!);
let t = cpuNow();
for (const id of pick) { const r = st.get(id) as {body: Buffer; crc: number}; crc32c(r.body); }
console.log('single+crc', Math.round(100000 / ((cpuNow() - t) / 1000)));
t = cpuNow();
for (const id of pick) { const r = st.get(id) as {body: Buffer; crc: number}; crc32c(r.body); decodeTransaction(r.body); }
console.log('single+crc+decode', Math.round(100000 / ((cpuNow() - t) / 1000)));
const s2 = await SqliteStore.open({ path: join(dir, 'y.db') }); await s2.close();
db.close();
const s3 = await SqliteStore.open({ path });
t = cpuNow();
for (const id of pick) await s3.getTransaction(id);
console.log('store.getTransaction', Math.round(100000 / ((cpuNow() - t) / 1000)));
await s3.close();
rmSync(dir, { recursive: true, force: true });
