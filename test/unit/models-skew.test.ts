/**
 * No train/serve skew: for every issue time of the real data, the row `buildDataset` trains on
 * is, bit for bit, what `buildFeatures` gives the edge when it serves the same history: cut
 * right before the issue time, as the edge's 15-day window, or with garbage after the issue time
 * (the serving path never reads the future).
 */
import { describe, expect, it } from 'vitest';
import { US_HOLIDAYS } from '../../models/calendar.js';
import { buildDataset } from '../../models/dataset.js';
import { buildFeatures, featureNames, type FeatureSpec } from '../../models/features.js';
import { endMs, HOUR_MS, indexOf, readSeriesCsv, type HourlySeries } from '../../models/series.js';

const DAYTON = readSeriesCsv('simulators/data/pjm_dayton.csv');
const MALAYSIA = readSeriesCsv('simulators/data/malaysia.csv');
/** The history the edge's scheduler hands the model runtime (edge/forecast/scheduler.ts). */
const EDGE_WINDOW_HOURS = 15 * 24;

function bytes(a: Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Row r of the dataset's features. */
function row(x: Float64Array, featureCount: number, r: number): Float64Array {
  return x.subarray(r * featureCount, (r + 1) * featureCount);
}

/** The series up to (not including) the hour at `issueMs`. */
function cut(s: HourlySeries, issueMs: number): HourlySeries {
  const t0 = indexOf(s, issueMs);
  return { startMs: s.startMs, load: s.load.subarray(0, t0), ...(s.temp ? { temp: s.temp.subarray(0, t0) } : {}) };
}

/** The last `hours` hours before `issueMs`, NaN where the series has none: the edge's LoadHistory.before(). */
function window(s: HourlySeries, issueMs: number, hours: number): HourlySeries {
  const startMs = issueMs - hours * HOUR_MS;
  const from = indexOf(s, startMs);
  const pick = (a: Float64Array): Float64Array => new Float64Array(hours).map((_, i) => (from + i >= 0 ? (a[from + i] ?? NaN) : NaN));
  return { startMs, load: pick(s.load), ...(s.temp ? { temp: pick(s.temp) } : {}) };
}

/** The whole series with every hour from `issueMs` on replaced by garbage (NaN, huge, negative, zero). */
function poisoned(s: HourlySeries, issueMs: number): HourlySeries {
  const t0 = indexOf(s, issueMs);
  const junk = [NaN, 1e12, -5e6, 0];
  const spoil = (a: Float64Array): Float64Array => a.map((v, i) => (i < t0 ? v : junk[i % junk.length]!));
  return { startMs: s.startMs, load: spoil(s.load), ...(s.temp ? { temp: spoil(s.temp) } : {}) };
}

/**
 * Checks the rows of `issues` (indexes into the dataset) against the three serving histories;
 * returns how many compared rows had lag hours filled in by the missing-data rule.
 */
function expectSameAsServed(series: HourlySeries, spec: FeatureSpec, rows: Iterable<number>, poison: (r: number) => boolean): { compared: number; withFilled: number } {
  const d = buildDataset(series, spec, series.startMs, endMs(series));
  let compared = 0;
  let withFilled = 0;
  for (const r of rows) {
    const issueMs = d.issueMs[r]!;
    const label = `${spec.horizon} ${new Date(issueMs).toISOString()}`;
    const trained = bytes(row(d.x, d.featureCount, r));
    const histories: [string, HourlySeries][] = [
      ['cut', cut(series, issueMs)],
      ['edge window', window(series, issueMs, EDGE_WINDOW_HOURS)],
    ];
    if (poison(r)) histories.push(['future garbage', poisoned(series, issueMs)]);
    for (const [name, history] of histories) {
      const served = buildFeatures(history, issueMs, spec);
      expect(served.ok, `${label} ${name}`).toBe(true);
      if (!served.ok) continue;
      expect(bytes(served.features.values).equals(trained), `${label} ${name}: features differ`).toBe(true);
      expect(served.features.scale, `${label} ${name}: scale`).toBe(d.scale[r]);
      if (served.features.filled > 0) withFilled++;
    }
    // the target is relative to that same scale
    expect(d.y[r * d.steps]! * d.scale[r]!).toBeCloseTo(series.load[indexOf(series, issueMs)]!, 6);
    compared++;
  }
  return { compared, withFilled };
}

/** Dataset rows whose issue time has a filled-in lag (the missing-data rule at work). */
function rowsWithFilled(series: HourlySeries, spec: FeatureSpec): number[] {
  const d = buildDataset(series, spec, series.startMs, endMs(series));
  const out: number[] = [];
  for (let r = 0; r < d.n; r++) {
    const f = buildFeatures(series, d.issueMs[r]!, spec);
    if (f.ok && f.features.filled > 0) out.push(r);
  }
  return out;
}

describe('feature builder: the same features in training and serving', () => {
  it('pjm_dayton day-ahead: every training row equals what the edge would serve', () => {
    const spec: FeatureSpec = { horizon: 'day-ahead', withTemperature: false, calendar: US_HOLIDAYS };
    const d = buildDataset(DAYTON, spec, DAYTON.startMs, endMs(DAYTON));
    expect(d.n).toBeGreaterThan(700);
    expect(d.featureCount).toBe(featureNames(spec).length);
    const { compared, withFilled } = expectSameAsServed(DAYTON, spec, Array.from({ length: d.n }, (_, r) => r), (r) => r % 10 === 0);
    expect(compared).toBe(d.n);
    // the two missing hours of the file are inside some rows' lags: the fill rule is covered too
    expect(withFilled).toBeGreaterThan(0);
  }, 30_000);

  it('pjm_dayton hour-ahead: every 13th hour and every hour with a filled-in lag', () => {
    const spec: FeatureSpec = { horizon: 'hour-ahead', withTemperature: false, calendar: US_HOLIDAYS };
    const filled = rowsWithFilled(DAYTON, spec);
    expect(filled.length).toBeGreaterThan(0);
    const d = buildDataset(DAYTON, spec, DAYTON.startMs, endMs(DAYTON));
    expect(d.n).toBeGreaterThan(17_000);
    const rows = new Set([...Array.from({ length: Math.ceil(d.n / 13) }, (_, i) => i * 13), ...filled]);
    const { withFilled } = expectSameAsServed(DAYTON, spec, rows, (r) => r % 397 === 0);
    expect(withFilled).toBeGreaterThan(0);
  }, 30_000);

  it('malaysia with temperature, both horizons: lags and temperature lags the same', () => {
    for (const horizon of ['day-ahead', 'hour-ahead'] as const) {
      const spec: FeatureSpec = { horizon, withTemperature: true, calendar: US_HOLIDAYS };
      const d = buildDataset(MALAYSIA, spec, MALAYSIA.startMs, endMs(MALAYSIA));
      expect(d.n).toBeGreaterThan(600);
      const stride = horizon === 'day-ahead' ? 1 : 29;
      const rows = Array.from({ length: Math.ceil(d.n / stride) }, (_, i) => i * stride);
      expectSameAsServed(MALAYSIA, spec, rows, (r) => r % (horizon === 'day-ahead' ? 25 : 401) === 0);
    }
  }, 30_000);

  it('garbage from the issue time on changes nothing; the same garbage an hour earlier does', () => {
    const spec: FeatureSpec = { horizon: 'day-ahead', withTemperature: true, calendar: US_HOLIDAYS };
    const issueMs = Date.UTC(2010, 5, 15);
    const clean = buildFeatures(MALAYSIA, issueMs, spec);
    const spoiled = buildFeatures(poisoned(MALAYSIA, issueMs), issueMs, spec);
    expect(clean.ok && spoiled.ok).toBe(true);
    if (!clean.ok || !spoiled.ok) return;
    expect(bytes(spoiled.features.values).equals(bytes(clean.features.values))).toBe(true);
    // non-vacuous: the builder does read the hour just before issue
    const early = poisoned(MALAYSIA, issueMs - HOUR_MS);
    early.load[indexOf(MALAYSIA, issueMs) - 1] = 1e6;
    early.temp![indexOf(MALAYSIA, issueMs) - 1] = 40;
    const changed = buildFeatures(early, issueMs, spec);
    expect(changed.ok).toBe(true);
    if (changed.ok) expect(bytes(changed.features.values).equals(bytes(clean.features.values))).toBe(false);
  });
});
