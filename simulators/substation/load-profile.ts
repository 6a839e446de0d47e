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

export function parseLoadCsv(name: string, text: string): LoadSeries {
  const lines = text.trim().split('\n').slice(1);
  const values: (number | undefined)[] = lines.map((l) => {
    const cell = l.split(',')[1]?.trim();
    return cell ? Number(cell) : undefined;
  });
  if (values.length < 2 || values[0] === undefined) throw new Error(`${name}: needs at least two hours and a first value`);
  // Fill gaps linearly between the neighbours that exist.
  for (let i = 1; i < values.length; i++) {
    if (values[i] !== undefined) continue;
    let j = i;
    while (j < values.length && values[j] === undefined) j++;
    const before = values[i - 1]!;
    const after = values[j] ?? before;
    for (let k = i; k < j; k++) values[k] = before + ((after - before) * (k - i + 1)) / (j - i + 1);
    i = j;
  }
  const filled = values as number[];
  const peak = Math.max(...filled);
  return { name, startMs: naiveMs(lines[0]!.split(',')[0]!), perUnit: Float64Array.from(filled, (v) => v / peak) };
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
