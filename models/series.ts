/**
 * An hourly load series as the forecasting code sees it: one value per hour on a complete grid,
 * NaN where the hour is missing. Time is "naive local" (the local clock time written as if it
 * were UTC), as in the CSV files: a day always has 24 hours and hour-of-day needs no time zone.
 */
import { readFileSync } from 'node:fs';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface HourlySeries {
  /** Naive-local ms of the first hour. */
  startMs: number;
  /** Load per hour; NaN where missing. */
  load: Float64Array;
  /** Temperature per hour (deg C) when the source has it; NaN where missing. */
  temp?: Float64Array;
}

export class SeriesError extends Error {
  override readonly name = 'SeriesError';
  constructor(
    readonly code: 'MODEL_DATA_FORMAT' | 'MODEL_DATA_GRID' | 'MODEL_DATA_VALUE' | 'MODEL_DATA_EMPTY',
    message: string,
  ) {
    super(message);
  }
}

/** Parses "YYYY-MM-DD HH:MM" (or with a T) as naive local ms; undefined when it is not one. */
export function parseNaiveMs(text: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::\d{2})?)?$/.exec(text.trim());
  if (!m) return undefined;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0));
}

export function formatNaive(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/**
 * Reads `timestamp,load[,temp]` (a header, then one complete hourly grid; an empty cell is a
 * missing hour). Refuses a hole in the grid or a value that is not a number, naming the line:
 * a quietly shifted series would train a model on the wrong hours.
 */
export function parseSeriesCsv(text: string, file = 'data', target = 'load'): HourlySeries {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const loadCol = header.indexOf(target.toLowerCase());
  if (header[0] !== 'timestamp' || loadCol < 1) {
    throw new SeriesError('MODEL_DATA_FORMAT', `${file}:1: expected a header 'timestamp,${target}[,temp]', got '${lines[0] ?? ''}'`);
  }
  const tempCol = header.indexOf('temp');
  const rows: string[][] = [];
  const lineNo: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.trim() === '') continue;
    rows.push(l.split(','));
    lineNo.push(i + 1);
  }
  if (rows.length === 0) throw new SeriesError('MODEL_DATA_EMPTY', `${file}: no rows after the header`);
  const startMs = parseNaiveMs(rows[0]![0]!);
  if (startMs === undefined) throw new SeriesError('MODEL_DATA_FORMAT', `${file}:${lineNo[0]}: expected a timestamp 'YYYY-MM-DD HH:MM', got '${rows[0]![0]}'`);
  const load = new Float64Array(rows.length);
  const temp = tempCol >= 0 ? new Float64Array(rows.length) : undefined;
  const cell = (r: string[], col: number, what: string, at: number): number => {
    const c = r[col]?.trim() ?? '';
    if (c === '') return NaN;
    const v = Number(c);
    if (!Number.isFinite(v)) throw new SeriesError('MODEL_DATA_VALUE', `${file}:${at}: ${what} '${c}' is not a number`);
    return v;
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const ts = parseNaiveMs(r[0]!);
    if (ts !== startMs + i * HOUR_MS) {
      const expected = formatNaive(startMs + i * HOUR_MS);
      throw new SeriesError('MODEL_DATA_GRID', `${file}:${lineNo[i]}: expected the hour ${expected} (a complete hourly grid, missing hours as empty cells), got '${r[0]}'`);
    }
    load[i] = cell(r, loadCol, target, lineNo[i]!);
    if (temp) temp[i] = cell(r, tempCol, 'temp', lineNo[i]!);
  }
  return temp ? { startMs, load, temp } : { startMs, load };
}

export function readSeriesCsv(file: string, target = 'load'): HourlySeries {
  return parseSeriesCsv(readFileSync(file, 'utf8'), file, target);
}

/** Index of the hour that starts at `ms` (may be outside the series). */
export function indexOf(series: HourlySeries, ms: number): number {
  return Math.floor((ms - series.startMs) / HOUR_MS);
}

export function endMs(series: HourlySeries): number {
  return series.startMs + series.load.length * HOUR_MS;
}
