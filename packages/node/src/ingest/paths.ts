import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { UnsafePathError } from './errors.js';

/**
 * Path safety. The ingest only ever touches direct entries of its inbox, named by a single path segment: a name
 * that is absolute, holds a separator, or is `.`/`..` is refused before any file system call, and an entry that is
 * a symbolic link (or resolves elsewhere) is refused without being followed.
 */

/** Throws UnsafePathError unless `name` is a single, plain path segment. */
export function assertPlainName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length === 0 ||
    name.length > 1024 ||
    name === '.' ||
    name === '..' ||
    isAbsolute(name) ||
    /[/\\\0]/.test(name)
  ) {
    throw new UnsafePathError(`not a plain file name inside the inbox: ${JSON.stringify(name)}`);
  }
}

/** What one look at an inbox entry saw (without following links). */
export interface Look {
  readonly kind: 'file' | 'symlink' | 'directory' | 'other';
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  /** When the look was taken (ms since the epoch). */
  readonly at: number;
}

/** True when two looks saw the same, unchanged file. */
export function sameFile(a: Look, b: Look): boolean {
  return a.kind === b.kind && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.dev === b.dev;
}

/**
 * Looks at `inbox/name` with lstat (a link is reported as a link, never followed). Null when it does not exist.
 * @throws UnsafePathError for an unsafe name; the lstat error for anything but "not found".
 */
export async function lookAt(inbox: string, name: string): Promise<Look | null> {
  assertPlainName(name);
  try {
    const s = await lstat(join(inbox, name));
    const kind = s.isSymbolicLink() ? 'symlink' : s.isFile() ? 'file' : s.isDirectory() ? 'directory' : 'other';
    return { kind, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino, dev: s.dev, at: Date.now() };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Checks that `inbox/name` resolves to itself inside the real inbox path: no link anywhere on the way.
 * `realInbox` must already be the inbox's realpath. @throws UnsafePathError
 */
export async function assertInsideInbox(realInbox: string, name: string): Promise<void> {
  assertPlainName(name);
  const expected = join(realInbox, name);
  let actual: string;
  try {
    actual = await realpath(expected);
  } catch (error) {
    throw new UnsafePathError(`cannot resolve ${JSON.stringify(name)}: ${(error as Error).message}`, { cause: error });
  }
  if (actual !== expected) throw new UnsafePathError(`${JSON.stringify(name)} resolves outside the inbox`);
}
