/**
 * Does the exported `.onnx` compute what the TypeScript model computes? Both are run on the same
 * real feature rows (a period of the training data) and the largest difference is reported, in
 * load units and relative to each row's scale (float32 in the graph against float64 here).
 */
import { buildFeatures, issueEveryMs, stepsOf, type FeatureSpec } from './features.js';
import { predict, type DenseNetwork } from './network.js';
import type { HourlySeries } from './series.js';
import { ModelSession } from './session.js';

export interface Parity {
  /** Forecasts compared (each with all its hours, p10 and p90). */
  samples: number;
  maxAbsDiff: number;
  /** maxAbsDiff divided by the row's scale (the mean load before issue): comparable across series. */
  maxRelDiff: number;
}

export async function checkParity(network: DenseNetwork, onnx: Uint8Array, series: HourlySeries, spec: FeatureSpec, fromMs: number, toMs: number): Promise<Parity> {
  const every = issueEveryMs(spec.horizon);
  const steps = stepsOf(spec.horizon);
  const rows: { values: Float64Array; scale: number }[] = [];
  for (let t = Math.ceil(fromMs / every) * every; t < toMs && rows.length < 2_000; t += every) {
    const f = buildFeatures(series, t, spec);
    if (f.ok) rows.push(f.features);
  }
  const F = network.featureCount;
  const session = await ModelSession.open(onnx, F);
  try {
    if (rows.length === 0) return { samples: 0, maxAbsDiff: 0, maxRelDiff: 0 };
    // the graph takes float32: compare against the reference fed the same rounded inputs
    const x = new Float32Array(rows.length * F);
    rows.forEach((r, i) => x.set(r.values, i * F));
    const scales = Float32Array.from(rows, (r) => r.scale);
    const out = await session.runBatch(x, scales);
    let maxAbsDiff = 0;
    let maxRelDiff = 0;
    rows.forEach((_, i) => {
      const ref = predict(network, x.subarray(i * F, (i + 1) * F), scales[i]!);
      for (const [name, got] of [['load', out.load], ['p10', out.p10], ['p90', out.p90]] as const) {
        for (let s = 0; s < steps; s++) {
          const d = Math.abs(got[i * steps + s]! - ref[name][s]!);
          if (d > maxAbsDiff) maxAbsDiff = d;
          if (d / scales[i]! > maxRelDiff) maxRelDiff = d / scales[i]!;
        }
      }
    });
    return { samples: rows.length, maxAbsDiff, maxRelDiff };
  } finally {
    await session.close();
  }
}
