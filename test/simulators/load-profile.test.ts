/**
 * Load profile: a CSV of hourly load becomes a per-unit series that matches the data at whole
 * hours, interpolates between them, fills missing hours, and refuses a file it would misread.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feederLoadPerUnit, loadSeriesFile, naiveMs, parseLoadCsv, perUnitAt } from '../../simulators/index.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

describe('parseLoadCsv', () => {
  it('fills a missing hour linearly from its neighbours and normalises to the peak', () => {
    const s = parseLoadCsv('t', 'timestamp,load\n2018-01-01 00:00,100\n2018-01-01 01:00,\n2018-01-01 02:00,300\n2018-01-01 03:00,400\n');
    expect([...s.perUnit]).toEqual([0.25, 0.5, 0.75, 1]);
    expect(s.startMs).toBe(Date.UTC(2018, 0, 1, 0));
  });

  it('fills a run of missing hours, and gaps at either end from the nearest value; reads CRLF and a temp column', () => {
    const s = parseLoadCsv('t', 'timestamp,load,temp\r\n2018-01-01 00:00,,20\r\n2018-01-01 01:00,100,21\r\n2018-01-01 02:00,,22\r\n2018-01-01 03:00,,23\r\n2018-01-01 04:00,400,24\r\n2018-01-01 05:00,,25\r\n');
    expect([...s.perUnit].map((v) => v * 400)).toEqual([100, 100, 200, 300, 400, 400]);
  });

  it('refuses a hole in the hourly grid, a load that is not a number, and a malformed timestamp', () => {
    expect(() => parseLoadCsv('hole', 'timestamp,load\n2018-01-01 00:00,1\n2018-01-01 02:00,2\n')).toThrow(/complete hourly grid/);
    expect(() => parseLoadCsv('nan', 'timestamp,load\n2018-01-01 00:00,1\n2018-01-01 01:00,abc\n')).toThrow(/not a number/);
    expect(() => parseLoadCsv('bad', 'timestamp,load\nyesterday,1\ntoday,2\n')).toThrow(/not a timestamp/);
    expect(() => parseLoadCsv('empty', 'timestamp,load\n2018-01-01 00:00,\n2018-01-01 01:00,\n')).toThrow(/no load values/);
  });
});

describe('perUnitAt', () => {
  const s = parseLoadCsv('t', 'timestamp,load\n2018-01-01 00:00,100\n2018-01-01 01:00,200\n2018-01-01 02:00,300\n2018-01-01 03:00,400\n');
  const t0 = naiveMs('2018-01-01 00:00');

  it('matches the data at whole hours and interpolates linearly between them', () => {
    expect(perUnitAt(s, t0 + 2 * HOUR_MS)).toBe(0.75);
    expect(perUnitAt(s, t0 + 2.5 * HOUR_MS)).toBeCloseTo(0.875, 12);
    expect(perUnitAt(s, t0 + 15 * 60_000)).toBeCloseTo(0.3125, 12);
  });

  it('wraps around outside the series', () => {
    expect(perUnitAt(s, t0 + 4 * HOUR_MS)).toBe(0.25);
    expect(perUnitAt(s, t0 - HOUR_MS)).toBe(1);
  });
});

describe('the replayed data', () => {
  const csv = readFileSync(new URL('../../simulators/data/pjm_dayton.csv', import.meta.url), 'utf8');
  const rows = csv.trim().split('\n').slice(1).map((l) => l.split(','));
  const peak = Math.max(...rows.map(([, v]) => (v ? Number(v) : 0)));
  const dayton = loadSeriesFile('pjm_dayton');

  it('gives the CSV load at whole hours, as a fraction of its peak', () => {
    for (const [ts, load] of [rows[0]!, rows[1000]!, rows[12_345]!, rows.at(-1)!]) {
      expect(perUnitAt(dayton, naiveMs(ts!)), ts).toBeCloseTo(Number(load) / peak, 12);
    }
    expect(Math.max(...dayton.perUnit)).toBe(1);
  });

  it('feeders 1 and 2 replay Dayton and AEP; feeder 3 replays Dayton three days later', () => {
    const series = [dayton, loadSeriesFile('pjm_aep')];
    const t = Date.UTC(2018, 6, 16, 17, 30);
    expect(feederLoadPerUnit(series, 0, t)).toBe(perUnitAt(dayton, t));
    expect(feederLoadPerUnit(series, 1, t)).toBe(perUnitAt(series[1]!, t));
    expect(feederLoadPerUnit(series, 1, t)).not.toBe(feederLoadPerUnit(series, 0, t));
    expect(feederLoadPerUnit(series, 2, t)).toBe(perUnitAt(dayton, t - 3 * DAY_MS));
    expect(feederLoadPerUnit(series, 3, t)).toBe(perUnitAt(series[1]!, t - 3 * DAY_MS));
  });
});
