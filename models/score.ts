/**
 * Scores a model folder (through onnxruntime, as the edge serves it) over a period of a series:
 * what `gridos model eval` prints and the forecast benchmark reports.
 */
import type { ModelArtifact } from './artifact.js';
import { calendarOfCard } from './calendar.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { buildFeatures, issueEveryMs, stepsOf, type FeatureSpec } from './features.js';
import type { HourlySeries } from './series.js';
import { ModelSession } from './session.js';

export function specOfCard(model: ModelArtifact): FeatureSpec {
  const { card } = model;
  const calendar = calendarOfCard(card.features.holidays);
  if (!calendar) throw new Error(`${model.dir}: the card names the holiday calendar '${card.features.holidays.name}', which this gridos does not know and the card does not list`);
  return { horizon: card.horizon, withTemperature: card.features.withTemperature, calendar, maxMissingFraction: card.features.maxMissingFraction };
}

export async function scoreModel(model: ModelArtifact, series: HourlySeries, fromMs: number, toMs: number): Promise<Evaluation> {
  const spec = specOfCard(model);
  if (spec.withTemperature && !series.temp) throw new Error(`the model ${model.card.id} needs a temperature column ('temp'), and the data has none`);
  const F = model.card.features.names.length;
  const steps = stepsOf(spec.horizon);
  const every = issueEveryMs(spec.horizon);
  const issues: number[] = [];
  const rows: Float64Array[] = [];
  const scales: number[] = [];
  for (let t = Math.ceil(fromMs / every) * every; t + steps * 3_600_000 <= toMs; t += every) {
    const f = buildFeatures(series, t, spec);
    if (!f.ok) continue;
    issues.push(t);
    rows.push(f.features.values);
    scales.push(f.features.scale);
  }
  const byIssue = new Map<number, number>(issues.map((t, i) => [t, i]));
  const session = await ModelSession.open(model.onnx, F);
  try {
    const x = new Float32Array(issues.length * F);
    rows.forEach((r, i) => x.set(r, i * F));
    const out = issues.length > 0 ? await session.runBatch(x, Float32Array.from(scales)) : { load: new Float32Array(), p10: new Float32Array(), p90: new Float32Array() };
    return evaluate(series, spec, (_x, _s, issueMs) => {
      const i = byIssue.get(issueMs)!;
      return { load: out.load.subarray(i * steps, (i + 1) * steps), p10: out.p10.subarray(i * steps, (i + 1) * steps), p90: out.p90.subarray(i * steps, (i + 1) * steps) };
    }, fromMs, toMs);
  } finally {
    await session.close();
  }
}
