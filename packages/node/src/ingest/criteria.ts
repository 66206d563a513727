import { MAX_PAYLOAD_BYTES } from '@safechain/core';
import { IngestConfigError } from './errors.js';

/**
 * Intake criteria: which names in the inbox the ingest takes. Names that do not match are left where they are and
 * never read. Writers are expected to write `NAME.tmp` and rename it when complete, so `*.tmp` and dot-files are
 * never taken, whatever the criteria say.
 */
export interface IntakeCriteria {
  /** Glob-ish patterns on the file name (`*`, `?`, `[a-z]`, `{csv,json}`); default: every name. */
  readonly include?: readonly string[];
  /** Names matching any of these are left alone. */
  readonly exclude?: readonly string[];
  /** Extensions taken, with or without the dot, compared case-insensitively (`.csv`, `jsonl`); default: any. */
  readonly extensions?: readonly string[];
  /** Largest file taken, in bytes (default 16 MiB, at most 64 MiB); larger files are rejected unread. */
  readonly maxFileBytes?: number;
  /** Reject empty files instead of ingesting them (default false). */
  readonly rejectEmpty?: boolean;
}

export const DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024;
const MAX_PATTERN_LENGTH = 256;

/** True for names no writer has finished: dot-files and `*.tmp`. */
export function isIncompleteName(name: string): boolean {
  return name.startsWith('.') || name.toLowerCase().endsWith('.tmp');
}

/** The extension of a file name, lower case, with its dot (`.csv`), or '' when there is none. */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot).toLowerCase();
}

/**
 * Compiles a glob-ish pattern on a single file name to a RegExp: `*` any run of characters, `?` one character,
 * `[...]` a class (`[!...]` negated), `{a,b}` alternatives. Everything else is literal.
 * @throws IngestConfigError on an unbalanced bracket or brace, or a pattern over 256 characters.
 */
export function globToRegExp(pattern: string): RegExp {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    throw new IngestConfigError(
      `pattern: expected 1 to ${MAX_PATTERN_LENGTH} characters, got ${JSON.stringify(pattern)}`,
    );
  }
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new IngestConfigError(`pattern ${JSON.stringify(pattern)}: unclosed [`);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  if (braces !== 0) throw new IngestConfigError(`pattern ${JSON.stringify(pattern)}: unclosed {`);
  return new RegExp(`^${out}$`, 'su');
}

export interface CompiledCriteria {
  /** True when the name is one the ingest takes (size is checked separately, once the file is looked at). */
  readonly accepts: (name: string) => boolean;
  readonly maxFileBytes: number;
  readonly rejectEmpty: boolean;
}

/** Validates and compiles intake criteria. @throws IngestConfigError */
export function compileCriteria(criteria: IntakeCriteria = {}): CompiledCriteria {
  const include = (criteria.include ?? []).map(globToRegExp);
  const exclude = (criteria.exclude ?? []).map(globToRegExp);
  const extensions = new Set(
    (criteria.extensions ?? []).map((e) => {
      if (typeof e !== 'string' || e.length === 0 || e.length > 32 || /[/\\]/.test(e)) {
        throw new IngestConfigError(`extensions: expected short extensions like ".csv", got ${JSON.stringify(e)}`);
      }
      return (e.startsWith('.') ? e : `.${e}`).toLowerCase();
    }),
  );
  const maxFileBytes = criteria.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes < 0 || maxFileBytes > MAX_PAYLOAD_BYTES) {
    throw new IngestConfigError(
      `maxFileBytes: expected an integer from 0 to ${MAX_PAYLOAD_BYTES}, got ${String(maxFileBytes)}`,
    );
  }
  return {
    accepts: (name: string): boolean =>
      !isIncompleteName(name) &&
      (include.length === 0 || include.some((r) => r.test(name))) &&
      !exclude.some((r) => r.test(name)) &&
      (extensions.size === 0 || extensions.has(extensionOf(name))),
    maxFileBytes,
    rejectEmpty: criteria.rejectEmpty ?? false,
  };
}
