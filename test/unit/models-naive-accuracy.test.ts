/** The seasonal-naive reference and the accuracy meter every score is computed with. */
import { describe, expect, it } from 'vitest';
import { AccuracyMeter } from '../../models/accuracy.js';
import { seasonalNaive } from '../../models/naive.js';
import { DAY_MS, HOUR_MS, indexOf, readSeriesCsv, type HourlySeries } from '../../models/series.js';

const DAYTON = readSeriesCsv('simulators/data/pjm_dayton.csv');
const ISSUE = Date.UTC(2017, 2, 15);

/** Three weeks before ISSUE and one day after it, load[i] = 1000 + i. */
function ramp(): HourlySeries {
  return { startMs: ISSUE - 21 * DAY_MS, load: new Float64Array(22 * 24).map((_, i) => 1000 + i) };
}
const t0 = 21 * 24;

describe('seasonal naive', () => {
  it('day-ahead: each hour is the same hour yesterday, a week earlier when yesterday is missing', () => {
    const s = ramp();
    s.load[t0 + 5 - 24] = NaN;
    const r = seasonalNaive(s, ISSUE, 'day-ahead');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const expected = Array.from({ length: 24 }, (_, h) => 1000 + t0 + h - (h === 5 ? 168 : 24));
    expect(Array.from(r.forecast.load)).toEqual(expected);
  });

  it('hour-ahead: the same hour yesterday', () => {
    const issue = ISSUE + 7 * HOUR_MS;
    const r = seasonalNaive(ramp(), issue, 'hour-ahead');
    expect(r.ok && Array.from(r.forecast.load)).toEqual([1000 + t0 + 7 - 24]);
  });

  it('neither yesterday nor a week earlier known: INSUFFICIENT_DATA', () => {
    const s = ramp();
    s.load[t0 + 5 - 24] = NaN;
    s.load[t0 + 5 - 168] = NaN;
    const r = seasonalNaive(s, ISSUE, 'day-ahead');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('INSUFFICIENT_DATA');
  });

  it('never reads the issue hour or later: a future hour that is known does not stand in for a missing one', () => {
    const s = ramp();
    const a = seasonalNaive(s, ISSUE, 'day-ahead');
    const spoiled = { ...s, load: s.load.map((v, i) => (i >= t0 ? -1 : v)) };
    const b = seasonalNaive(spoiled, ISSUE, 'day-ahead');
    expect(a.ok && b.ok).toBe(true);
    if (a.ok && b.ok) {
      expect(Array.from(b.forecast.load)).toEqual(Array.from(a.forecast.load));
      expect(Array.from(b.forecast.p10)).toEqual(Array.from(a.forecast.p10));
      expect(Array.from(b.forecast.p90)).toEqual(Array.from(a.forecast.p90));
    }
  });

  it('pjm_dayton, every day and every 5th hour: equals yesterday (or a week earlier) and p10 <= load <= p90 with a real band', () => {
    let checked = 0;
    let widened = 0;
    for (const horizon of ['day-ahead', 'hour-ahead'] as const) {
      const every = horizon === 'day-ahead' ? DAY_MS : 5 * HOUR_MS;
      const steps = horizon === 'day-ahead' ? 24 : 1;
      for (let t = DAYTON.startMs + 14 * DAY_MS; t < DAYTON.startMs + DAYTON.load.length * HOUR_MS; t += every) {
        const r = seasonalNaive(DAYTON, t, horizon);
        expect(r.ok, new Date(t).toISOString()).toBe(true);
        if (!r.ok) continue;
        const i0 = indexOf(DAYTON, t);
        for (let s = 0; s < steps; s++) {
          const yesterday = DAYTON.load[i0 + s - 24]!;
          expect(r.forecast.load[s]).toBe(Number.isNaN(yesterday) ? DAYTON.load[i0 + s - 168] : yesterday);
          expect(r.forecast.p10[s]!).toBeLessThanOrEqual(r.forecast.load[s]!);
          expect(r.forecast.load[s]!).toBeLessThanOrEqual(r.forecast.p90[s]!);
          if (r.forecast.p90[s]! > r.forecast.p10[s]!) widened++;
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(20_000);
    expect(widened).toBe(checked);
  });

  // Once a bug (found by this suite): the band was relative to the load, flipping for negative loads.
  it('a negative load (net export) still has p10 <= load <= p90', () => {
    const load = new Float64Array(22 * 24).map((_, i) => (i % 24 === 12 ? -20 : 100 + 10 * Math.sin(i / 5)));
    const r = seasonalNaive({ startMs: ISSUE - 21 * DAY_MS, load }, ISSUE, 'day-ahead');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.forecast.load[12]).toBe(-20);
    expect(r.forecast.p10[12]!).toBeLessThanOrEqual(-20);
    expect(r.forecast.p90[12]!).toBeGreaterThanOrEqual(-20);
  });
});

describe('AccuracyMeter', () => {
  it('MAPE, MAE, RMSE and bias of a hand-computed case', () => {
    const m = new AccuracyMeter();
    m.addAll([110, 90, 100], [100, 100, 50]);
    // errors +10, -10, +50: APE 10 %, 10 %, 100 %
    const r = m.result();
    expect(r.n).toBe(3);
    expect(r.mape).toBeCloseTo(40, 12);
    expect(r.mae).toBeCloseTo(70 / 3, 12);
    expect(r.rmse).toBeCloseTo(30, 12);
    expect(r.bias).toBeCloseTo(50 / 3, 12);
    expect(r.bandCoverage).toBeUndefined();
  });

  it('zero, NaN and infinite actuals are skipped, not counted as errors', () => {
    const m = new AccuracyMeter();
    m.add(120, 100);
    m.add(50, 0);
    m.add(50, NaN);
    m.add(50, Infinity);
    m.add(80, 100);
    const r = m.result();
    expect(r.n).toBe(2);
    expect(r.mape).toBeCloseTo(20, 12);
    expect(r.mae).toBeCloseTo(20, 12);
    expect(r.rmse).toBeCloseTo(20, 12);
    expect(r.bias).toBeCloseTo(0, 12);
  });

  it('negative actuals count by their absolute value; an empty meter reports NaN, not 0', () => {
    const m = new AccuracyMeter();
    m.add(-90, -100);
    expect(m.result().mape).toBeCloseTo(10, 12);
    expect(m.result().bias).toBeCloseTo(10, 12);
    const empty = new AccuracyMeter().result();
    expect(empty.n).toBe(0);
    expect(empty.mape).toBeNaN();
    expect(empty.mae).toBeNaN();
  });

  it('band coverage: the share of actuals inside [p10, p90], edges included', () => {
    const m = new AccuracyMeter();
    m.addAll([100, 100, 100, 100], [95, 90, 111, 110], [90, 90, 90, 90], [110, 110, 110, 110]);
    expect(m.result().bandCoverage).toBeCloseTo(0.75, 12);
  });
});
