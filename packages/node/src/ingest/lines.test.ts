import { describe, expect, it } from 'vitest';
import { InvalidJsonLineError, InvalidUtf8Error, TooManyTransactionsError, UnterminatedCsvQuoteError } from './errors.js';
import { assertMode, batchLines, decodeUtf8Strict, splitCsvRecords, splitLines } from './lines.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('splitLines', () => {
  it('splits on LF and CRLF, skips blank lines and keeps file line numbers', () => {
    expect(splitLines('a\r\nb\n\n  \nc')).toEqual([
      { text: 'a', line: 1, lastLine: 1 },
      { text: 'b', line: 2, lastLine: 2 },
      { text: 'c', line: 5, lastLine: 5 },
    ]);
    expect(splitLines('a\n')).toEqual([{ text: 'a', line: 1, lastLine: 1 }]);
    expect(splitLines('')).toEqual([]);
  });
});

describe('splitCsvRecords', () => {
  it('keeps line breaks and escaped quotes inside quoted fields', () => {
    const text = 'id,note\r\n1,"two\nlines"\n2,"say ""hi"""\n\n3,plain';
    expect(splitCsvRecords(text)).toEqual([
      { text: 'id,note', line: 1, lastLine: 1 },
      { text: '1,"two\nlines"', line: 2, lastLine: 3 },
      { text: '2,"say ""hi"""', line: 4, lastLine: 4 },
      { text: '3,plain', line: 6, lastLine: 6 },
    ]);
  });

  it('refuses a quote left open', () => {
    expect(() => splitCsvRecords('a,b\n1,"open\n2,x\n')).toThrow(UnterminatedCsvQuoteError);
  });
});

describe('decodeUtf8Strict', () => {
  it('drops a byte order mark and refuses invalid UTF-8', () => {
    expect(decodeUtf8Strict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('a');
    expect(() => decodeUtf8Strict(Uint8Array.of(0x61, 0xff))).toThrow(InvalidUtf8Error);
    expect(() => decodeUtf8Strict(Uint8Array.of(0xed, 0xa0, 0x80))).toThrow(InvalidUtf8Error); // a surrogate
  });
});

describe('batchLines', () => {
  it('puts N JSON lines in each transaction, joined with a newline', () => {
    const text = Array.from({ length: 7 }, (_, i) => JSON.stringify({ i, lot: `L${i % 2}` })).join('\n') + '\n';
    const batches = batchLines(bytes(text), { kind: 'jsonl', recordsPerTransaction: 3, traceCodeFields: ['lot'] }, 100);
    expect(batches.map((b) => [b.firstLine, b.lastLine])).toEqual([
      [1, 3],
      [4, 6],
      [7, 7],
    ]);
    expect(batches[0]!.text).toBe('{"i":0,"lot":"L0"}\n{"i":1,"lot":"L1"}\n{"i":2,"lot":"L0"}');
    expect(batches[0]!.traceCodes).toEqual(['L0', 'L1']);
    expect(batches[2]!.traceCodes).toEqual(['L0']);
  });

  it('names the first line that is not JSON', () => {
    const error = (() => {
      try {
        batchLines(bytes('{"a":1}\n\n{"b":\n'), { kind: 'jsonl' }, 100);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(InvalidJsonLineError);
    expect((error as InvalidJsonLineError).line).toBe(3);
  });

  it('repeats the CSV header at the top of every transaction', () => {
    const text = 'ts,temp\n1,20\n2,21\n3,22\n4,23\n5,24\n';
    const batches = batchLines(bytes(text), { kind: 'csv', recordsPerTransaction: 2 }, 100);
    expect(batches.map((b) => b.text)).toEqual(['ts,temp\n1,20\n2,21', 'ts,temp\n3,22\n4,23', 'ts,temp\n5,24']);
    expect(batches.map((b) => b.firstLine)).toEqual([2, 4, 6]);
    const noHeader = batchLines(bytes(text), { kind: 'csv', recordsPerTransaction: 4, header: false }, 100);
    expect(noHeader.map((b) => b.text)).toEqual(['ts,temp\n1,20\n2,21\n3,22', '4,23\n5,24']);
  });

  it('makes no transaction of a header-only CSV and bounds the transaction count', () => {
    expect(batchLines(bytes('a,b\n'), { kind: 'csv' }, 100)).toEqual([]);
    expect(() => batchLines(bytes('1\n2\n3\n'), { kind: 'jsonl' }, 2)).toThrow(TooManyTransactionsError);
    expect(batchLines(bytes('1\n2\n3\n'), { kind: 'jsonl', recordsPerTransaction: 2 }, 2)).toHaveLength(2);
  });

  it('checks the mode', () => {
    expect(() => assertMode({ kind: 'jsonl', recordsPerTransaction: 0 })).toThrow(/recordsPerTransaction/);
    expect(() => assertMode({ kind: 'xml' } as never)).toThrow(/mode.kind/);
    expect(() => assertMode({ kind: 'csv', recordsPerTransaction: 1000 })).not.toThrow();
  });
});
