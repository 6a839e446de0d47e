/**
 * Forecasting: day-ahead accuracy on the last 365 days of every series in ../shared/data (the
 * project's own slice when that folder is absent), each model trained only on the data before,
 * next to the seasonal-naive and per-hour linear references scored on the same hours; and
 * inference latency at batch 1 through onnxruntime (the edge's path), next to the TypeScript
 * reference forward pass, in the same run. `--quick` scores only the slice's Dayton series.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadModel } from '../models/artifact.js';
import { US_HOLIDAYS } from '../models/calendar.js';
import { buildFeatures } from '../models/features.js';
import { predict, type DenseNetwork } from '../models/network.js';
import { scoreModel, specOfCard } from '../models/score.js';
import { DAY_MS, endMs, readSeriesCsv } from '../models/series.js';
import { ModelSession } from '../models/session.js';
import { trainModel } from '../models/train.js';
import { writeModel } from '../models/write.js';
import { machine } from './machine.js';

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (v: number, d = 3): number => Number(v.toFixed(d));

export async function benchForecast(flags: string[]) {
  const quick = flags.includes('--quick');
  const shared = new URL('../../../shared/data/', import.meta.url);
  const sliceDir = new URL('../simulators/data/', import.meta.url);
  const dir = !quick && existsSync(shared) ? shared : sliceDir;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.csv'))
    .filter((f) => !quick || f === 'pjm_dayton.csv')
    .sort();
  const work = mkdtempSync(join(tmpdir(), 'gridos-bench-forecast-'));
  const series: Record<string, unknown>[] = [];
  let latency: { dir: string; network: DenseNetwork } | undefined;
  try {
    for (const file of files) {
      const path = new URL(file, dir).pathname;
      const s = readSeriesCsv(path);
      const testFromMs = endMs(s) - 365 * DAY_MS;
      const started = performance.now();
      const trained = trainModel({
        series: s,
        data: { file, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') },
        horizon: 'day-ahead',
        kind: 'mlp',
        trainUntilMs: testFromMs,
        calendar: US_HOLIDAYS,
        seed: 1,
        id: file.replace('.csv', ''),
        version: 'bench',
        nowMs: 0,
      });
      const trainSeconds = (performance.now() - started) / 1000;
      const out = join(work, file.replace('.csv', ''));
      const card = await writeModel(out, trained, { series: s, spec: trained.spec, ...trained.scoredPeriod });
      latency ??= { dir: out, network: trained.network };
      const loaded = loadModel(out);
      if (!loaded.ok) throw new Error(loaded.problem.message);
      const onnx = await scoreModel(loaded.model, s, testFromMs, endMs(s));
      process.stderr.write(`forecast bench: ${file}: MAPE ${onnx.model.mape.toFixed(2)} % (naive ${onnx.seasonalNaive.mape.toFixed(2)} %, linear ${card.test!.linear.mape.toFixed(2)} %), trained in ${trainSeconds.toFixed(1)} s\n`);
      series.push({
        file,
        trainedFrom: card.training.from,
        testFrom: card.test!.from,
        trainSeconds: round(trainSeconds, 1),
        samples: card.training.samples,
        correction: card.training.hyperparameters.correction ?? 'n/a',
        mape: round(onnx.model.mape),
        seasonalNaiveMape: round(onnx.seasonalNaive.mape),
        linearMape: round(card.test!.linear.mape),
        beatsLinear: onnx.model.mape < card.test!.linear.mape,
        bandCoverage: round(onnx.model.bandCoverage ?? 0),
        hours: onnx.model.n,
        modelBytes: card.onnx.bytes,
        onnxMaxRelDiff: card.onnx.parity?.maxRelDiff,
      });
    }

    // latency of one forecast at batch 1: onnxruntime (the edge's path) and the TypeScript reference
    const loaded = loadModel(latency!.dir);
    if (!loaded.ok) throw new Error(loaded.problem.message);
    const s = readSeriesCsv(new URL('pjm_dayton.csv', sliceDir).pathname);
    const spec = specOfCard(loaded.model);
    const inputs = [];
    for (let t = endMs(s) - 60 * DAY_MS; t < endMs(s) - DAY_MS; t += DAY_MS) {
      const f = buildFeatures(s, t, spec);
      if (f.ok) inputs.push(f.features);
    }
    const session = await ModelSession.open(loaded.model.onnx, loaded.model.card.features.names.length);
    const onnxUs: number[] = [];
    for (let i = 0; i < 12_000; i++) {
      const f = inputs[i % inputs.length]!;
      const t0 = process.hrtime.bigint();
      await session.run(f.values, f.scale);
      if (i >= 2_000) onnxUs.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    await session.close();
    const net = latency!.network;
    const tsUs: number[] = [];
    for (let i = 0; i < 12_000; i++) {
      const f = inputs[i % inputs.length]!;
      const t0 = process.hrtime.bigint();
      predict(net, f.values, f.scale);
      if (i >= 2_000) tsUs.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    onnxUs.sort((a, b) => a - b);
    tsUs.sort((a, b) => a - b);
    const mapes = series.map((x) => x.mape as number);
    return {
      bench: 'forecast',
      machine: machine(),
      inputs: { data: dir.pathname, horizon: 'day-ahead', testDays: 365, kind: 'mlp (ridge + MLP ensemble correction)', latencyModel: loaded.model.card.id, latencyRuns: onnxUs.length },
      figures: {
        inferenceP50Us: round(percentile(onnxUs, 0.5), 1),
        inferenceP99Us: round(percentile(onnxUs, 0.99), 1),
        typescriptReferenceP50Us: round(percentile(tsUs, 0.5), 1),
        typescriptReferenceP99Us: round(percentile(tsUs, 0.99), 1),
        modelBytes: statSync(join(loaded.model.dir, 'model.onnx')).size,
        meanMape: round(mapes.reduce((a, b) => a + b, 0) / Math.max(1, mapes.length)),
        seriesBeatingLinear: series.filter((x) => x.beatsLinear).length,
        series,
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
