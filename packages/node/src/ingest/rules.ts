import { MAX_CONTENT_TYPE_BYTES, MAX_TRACE_CODE_BYTES, MAX_TRACE_CODES, utf8 } from '@safechain/core';
import { extensionOf } from './criteria.js';
import { IngestConfigError } from './errors.js';

/**
 * Metadata rules: how a file's name decides the content type and the trace codes of its transactions. Trace codes
 * (product, batch, order codes) are what a record is found by later, so factories usually encode them in file names:
 * `/^(?<code>LOT-\d+)_/` on `LOT-4711_temperatures.csv` gives the trace code `LOT-4711`.
 */
export interface IngestRules {
  /** First match wins, before anything else. */
  readonly contentTypeRules?: ReadonlyArray<{ readonly pattern: RegExp; readonly contentType: string }>;
  /** By extension (`.csv` or `csv`), merged over the built-in table. */
  readonly contentTypeByExtension?: Readonly<Record<string, string>>;
  /** When nothing else decides; default `application/octet-stream`. */
  readonly defaultContentType?: string;
  /**
   * Regular expressions on the file name. Every named group whose name starts with `code` (`code`, `code2`,
   * `codeOrder`) that matched adds its text as a trace code.
   */
  readonly traceCodeRules?: readonly RegExp[];
  /** Added to every transaction of this inbox (a machine id, a line id). */
  readonly traceCodes?: readonly string[];
}

export const BUILTIN_CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.json': 'application/json',
  '.jsonl': 'application/jsonl',
  '.ndjson': 'application/x-ndjson',
  '.csv': 'text/csv',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.xml': 'application/xml',
  '.pdf': 'application/pdf',
  '.stl': 'model/stl',
  '.step': 'model/step',
  '.stp': 'model/step',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

export interface CompiledRules {
  /** Content type for a file; `modeDefault` is the line mode's type, used when no explicit rule matches. */
  contentType(name: string, modeDefault?: string): string;
  /** Trace codes from the name rules and the static list, deduplicated, in order. */
  traceCodes(name: string): string[];
}

function assertContentType(value: unknown, what: string): string {
  if (typeof value !== 'string' || utf8(value).length > MAX_CONTENT_TYPE_BYTES) {
    throw new IngestConfigError(`${what}: expected a string of at most ${MAX_CONTENT_TYPE_BYTES} bytes`);
  }
  return value;
}

/** Adds codes to `into` (deduplicated), keeping within the transaction limits; returns false when some were dropped. */
export function addTraceCodes(into: string[], codes: Iterable<string>): boolean {
  let complete = true;
  for (const code of codes) {
    if (code.length === 0 || into.includes(code)) continue;
    if (into.length >= MAX_TRACE_CODES || utf8(code).length > MAX_TRACE_CODE_BYTES || !code.isWellFormed()) {
      complete = false;
      continue;
    }
    into.push(code);
  }
  return complete;
}

/** Validates and compiles metadata rules. @throws IngestConfigError */
export function compileRules(rules: IngestRules = {}): CompiledRules {
  const explicit = (rules.contentTypeRules ?? []).map((r, i) => {
    if (!(r.pattern instanceof RegExp)) throw new IngestConfigError(`contentTypeRules[${i}].pattern: expected RegExp`);
    const pattern = new RegExp(r.pattern.source, r.pattern.flags.replace(/[gy]/g, ''));
    return { pattern, contentType: assertContentType(r.contentType, `contentTypeRules[${i}].contentType`) };
  });
  const byExtension = new Map<string, string>(Object.entries(BUILTIN_CONTENT_TYPES));
  for (const [ext, type] of Object.entries(rules.contentTypeByExtension ?? {})) {
    const key = (ext.startsWith('.') ? ext : `.${ext}`).toLowerCase();
    byExtension.set(key, assertContentType(type, `contentTypeByExtension[${ext}]`));
  }
  const fallback = assertContentType(rules.defaultContentType ?? 'application/octet-stream', 'defaultContentType');
  const codeRules = (rules.traceCodeRules ?? []).map((r, i) => {
    if (!(r instanceof RegExp)) throw new IngestConfigError(`traceCodeRules[${i}]: expected RegExp`);
    // A global or sticky RegExp keeps state between calls; a copy without those flags does not.
    return new RegExp(r.source, r.flags.replace(/[gy]/g, ''));
  });
  const staticCodes: string[] = [];
  if (!addTraceCodes(staticCodes, rules.traceCodes ?? [])) {
    throw new IngestConfigError(
      `traceCodes: at most ${MAX_TRACE_CODES} codes of at most ${MAX_TRACE_CODE_BYTES} bytes each`,
    );
  }
  return {
    contentType(name: string, modeDefault?: string): string {
      for (const r of explicit) if (r.pattern.test(name)) return r.contentType;
      if (modeDefault !== undefined) return modeDefault;
      return byExtension.get(extensionOf(name)) ?? fallback;
    },
    traceCodes(name: string): string[] {
      const codes = [...staticCodes];
      for (const r of codeRules) {
        const groups = r.exec(name)?.groups;
        if (groups === undefined) continue;
        addTraceCodes(
          codes,
          Object.entries(groups)
            .filter(([key, value]) => key.startsWith('code') && value !== undefined)
            .map(([, value]) => value as string),
        );
      }
      return codes;
    },
  };
}
