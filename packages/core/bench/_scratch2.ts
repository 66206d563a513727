import { merkleRoot, sha256, portableCryptoProvider, nodeCryptoProvider, equalBytes, toHex, type CryptoProvider } from '@safechain/core';
const ids = Array.from({ length: 100000 }, (_, i) => sha256(new Uint8Array([i & 255, i >> 8, i >> 16])));
const plain: CryptoProvider = { ...nodeCryptoProvider, name: 'plain' };
const a = merkleRoot(ids); const b = merkleRoot(ids, plain); const c = merkleRoot(ids.slice(0, 777), portableCryptoProvider); const d = merkleRoot(ids.slice(0,777), plain);
console.log(toHex(a), equalBytes(a, b), equalBytes(c, d));
for (let k = 0; k < 5; k++) { const t = performance.now(); merkleRoot(ids); console.log('root ms', performance.now() - t); }
for (let k = 0; k < 2; k++) { const t = performance.now(); merkleRoot(ids, plain); console.log('plain root ms', performance.now() - t); }
