/**
 * The feature builder: the one module that turns an hourly load history into model inputs, used
 * by training and by the edge's model runtime alike, so what a model saw in training is exactly
 * what it sees in service (no train/serve skew). Pure: no I/O, no clock.
 *
 * Horizons
 *  - `day-ahead`: issued at midnight for the 24 hours of the day that starts then; it knows the
 *    load up to the hour before midnight.
 *  - `hour-ahead`: issued at the start of an hour for that hour; it knows the load up to the
 *    hour before.
 *
 * Features, in this order (the model card lists them by name):
 *  - `lag_<k>h` for k = 168..1: the load k hours before the issue time, divided by `scale`;
 *  - calendar of the target: `dow_0..6` (Sunday = 0), `holiday`, for day-ahead `holiday_prev_1..7`
 *    (days whose load sits in the lags), for hour-ahead `hour_0..23` and `holiday_prev_1`;
 *    `doy_sin`, `doy_cos` (time of year);
 *  - when the series has temperature: `temp_lag_<k>h` for k = 24..1, as (deg C - 15) / 10.
 *  - `scale` itself is not a feature: it is the mean load over the 168 lag hours, and the model
 *    predicts load relative to it, so one model fits a 5 MW feeder or a 20 GW region.
 *
 * Missing data (the rule, stated once): a missing lag hour takes the load 24 hours earlier, else
 * 168 hours earlier, else the nearest known hour before it. If more than `maxMissingFraction` of
 * the 168 lag hours, or any of the last 3 hours, are missing, there are no features: the caller
 * must answer with its fallback (the model runtime) or skip the sample (training). A missing
 * temperature takes the previous hour's, else 15 deg C (zero after scaling).
 */
import type { HolidayCalendar } from './calendar.js';
import { DAY_MS, HOUR_MS, indexOf, type HourlySeries } from './series.js';

export const FEATURE_BUILDER_VERSION = '1.0.0';

export type Horizon = 'day-ahead' | 'hour-ahead';
export const HORIZONS: readonly Horizon[] = ['day-ahead', 'hour-ahead'];

export const LAG_HOURS = 168;
const TEMP_LAG_HOURS = 24;
/** The last hours before issue that must be known: the level a forecast starts from. */
const RECENT_REQUIRED_HOURS = 3;

export interface FeatureSpec {
  horizon: Horizon;
  withTemperature: boolean;
  calendar: HolidayCalendar;
  /** Largest share of missing lag hours that is still filled in (default 0.1). */
  maxMissingFraction?: number;
}

export function stepsOf(horizon: Horizon): number {
  return horizon === 'day-ahead' ? 24 : 1;
}

/** Hours between two issue times: once a day, or every hour. */
export function issueEveryMs(horizon: Horizon): number {
  return horizon === 'day-ahead' ? DAY_MS : HOUR_MS;
}

export function featureNames(spec: FeatureSpec): string[] {
  const names: string[] = [];
  for (let k = LAG_HOURS; k >= 1; k--) names.push(`lag_${k}h`);
  for (let d = 0; d < 7; d++) names.push(`dow_${d}`);
  names.push('holiday');
  if (spec.horizon === 'day-ahead') for (let d = 1; d <= 7; d++) names.push(`holiday_prev_${d}`);
  else {
    for (let h = 0; h < 24; h++) names.push(`hour_${h}`);
    names.push('holiday_prev_1');
  }
  names.push('doy_sin', 'doy_cos');
  if (spec.withTemperature) for (let k = TEMP_LAG_HOURS; k >= 1; k--) names.push(`temp_lag_${k}h`);
  return names;
}

export interface Features {
  /** Length featureNames(spec).length. */
  values: Float64Array;
  /** Mean load of the lag hours: multiply the model's relative output by it. */
  scale: number;
  /** Lag hours that were missing and filled in by the rule. */
  filled: number;
}

export type FeatureResult = { ok: true; features: Features } | { ok: false; code: 'INSUFFICIENT_DATA'; message: string };

/** Is `ms` a valid issue time for the horizon (midnight, or the start of an hour)? */
export function isIssueTime(horizon: Horizon, ms: number): boolean {
  return ms % issueEveryMs(horizon) === 0;
}

/**
 * Features for a forecast issued at `issueMs` (naive-local ms; midnight for day-ahead), from the
 * load known before it. Hours at or after `issueMs` are never read.
 */
export function buildFeatures(series: HourlySeries, issueMs: number, spec: FeatureSpec): FeatureResult {
  const t0 = indexOf(series, issueMs);
  const { load } = series;
  const lag = new Float64Array(LAG_HOURS);
  let missing = 0;
  // `at(i)` reads hour i only if it lies before the issue time and inside the series
  const at = (i: number): number => (i >= 0 && i < t0 && i < load.length ? load[i]! : NaN);
  for (let k = 0; k < LAG_HOURS; k++) {
    const i = t0 - LAG_HOURS + k;
    let v = at(i);
    if (Number.isNaN(v)) {
      missing++;
      if (k >= LAG_HOURS - RECENT_REQUIRED_HOURS) {
        return { ok: false, code: 'INSUFFICIENT_DATA', message: `the load of the hour ${LAG_HOURS - k} h before issue is missing` };
      }
      v = at(i - 24);
      if (Number.isNaN(v)) v = at(i - 168);
      if (Number.isNaN(v) && k > 0) v = lag[k - 1]!;
    }
    lag[k] = v;
  }
  const maxMissing = Math.floor((spec.maxMissingFraction ?? 0.1) * LAG_HOURS);
  if (missing > maxMissing || lag.some((v) => Number.isNaN(v))) {
    return { ok: false, code: 'INSUFFICIENT_DATA', message: `${missing} of the ${LAG_HOURS} lag hours are missing (at most ${maxMissing} are filled in)` };
  }
  let sum = 0;
  for (const v of lag) sum += v;
  const scale = sum / LAG_HOURS;
  if (!(scale > 0)) return { ok: false, code: 'INSUFFICIENT_DATA', message: `the mean load over the lag hours is ${scale}, not positive` };

  const n = featureNames(spec).length;
  const values = new Float64Array(n);
  let p = 0;
  for (let k = 0; k < LAG_HOURS; k++) values[p++] = lag[k]! / scale;
  const targetDay = Math.floor(issueMs / DAY_MS);
  const dow = new Date(targetDay * DAY_MS).getUTCDay();
  for (let d = 0; d < 7; d++) values[p++] = d === dow ? 1 : 0;
  const holiday = (day: number): number => (spec.calendar.isHoliday(day) ? 1 : 0);
  values[p++] = holiday(targetDay);
  if (spec.horizon === 'day-ahead') for (let d = 1; d <= 7; d++) values[p++] = holiday(targetDay - d);
  else {
    const hour = Math.floor((issueMs % DAY_MS) / HOUR_MS);
    for (let h = 0; h < 24; h++) values[p++] = h === hour ? 1 : 0;
    values[p++] = holiday(targetDay - 1);
  }
  const year = new Date(issueMs).getUTCFullYear();
  const yearStart = Date.UTC(year, 0, 1);
  const yearLength = Date.UTC(year + 1, 0, 1) - yearStart;
  const angle = (2 * Math.PI * (issueMs - yearStart)) / yearLength;
  values[p++] = Math.sin(angle);
  values[p++] = Math.cos(angle);
  if (spec.withTemperature) {
    const temp = series.temp;
    let last = 15;
    for (let k = TEMP_LAG_HOURS; k >= 1; k--) {
      const i = t0 - k;
      const v = temp && i >= 0 && i < temp.length ? temp[i]! : NaN;
      if (!Number.isNaN(v)) last = v;
      values[p++] = (last - 15) / 10;
    }
  }
  return { ok: true, features: { values, scale, filled: missing } };
}

/** The actual load of the target hours of a forecast issued at `issueMs` (NaN where unknown). */
export function targetsOf(series: HourlySeries, issueMs: number, horizon: Horizon): Float64Array {
  const t0 = indexOf(series, issueMs);
  const steps = stepsOf(horizon);
  const out = new Float64Array(steps);
  for (let s = 0; s < steps; s++) {
    const i = t0 + s;
    out[s] = i >= 0 && i < series.load.length ? series.load[i]! : NaN;
  }
  return out;
}
