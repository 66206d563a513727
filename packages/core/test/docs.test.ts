import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { verifyProof } from '@safechain/core';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = join(here, '..');
const repo = join(packageDir, '..', '..');

function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

describe('packages/core/README.md', () => {
  it('has an example that runs and proves a record', () => {
    const [example] = codeBlocks(readFileSync(join(packageDir, 'README.md'), 'utf8'), 'ts');
    expect(example).toContain("from '@safechain/core'");
    // Inside the package folder, so `@safechain/core` resolves to this package as it would for a user.
    const dir = join(packageDir, '.tmp');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `readme-example-${process.pid}.ts`);
    writeFileSync(file, example!);
    try {
      const run = spawnSync(process.execPath, ['--conditions=@safechain/source', '--import', 'tsx', file], { cwd: repo, encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/^valid: record [0-9a-f]{64} at height 1\n$/);
    } finally {
      rmSync(file, { force: true });
    }
  });
});

describe('docs', () => {
  const vector = JSON.parse(readFileSync(join(packageDir, 'vectors', 'proof-bundle.json'), 'utf8')) as {
    bundle: unknown;
    options: { trustedOrigins: string[]; trustedBlocks: string[] };
    expected: { txId: string };
  };

  it('proof-format.md shows the committed proof bundle, which verifies as the page says', () => {
    const doc = readFileSync(join(repo, 'docs', 'proof-format.md'), 'utf8');
    const [example] = codeBlocks(doc, 'json');
    expect(JSON.parse(example!)).toEqual(vector.bundle);
    expect(verifyProof(example!, vector.options)).toMatchObject({ valid: true, txId: vector.expected.txId });
    for (const value of [...vector.options.trustedOrigins, ...vector.options.trustedBlocks, vector.expected.txId]) expect(doc).toContain(value);
  });

  it('wire-format.md shows the committed transaction header, field by field', () => {
    const doc = readFileSync(join(repo, 'docs', 'wire-format.md'), 'utf8');
    const example = codeBlocks(doc, '')[0]!;
    // Each line: offset, field name, then hex groups; a parenthesis starts a comment.
    const hex = example
      .split('\n')
      .map((line) => line.replace(/\(.*$/, '').trim().split(/\s+/).slice(2).filter((t) => /^[0-9a-f]+$/.test(t)).join(''))
      .join('');
    const txs = JSON.parse(readFileSync(join(packageDir, 'vectors', 'transactions.json'), 'utf8')) as { vectors: { name: string; header: string }[] };
    expect(hex).toBe(txs.vectors.find((v) => v.name === 'json-record')!.header);
    expect(doc).toContain('b24b1a573ff557731dfb8a920e4a19565f7ba608b91aa2659c9ff4bf1c2d407c');
  });
});
