/**
 * Structured log hooks. The ingest never formats log lines itself: it hands a message and fields to whatever logger
 * the node uses (pino, console, a test recorder). Fields never hold file contents or keys.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface IngestLogger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** A logger that drops everything: the default. */
export const silentLogger: IngestLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
