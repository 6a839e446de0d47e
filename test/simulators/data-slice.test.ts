/**
 * The data slice under simulators/data: what the README says is there is there, unchanged
 * (SHA256SUMS), small, and attributed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLoadCsv } from '../../simulators/index.js';

const dataDir = new URL('../../simulators/data/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dataDir), 'utf8');
const csvFiles = readdirSync(dataDir).filter((f) => f.endsWith('.csv')).sort();

function range(name: string): [string, string, number] {
  const rows = read(name).trim().split('\n');
  return [rows[1]!.split(',')[0]!, rows.at(-1)!.split(',')[0]!, rows.length - 1];
}

describe('simulators/data', () => {
  it('holds the two PJM zones and the Malaysia series, at most 2 MB in all', () => {
    expect(csvFiles).toEqual(['malaysia.csv', 'pjm_aep.csv', 'pjm_dayton.csv']);
    const totalBytes = csvFiles.reduce((sum, f) => sum + statSync(new URL(f, dataDir)).size, 0);
    expect(totalBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
  });

  it('matches SHA256SUMS, which lists every file of the slice', () => {
    const sums = read('SHA256SUMS').trim().split('\n').map((l) => l.split(/\s+\*?/) as [string, string]);
    expect(sums.map(([, f]) => f).sort()).toEqual(csvFiles);
    for (const [hash, file] of sums) expect(createHash('sha256').update(readFileSync(new URL(file, dataDir))).digest('hex'), file).toBe(hash);
  });

  it('covers the ranges the README names, as complete hourly grids', () => {
    expect(range('pjm_dayton.csv')).toEqual(['2016-08-01 00:00', '2018-08-01 23:00', 731 * 24]);
    expect(range('pjm_aep.csv')).toEqual(['2016-08-01 00:00', '2018-08-01 23:00', 731 * 24]);
    expect(range('malaysia.csv')).toEqual(['2009-01-01 00:00', '2010-12-31 23:00', 730 * 24]);
    expect(read('malaysia.csv').split('\n')[0]).toBe('timestamp,load,temp');
    // parseLoadCsv refuses a hole in the grid.
    for (const f of csvFiles) expect(parseLoadCsv(f, read(f)).perUnit.length, f).toBeGreaterThan(17_000);
    const readme = read('README.md');
    for (const text of ['2016-08-01 00:00 .. 2018-08-01 23:00', '2009-01-01 00:00 .. 2010-12-31 23:00']) expect(readme).toContain(text);
  });

  it('keeps the attribution of both sources', () => {
    const readme = read('README.md');
    for (const text of ['PJM Interconnection', 'Hourly Energy Consumption', 'Mendeley Data', 'f4fcrh4tn9']) expect(readme).toContain(text);
  });
});
