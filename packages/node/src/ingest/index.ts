export {
  FileIngest,
  RECEIPT_SUFFIX,
  REASON_SUFFIX,
  type FileIngestOptions,
  type FileIngestedEvent,
  type FileRejectedEvent,
  type IngestEvents,
  type IngestProgress,
  type IngestReceipt,
} from './file-ingest.js';
export type { IngestRecord, IngestSink } from './sink.js';
export type { IngestLogger, LogFields } from './logger.js';
export { silentLogger } from './logger.js';
export {
  DEFAULT_MAX_FILE_BYTES,
  compileCriteria,
  globToRegExp,
  isIncompleteName,
  type IntakeCriteria,
} from './criteria.js';
export { compileRules, BUILTIN_CONTENT_TYPES, type IngestRules } from './rules.js';
export { batchLines, splitCsvRecords, splitLines, type IngestMode, type LineBatch } from './lines.js';
export {
  EmptyFileError,
  FileNameTooLongError,
  FileTooLargeError,
  FileUnreadableError,
  IngestConfigError,
  IngestRecoveryError,
  IngestRejection,
  InvalidJsonLineError,
  InvalidUtf8Error,
  JournalEntryCorruptError,
  TooManyTransactionsError,
  UnsafePathError,
  UnterminatedCsvQuoteError,
} from './errors.js';
