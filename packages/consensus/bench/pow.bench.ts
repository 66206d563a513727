/**
 * Proof-of-work nonce search speed: hashes per second of `seal` on one core, with the default provider, while the
 * search yields to the event loop every slice. Run from the repository root:
 *   node --conditions=@safechain/source --import tsx packages/consensus/bench/pow.bench.ts
 */
import { buildBlock, getCryptoProvider } from '@safechain/core';
import { MAX_DIFFICULTY } from '../src/difficulty.js';
import { searchNonce } from '../src/nonce-search.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const provider = getCryptoProvider();
const genesis = buildBlock({ parent: null, transactions: [], timestamp: 0 }).header;
const header = { ...buildBlock({ parent: genesis, transactions: [], timestamp: 1 }).header, difficulty: MAX_DIFFICULTY, nonces: [0n] };

let hashes = 0;
const controller = new AbortController();
const started = performance.now();
setTimeout(() => controller.abort(), SECONDS * 1000);
await searchNonce(header, { provider, signal: controller.signal, onProgress: (n) => (hashes = n) }).catch((error: unknown) => {
  if (!(error instanceof Error) || error.name !== 'AbortError') throw error;
});
const elapsed = (performance.now() - started) / 1000;
console.log(`pow seal (${provider.name} provider): ${Math.round(hashes / elapsed).toLocaleString('en')} hashes/s over ${elapsed.toFixed(1)} s`);
