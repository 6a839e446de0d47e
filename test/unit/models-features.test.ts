/**
 * The feature builder, pinned on small synthetic histories whose features are computed by hand:
 * lags over their scale, calendar of the target, time of year, temperature lags, and the
 * missing-data rule. (Training and serving giving the same rows: models-skew.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { calendarFromDates, NO_HOLIDAYS, US_HOLIDAYS } from '../../models/calendar.js';
import { buildFeatures, featureNames, type FeatureResult, type Features, type FeatureSpec } from '../../models/features.js';
import { DAY_MS, HOUR_MS, type HourlySeries } from '../../models/series.js';

/** Tuesday 4 July 2017, Independence Day: the issue time of most cases below. */
const JULY_4 = Date.UTC(2017, 6, 4);
const DAY_AHEAD: FeatureSpec = { horizon: 'day-ahead', withTemperature: false, calendar: US_HOLIDAYS };
const HOUR_AHEAD: FeatureSpec = { horizon: 'hour-ahead', withTemperature: false, calendar: US_HOLIDAYS };

/**
 * Two weeks of load before `issueMs` (plus `after` hours from it), load[i] = 100 + i: the load
 * k hours before issue is 100 + 336 - k, so the 168 lag hours hold 268..435 and their mean is 351.5.
 */
function ramp(issueMs: number, after = 0): HourlySeries {
  const load = new Float64Array(336 + after).map((_, i) => 100 + i);
  return { startMs: issueMs - 336 * HOUR_MS, load };
}
const RAMP_SCALE = 351.5;
/** Load of the hour `k` hours before issue in `ramp`. */
const rampLoad = (k: number): number => 436 - k;

function ok(r: FeatureResult): Features {
  if (!r.ok) throw new Error(`expected features, got ${r.code}: ${r.message}`);
  return r.features;
}

/** The features of `r` by their names in `spec`. */
function named(spec: FeatureSpec, r: FeatureResult): Record<string, number> & { scale: number; filled: number } {
  const f = ok(r);
  const names = featureNames(spec);
  expect(f.values.length).toBe(names.length);
  const out: Record<string, number> = {};
  names.forEach((n, i) => (out[n] = f.values[i]!));
  return Object.assign(out, { scale: f.scale, filled: f.filled });
}

describe('feature builder: features pinned by hand', () => {
  it('day-ahead on Independence Day: lags / scale, Tuesday, holiday, no holiday in the week before, time of year', () => {
    const f = ok(buildFeatures(ramp(JULY_4), JULY_4, DAY_AHEAD));
    expect(f.scale).toBe(RAMP_SCALE);
    expect(f.filled).toBe(0);
    const expected: number[] = [];
    for (let k = 168; k >= 1; k--) expected.push(rampLoad(k) / RAMP_SCALE);
    expected.push(0, 0, 1, 0, 0, 0, 0); // dow_0..6: Tuesday
    expected.push(1); // holiday
    expected.push(0, 0, 0, 0, 0, 0, 0); // holiday_prev_1..7: 3 July .. 27 June
    const angle = (2 * Math.PI * 184) / 365; // 4 July is 184 days after 1 January 2017
    expected.push(Math.sin(angle), Math.cos(angle));
    expect(f.values.length).toBe(185);
    expected.forEach((v, i) => expect(f.values[i], featureNames(DAY_AHEAD)[i]).toBeCloseTo(v, 12));
  });

  it('hour-ahead at 13:00 on Independence Day: hour one-hot, holiday of the day before, time of year to the hour', () => {
    const issue = JULY_4 + 13 * HOUR_MS;
    const f = named(HOUR_AHEAD, buildFeatures(ramp(issue), issue, HOUR_AHEAD));
    expect(featureNames(HOUR_AHEAD).length).toBe(168 + 7 + 1 + 24 + 1 + 2);
    expect(f.lag_1h).toBe(rampLoad(1) / RAMP_SCALE);
    expect(f.lag_168h).toBe(rampLoad(168) / RAMP_SCALE);
    for (let h = 0; h < 24; h++) expect(f[`hour_${h}`], `hour_${h}`).toBe(h === 13 ? 1 : 0);
    for (let d = 0; d < 7; d++) expect(f[`dow_${d}`], `dow_${d}`).toBe(d === 2 ? 1 : 0);
    expect(f.holiday).toBe(1);
    expect(f.holiday_prev_1).toBe(0);
    const angle = (2 * Math.PI * (184 * 24 + 13)) / (365 * 24);
    expect(f.doy_sin).toBeCloseTo(Math.sin(angle), 12);
    expect(f.doy_cos).toBeCloseTo(Math.cos(angle), 12);
  });

  it('time of year: 1 January is angle 0, a leap year divides by 366 days', () => {
    const jan1 = Date.UTC(2018, 0, 1);
    const a = named(DAY_AHEAD, buildFeatures(ramp(jan1), jan1, DAY_AHEAD));
    expect(a.doy_sin).toBeCloseTo(0, 12);
    expect(a.doy_cos).toBeCloseTo(1, 12);
    const leap = Date.UTC(2016, 6, 2); // 183 days after 1 January 2016
    const b = named(DAY_AHEAD, buildFeatures(ramp(leap), leap, DAY_AHEAD));
    expect(b.doy_sin).toBeCloseTo(Math.sin((2 * Math.PI * 183) / 366), 12);
    expect(b.doy_cos).toBeCloseTo(Math.cos((2 * Math.PI * 183) / 366), 12);
  });

  it('the day after Christmas 2016 (a Sunday): 26 December is the observed holiday, 24-25 December are holidays too', () => {
    const issue = Date.UTC(2016, 11, 27); // Tuesday
    const f = named(DAY_AHEAD, buildFeatures(ramp(issue), issue, DAY_AHEAD));
    expect(f.dow_2).toBe(1);
    expect(f.holiday).toBe(0);
    expect([1, 2, 3, 4, 5, 6, 7].map((d) => f[`holiday_prev_${d}`])).toEqual([1, 1, 1, 0, 0, 0, 0]);
    // with no calendar the same history has no holiday at all
    const none = named({ ...DAY_AHEAD, calendar: NO_HOLIDAYS }, buildFeatures(ramp(issue), issue, { ...DAY_AHEAD, calendar: NO_HOLIDAYS }));
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((d) => (d === 0 ? none.holiday : none[`holiday_prev_${d}`]))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('US calendar: fixed days with their observed weekday, Thanksgiving and the day after, moving Mondays', () => {
    const day = (y: number, m: number, d: number): number => Date.UTC(y, m - 1, d) / DAY_MS;
    const holidays = [
      [2016, 7, 4], [2017, 7, 4], [2016, 12, 25], [2016, 12, 26], [2016, 12, 24], [2016, 12, 31],
      [2017, 1, 1], [2017, 1, 2], // New Year 2017 on a Sunday: observed Monday 2 January
      [2020, 7, 4], [2020, 7, 3], // 4 July 2020 on a Saturday: observed Friday 3 July
      [2016, 11, 24], [2016, 11, 25], [2017, 11, 23], [2017, 11, 24],
      [2017, 1, 16], [2017, 2, 20], [2017, 5, 29], [2017, 9, 4], // MLK, Presidents', Memorial, Labor Day
    ] as const;
    for (const [y, m, d] of holidays) expect(US_HOLIDAYS.isHoliday(day(y, m, d)), `${y}-${m}-${d}`).toBe(true);
    const workdays = [[2017, 7, 3], [2017, 7, 5], [2016, 11, 23], [2016, 11, 26], [2017, 11, 22], [2017, 3, 15], [2016, 12, 27], [2017, 5, 22]] as const;
    for (const [y, m, d] of workdays) expect(US_HOLIDAYS.isHoliday(day(y, m, d)), `${y}-${m}-${d}`).toBe(false);
  });

  it('a calendar read from dates marks those days and no other', () => {
    const cal = calendarFromDates('# regional\n2017-07-04\n\n2017-03-15 # a local fair\n', 'file:test');
    expect(cal.dates).toEqual(['2017-07-04', '2017-03-15']);
    expect(cal.isHoliday(Date.UTC(2017, 2, 15) / DAY_MS)).toBe(true);
    expect(cal.isHoliday(Date.UTC(2017, 11, 25) / DAY_MS)).toBe(false);
    expect(() => calendarFromDates('2017-07-04 12:00', 'x', 'cal.txt')).toThrow(/cal\.txt:1: expected a date/);
  });

  it('temperature lags: (T - 15) / 10 for the 24 hours before issue; a missing hour takes the previous hour\'s', () => {
    const series = ramp(JULY_4);
    const temp = new Float64Array(336).map((_, i) => i % 30);
    temp[336 - 10] = NaN; // takes the hour before it (336 - 11)
    temp[336 - 5] = NaN; // two in a row: both take 336 - 6
    temp[336 - 4] = NaN;
    const spec: FeatureSpec = { ...DAY_AHEAD, withTemperature: true };
    const f = named(spec, buildFeatures({ ...series, temp }, JULY_4, spec));
    expect(featureNames(spec).length).toBe(185 + 24);
    const t = (k: number): number => ((336 - k) % 30 - 15) / 10;
    for (let k = 24; k >= 1; k--) {
      const source = k === 10 ? 11 : k === 5 || k === 4 ? 6 : k;
      expect(f[`temp_lag_${k}h`], `temp_lag_${k}h`).toBeCloseTo(t(source), 12);
    }
    // no temperature at all in the series: every lag is 15 deg C, zero after scaling
    const g = named(spec, buildFeatures(series, JULY_4, spec));
    for (let k = 24; k >= 1; k--) expect(g[`temp_lag_${k}h`]).toBe(0);
  });
});

describe('feature builder: the missing-data rule', () => {
  const build = (holes: number[], spec: FeatureSpec = DAY_AHEAD): FeatureResult => {
    const s = ramp(JULY_4);
    for (const k of holes) s.load[336 - k] = NaN; // k hours before issue
    return buildFeatures(s, JULY_4, spec);
  };

  it('a missing lag takes the load 24 hours earlier, and the scale is the mean of the filled lags', () => {
    const f = named(DAY_AHEAD, build([50]));
    expect(f.filled).toBe(1);
    const scale = (RAMP_SCALE * 168 - 24) / 168;
    expect(f.scale).toBeCloseTo(scale, 12);
    expect(f.lag_50h).toBeCloseTo(rampLoad(74) / scale, 12);
    expect(f.lag_49h).toBeCloseTo(rampLoad(49) / scale, 12);
  });

  it('else the load 168 hours earlier, else the hour before it as filled', () => {
    const week = named(DAY_AHEAD, build([150, 174]));
    expect(week.filled).toBe(1);
    expect(week.lag_150h! * week.scale).toBeCloseTo(rampLoad(318), 9);
    const previous = named(DAY_AHEAD, build([150, 174, 318]));
    expect(previous.lag_150h! * previous.scale).toBeCloseTo(rampLoad(151), 9);
    // a run of holes: each takes the one before it, already filled
    const run = named(DAY_AHEAD, build([150, 149, 174, 173, 318, 317]));
    expect(run.filled).toBe(2);
    expect(run.lag_149h! * run.scale).toBeCloseTo(rampLoad(151), 9);
  });

  it('16 of 168 lag hours missing (9.5 %) are filled in; 17 (10.1 %) are INSUFFICIENT_DATA', () => {
    const hours = (n: number): number[] => Array.from({ length: n }, (_, i) => 20 + i);
    expect(named(DAY_AHEAD, build(hours(16))).filled).toBe(16);
    const r = build(hours(17));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.code).toBe('INSUFFICIENT_DATA');
    // the share is configurable, and used as given
    expect(buildFeatures(ramp(JULY_4), JULY_4, { ...DAY_AHEAD, maxMissingFraction: 0 }).ok).toBe(true);
    const s = ramp(JULY_4);
    s.load[336 - 30] = NaN;
    expect(buildFeatures(s, JULY_4, { ...DAY_AHEAD, maxMissingFraction: 0 }).ok).toBe(false);
  });

  it('any of the last 3 hours missing is INSUFFICIENT_DATA, for both horizons; the 4th hour is filled in', () => {
    for (const spec of [DAY_AHEAD, HOUR_AHEAD]) {
      for (const k of [1, 2, 3]) {
        const r = build([k], spec);
        expect(r.ok, `${spec.horizon} lag_${k}h`).toBe(false);
        if (!r.ok) expect(r.code).toBe('INSUFFICIENT_DATA');
      }
      expect(named(spec, build([4], spec)).filled).toBe(1);
    }
  });

  it('a history that ends early, starts too late or averages to zero gives no features', () => {
    const s = ramp(JULY_4);
    expect(buildFeatures({ startMs: s.startMs, load: s.load.subarray(0, 335) }, JULY_4, DAY_AHEAD).ok).toBe(false);
    expect(buildFeatures({ startMs: JULY_4 - 100 * HOUR_MS, load: s.load.subarray(0, 100) }, JULY_4, DAY_AHEAD).ok).toBe(false);
    expect(buildFeatures({ startMs: s.startMs, load: new Float64Array(336) }, JULY_4, DAY_AHEAD).ok).toBe(false);
  });
});
