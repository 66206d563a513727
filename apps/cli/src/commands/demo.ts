import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  blockHash,
  buildBlock,
  createProofBundle,
  createTransaction,
  MerkleTree,
  NodeKey,
  signBlockHeader,
  toHex,
  transactionId,
  utf8,
  verifyProof,
} from '@safechain/core';
import { EXIT, type Io } from '../cli-error.js';

/**
 * The offline walk-through: a node key signs machine records, a block is sealed over their Merkle root, one record
 * is proven, and the proof is checked, then checked again with one byte changed.
 */
export async function demo(options: { readonly outDir: string; readonly records: number }, io: Io): Promise<number> {
  const started = performance.now();
  const key = NodeKey.generate();
  io.out(`node identity      ${key.id}`);

  const genesis = buildBlock({ parent: null, transactions: [], timestamp: Date.now(), extraData: utf8('{"name":"demo"}') });
  const chainId = blockHash(genesis.header);
  io.out(`chain id (genesis) ${toHex(chainId)}`);

  const transactions = Array.from({ length: options.records }, (_, i) =>
    createTransaction(
      {
        chainId,
        sequence: i,
        contentType: 'application/json',
        source: 'press-07/spindle.csv',
        traceCodes: [`PART-${String(1000 + (i % 50))}`],
        payload: utf8(JSON.stringify({ machine: 'press-07', t: Date.now(), spindleRpm: 11800 + (i % 400), tempC: 41.5 })),
      },
      key,
    ),
  );
  io.out(`signed             ${transactions.length} records`);

  const block = buildBlock({ parent: genesis.header, transactions, timestamp: Date.now() });
  const header = signBlockHeader(block.header, key);
  io.out(`block 1            ${toHex(blockHash(header))} (Merkle root ${toHex(header.merkleRoot)})`);

  const index = Math.min(42, transactions.length - 1);
  const tree = MerkleTree.build(transactions.map((tx) => transactionId(tx)));
  const bundle = createProofBundle({ transaction: transactions[index]!, header, index, path: tree.proof(index) });
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, `proof-${index}.json`);
  await writeFile(file, `${JSON.stringify(bundle, null, 2)}\n`);
  io.out(`proof of record ${index} written to ${file} (${tree.proof(index).length} path hashes)`);

  const verdict = verifyProof(bundle, { trustedBlocks: [toHex(blockHash(header))], trustedOrigins: [key.id] });
  io.out(`verify             ${verdict.valid ? 'VALID' : `INVALID (${verdict.reason})`}`);

  // Flip one hex digit of the signed header: the proof must fail.
  const h = bundle.transaction.signedHeader;
  const at = h.length - 10;
  const flipped = h.slice(0, at) + (h[at] === '0' ? '1' : '0') + h.slice(at + 1);
  const tampered = { ...bundle, transaction: { ...bundle.transaction, signedHeader: flipped } };
  const tamperedVerdict = verifyProof(tampered);
  io.out(`verify (1 changed) ${tamperedVerdict.valid ? 'VALID (unexpected!)' : `INVALID (${tamperedVerdict.reason})`}`);
  io.out(`check it yourself: pnpm safechain verify ${file}`);
  io.out(`done in ${(performance.now() - started).toFixed(0)} ms`);
  return verdict.valid && !tamperedVerdict.valid ? EXIT.ok : EXIT.invalid;
}
