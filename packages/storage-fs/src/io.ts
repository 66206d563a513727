import { closeSync, fdatasync, fsyncSync, openSync, readSync, write } from 'node:fs';
import { promisify } from 'node:util';
import { StoreFullError, StoreIOError } from '@safechain/storage';

/** Small wrappers over `node:fs` for positional I/O on raw descriptors, with errors mapped to storage errors. */

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);

/** Error codes that mean "no room": the disk, a quota, or the file size limit. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);

/** Maps a file-system error to StoreFullError or StoreIOError; other values pass through. */
export function fromFsError(error: unknown, context: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const message = `${context}: ${(error as Error).message}`;
  return FULL_CODES.has(code) ? new StoreFullError(message, { cause: error }) : new StoreIOError(message, { cause: error });
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await writeAsync(fd, bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    done += bytesWritten;
  }
}

export function datasync(fd: number): Promise<void> {
  return fdatasyncAsync(fd);
}

/** Reads exactly `length` bytes at `position`; fewer only at the end of the file (the caller checks). */
export function readAt(fd: number, length: number, position: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) return out.subarray(0, done);
    done += n;
  }
  return out;
}

/** Makes a directory's entries durable: after creating, renaming or removing files in it. */
export function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
