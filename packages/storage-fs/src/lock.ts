import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreLockedError } from '@safechain/storage';

/**
 * The directory lock: a `LOCK` file naming the holder (process id, its start time, host). Node has no `flock`, so
 * the lock is a file created atomically (written under a private name, then hard-linked to `LOCK`, which fails when
 * `LOCK` exists) and judged stale when its holder is gone: a process killed with SIGKILL cannot remove it, and the
 * next opener must not be locked out forever.
 *
 * A holder is alive when it runs on this host, its process id exists, and (where `/proc` tells) that process started
 * at the recorded time, so a reused process id does not keep a dead holder's lock. A lock from another host is never
 * judged stale: that host may still be writing through a network file system.
 */

interface Holder {
  readonly pid: number;
  readonly host: string;
  /** Process start time from /proc, or null where unknown. */
  readonly started: string | null;
}

const LOCK_FILE = 'LOCK';
const ATTEMPTS = 5;

/** State (field 3) and start time (field 22) of process `pid` from /proc/pid/stat, or null where unavailable. */
function processStat(pid: number): { readonly state: string; readonly started: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== undefined && fields[19] !== undefined ? { state: fields[0], started: fields[19] } : null;
  } catch {
    return null;
  }
}

function processStart(pid: number): string | null {
  return processStat(pid)?.started ?? null;
}

function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = processStat(holder.pid);
  // A zombie (killed, not yet reaped by its parent) holds nothing any more.
  if (stat !== null && (stat.state === 'Z' || stat.state === 'X')) return false;
  if (holder.started === null || stat === null) return true;
  return stat.started === holder.started;
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && (typeof value.started === 'string' || value.started === null)) {
      return { pid: value.pid, host: value.host, started: value.started };
    }
  } catch {
    // Not a lock this code wrote.
  }
  return undefined;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A held directory lock. */
export class DirectoryLock {
  readonly #path: string;
  readonly #content: string;
  #released = false;

  private constructor(path: string, content: string) {
    this.#path = path;
    this.#content = content;
  }

  /**
   * Takes the lock of `dir`, replacing a stale one.
   * @throws StoreLockedError when a live process (this one included) holds it.
   */
  static acquire(dir: string): DirectoryLock {
    const path = join(dir, LOCK_FILE);
    const me: Holder = { pid: process.pid, host: hostname(), started: processStart(process.pid) };
    const content = JSON.stringify(me);
    const mine = join(dir, `${LOCK_FILE}.${process.pid}.${Date.now()}.tmp`);
    writeFileSync(mine, content, { mode: 0o644 });
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
          linkSync(mine, path);
          return new DirectoryLock(path, content);
        } catch (error) {
          if (errno(error) !== 'EEXIST') throw error;
        }
        let text: string;
        try {
          text = readFileSync(path, 'utf8');
        } catch (error) {
          if (errno(error) === 'ENOENT') continue; // released meanwhile
          throw error;
        }
        const holder = parseHolder(text);
        if (holder === undefined) throw new StoreLockedError(`${dir}: the lock file ${path} is not one this store wrote; remove it if no process uses the store`);
        if (isAlive(holder)) {
          const who = holder.pid === process.pid && holder.host === me.host ? 'this process' : `process ${holder.pid} on ${holder.host}`;
          throw new StoreLockedError(`${dir} is open in ${who}`);
        }
        // Stale. Move it aside under a private name: of several openers racing here only one rename succeeds.
        const aside = join(dir, `${LOCK_FILE}.${process.pid}.${Date.now()}.stale`);
        try {
          renameSync(path, aside);
        } catch (error) {
          if (errno(error) === 'ENOENT') continue;
          throw error;
        }
        const moved = readFileSync(aside, 'utf8');
        if (moved !== text) {
          // Another opener replaced the stale lock between our read and our rename: put its lock back.
          try {
            linkSync(aside, path);
          } catch {
            // It took the lock again already.
          }
          unlinkSync(aside);
          throw new StoreLockedError(`${dir} was just opened by another process`);
        }
        unlinkSync(aside);
      }
      throw new StoreLockedError(`${dir}: could not take the lock after ${ATTEMPTS} attempts`);
    } finally {
      unlinkSync(mine);
    }
  }

  /** Removes the lock file if it is still this holder's. Idempotent. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    try {
      if (readFileSync(this.#path, 'utf8') === this.#content) unlinkSync(this.#path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
