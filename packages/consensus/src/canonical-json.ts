import { ChainSpecTooLargeError, InvalidChainSpecError, NonCanonicalChainSpecError } from './errors.js';

/**
 * Canonical JSON for chain specs: UTF-8, no whitespace, object keys sorted by UTF-16 code units (the order
 * `Array.prototype.sort` gives, as in RFC 8785), numbers and strings spelled as `JSON.stringify` spells them.
 * The decoder parses, re-encodes and demands the identical text, so every other spelling of the same value
 * (whitespace, `1.0`, `\u0041`, a repeated key, a byte order mark) is refused rather than silently accepted.
 */

/** A JSON value. Numbers are finite; strings are well-formed UTF-16 (no lone surrogates). */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Nesting limit: a chain spec needs four levels; the limit keeps recursion bounded on hostile input. */
export const MAX_JSON_DEPTH = 32;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A JSON path like the ones chain spec errors use: `$` for the root, then `consensus.validators[2]`. */
function childPath(path: string, key: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '$' ? key : `${path}.${key}`;
}

function write(value: unknown, path: string, depth: number, out: string[]): void {
  if (value === null || typeof value === 'boolean') {
    out.push(String(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidChainSpecError(path, `expected a finite number, got ${value}`);
    out.push(JSON.stringify(value));
  } else if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new InvalidChainSpecError(path, 'string holds a lone surrogate');
    out.push(JSON.stringify(value));
  } else if (Array.isArray(value)) {
    if (depth >= MAX_JSON_DEPTH) throw new ChainSpecTooLargeError(`chain spec ${path}: nested deeper than ${MAX_JSON_DEPTH}`);
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      if (!(i in value)) throw new InvalidChainSpecError(`${path}[${i}]`, 'array has a hole');
      write(value[i], `${path}[${i}]`, depth + 1, out);
    }
    out.push(']');
  } else if (isPlainObject(value)) {
    if (depth >= MAX_JSON_DEPTH) throw new ChainSpecTooLargeError(`chain spec ${path}: nested deeper than ${MAX_JSON_DEPTH}`);
    const keys = Object.keys(value).sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(',');
      if (!key.isWellFormed()) throw new InvalidChainSpecError(path, 'key holds a lone surrogate');
      out.push(JSON.stringify(key), ':');
      write(value[key], childPath(path, key), depth + 1, out);
    });
    out.push('}');
  } else {
    throw new InvalidChainSpecError(path, `expected a JSON value, got ${describeValue(value)}`);
  }
}

/**
 * The canonical JSON text of `value`.
 * @throws InvalidChainSpecError when `value` holds something JSON cannot carry (undefined, a bigint, NaN, a class
 *   instance, a lone surrogate); ChainSpecTooLargeError when nested deeper than MAX_JSON_DEPTH.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, '$', 0, out);
  return out.join('');
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses canonical JSON bytes (at most `maxBytes`).
 * @throws ChainSpecTooLargeError above `maxBytes` (checked before decoding) or nested too deep;
 *   InvalidChainSpecError when not UTF-8 or not JSON; NonCanonicalChainSpecError when valid JSON in another spelling.
 */
export function parseCanonicalJson(bytes: Uint8Array, maxBytes: number): JsonValue {
  if (bytes.length > maxBytes) throw new ChainSpecTooLargeError(`chain spec: ${bytes.length} bytes, limit ${maxBytes}`);
  let text: string;
  try {
    text = utf8Decoder.decode(bytes);
  } catch (error) {
    throw new InvalidChainSpecError('$', 'not valid UTF-8', { cause: error });
  }
  let value: unknown;
  try {
    // V8's JSON parser is iterative, so deep nesting cannot overflow the stack here; `canonicalJson` bounds depth.
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidChainSpecError('$', 'not JSON', { cause: error });
  }
  const canonical = canonicalJson(value);
  if (canonical !== text) {
    let at = 0;
    while (at < text.length && text[at] === canonical[at]) at++;
    throw new NonCanonicalChainSpecError(
      `chain spec is not canonical JSON (first difference at character ${at}): no whitespace, keys sorted and unique, ` +
        'numbers and strings spelled as JSON.stringify spells them',
    );
  }
  return value as JsonValue;
}
