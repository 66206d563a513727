import { constants } from 'node:fs';
import { copyFile, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';

/**
 * Durable file-system steps. On a crash, a rename may be lost unless its directory was fsync'd, and a file's bytes
 * may be lost unless the file was; every step that acknowledges something does both, in that order.
 */

/** fsync of a directory: makes creations, renames and deletions in it durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Coalesces directory fsyncs: callers that ask while one is running share the next one, so a burst of files costs
 * a few fsyncs, not one per file. A sync that resolves started after the request was made.
 */
export class DirSyncer {
  readonly dir: string;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;

  constructor(dir: string) {
    this.dir = dir;
  }

  sync(): Promise<void> {
    if (this.#next !== null) return this.#next;
    if (this.#running === null) return this.#start();
    const next = this.#running.catch(() => undefined).then(() => {
      this.#next = null;
      return this.#start();
    });
    this.#next = next;
    return next;
  }

  #start(): Promise<void> {
    const running = fsyncDir(this.dir).finally(() => {
      if (this.#running === running) this.#running = null;
    });
    this.#running = running;
    return running;
  }
}

/** Writes `data` to `path` through a temporary name: write, fsync, rename. The caller fsyncs the directory. */
export async function writeFileDurable(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Moves a file, copying (with fsync) across file systems where rename cannot. The caller fsyncs both directories. */
export async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    const tmp = `${to}.${process.pid}.tmp`;
    await copyFile(from, tmp, constants.COPYFILE_EXCL);
    const handle = await open(tmp, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, to);
    await unlink(from);
  }
}

const TEMPORARY = /\.(\d+)\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the temporaries `writeFileDurable` and `moveFile` leave behind when their process is killed between
 * creating and renaming them (`NAME.PID.tmp` whose PID is no longer running). Their content was never acknowledged:
 * the step that wrote them is redone from the journal. Resolves to the number removed.
 */
export async function removeStaleTemporaries(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    const match = TEMPORARY.exec(name);
    if (match === null || processAlive(Number(match[1]))) continue;
    try {
      await unlink(join(dir, name));
      removed++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * A name for `name` in `dir` that is not taken there (by the name itself or by `name + companionSuffix`) nor
 * reserved: `name`, then `stem.1.ext`, `stem.2.ext`, ...
 */
export async function uniqueName(
  dir: string,
  name: string,
  companionSuffix: string,
  reserved: ReadonlySet<string>,
): Promise<string> {
  const ext = extname(name);
  const stem = ext.length > 0 && ext.length < name.length ? name.slice(0, -ext.length) : name;
  const suffix = ext.length < name.length ? ext : '';
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem}.${n}${suffix}`;
    if (reserved.has(candidate)) continue;
    if (await exists(join(dir, candidate))) continue;
    if (await exists(join(dir, candidate + companionSuffix))) continue;
    return candidate;
  }
}
