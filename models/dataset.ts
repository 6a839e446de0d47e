/**
 * Training samples: the features and relative targets of every issue time in a range, built
 * with the same feature builder the edge serves with. Samples whose features cannot be built or
 * whose targets are not all known are left out (and counted).
 */
import { buildFeatures, featureNames, issueEveryMs, stepsOf, targetsOf, type FeatureSpec } from './features.js';
import type { HourlySeries } from './series.js';

export interface Dataset {
  featureCount: number;
  steps: number;
  n: number;
  /** Row-major [n x featureCount]. */
  x: Float64Array;
  /** Row-major [n x steps], load / scale. */
  y: Float64Array;
  scale: Float64Array;
  issueMs: Float64Array;
  skipped: number;
}

/** Issue times t with fromMs <= t and every target hour before toMs. */
export function buildDataset(series: HourlySeries, spec: FeatureSpec, fromMs: number, toMs: number): Dataset {
  const every = issueEveryMs(spec.horizon);
  const steps = stepsOf(spec.horizon);
  const featureCount = featureNames(spec).length;
  const first = Math.ceil(fromMs / every) * every;
  const last = toMs - steps * 3_600_000;
  const cap = Math.max(0, Math.floor((last - first) / every) + 1);
  const x = new Float64Array(cap * featureCount);
  const y = new Float64Array(cap * steps);
  const scale = new Float64Array(cap);
  const issueMs = new Float64Array(cap);
  let n = 0;
  let skipped = 0;
  for (let t = first; t <= last; t += every) {
    const f = buildFeatures(series, t, spec);
    const target = targetsOf(series, t, spec.horizon);
    if (!f.ok || target.some((v) => Number.isNaN(v))) {
      skipped++;
      continue;
    }
    x.set(f.features.values, n * featureCount);
    for (let s = 0; s < steps; s++) y[n * steps + s] = target[s]! / f.features.scale;
    scale[n] = f.features.scale;
    issueMs[n] = t;
    n++;
  }
  return { featureCount, steps, n, x: x.subarray(0, n * featureCount), y: y.subarray(0, n * steps), scale: scale.subarray(0, n), issueMs: issueMs.subarray(0, n), skipped };
}

/** Rows [from, to) of a dataset, sharing its memory. */
export function sliceDataset(d: Dataset, from: number, to: number): Dataset {
  return {
    featureCount: d.featureCount,
    steps: d.steps,
    n: to - from,
    x: d.x.subarray(from * d.featureCount, to * d.featureCount),
    y: d.y.subarray(from * d.steps, to * d.steps),
    scale: d.scale.subarray(from, to),
    issueMs: d.issueMs.subarray(from, to),
    skipped: 0,
  };
}

/** Per-feature mean and 1/std; a constant feature gets 1/std = 0 (it carries nothing). */
export function standardisation(d: Dataset): { mean: Float64Array; invStd: Float64Array } {
  const F = d.featureCount;
  const mean = new Float64Array(F);
  const sq = new Float64Array(F);
  for (let i = 0; i < d.n; i++) {
    for (let j = 0; j < F; j++) {
      const v = d.x[i * F + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  const invStd = new Float64Array(F);
  for (let j = 0; j < F; j++) {
    mean[j]! /= Math.max(1, d.n);
    const variance = sq[j]! / Math.max(1, d.n) - mean[j]! * mean[j]!;
    invStd[j] = variance > 1e-12 ? 1 / Math.sqrt(variance) : 0;
  }
  return { mean, invStd };
}
