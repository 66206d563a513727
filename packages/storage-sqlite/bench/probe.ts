import { createTransaction, encodeTransaction, decodeTransaction, NodeKey, sha256, utf8 } from '@safechain/core';
import { crc32c } from '@safechain/storage';
const key = NodeKey.fromSeed(sha256(utf8('k')));
const chainId = sha256(utf8('c'));
const txs = Array.from({ length: 1000 }, (_, i) => createTransaction({ chainId, payload: new Uint8Array(1024).fill(i), sequence: i, createdAt: 1, contentType: 'application/json', traceCodes: ['batch-1'] }, key));
const enc = txs.map((t) => encodeTransaction(t));
for (let r = 0; r < 3; r++) {
  let t = performance.now(); for (let k = 0; k < 10; k++) txs.map((x) => encodeTransaction(x)); console.log('encode 1000', ((performance.now() - t) / 10).toFixed(2), 'ms');
  t = performance.now(); for (let k = 0; k < 10; k++) enc.map((x) => crc32c(x)); console.log('crc 1000', ((performance.now() - t) / 10).toFixed(2), 'ms');
  t = performance.now(); for (let k = 0; k < 10; k++) enc.map((x) => decodeTransaction(x)); console.log('decode 1000', ((performance.now() - t) / 10).toFixed(2), 'ms');
}
