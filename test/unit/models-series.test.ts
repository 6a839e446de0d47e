/** Reading the hourly CSV: a bad file is refused with a typed error naming file:line and what was expected. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSeriesCsv, readSeriesCsv, SeriesError } from '../../models/series.js';

function refusal(text: string, target?: string): SeriesError {
  try {
    parseSeriesCsv(text, 'feeder.csv', target);
  } catch (err) {
    expect(err).toBeInstanceOf(SeriesError);
    return err as SeriesError;
  }
  throw new Error('the CSV was accepted');
}

const GOOD = ['timestamp,load', '2017-01-01 00:00,10', '2017-01-01 01:00,', '2017-01-01 02:00,12.5'].join('\n');

describe('parseSeriesCsv', () => {
  it('reads a complete hourly grid; an empty cell is a missing hour', () => {
    const s = parseSeriesCsv(GOOD, 'feeder.csv');
    expect(s.startMs).toBe(Date.UTC(2017, 0, 1));
    expect(Array.from(s.load)).toEqual([10, NaN, 12.5]);
    expect(s.temp).toBeUndefined();
  });

  it('CRLF line ends, a T in the timestamp, blank lines and a temperature column', () => {
    const s = parseSeriesCsv('timestamp,load,temp\r\n2017-01-01T00:00,10,3\r\n\r\n2017-01-01T01:00,11,\r\n', 'feeder.csv');
    expect(Array.from(s.load)).toEqual([10, 11]);
    expect(Array.from(s.temp!)).toEqual([3, NaN]);
  });

  it('a bad header: MODEL_DATA_FORMAT at line 1, saying which header is expected', () => {
    const e = refusal('time,load\n2017-01-01 00:00,1\n');
    expect(e.code).toBe('MODEL_DATA_FORMAT');
    expect(e.message).toBe("feeder.csv:1: expected a header 'timestamp,load[,temp]', got 'time,load'");
    expect(refusal('timestamp,power\n2017-01-01 00:00,1\n').code).toBe('MODEL_DATA_FORMAT');
  });

  it('a hole in the hourly grid: MODEL_DATA_GRID at its line (blank lines counted), naming the hour expected', () => {
    const e = refusal(['timestamp,load', '2017-01-01 00:00,1', '', '2017-01-01 01:00,1', '2017-01-01 03:00,1'].join('\n'));
    expect(e.code).toBe('MODEL_DATA_GRID');
    expect(e.message).toBe("feeder.csv:5: expected the hour 2017-01-01 02:00 (a complete hourly grid, missing hours as empty cells), got '2017-01-01 03:00'");
    // a repeated hour (the autumn clock change not averaged) is refused the same way
    expect(refusal(['timestamp,load', '2017-11-05 00:00,1', '2017-11-05 01:00,1', '2017-11-05 01:00,1'].join('\n')).message).toMatch(/^feeder\.csv:4: expected the hour 2017-11-05 02:00/);
  });

  it('a value that is not a number: MODEL_DATA_VALUE at its line, naming the column and the value', () => {
    const e = refusal(['timestamp,load', '2017-01-01 00:00,1', '2017-01-01 01:00,abc'].join('\n'));
    expect(e.code).toBe('MODEL_DATA_VALUE');
    expect(e.message).toBe("feeder.csv:3: load 'abc' is not a number");
    expect(refusal(['timestamp,load,temp', '2017-01-01 00:00,1,warm'].join('\n')).message).toBe("feeder.csv:2: temp 'warm' is not a number");
    expect(refusal(['timestamp,load', '2017-01-01 00:00,Infinity'].join('\n')).code).toBe('MODEL_DATA_VALUE');
  });

  it('a first timestamp that is not one, and a file with no rows', () => {
    const e = refusal('timestamp,load\n01/01/2017 00:00,1\n');
    expect(e.code).toBe('MODEL_DATA_FORMAT');
    expect(e.message).toBe("feeder.csv:2: expected a timestamp 'YYYY-MM-DD HH:MM', got '01/01/2017 00:00'");
    expect(refusal('timestamp,load\n\n').code).toBe('MODEL_DATA_EMPTY');
  });

  it('--target picks another column (case-insensitive); a missing one is named in the header expected', () => {
    const text = ['timestamp,load,Feeder2', '2017-01-01 00:00,10,200', '2017-01-01 01:00,11,'].join('\n');
    expect(Array.from(parseSeriesCsv(text, 'f.csv', 'feeder2').load)).toEqual([200, NaN]);
    expect(Array.from(parseSeriesCsv(text, 'f.csv').load)).toEqual([10, 11]);
    const e = refusal(text, 'feeder3');
    expect(e.code).toBe('MODEL_DATA_FORMAT');
    expect(e.message).toBe("feeder.csv:1: expected a header 'timestamp,feeder3[,temp]', got 'timestamp,load,Feeder2'");
    // the target column's name is what a bad value is reported under
    expect(refusal(['timestamp,load,feeder2', '2017-01-01 00:00,1,x'].join('\n'), 'feeder2').message).toBe("feeder.csv:2: feeder2 'x' is not a number");
  });

  it('readSeriesCsv names the file in its errors, and a missing file is ENOENT with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridos-series-'));
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'when,load\n');
    expect(() => readSeriesCsv(file)).toThrow(`${file}:1: expected a header`);
    const missing = join(dir, 'missing.csv');
    expect(() => readSeriesCsv(missing)).toThrow(expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining(missing) }));
  });
});
