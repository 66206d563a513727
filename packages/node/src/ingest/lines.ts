import {
  IngestConfigError,
  InvalidJsonLineError,
  InvalidUtf8Error,
  TooManyTransactionsError,
  UnterminatedCsvQuoteError,
} from './errors.js';
import { addTraceCodes } from './rules.js';

/**
 * Line mode: a file of JSON lines or CSV rows, where each line (row) is one record and every `recordsPerTransaction`
 * records make one transaction, its payload being the records joined with '\n' (no trailing newline). This is the
 * paper's evaluation setup: records of about 100 bytes, 1, 10, 100 or 1000 of them per transaction.
 *
 * Lines end with '\n' or '\r\n'; a UTF-8 byte order mark at the start is dropped; blank lines are skipped and still
 * counted, so line numbers in sources and errors are the file's own. In CSV mode the first non-blank row is the
 * header (unless `header: false`) and is repeated at the top of every transaction's payload, so each transaction can
 * be read on its own. CSV rows may hold line breaks inside double-quoted fields (RFC 4180).
 */
export type IngestMode =
  | { readonly kind: 'file' }
  | {
      readonly kind: 'jsonl';
      /** Records per transaction (default 1). */
      readonly recordsPerTransaction?: number;
      /** Top-level fields whose string or number values become trace codes of the record's transaction. */
      readonly traceCodeFields?: readonly string[];
    }
  | {
      readonly kind: 'csv';
      /** Records per transaction (default 1). */
      readonly recordsPerTransaction?: number;
      /** Whether the first row is a header to repeat in every transaction (default true). */
      readonly header?: boolean;
    };

/** One record of a file: its text without the line ending, and the file line it starts on (1-based). */
export interface LineRecord {
  readonly text: string;
  readonly line: number;
  /** The last file line it covers (differs from `line` for a CSV row with a quoted line break). */
  readonly lastLine: number;
}

/** One transaction's worth of records. */
export interface LineBatch {
  readonly text: string;
  readonly firstLine: number;
  readonly lastLine: number;
  /** Trace codes found in the records (JSON-lines `traceCodeFields`). */
  readonly traceCodes: readonly string[];
}

const MAX_RECORDS_PER_TRANSACTION = 1_000_000;

/** Checks a mode from configuration. @throws IngestConfigError */
export function assertMode(mode: IngestMode): void {
  if (typeof mode !== 'object' || mode === null || !['file', 'jsonl', 'csv'].includes(mode.kind)) {
    throw new IngestConfigError('mode.kind: expected "file", "jsonl" or "csv"');
  }
  if (mode.kind === 'file') return;
  const n = mode.recordsPerTransaction ?? 1;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_RECORDS_PER_TRANSACTION) {
    throw new IngestConfigError(
      `mode.recordsPerTransaction: expected an integer from 1 to ${MAX_RECORDS_PER_TRANSACTION}, got ${String(n)}`,
    );
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes strict UTF-8, dropping a leading byte order mark. @throws InvalidUtf8Error */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch (error) {
    throw new InvalidUtf8Error('file is not valid UTF-8', { cause: error });
  }
}

function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

function stripCr(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** Non-blank lines of `text`. */
export function splitLines(text: string): LineRecord[] {
  const out: LineRecord[] = [];
  let start = 0;
  let line = 1;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const record = stripCr(text.slice(start, end));
    if (!isBlank(record)) out.push({ text: record, line, lastLine: line });
    start = end + 1;
    line++;
  }
  return out;
}

/**
 * Non-blank CSV records of `text`: a line break inside a double-quoted field does not end the record.
 * @throws UnterminatedCsvQuoteError when a quoted field is still open at the end.
 */
export function splitCsvRecords(text: string): LineRecord[] {
  const out: LineRecord[] = [];
  let start = 0;
  let line = 1;
  let recordLine = 1;
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) inQuotes = !inQuotes; // '"'; an escaped quote ("") toggles twice
    else if (c === 0x0a) {
      if (!inQuotes) {
        const record = stripCr(text.slice(start, i));
        if (!isBlank(record)) out.push({ text: record, line: recordLine, lastLine: line });
        start = i + 1;
        recordLine = line + 1;
      }
      line++;
    }
  }
  if (inQuotes) throw new UnterminatedCsvQuoteError(`quoted field opened on line ${recordLine} is never closed`);
  const last = stripCr(text.slice(start));
  if (!isBlank(last)) out.push({ text: last, line: recordLine, lastLine: line });
  return out;
}

function jsonTraceCodes(value: unknown, fields: readonly string[]): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const codes: string[] = [];
  for (const field of fields) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v === 'string') codes.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) codes.push(String(v));
  }
  return codes;
}

/**
 * Splits a line-mode file into transaction batches.
 * @throws InvalidUtf8Error, InvalidJsonLineError, UnterminatedCsvQuoteError, or TooManyTransactionsError when the file
 *   would make more than `maxTransactions` transactions.
 */
export function batchLines(
  bytes: Uint8Array,
  mode: Exclude<IngestMode, { kind: 'file' }>,
  maxTransactions: number,
): LineBatch[] {
  const text = decodeUtf8Strict(bytes);
  const perTx = mode.recordsPerTransaction ?? 1;
  let records: LineRecord[];
  let header: string | null = null;
  const codesOf: Array<readonly string[]> = [];
  if (mode.kind === 'csv') {
    records = splitCsvRecords(text);
    if ((mode.header ?? true) && records.length > 0) header = records.shift()!.text;
  } else {
    records = splitLines(text);
    const fields = mode.traceCodeFields ?? [];
    for (const r of records) {
      let value: unknown;
      try {
        value = JSON.parse(r.text);
      } catch (error) {
        throw new InvalidJsonLineError(r.line, error instanceof Error ? error.message : String(error));
      }
      if (fields.length > 0) codesOf.push(jsonTraceCodes(value, fields));
    }
  }
  const count = Math.ceil(records.length / perTx);
  if (count > maxTransactions) {
    throw new TooManyTransactionsError(
      `${records.length} records at ${perTx} per transaction make ${count} transactions; ` +
        `at most ${maxTransactions} per file`,
    );
  }
  const batches: LineBatch[] = [];
  for (let i = 0; i < records.length; i += perTx) {
    const group = records.slice(i, i + perTx);
    const lines = group.map((r) => r.text);
    const traceCodes: string[] = [];
    for (let k = i; k < i + group.length && k < codesOf.length; k++) addTraceCodes(traceCodes, codesOf[k]!);
    batches.push({
      text: (header === null ? lines : [header, ...lines]).join('\n'),
      firstLine: group[0]!.line,
      lastLine: group[group.length - 1]!.lastLine,
      traceCodes,
    });
  }
  return batches;
}
