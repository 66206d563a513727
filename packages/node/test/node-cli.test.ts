/**
 * The `safechain` command line against a real node on SQLite: init, start, file ingest, proof, verify, db check.
 * Every process is a real child; every wait is bounded.
 */
import { chmod, cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64, sha256, toBase64, toHex, verifyProof, type ProofBundle } from '@safechain/core';
import { crc32c, crc32cUpdate } from '@safechain/storage';
import {
  dropFile,
  getJson,
  killChildren,
  removeDir,
  runCli,
  startWithCli,
  tempDir,
  waitCommitted,
  waitFor,
  writeConfig,
  type NodeProcess,
  type TxView,
} from './helpers/node-process.js';
import { initDataDir } from '../src/data-dir.js';
import { withDatabase, type SqliteDatabase } from './helpers/sqlite-file.js';

const BLOCK_INTERVAL_MS = 300;

describe('safechain init', () => {
  let root = '';
  beforeAll(async () => {
    root = await tempDir('cli-init');
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('sets a folder up with node.key mode 0600, and a second init keeps key, genesis and config', async () => {
    const data = join(root, 'node');
    const first = await runCli(['init', '--data', data]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('(new key, node.key mode 0600)');
    const identity = /identity (\w{64})/.exec(first.stdout)?.[1];
    const chainId = /chain {4}(\w{64})/.exec(first.stdout)?.[1];
    expect(identity).toMatch(/^[0-9a-f]{64}$/);
    expect(chainId).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(data, 'node.key'))).mode & 0o777).toBe(0o600);
    for (const folder of ['inbox', 'processed', 'rejected']) expect((await stat(join(data, folder))).isDirectory()).toBe(true);

    const files = ['node.key', 'genesis.json', 'config.json'];
    const before = await Promise.all(files.map((f) => readFile(join(data, f), 'utf8')));
    const second = await runCli(['init', '--data', data]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`identity ${identity!} (existing key)`);
    expect(second.stdout).toContain(`chain    ${chainId!} (existing)`);
    expect(await Promise.all(files.map((f) => readFile(join(data, f), 'utf8')))).toEqual(before);
    expect((await stat(join(data, 'node.key'))).mode & 0o777).toBe(0o600);
  });

  it('safechain start refuses a node key others can read, with the chmod that fixes it', async () => {
    const data = join(root, 'open-key');
    await initDataDir({ dataDir: data, type: 'full', consensus: 'single' });
    await chmod(join(data, 'node.key'), 0o644);
    const r = await runCli(['start', '--data', data, '--api', '127.0.0.1:0']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`chmod 600 ${join(data, 'node.key')}`);
  });

  it('safechain start on a folder without config.json exits 2 naming the file and the fix', async () => {
    const empty = join(root, 'empty');
    const r = await runCli(['start', '--data', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('config.json');
    expect(r.stderr).toContain('safechain init');
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    expect(r.stdout).not.toContain('api ');
  });
});

describe('a full node on SQLite: file ingest, proof, verify, db check', () => {
  let root = '';
  let data = '';
  let node: NodeProcess | undefined;
  let txId = '';
  let proofFile = '';
  let blockHashHex = '';

  beforeAll(async () => {
    root = await tempDir('cli-node');
    data = join(root, 'node');
    const init = await runCli(['init', '--data', data]);
    expect(init.code, init.stderr).toBe(0);
    await writeConfig(data, { type: 'full', producer: { blockIntervalMs: BLOCK_INTERVAL_MS }, processing: { workers: 1 }, log: { level: 'warn' } });
    node = await startWithCli(data);
  });
  afterAll(async () => {
    await killChildren();
    await removeDir(root);
  });

  it('turns one file in the inbox into one transaction in a block within about one block interval', async () => {
    const content = `press 7, batch 2024-117, peak force 81.4 kN\n${'x'.repeat(500)}\n`;
    await dropFile(join(data, 'inbox'), 'press-7.txt', content);
    const receiptPath = join(data, 'processed', 'press-7.txt.receipt.json');
    const receipt = await waitFor(
      'the receipt in processed/',
      async () => JSON.parse(await readFile(receiptPath, 'utf8').catch(() => 'null')) as { file: string; sha256: string; transactions: string[] } | null ?? undefined,
      20_000,
      20,
    );
    const receiptAt = Date.now();
    expect(receipt.file).toBe('press-7.txt');
    expect(receipt.sha256).toBe(toHex(sha256(new TextEncoder().encode(content))));
    expect(receipt.transactions).toHaveLength(1);
    txId = receipt.transactions[0]!;
    expect(await readFile(join(data, 'processed', 'press-7.txt'), 'utf8')).toBe(content);
    await expect(stat(join(data, 'inbox', 'press-7.txt'))).rejects.toThrow();

    const committed = await waitCommitted(node!.url, txId, 15_000);
    // One interval plus generous slack for a loaded machine: a block is cut on the next tick, not "eventually".
    expect(Date.now() - receiptAt).toBeLessThan(BLOCK_INTERVAL_MS + 4000);
    expect(committed.id).toBe(txId);
    expect(committed.block!.height).toBeGreaterThanOrEqual(1);
    blockHashHex = committed.block!.blockHash;

    const full = await getJson<TxView>(`${node!.url}/v1/transactions/${txId}`);
    expect(full.status).toBe(200);
    expect(Buffer.from(fromBase64(full.body.payload!)).toString('utf8')).toBe(content);
    expect(full.body.payloadSize).toBe(Buffer.byteLength(content));
    expect(full.body.contentType).toBe('text/plain');

    const block = await getJson<{ transactionIds: string[]; txCount: number }>(`${node!.url}/v1/blocks/${blockHashHex}`);
    expect(block.status).toBe(200);
    expect(block.body.transactionIds).toContain(txId);
  });

  it('safechain proof ID prints the bundle; safechain verify FILE exits 0', async () => {
    expect(txId).not.toBe('');
    const proof = await runCli(['proof', txId, '--api', node!.url]);
    expect(proof.code, proof.stderr).toBe(0);
    const bundle = JSON.parse(proof.stdout) as ProofBundle;
    expect(bundle.format).toBe('safechain-proof');
    proofFile = join(root, 'proof.json');
    await writeFile(proofFile, proof.stdout);

    const verified = await runCli(['verify', proofFile]);
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`VALID tx ${txId} in block ${blockHashHex}`);
    expect(verified.stdout).toContain('payload included');
  });

  it('safechain verify exits 1 when one byte of the proof changed, 2 when the file is no proof bundle', async () => {
    expect(proofFile).not.toBe('');
    const bundle = JSON.parse(await readFile(proofFile, 'utf8')) as ProofBundle;
    // One changed byte of the record: the signed payload hash no longer matches.
    const payload = fromBase64(bundle.transaction.payload!);
    payload[7]! ^= 0x01;
    const tampered = { ...bundle, transaction: { ...bundle.transaction, payload: toBase64(payload) } };
    const tamperedFile = join(root, 'proof-tampered.json');
    await writeFile(tamperedFile, JSON.stringify(tampered));
    const r = await runCli(['verify', tamperedFile]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^INVALID payload-mismatch/);

    // The same holds for every other part of the bundle (checked in-process: same verifier, no process per case).
    const flipHex = (hex: string, at: number): string => hex.slice(0, at) + ((parseInt(hex[at]!, 16) ^ 1).toString(16)) + hex.slice(at + 1);
    expect(verifyProof(bundle).valid).toBe(true);
    const header = bundle.transaction.signedHeader;
    const cases: ProofBundle[] = [
      { ...bundle, transaction: { ...bundle.transaction, signedHeader: flipHex(header, header.length - 1) } },
      { ...bundle, block: { header: flipHex(bundle.block.header, bundle.block.header.length - 1) } },
      { ...bundle, block: { header: flipHex(bundle.block.header, 80) } },
    ];
    for (const c of cases) expect(verifyProof(c).valid).toBe(false);

    const notABundle = join(root, 'not-a-bundle.json');
    await writeFile(notABundle, '{"hello":"world"}');
    const r2 = await runCli(['verify', notABundle]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('not a safechain proof bundle');
  });

  it('safechain ingest sends files as records with their names as source; safechain status prints the status', async () => {
    const file = join(root, 'Prüfbericht 7%.csv');
    await writeFile(file, 'part,force\n1,81.4\n');
    const r = await runCli(['ingest', file, '--api', node!.url, '--content-type', 'text/csv', '--trace-code', 'LOT 1', '--trace-code', 'SN,42']);
    expect(r.code, r.stderr).toBe(0);
    const id = /^([0-9a-f]{64}) {2}/.exec(r.stdout)?.[1];
    expect(id, r.stdout).toBeDefined();
    const tx = await waitCommitted(node!.url, id!);
    expect(tx.source).toBe('Prüfbericht 7%.csv');
    expect(tx.traceCodes).toEqual(['LOT 1', 'SN,42']);
    expect(tx.contentType).toBe('text/csv');

    const st = await runCli(['status', '--api', node!.url]);
    expect(st.code, st.stderr).toBe(0);
    const view = JSON.parse(st.stdout) as { type: string; height: number; ingest: { files: number } };
    expect(view.type).toBe('full');
    expect(view.height).toBeGreaterThanOrEqual(tx.block!.height);
    expect(view.ingest.files).toBe(1);
  });

  it('refuses a second node and db check on a folder a running node holds: exit 2 with a message, no stack trace', async () => {
    const second = await runCli(['start', '--data', data, '--api', '127.0.0.1:0']);
    expect(second.code, second.stdout + second.stderr).toBe(2);
    expect(second.stderr).toMatch(/^safechain: .*(lock|in use|open)/im);
    expect(second.stderr).not.toMatch(/\n\s+at /);
    const check = await runCli(['db', 'check', '--data', data]);
    expect(check.code, check.stdout + check.stderr).toBe(2);
    expect(check.stderr).not.toMatch(/\n\s+at /);
    // The running node is unharmed.
    expect((await getJson(`${node!.url}/health`)).status).toBe(200);
  });

  it('SIGTERM stops safechain start with exit 0; db check then passes with a summary', async () => {
    const exit = await node!.stop();
    expect(exit, node!.output().slice(-2000)).toEqual({ code: 0, signal: null });
    const r = await runCli(['db', 'check', '--data', data]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^chain OK: \d+ blocks, \d+ transactions, tip height \d+/);
    const tip = Number(/tip height (\d+)/.exec(r.stdout)![1]);
    expect(tip).toBeGreaterThanOrEqual(1);
  });

  /** A copy of the stopped node's folder with one stored byte changed by `damage`. */
  async function damagedCopy(name: string, damage: (db: SqliteDatabase, seq: number) => void): Promise<string> {
    const copy = join(root, name);
    await cp(data, copy, { recursive: true });
    withDatabase(copy, (db) => {
      const row = db.prepare('SELECT c.block AS seq FROM canonical c JOIN blocks b ON b.seq = c.block WHERE b.hash = ?').get(Buffer.from(blockHashHex, 'hex')) as
        | { seq: number }
        | undefined;
      expect(row).toBeDefined();
      damage(db, row!.seq);
    });
    return copy;
  }

  const txRow = (db: SqliteDatabase, seq: number): { pos: number; id: Buffer; body: Buffer } =>
    db.prepare('SELECT pos, id, body FROM txs WHERE pos >= ? AND pos < ? ORDER BY pos LIMIT 1').get(seq * 2 ** 22, (seq + 1) * 2 ** 22) as {
      pos: number;
      id: Buffer;
      body: Buffer;
    };

  it('db check exits 1 naming the block when one byte of a stored transaction changed', async () => {
    expect(blockHashHex).not.toBe('');
    const copy = await damagedCopy('damaged-tx', (db, seq) => {
      const row = txRow(db, seq);
      const body = Buffer.from(row.body);
      body[body.length - 3]! ^= 0x01;
      db.prepare('UPDATE txs SET body = ? WHERE pos = ?').run(body, row.pos);
    });
    const r = await runCli(['db', 'check', '--data', copy]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('chain BAD');
    expect(r.stdout).toContain(blockHashHex);
  });

  it('db check exits 1 naming the block when a record was rewritten and its row checksum forged to match', async () => {
    // A tamperer with write access fixes the row checksum too: only the signatures and the Merkle root can tell.
    const copy = await damagedCopy('forged-tx', (db, seq) => {
      const row = txRow(db, seq);
      const body = Buffer.from(row.body);
      body[body.length - 3]! ^= 0x01;
      const crc = crc32cUpdate(crc32c(new Uint8Array(row.id)), new Uint8Array(body));
      db.prepare('UPDATE txs SET body = ?, crc = ? WHERE pos = ?').run(body, crc, row.pos);
    });
    const r = await runCli(['db', 'check', '--data', copy]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('chain BAD');
    expect(r.stdout).toContain(blockHashHex);
    // Found by the cryptography, not by the storage checksum.
    expect(r.stdout).not.toContain('StoreCorruptError');
  });
});
