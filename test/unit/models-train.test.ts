/**
 * Training is deterministic given its seed: the same inputs give the same network and the same
 * ONNX bytes, for `linear` and `mlp`; the seed does reach the MLP.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../models/artifact.js';
import { US_HOLIDAYS } from '../../models/calendar.js';
import { modelCardSchema } from '../../models/card.js';
import { buildDataset, sliceDataset, standardisation } from '../../models/dataset.js';
import type { FeatureSpec } from '../../models/features.js';
import { trainMlp, DEFAULT_MLP } from '../../models/mlp.js';
import type { DenseNetwork } from '../../models/network.js';
import { exportNetwork, OPSET_VERSION } from '../../models/onnx/index.js';
import { HOUR_MS, readSeriesCsv, type HourlySeries } from '../../models/series.js';
import { TrainError, trainModel, type ModelKind, type TrainedModel, type TrainProgress } from '../../models/train.js';

const DATA = 'simulators/data/pjm_dayton.csv';
const FULL = readSeriesCsv(DATA);
/** 2016-08-01 .. 2017-09-30: a year to train on, two months to test on. */
const SLICE: HourlySeries = { startMs: FULL.startMs, load: FULL.load.subarray(0, (Date.UTC(2017, 9, 1) - FULL.startMs) / HOUR_MS) };
const TRAIN_UNTIL = Date.UTC(2017, 7, 1);
const SHA = sha256Hex(readFileSync(DATA));

function train(kind: ModelKind, seed: number, progress: TrainProgress[] = []): TrainedModel {
  return trainModel({
    series: SLICE,
    data: { file: 'pjm_dayton.csv', sha256: SHA },
    horizon: 'day-ahead',
    kind,
    trainUntilMs: TRAIN_UNTIL,
    calendar: US_HOLIDAYS,
    seed,
    id: `dayton-${kind}`,
    version: '1',
    nowMs: TRAIN_UNTIL,
    members: 1,
    mlp: { epochs: 15 },
    onProgress: (p) => progress.push(p),
  });
}

const onnx = (m: TrainedModel): Buffer => Buffer.from(exportNetwork(m.network, { modelId: m.card.id, version: m.card.version }));

/** Every weight of a network, in order, for comparing two of them. */
function parameters(net: DenseNetwork): number[] {
  return [net.inputMean, net.inputInvStd, ...net.layers.flatMap((l) => [l.weights, l.bias]), net.skip ?? new Float64Array(), net.bandLow, net.bandHigh].flatMap((a) => Array.from(a));
}

/** The card without the one field that measures wall time. */
function cardOf(m: TrainedModel): unknown {
  return { ...m.card, training: { ...m.card.training, durationMs: 0 } };
}

describe('trainModel: deterministic given the seed', () => {
  it('linear: two runs give the same network, the same ONNX bytes and the same card', () => {
    const a = train('linear', 1);
    const b = train('linear', 1);
    expect(parameters(a.network).length).toBeGreaterThan(185 * 24);
    expect(parameters(b.network)).toEqual(parameters(a.network));
    expect(onnx(b).equals(onnx(a))).toBe(true);
    expect(cardOf(b)).toEqual(cardOf(a));
    // and the card is one the schema accepts once the writer adds its onnx part
    const bytes = onnx(a);
    expect(modelCardSchema.safeParse({ ...a.card, onnx: { file: 'model.onnx', sha256: sha256Hex(bytes), bytes: bytes.byteLength, opset: OPSET_VERSION } }).success).toBe(true);
    expect(a.card.test?.model.mape).toBeLessThan(a.card.test!.seasonalNaive.mape);
  }, 30_000);

  it('linear: the shipped network carries a p10-p90 band that covers most of the test period', () => {
    const a = train('linear', 1);
    expect(a.card.test!.model.bandCoverage).toBeGreaterThan(0.5);
    expect(a.card.test!.model.bandCoverage).toBeLessThan(1);
  }, 30_000);

  // Once a bug (found by this suite): the linear card reported the band coverage of a model without its band.
  it('linear: the card\'s validation band coverage is the band\'s, not 0', () => {
    const a = train('linear', 1);
    expect(a.card.validation.model.bandCoverage).toBeGreaterThan(0.5);
  }, 30_000);

  it('mlp (15 epochs, 1 member): two runs give the same network, ONNX bytes, card and training curve', () => {
    const pa: TrainProgress[] = [];
    const pb: TrainProgress[] = [];
    const a = train('mlp', 1, pa);
    const b = train('mlp', 1, pb);
    expect(parameters(b.network)).toEqual(parameters(a.network));
    expect(onnx(b).equals(onnx(a))).toBe(true);
    expect(cardOf(b)).toEqual(cardOf(a));
    expect(pa.filter((p) => p.stage === 'mlp').length).toBeGreaterThan(0);
    expect(pb).toEqual(pa);
  }, 30_000);

  it('mlp: another seed trains another network (the training curve differs)', () => {
    const pa: TrainProgress[] = [];
    const pc: TrainProgress[] = [];
    const a = train('mlp', 1, pa);
    const c = train('mlp', 2, pc);
    const curve = (p: TrainProgress[]): number[] => p.flatMap((q) => (q.stage === 'mlp' ? [q.validationLoss] : []));
    expect(curve(pc)).not.toEqual(curve(pa));
    expect(c.card.training.seed).toBe(2);
    expect(a.card.training.seed).toBe(1);
  }, 30_000);

  it('trainMlp itself: same seed, same network; another seed, another network', () => {
    const spec: FeatureSpec = { horizon: 'day-ahead', withTemperature: false, calendar: US_HOLIDAYS };
    const all = buildDataset(SLICE, spec, SLICE.startMs, TRAIN_UNTIL);
    const cut = Math.floor(all.n * 0.85);
    const trainSet = sliceDataset(all, 0, cut);
    const validation = sliceDataset(all, cut, all.n);
    const std = standardisation(trainSet);
    const options = { ...DEFAULT_MLP, hidden: 8, epochs: 5 };
    const a = trainMlp(trainSet, validation, std, { ...options, seed: 1 }, 2);
    const b = trainMlp(trainSet, validation, std, { ...options, seed: 1 }, 2);
    const c = trainMlp(trainSet, validation, std, { ...options, seed: 2 }, 2);
    expect(a.layers.map((l) => l.outSize)).toEqual([16, 24]); // two members of 8 merged into one layer of 16
    expect(parameters(b)).toEqual(parameters(a));
    expect(parameters(c)).not.toEqual(parameters(a));
  }, 30_000);

  it('too little data, or a --train-until before the data: TrainError with a code', () => {
    const short: HourlySeries = { startMs: FULL.startMs, load: FULL.load.subarray(0, 40 * 24) };
    const run = (series: HourlySeries, trainUntilMs: number): unknown => {
      try {
        trainModel({ series, data: { file: 'x', sha256: SHA }, horizon: 'day-ahead', kind: 'linear', trainUntilMs, calendar: US_HOLIDAYS, seed: 1, id: 'x', version: '1', nowMs: 0 });
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(run(short, FULL.startMs + 40 * 24 * HOUR_MS)).toMatchObject({ code: 'MODEL_TRAIN_NO_DATA' });
    expect(run(short, FULL.startMs)).toBeInstanceOf(TrainError);
    expect(run(short, FULL.startMs)).toMatchObject({ code: 'MODEL_TRAIN_RANGE' });
  });
});
