import * as nodeCrypto from 'node:crypto';
import { NodeKey, createTransaction, verifyTransaction, sha256, txSigningMessage, verifySignature, passesEd25519Rules, nodeCryptoProvider } from '@safechain/core';
const key = NodeKey.fromSeed(new Uint8Array(32).fill(7));
const chainId = new Uint8Array(32).fill(1);
const payload = new Uint8Array(1024).fill(3);
const N = 4000;
const txs = [];
for (let i = 0; i < N; i++) txs.push(createTransaction({ chainId, payload, sequence: i, createdAt: 1, traceCodes: ['ORDER-1'], source: 'machine-7' }, key));
const ko = nodeCrypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), key.publicKey]), format: 'der', type: 'spki' });
const msgs = txs.map((tx) => txSigningMessage(tx.header));
function time(name: string, f: (i: number) => unknown): void {
  const t = performance.now();
  for (let i = 0; i < N; i++) f(i);
  console.log(name.padEnd(12), ((performance.now() - t) / N * 1000).toFixed(2), 'us');
}
for (let k = 0; k < 3; k++) {
  time('verifyTx', (i) => verifyTransaction(txs[i]!));
  time('raw', (i) => nodeCrypto.verify(null, msgs[i]!, ko, txs[i]!.signature));
  time('verifySig', (i) => verifySignature(key.publicKey, msgs[i]!, txs[i]!.signature));
  time('provVerify', (i) => nodeCryptoProvider.ed25519Verify(key.publicKey, msgs[i]!, txs[i]!.signature));
  time('sha1k', () => sha256(payload));
  time('sigMsg', (i) => txSigningMessage(txs[i]!.header));
  time('rules', (i) => passesEd25519Rules(key.publicKey, txs[i]!.signature));
}
