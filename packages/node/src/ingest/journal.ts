import { constants } from 'node:fs';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  concatBytes,
  decodeTransaction,
  encodeTransaction,
  equalBytes,
  sha256,
  toHex,
  utf8,
  type Transaction,
} from '@safechain/core';
import { JournalEntryCorruptError } from './errors.js';

/**
 * The ingest journal: what makes a file's ingestion exactly-once across a crash. Before a file's signed transactions
 * are handed to the sink for commit, they are written here (fsync'd, renamed into place, directory fsync'd). From
 * then on the file is never signed again: on restart an entry means "finish this file": commit the same transactions
 * again (the sink ignores ids it already holds), write the receipt, move the file, delete the entry.
 *
 * One entry per file, named by the SHA-256 of the file name:
 *   "SCIJ" | version u8 = 1 | u32 header length | header JSON | u32 count | (u32 length | encoded transaction)*
 *   | SHA-256 of everything before (32 bytes)
 */

const MAGIC = utf8('SCIJ');
const VERSION = 1;
const ENTRY_SUFFIX = '.entry';

/** What the journal remembers about the file besides its transactions. */
export interface JournalHeader {
  /** File name in the inbox. */
  readonly name: string;
  /** Name chosen for it (and its receipt) in processed/. */
  readonly target: string;
  /** Identity of the file that was signed, to tell it from a later file of the same name. */
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  /** SHA-256 of the file's bytes, hex. */
  readonly sha256: string;
}

export interface JournalEntry {
  readonly path: string;
  readonly header: JournalHeader;
  readonly transactions: readonly Transaction[];
}

export function journalEntryPath(dir: string, name: string): string {
  return join(dir, toHex(sha256(utf8(name))) + ENTRY_SUFFIX);
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** The bytes of an entry. */
export function encodeJournalEntry(header: JournalHeader, transactions: readonly Transaction[]): Uint8Array {
  const headerBytes = utf8(JSON.stringify(header));
  const parts: Uint8Array[] = [MAGIC, Uint8Array.of(VERSION), u32(headerBytes.length), headerBytes];
  parts.push(u32(transactions.length));
  for (const tx of transactions) {
    const encoded = encodeTransaction(tx);
    parts.push(u32(encoded.length), encoded);
  }
  const body = concatBytes(...parts);
  return concatBytes(body, sha256(body));
}

function isHeader(value: unknown): value is JournalHeader {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    typeof v.target === 'string' &&
    typeof v.sha256 === 'string' &&
    ['size', 'mtimeMs', 'ino', 'dev'].every((k) => typeof v[k] === 'number')
  );
}

/** Parses entry bytes. @throws JournalEntryCorruptError */
export function decodeJournalEntry(bytes: Uint8Array, path: string): JournalEntry {
  const corrupt = (detail: string, cause?: unknown): JournalEntryCorruptError =>
    new JournalEntryCorruptError(`journal entry ${path}: ${detail}`, { cause });
  if (bytes.length < MAGIC.length + 1 + 4 + 4 + 32) throw corrupt('too short');
  const body = bytes.subarray(0, bytes.length - 32);
  if (!equalBytes(sha256(body), bytes.subarray(bytes.length - 32))) throw corrupt('checksum mismatch');
  if (!equalBytes(body.subarray(0, 4), MAGIC) || body[4] !== VERSION) throw corrupt('not a version 1 journal entry');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 5;
  const take = (n: number): Uint8Array => {
    if (at + n > body.length) throw corrupt('truncated');
    const out = body.subarray(at, at + n);
    at += n;
    return out;
  };
  const readU32 = (): number => {
    take(4);
    return view.getUint32(at - 4);
  };
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(take(readU32())));
  } catch (error) {
    throw corrupt('header is not JSON', error);
  }
  if (!isHeader(header)) throw corrupt('header lacks fields');
  const count = readU32();
  if (count > body.length) throw corrupt('transaction count larger than the entry');
  const transactions: Transaction[] = [];
  for (let i = 0; i < count; i++) {
    try {
      transactions.push(decodeTransaction(take(readU32())));
    } catch (error) {
      if (error instanceof JournalEntryCorruptError) throw error;
      throw corrupt(`transaction ${i} does not decode`, error);
    }
  }
  if (at !== body.length) throw corrupt('trailing bytes');
  return { path, header, transactions };
}

/**
 * Writes an entry: temporary file, fsync, rename. The entry survives a crash once the caller has fsync'd the
 * directory (done once for a batch of entries).
 */
export async function writeJournalEntry(
  dir: string,
  header: JournalHeader,
  transactions: readonly Transaction[],
): Promise<string> {
  const path = journalEntryPath(dir, header.name);
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    await handle.writeFile(encodeJournalEntry(header, transactions));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  return path;
}

/** Reads an entry, refusing one larger than `maxBytes`. @throws JournalEntryCorruptError */
export async function readJournalEntry(path: string, maxBytes: number): Promise<JournalEntry> {
  let bytes: Uint8Array;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) {
        throw new JournalEntryCorruptError(`journal entry ${path}: ${size} bytes, limit ${maxBytes}`);
      }
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof JournalEntryCorruptError) throw error;
    throw new JournalEntryCorruptError(`journal entry ${path}: ${(error as Error).message}`, { cause: error });
  }
  return decodeJournalEntry(bytes, path);
}

/**
 * Lists complete entries, deleting temporary ones: a temporary entry was never renamed into place, so its file's
 * transactions were never handed to the sink and the file is simply ingested again.
 */
export async function listJournalEntries(dir: string): Promise<string[]> {
  const entries: string[] = [];
  for (const name of await readdir(dir)) {
    if (name.endsWith(ENTRY_SUFFIX)) entries.push(join(dir, name));
    else if (name.endsWith('.tmp')) await unlink(join(dir, name));
  }
  return entries.sort();
}
