/**
 * Feeder load from real hourly data (pure). A series is parsed once, missing hours filled by
 * linear interpolation, and normalised to its own peak; load at any simulated instant is
 * interpolated between the hours and scaled to a feeder's peak kW.
 *
 * Simulated time is the substation's local clock time written as if it were UTC ("naive local"),
 * the same convention as the CSV files, so a day always has 24 hours in the simulator.
 */
import { readFileSync } from 'node:fs';

export const HOUR_MS = 3_600_000;

export interface LoadSeries {
  name: string;
  /** Naive-local ms of the first hour. */
  startMs: number;
  /** Load per hour as a fraction of the series' peak (0..1]. */
  perUnit: Float64Array;
}

/** Parses "YYYY-MM-DD HH:MM" as naive local time. */
export function naiveMs(timestamp: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})$/.exec(timestamp.trim());
  if (!m) throw new Error(`not a timestamp 'YYYY-MM-DD HH:MM': '${timestamp}'`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!);
}

/**
 * Parses `timestamp,load[,...]` (a header line, then one complete hourly grid). A missing load is
 * interpolated between the neighbours that exist; gaps at either end take the nearest value.
 * Refuses anything else (a hole in the grid, a load that is not a number), since a quietly
 * shifted series would replay the wrong hours.
 */
export function parseLoadCsv(name: string, text: string): LoadSeries {
  const lines = text.split(/\r?\n/).slice(1).filter((l) => l.trim() !== '');
  if (lines.length < 2) throw new Error(`${name}: needs at least two hours of data`);
  const stamp = (i: number): string => lines[i]!.split(',')[0]!;
  const startMs = naiveMs(stamp(0));
  const endMs = naiveMs(stamp(lines.length - 1));
  if (endMs - startMs !== (lines.length - 1) * HOUR_MS) throw new Error(`${name}: not a complete hourly grid (${lines.length} rows from ${stamp(0)} to ${stamp(lines.length - 1)})`);
  const values: (number | undefined)[] = lines.map((l, i) => {
    const cell = l.split(',')[1]?.trim();
    if (!cell) return undefined;
    const v = Number(cell);
    if (!Number.isFinite(v)) throw new Error(`${name}: load '${cell}' at ${stamp(i)} is not a number`);
    return v;
  });
  const filled = fillGaps(values);
  if (!filled) throw new Error(`${name}: no load values`);
  const peak = Math.max(...filled);
  if (!(peak > 0)) throw new Error(`${name}: peak load must be positive, got ${peak}`);
  return { name, startMs, perUnit: Float64Array.from(filled, (v) => v / peak) };
}

/** Linear interpolation over runs of missing values; undefined if every value is missing. */
function fillGaps(values: readonly (number | undefined)[]): number[] | undefined {
  if (values.every((v) => v === undefined)) return undefined;
  const out = new Array<number>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined) {
      out[i] = v;
      continue;
    }
    let before = i - 1;
    while (before >= 0 && values[before] === undefined) before--;
    let after = i + 1;
    while (after < values.length && values[after] === undefined) after++;
    const a = before >= 0 ? values[before]! : undefined;
    const b = after < values.length ? values[after]! : undefined;
    out[i] = a === undefined ? b! : b === undefined ? a : a + ((b - a) * (i - before)) / (after - before);
  }
  return out;
}

export function loadSeriesFile(name: string): LoadSeries {
  return parseLoadCsv(name, readFileSync(new URL(`../data/${name}.csv`, import.meta.url), 'utf8'));
}

/** Per-unit load at `simMs`, interpolated between hours; time outside the series wraps around. */
export function perUnitAt(series: LoadSeries, simMs: number): number {
  const n = series.perUnit.length;
  const hours = (simMs - series.startMs) / HOUR_MS;
  const wrapped = ((hours % n) + n) % n;
  const i = Math.floor(wrapped);
  const frac = wrapped - i;
  const a = series.perUnit[i]!;
  const b = series.perUnit[(i + 1) % n]!;
  return a + (b - a) * frac;
}
