import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'safechain-cli-'));

/** Runs the real CLI as a child process, as a user would. */
function cli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@safechain/source', '--import', 'tsx', main, ...args], {
    cwd: repo,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safechain keygen', () => {
  it('writes a PEM key with mode 0600, prints the identity, never the private key', () => {
    const file = join(dir, 'node.key');
    const r = cli('keygen', '--out', file);
    expect(r.code).toBe(0);
    const pem = readFileSync(file, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]{64}\n-----END PRIVATE KEY-----\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(r.stdout).toMatch(/node identity [0-9a-f]{64}/);
    const base64 = pem.split('\n')[1]!;
    expect(r.stdout + r.stderr).not.toContain(base64);
  });

  it('refuses to overwrite an existing key without --force', () => {
    const file = join(dir, 'twice.key');
    expect(cli('keygen', '--out', file).code).toBe(0);
    const before = readFileSync(file, 'utf8');
    const r = cli('keygen', '--out', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('refusing to overwrite');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(cli('keygen', '--out', file, '--force').code).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toBe(before);
  });

  it('exits 2 without --out', () => {
    expect(cli('keygen').code).toBe(2);
  });
});

describe('safechain verify', () => {
  const outDir = join(dir, 'demo');
  let proofFile = '';

  it('the demo writes a proof that verifies (exit 0, one-line summary)', () => {
    const r = cli('demo', '--out', outDir, '--records', '50');
    expect(r.code).toBe(0);
    proofFile = join(outDir, 'proof-42.json');
    const v = cli('verify', proofFile);
    expect(v.code).toBe(0);
    expect(v.stdout.trim().split('\n')).toHaveLength(1);
    expect(v.stdout).toMatch(/^VALID tx [0-9a-f]{64} in block [0-9a-f]{64} at height 1 \(index 42\)/);
  });

  it('exits 1 with the reason when one byte of the proof changes', () => {
    const bundle = JSON.parse(readFileSync(proofFile, 'utf8')) as { block: { header: string } };
    const h = bundle.block.header;
    bundle.block.header = h.slice(0, 40) + (h[40] === 'a' ? 'b' : 'a') + h.slice(41);
    const file = join(dir, 'tampered.json');
    writeFileSync(file, JSON.stringify(bundle));
    const r = cli('verify', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INVALID [a-z-]+: /);
  });

  it('checks --origin and --trusted-block', () => {
    const valid = cli('verify', proofFile).stdout;
    const origin = /origin ([0-9a-f]{64})/.exec(valid)![1]!;
    const block = /in block ([0-9a-f]{64})/.exec(valid)![1]!;
    expect(cli('verify', proofFile, '--origin', origin, '--trusted-block', block).code).toBe(0);
    const other = 'ab'.repeat(32);
    const r1 = cli('verify', proofFile, '--origin', other);
    expect(r1.code).toBe(1);
    expect(r1.stdout).toContain('untrusted-origin');
    const r2 = cli('verify', proofFile, '--trusted-block', other);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain('untrusted-block');
    expect(cli('verify', proofFile, '--origin', 'xyz').code).toBe(2);
  });

  it('exits 2 for a missing file, a non-JSON file and JSON that is not a proof bundle', () => {
    expect(cli('verify', join(dir, 'missing.json')).code).toBe(2);
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, 'hello');
    expect(cli('verify', notJson).code).toBe(2);
    const otherJson = join(dir, 'other.json');
    writeFileSync(otherJson, JSON.stringify({ format: 'something-else' }));
    const r = cli('verify', otherJson);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a safechain proof bundle');
    expect(cli('verify', dir).code).toBe(2);
  });

  it('exits 2 on an unknown command or option', () => {
    expect(cli('frobnicate').code).toBe(2);
    expect(cli('verify', '--bogus', 'x').code).toBe(2);
  });
});
