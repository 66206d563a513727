import { nodeHashWords, leafHashWords } from '../src/crypto/sha256-merkle.js';
import { sha256 } from '@noble/hashes/sha2.js';
const words = new Int32Array(16).fill(12345);
for (let k = 0; k < 3; k++) {
  let t = performance.now();
  for (let i = 0; i < 200000; i++) nodeHashWords(words, 0, 8, words, 0);
  console.log('node ns', (performance.now() - t) / 200000 * 1e6);
  const id = new Uint8Array(32);
  t = performance.now();
  for (let i = 0; i < 200000; i++) leafHashWords(id, 0, words, 0);
  console.log('leaf ns', (performance.now() - t) / 200000 * 1e6);
  const m = new Uint8Array(65);
  t = performance.now();
  for (let i = 0; i < 100000; i++) sha256(m);
  console.log('noble 65B ns', (performance.now() - t) / 100000 * 1e6);
}
