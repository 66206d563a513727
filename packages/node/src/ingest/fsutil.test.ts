import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeStaleTemporaries } from './fsutil.js';

describe('removeStaleTemporaries', () => {
  let dir = '';
  afterEach(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('removes NAME.PID.tmp of dead processes only, and nothing else', async () => {
    dir = await mkdtemp(join(tmpdir(), 'safechain-fsutil-'));
    // A process that has exited: its pid is free (reuse within this test is out of reach in practice).
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const names = [
      `a.jsonl.receipt.json.${dead}.tmp`,
      `b.jsonl.receipt.json.${process.pid}.tmp`,
      'c.jsonl',
      'c.jsonl.receipt.json',
      'd.tmp',
      'e.x.tmp',
    ];
    for (const name of names) await writeFile(join(dir, name), 'x');
    expect(await removeStaleTemporaries(dir)).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(names.slice(1).sort());
  });
});
