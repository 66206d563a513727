import { describe, expect, it } from 'vitest';
import { compileCriteria, extensionOf, globToRegExp, isIncompleteName } from './criteria.js';
import { IngestConfigError } from './errors.js';
import { compileRules } from './rules.js';

describe('globToRegExp', () => {
  it('matches *, ?, classes and alternatives on whole names only', () => {
    const cases: Array<[string, string, boolean]> = [
      ['*.csv', 'a.csv', true],
      ['*.csv', 'a.csv.bak', false],
      ['line?_*.json', 'line1_x.json', true],
      ['line?_*.json', 'line12_x.json', false],
      ['[a-c]*', 'bravo', true],
      ['[!a-c]*', 'bravo', false],
      ['*.{csv,jsonl}', 'x.jsonl', true],
      ['*.{csv,jsonl}', 'x.json', false],
      ['a+b(c).txt', 'a+b(c).txt', true],
      ['a.txt', 'abtxt', false],
    ];
    for (const [pattern, name, expected] of cases) expect(globToRegExp(pattern).test(name), `${pattern} ${name}`).toBe(expected);
  });

  it('refuses broken patterns', () => {
    expect(() => globToRegExp('[abc')).toThrow(IngestConfigError);
    expect(() => globToRegExp('{a,b')).toThrow(IngestConfigError);
    expect(() => globToRegExp('')).toThrow(IngestConfigError);
  });
});

describe('compileCriteria', () => {
  it('never takes unfinished names: dot-files and *.tmp', () => {
    const accepts = compileCriteria().accepts;
    expect(isIncompleteName('.data.csv')).toBe(true);
    expect(accepts('data.csv.tmp')).toBe(false);
    expect(accepts('DATA.TMP')).toBe(false);
    expect(accepts('.hidden')).toBe(false);
    expect(accepts('data.csv')).toBe(true);
  });

  it('combines include, exclude and extensions', () => {
    const { accepts } = compileCriteria({ include: ['press-*', 'mill-*'], exclude: ['*-draft*'], extensions: ['CSV', '.jsonl'] });
    expect(accepts('press-1.csv')).toBe(true);
    expect(accepts('mill-2.JSONL')).toBe(true);
    expect(accepts('press-1.txt')).toBe(false);
    expect(accepts('lathe-1.csv')).toBe(false);
    expect(accepts('press-draft.csv')).toBe(false);
    expect(extensionOf('noext')).toBe('');
    expect(extensionOf('.bashrc')).toBe('');
  });

  it('bounds the file size limit by the payload limit', () => {
    expect(compileCriteria().maxFileBytes).toBe(16 * 1024 * 1024);
    expect(() => compileCriteria({ maxFileBytes: 65 * 1024 * 1024 })).toThrow(IngestConfigError);
    expect(() => compileCriteria({ extensions: ['a/b'] })).toThrow(IngestConfigError);
  });
});

describe('compileRules', () => {
  it('picks the content type by explicit rule, line mode, extension, then default', () => {
    const rules = compileRules({
      contentTypeRules: [{ pattern: /^scan-/, contentType: 'application/vnd.scan' }],
      contentTypeByExtension: { dat: 'application/vnd.machine-data' },
      defaultContentType: 'application/x-unknown',
    });
    expect(rules.contentType('scan-1.csv')).toBe('application/vnd.scan');
    expect(rules.contentType('a.csv', 'text/csv')).toBe('text/csv');
    expect(rules.contentType('a.DAT')).toBe('application/vnd.machine-data');
    expect(rules.contentType('a.json')).toBe('application/json');
    expect(rules.contentType('a.bin')).toBe('application/x-unknown');
  });

  it('takes trace codes from named groups starting with "code", plus static ones, without duplicates', () => {
    const rules = compileRules({
      traceCodeRules: [/^(?<code>LOT-\d+)_(?<codeOrder>ORD\d+)?/g, /_(?<code>LOT-\d+)\./, /(?<other>x)/],
      traceCodes: ['LINE-3'],
    });
    expect(rules.traceCodes('LOT-17_ORD9_LOT-18.csv')).toEqual(['LINE-3', 'LOT-17', 'ORD9', 'LOT-18']);
    // A global RegExp keeps no state between files.
    expect(rules.traceCodes('LOT-17_ORD9_LOT-18.csv')).toEqual(['LINE-3', 'LOT-17', 'ORD9', 'LOT-18']);
    expect(rules.traceCodes('LOT-5_x.csv')).toEqual(['LINE-3', 'LOT-5']);
    expect(rules.traceCodes('plain.csv')).toEqual(['LINE-3']);
    expect(() => compileRules({ traceCodes: Array.from({ length: 33 }, (_, i) => `c${i}`) })).toThrow(IngestConfigError);
  });
});
