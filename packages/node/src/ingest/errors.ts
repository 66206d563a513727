import { SafechainError } from '@safechain/core';

/**
 * Errors of the file ingest. Configuration and recovery errors are thrown to the caller; rejection reasons are never
 * thrown out of the ingest: they say why a file went to `rejected/`, and their `name: message` is what its
 * `NAME.reason.txt` holds.
 */

/** An ingest option is missing, of the wrong type or out of range. */
export class IngestConfigError extends SafechainError {
  override readonly name = 'IngestConfigError' as const;
}

/** At start, journalled transactions of a previous run could not be committed; nothing new was taken in. */
export class IngestRecoveryError extends SafechainError {
  override readonly name = 'IngestRecoveryError' as const;
}

/** Base of the reasons a file is refused and moved to `rejected/`. */
export abstract class IngestRejection extends SafechainError {
  abstract override readonly name: string;
}

/** The file is larger than the intake criteria allow; it was not read. */
export class FileTooLargeError extends IngestRejection {
  override readonly name = 'FileTooLargeError' as const;
}

/** The file is empty and the criteria reject empty files. */
export class EmptyFileError extends IngestRejection {
  override readonly name = 'EmptyFileError' as const;
}

/** A symbolic link, a path that leaves the inbox, or an entry that is not a regular file. */
export class UnsafePathError extends IngestRejection {
  override readonly name = 'UnsafePathError' as const;
}

/** The file could not be read (permissions, I/O error). */
export class FileUnreadableError extends IngestRejection {
  override readonly name = 'FileUnreadableError' as const;
}

/** Line mode: the file is not valid UTF-8. */
export class InvalidUtf8Error extends IngestRejection {
  override readonly name = 'InvalidUtf8Error' as const;
}

/** JSON-lines mode: a line is not valid JSON. The message names the line. */
export class InvalidJsonLineError extends IngestRejection {
  override readonly name = 'InvalidJsonLineError' as const;
  readonly line: number;

  constructor(line: number, detail: string) {
    super(`line ${line} is not valid JSON: ${detail}`);
    this.line = line;
  }
}

/** CSV mode: a quoted field is still open at the end of the file. */
export class UnterminatedCsvQuoteError extends IngestRejection {
  override readonly name = 'UnterminatedCsvQuoteError' as const;
}

/** The file would make more transactions than one file may (`maxTransactionsPerFile`). */
export class TooManyTransactionsError extends IngestRejection {
  override readonly name = 'TooManyTransactionsError' as const;
}

/** The file name cannot be a transaction's source (too long once the line range is added). */
export class FileNameTooLongError extends IngestRejection {
  override readonly name = 'FileNameTooLongError' as const;
}

/**
 * A journal entry exists for the file but cannot be read back (checksum or format). The file's transactions may have
 * been committed, so it is not signed again: it is set aside for an operator.
 */
export class JournalEntryCorruptError extends IngestRejection {
  override readonly name = 'JournalEntryCorruptError' as const;
}
