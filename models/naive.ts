/**
 * The seasonal-naive forecast: each target hour takes the load of the same hour the day before
 * (a week before when that is missing). It is the reference every model is measured against and
 * the answer the model runtime gives when a model cannot be trusted. Its p10-p90 band comes from
 * how wrong the same rule was over the last week, so a fallback still says how sure it is.
 */
import { stepsOf, type Horizon } from './features.js';
import { HOUR_MS, indexOf, type HourlySeries } from './series.js';

export interface NaiveForecast {
  load: Float64Array;
  p10: Float64Array;
  p90: Float64Array;
}

export type NaiveResult = { ok: true; forecast: NaiveForecast } | { ok: false; code: 'INSUFFICIENT_DATA'; message: string };

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function seasonalNaive(series: HourlySeries, issueMs: number, horizon: Horizon): NaiveResult {
  const t0 = indexOf(series, issueMs);
  const known = (i: number): number => (i >= 0 && i < t0 && i < series.load.length ? series.load[i]! : NaN);
  const steps = stepsOf(horizon);
  const load = new Float64Array(steps);
  for (let s = 0; s < steps; s++) {
    // the same hour on the latest earlier day that is known (for hour-ahead, t0 - 24 is yesterday)
    let v = known(t0 + s - 24);
    if (Number.isNaN(v)) v = known(t0 + s - 168);
    if (Number.isNaN(v)) return { ok: false, code: 'INSUFFICIENT_DATA', message: `no load for the hour ${new Date(issueMs + s * HOUR_MS - 24 * HOUR_MS).toISOString().slice(0, 13)}h, nor a week before it` };
    load[s] = v;
  }
  // additive errors (load - naive): the band stays on the right side of a feeder that exports (negative load)
  const errors: number[] = [];
  for (let i = t0 - 168; i < t0; i++) {
    const y = known(i);
    const ref = known(i - 24);
    if (!Number.isNaN(y) && !Number.isNaN(ref)) errors.push(y - ref);
  }
  errors.sort((a, b) => a - b);
  const lo = Math.min(quantile(errors, 0.1), 0);
  const hi = Math.max(quantile(errors, 0.9), 0);
  return { ok: true, forecast: { load, p10: load.map((v) => v + lo), p90: load.map((v) => v + hi) } };
}
