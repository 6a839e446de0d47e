/**
 * Training a forecaster from an hourly series, start to finish: datasets from the feature
 * builder, a ridge model (`linear`, also the reference), or a linear model with a small MLP
 * ensemble learning what it misses (`mlp`); a p10-p90 band from the validation residuals; scores
 * against the seasonal-naive and linear references. Deterministic given the seed. Pure apart from
 * the clock passed in (the card's `created`).
 */
import type { CardAccuracy, ModelCard } from './card.js';
import { ONNX_FILE } from './card.js';
import type { HolidayCalendar } from './calendar.js';
import { buildDataset, sliceDataset, standardisation, type Dataset } from './dataset.js';
import { evaluate, type Evaluation } from './evaluate.js';
import { FEATURE_BUILDER_VERSION, featureNames, stepsOf, type FeatureSpec, type Horizon } from './features.js';
import { candidateGroups, LinearSelection } from './selection.js';
import { DEFAULT_MLP, trainMlp, type MlpOptions } from './mlp.js';
import { forwardRelative, predict, type DenseNetwork } from './network.js';
import { DAY_MS, endMs, formatNaive, type HourlySeries } from './series.js';

export type ModelKind = 'linear' | 'mlp';

export type TrainProgress =
  | { stage: 'features'; samples: number }
  | { stage: 'linear'; penalty: number; validationMape: number }
  | { stage: 'mlp'; member: number; members: number; epoch: number; epochs: number; trainLoss: number; validationLoss: number }
  | { stage: 'evaluate' };

export interface TrainOptions {
  series: HourlySeries;
  /** Where the series came from, for the card. */
  data: { file: string; sha256: string };
  horizon: Horizon;
  kind: ModelKind;
  /** Train on hours before this (naive-local ms); default: the whole series. */
  trainUntilMs?: number;
  calendar: HolidayCalendar;
  seed: number;
  id: string;
  version: string;
  /** MLP ensemble members (default 3 day-ahead, 2 hour-ahead). */
  members?: number;
  mlp?: Partial<MlpOptions>;
  /** Train on at most this many of the latest years (default: all for day-ahead, 3 for hour-ahead). */
  maxTrainYears?: number;
  nowMs: number;
  onProgress?: (p: TrainProgress) => void;
}

export interface TrainedModel {
  network: DenseNetwork;
  /** The features the model takes (what the edge will build to serve it). */
  spec: FeatureSpec;
  /** Naive-local ms of the period the card's scores are last reported on (test, else validation). */
  scoredPeriod: { fromMs: number; toMs: number };
  /** The card without its `onnx` part, which the writer fills in. */
  card: Omit<ModelCard, 'onnx'>;
}

export class TrainError extends Error {
  override readonly name = 'TrainError';
  constructor(
    readonly code: 'MODEL_TRAIN_NO_DATA' | 'MODEL_TRAIN_RANGE',
    message: string,
  ) {
    super(message);
  }
}

const PENALTIES = [1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1];
/** Contiguous blocks of the training samples for cross-validation; the last is the validation period. */
const FOLDS = 5;
/** The MLP correction is kept only when it lowers the validation MAPE by at least this share. */
const MIN_CORRECTION_GAIN = 0.02;

const MLP_DEFAULTS: Record<Horizon, { mlp: Partial<MlpOptions>; members: number; maxYears: number }> = {
  'day-ahead': { mlp: { hidden: 32, batchSize: 32, epochs: 200, patience: 20, learningRate: 1e-3, weightDecay: 1e-4 }, members: 6, maxYears: Infinity },
  'hour-ahead': { mlp: { hidden: 32, batchSize: 128, epochs: 40, patience: 6, learningRate: 1e-3, weightDecay: 1e-4 }, members: 2, maxYears: 3 },
};

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Sets the network's p10/p90 offsets to the quantiles of its residuals (relative to scale) on `d`. */
function fitBand(net: DenseNetwork, d: Dataset): void {
  const H = d.steps;
  const residuals = Array.from({ length: H }, () => new Float64Array(d.n));
  for (let i = 0; i < d.n; i++) {
    const out = forwardRelative(net, d.x.subarray(i * d.featureCount, (i + 1) * d.featureCount));
    for (let h = 0; h < H; h++) residuals[h]![i] = d.y[i * H + h]! - out[h]!;
  }
  for (let h = 0; h < H; h++) {
    const r = residuals[h]!.sort();
    net.bandLow[h] = Math.min(0, quantile(r, 0.1));
    net.bandHigh[h] = Math.max(0, quantile(r, 0.9));
  }
}

/** The residual targets of `d` after the linear model: what the MLP learns. */
function residualsAfter(linear: DenseNetwork, d: Dataset): Dataset {
  const y = Float64Array.from(d.y);
  for (let i = 0; i < d.n; i++) {
    const p = forwardRelative(linear, d.x.subarray(i * d.featureCount, (i + 1) * d.featureCount));
    for (let h = 0; h < d.steps; h++) y[i * d.steps + h]! -= p[h]!;
  }
  return { ...d, y };
}

function card(acc: Evaluation['model']): CardAccuracy {
  const round = (v: number, digits: number): number => (Number.isFinite(v) ? Number(v.toFixed(digits)) : 0);
  const out: CardAccuracy = { n: acc.n, mape: round(acc.mape, 4), mae: round(acc.mae, 4), rmse: round(acc.rmse, 4), bias: round(acc.bias, 4) };
  if (acc.bandCoverage !== undefined) out.bandCoverage = round(acc.bandCoverage, 4);
  return out;
}

export function trainModel(o: TrainOptions): TrainedModel {
  const started = performance.now();
  const { series, horizon } = o;
  const spec: FeatureSpec = { horizon, withTemperature: series.temp !== undefined, calendar: o.calendar, maxMissingFraction: 0.1 };
  const seriesEnd = endMs(series);
  const trainUntilMs = o.trainUntilMs ?? seriesEnd;
  if (trainUntilMs <= series.startMs) throw new TrainError('MODEL_TRAIN_RANGE', `--train-until ${formatNaive(trainUntilMs)} is before the data starts (${formatNaive(series.startMs)})`);
  const defaults = MLP_DEFAULTS[horizon];
  const maxYears = o.maxTrainYears ?? (o.kind === 'mlp' ? defaults.maxYears : Infinity);
  const trainFromMs = Number.isFinite(maxYears) ? Math.max(series.startMs, trainUntilMs - Math.round(maxYears * 365) * DAY_MS) : series.startMs;

  const all = buildDataset(series, spec, trainFromMs, trainUntilMs);
  o.onProgress?.({ stage: 'features', samples: all.n });
  const minSamples = horizon === 'day-ahead' ? 60 : 60 * 24;
  if (all.n < minSamples) {
    throw new TrainError('MODEL_TRAIN_NO_DATA', `only ${all.n} complete ${horizon} samples before ${formatNaive(trainUntilMs)} (at least ${minSamples} are needed: ${horizon === 'day-ahead' ? 'about 2 months' : '2 months'} of hourly load after the first week)`);
  }
  // Five contiguous blocks in time order: the linear model's features and penalty are chosen by
  // blocked cross-validation over all of them; the last block is also the validation period
  // that stops the MLP's training, fits the p10-p90 band and is reported in the card.
  const std = standardisation(all);
  const names = featureNames(spec);
  const selection = new LinearSelection(all, std, names, FOLDS);
  const cut = Math.floor(((FOLDS - 1) * all.n) / FOLDS);
  const train = sliceDataset(all, 0, cut);
  const validation = sliceDataset(all, cut, all.n);
  const validationFromMs = validation.issueMs[0]!;
  const validate = (net: DenseNetwork): Evaluation => evaluate(series, spec, (x, s) => predict(net, x, s), validationFromMs, trainUntilMs);
  const choice = selection.choose({ penalties: PENALTIES, folds: FOLDS, candidates: candidateGroups(names) });
  o.onProgress?.({ stage: 'linear', penalty: choice.penalty, validationMape: choice.cvMape });
  const trainBlocks = Array.from({ length: FOLDS - 1 }, (_, i) => i);
  const linearOnTrain = selection.fit(choice.groups, choice.penalty, trainBlocks);
  const hyperparameters: Record<string, number | string> = {
    ridgePenalty: choice.penalty,
    featureGroups: ['lags', 'day of week', ...(horizon === 'hour-ahead' ? ['hour of day'] : []), ...choice.groups].join(', '),
    crossValidationMape: Number(choice.cvMape.toFixed(4)),
    folds: FOLDS,
  };
  const best = { evaluation: validate(linearOnTrain) };

  let network: DenseNetwork;
  /** What the validation score is reported for: the last fit that had not seen the validation period. */
  let validated: DenseNetwork = linearOnTrain;
  // the band comes from residuals on data the model was not fitted on
  fitBand(linearOnTrain, validation);
  const linearOnValidation = validate(linearOnTrain);
  // the linear model refitted on everything, the validation period included: the most recent behaviour
  const linearOnAll = (): DenseNetwork => ({ ...selection.fit(choice.groups, choice.penalty), bandLow: linearOnTrain.bandLow, bandHigh: linearOnTrain.bandHigh });
  if (o.kind === 'linear') {
    network = linearOnAll();
  } else {
    const mlpOptions: MlpOptions = { ...DEFAULT_MLP, ...defaults.mlp, ...o.mlp, seed: o.seed };
    const members = o.members ?? defaults.members;
    // the network sees the feature groups cross-validation chose for the linear model, no more
    const chosenStd = { mean: std.mean, invStd: linearOnTrain.inputInvStd };
    const correction = trainMlp(residualsAfter(linearOnTrain, train), residualsAfter(linearOnTrain, validation), chosenStd, mlpOptions, members, (member, p) =>
      o.onProgress?.({ stage: 'mlp', member, members, ...p }),
    );
    const withLinear = (linear: DenseNetwork): DenseNetwork => {
      const layer = linear.layers[0]!;
      const layers = correction.layers.map((l, i) => (i === correction.layers.length - 1 ? { ...l, bias: l.bias.map((b, h) => b + layer.bias[h]!) } : l));
      return { ...correction, layers, skip: layer.weights, bandLow: new Float64Array(layer.outSize), bandHigh: new Float64Array(layer.outSize) };
    };
    const combined = withLinear(linearOnTrain);
    // a correction that does not forecast the validation period better than the linear model
    // alone, by a margin (a hair's improvement on one period is noise, not skill), is left out:
    // the model is then the linear one
    const kept = validate(combined).model.mape < (1 - MIN_CORRECTION_GAIN) * best.evaluation.model.mape;
    if (kept) {
      fitBand(combined, validation);
      validated = combined;
      // the linear part refitted on everything (the latest behaviour), the correction as learnt
      network = { ...withLinear(linearOnAll()), bandLow: combined.bandLow, bandHigh: combined.bandHigh };
    } else network = linearOnAll();
    hyperparameters.correction = kept ? 'kept' : `dropped (did not lower the validation MAPE of the linear model by ${MIN_CORRECTION_GAIN * 100} %)`;
    Object.assign(hyperparameters, { hidden: mlpOptions.hidden, members, batchSize: mlpOptions.batchSize, maxEpochs: mlpOptions.epochs, patience: mlpOptions.patience, learningRate: mlpOptions.learningRate, weightDecay: mlpOptions.weightDecay, loss: mlpOptions.loss, optimizer: 'adamw' });
  }
  if (Number.isFinite(maxYears)) hyperparameters.maxTrainYears = maxYears;

  o.onProgress?.({ stage: 'evaluate' });
  // a final fit that has seen the validation period is scored by the fit that had not
  const onValidation = validated === linearOnTrain ? linearOnValidation : validate(validated);

  // The per-hour linear reference every model must beat: ridge on the load lags and the day of
  // week alone (no holidays, no time of year), its penalty chosen the same way as ours.
  const referenceChoice = selection.choose({ penalties: PENALTIES, folds: FOLDS, candidates: [[]] });
  const reference = { evaluation: validate(selection.fit([], referenceChoice.penalty, trainBlocks)) };
  let test: ModelCard['test'];
  if (seriesEnd - trainUntilMs >= 2 * DAY_MS) {
    const referenceAll = selection.fit([], referenceChoice.penalty);
    const m = evaluate(series, spec, (x, s) => predict(network, x, s), trainUntilMs, seriesEnd);
    const l = evaluate(series, spec, (x, s) => predict(referenceAll, x, s), trainUntilMs, seriesEnd);
    test = { from: formatNaive(trainUntilMs), to: formatNaive(seriesEnd), model: card(m.model), seasonalNaive: card(m.seasonalNaive), linear: card(l.model) };
  }
  const F = all.featureCount;
  const steps = stepsOf(horizon);
  return {
    network,
    spec,
    scoredPeriod: test ? { fromMs: trainUntilMs, toMs: seriesEnd } : { fromMs: validationFromMs, toMs: trainUntilMs },
    card: {
      cardVersion: 1,
      id: o.id,
      version: o.version,
      created: new Date(o.nowMs).toISOString(),
      kind: o.kind,
      horizon,
      steps,
      description:
        horizon === 'day-ahead'
          ? `Load of the ${steps} hours of a day, issued at midnight from the load up to the hour before; ${o.kind === 'linear' ? 'ridge regression' : 'ridge regression plus an MLP ensemble correcting it'}`
          : `Load of the coming hour, issued at the start of the hour from the load up to the hour before; ${o.kind === 'linear' ? 'ridge regression' : 'ridge regression plus an MLP ensemble correcting it'}`,
      inputs: [
        { name: 'features', shape: ['batch', F], meaning: 'the feature builder\'s output, in the order of features.names' },
        { name: 'scale', shape: ['batch', 1], meaning: 'mean load over the 168 hours before issue (the unit of the outputs\' shape)' },
      ],
      outputs: [
        { name: 'load', shape: ['batch', steps], meaning: `forecast load per hour ahead, in the unit of the input series` },
        { name: 'p10', shape: ['batch', steps], meaning: '10 % quantile: the load is below this one hour in ten' },
        { name: 'p90', shape: ['batch', steps], meaning: '90 % quantile: the load is above this one hour in ten' },
      ],
      features: {
        builderVersion: FEATURE_BUILDER_VERSION,
        names: featureNames(spec),
        withTemperature: spec.withTemperature,
        holidays: o.calendar.dates ? { name: o.calendar.name, dates: [...o.calendar.dates] } : { name: o.calendar.name },
        maxMissingFraction: spec.maxMissingFraction ?? 0.1,
      },
      training: {
        file: o.data.file,
        sha256: o.data.sha256,
        from: formatNaive(trainFromMs),
        to: formatNaive(trainUntilMs),
        samples: all.n,
        validationFrom: formatNaive(validationFromMs),
        seed: o.seed,
        hyperparameters,
        durationMs: Math.round(performance.now() - started),
      },
      validation: { model: card(onValidation.model), seasonalNaive: card(onValidation.seasonalNaive), linear: card(reference.evaluation.model) },
      ...(test ? { test } : {}),
    },
  };
}

