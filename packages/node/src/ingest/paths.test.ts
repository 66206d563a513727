import { mkdtemp, mkdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnsafePathError } from './errors.js';
import { assertInsideInbox, assertPlainName, lookAt } from './paths.js';

describe('path safety', () => {
  let root: string;
  let inbox: string;

  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'safechain-paths-')));
    inbox = join(root, 'inbox');
    await mkdir(inbox);
    await writeFile(join(root, 'secret.txt'), 'outside');
    await writeFile(join(inbox, 'ok.csv'), 'a');
    await symlink(join(root, 'secret.txt'), join(inbox, 'link.csv'));
    await mkdir(join(inbox, 'sub'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('refuses names that are not one plain segment', () => {
    for (const name of ['', '.', '..', '../x', 'a/b', 'a\\b', '/etc/passwd', 'a\0b', 'x'.repeat(2000)]) {
      expect(() => assertPlainName(name), JSON.stringify(name)).toThrow(UnsafePathError);
    }
    expect(() => assertPlainName('..data.csv')).not.toThrow();
  });

  it('reports links as links without following them', async () => {
    expect((await lookAt(inbox, 'ok.csv'))?.kind).toBe('file');
    expect((await lookAt(inbox, 'link.csv'))?.kind).toBe('symlink');
    expect((await lookAt(inbox, 'sub'))?.kind).toBe('directory');
    expect(await lookAt(inbox, 'missing.csv')).toBeNull();
    await expect(lookAt(inbox, '../secret.txt')).rejects.toThrow(UnsafePathError);
  });

  it('refuses an entry that resolves outside the inbox', async () => {
    await expect(assertInsideInbox(inbox, 'ok.csv')).resolves.toBeUndefined();
    await expect(assertInsideInbox(inbox, 'link.csv')).rejects.toThrow(UnsafePathError);
    await expect(assertInsideInbox(inbox, '..')).rejects.toThrow(UnsafePathError);
  });
});
