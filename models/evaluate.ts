/**
 * Scores a forecaster over a range of issue times against the actual load, next to the
 * seasonal-naive reference on exactly the same target hours.
 */
import { AccuracyMeter, type Accuracy } from './accuracy.js';
import { buildFeatures, issueEveryMs, stepsOf, targetsOf, type FeatureSpec } from './features.js';
import { seasonalNaive } from './naive.js';
import type { HourlySeries } from './series.js';

export type Forecaster = (features: Float64Array, scale: number, issueMs: number) => { load: ArrayLike<number>; p10?: ArrayLike<number>; p90?: ArrayLike<number> };

export interface Evaluation {
  model: Accuracy;
  seasonalNaive: Accuracy;
  /** Issue times in the range. */
  issues: number;
  /** Issue times without features (too much missing data): left out of both scores. */
  withoutFeatures: number;
  /** Per step ahead (1..24 for day-ahead), the model's MAPE. */
  mapeByStep: number[];
}

/** Issue times t in [fromMs, toMs) whose targets all lie before toMs. */
export function evaluate(series: HourlySeries, spec: FeatureSpec, forecaster: Forecaster, fromMs: number, toMs: number): Evaluation {
  const every = issueEveryMs(spec.horizon);
  const steps = stepsOf(spec.horizon);
  const model = new AccuracyMeter();
  const naive = new AccuracyMeter();
  const bySteps = Array.from({ length: steps }, () => new AccuracyMeter());
  let issues = 0;
  let withoutFeatures = 0;
  for (let t = Math.ceil(fromMs / every) * every; t + steps * 3_600_000 <= toMs; t += every) {
    issues++;
    const f = buildFeatures(series, t, spec);
    const ref = seasonalNaive(series, t, spec.horizon);
    if (!f.ok || !ref.ok) {
      withoutFeatures++;
      continue;
    }
    const actual = targetsOf(series, t, spec.horizon);
    const out = forecaster(f.features.values, f.features.scale, t);
    model.addAll(out.load, actual, out.p10, out.p90);
    naive.addAll(ref.forecast.load, actual, ref.forecast.p10, ref.forecast.p90);
    for (let s = 0; s < steps; s++) bySteps[s]!.add(out.load[s]!, actual[s]!);
  }
  return { model: model.result(), seasonalNaive: naive.result(), issues, withoutFeatures, mapeByStep: bySteps.map((m) => m.result().mape) };
}
