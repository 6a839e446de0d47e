/**
 * `gridos model train | eval | verify`: forecasting models from the command line. Training
 * shows its progress on stderr; results go to stdout (a summary, or JSON with --json).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { Evaluation } from '../models/evaluate.js';
import { EXIT_CONFIG, intOption } from './options.js';

/** Exit code when a model fails verification. */
const EXIT_INVALID_MODEL = 1;

function naiveDate(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a local date 'YYYY-MM-DD' (or 'YYYY-MM-DD HH:MM'), got '${value}'`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0));
}

function fail(message: string, code = EXIT_CONFIG): never {
  process.stderr.write(`gridos model: ${message}\n`);
  process.exit(code);
}

/** Errors the models code reports with a code (bad data, bad range) end the command with their message. */
function failOnCoded(err: unknown): never {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('MODEL_')) fail(`${err.code}: ${err.message}`);
  if (err instanceof Error && 'code' in err && err.code === 'ENOENT') fail(err.message);
  throw err;
}

const pct = (v: number): string => `${v.toFixed(2)} %`;

interface TrainCliOptions {
  data: string;
  target: string;
  horizon: 'day-ahead' | 'hour-ahead';
  kind: 'linear' | 'mlp';
  trainUntil?: number;
  holidays: string;
  seed: number;
  id?: string;
  modelVersion: string;
  out: string;
  json?: boolean;
  progress: boolean;
}

function trainCommand(): Command {
  return new Command('train')
    .description('train a load forecaster on an hourly CSV (timestamp,load[,temp]) and write it as a model folder (model.onnx + card.json)')
    .requiredOption('--data <csv>', 'hourly data: timestamp,load[,temp], local time, one row per hour, empty cell = missing')
    .option('--target <column>', 'the column to forecast', 'load')
    .addOption(new Option('--horizon <horizon>', 'day-ahead: 24 hours issued at midnight; hour-ahead: the next hour').choices(['day-ahead', 'hour-ahead']).default('day-ahead'))
    .addOption(new Option('--kind <kind>', 'linear: ridge regression; mlp: ridge plus a small neural network ensemble').choices(['linear', 'mlp']).default('mlp'))
    .addOption(new Option('--train-until <date>', 'train on data before this local date; data after it is scored as a test period').argParser(naiveDate))
    .option('--holidays <calendar>', "holiday calendar: 'us', 'none', or a file of YYYY-MM-DD dates", 'us')
    .addOption(new Option('--seed <n>', 'random seed: the same seed and data give the same model').argParser(intOption(0, 2 ** 31 - 1)).default(1))
    .option('--id <id>', 'model id (default: <data file>-<horizon>)')
    .option('--model-version <version>', 'model version written in the card', '1')
    .requiredOption('--out <dir>', 'folder to write model.onnx and card.json into')
    .option('--json', 'print the card as JSON instead of a summary')
    .option('--no-progress', 'no progress bar')
    .action(async (o: TrainCliOptions) => {
      const { readSeriesCsv } = await import('../models/series.js');
      const { resolveCalendar } = await import('../models/calendar.js');
      const { trainModel } = await import('../models/train.js');
      const { writeModel } = await import('../models/write.js');
      const sha = (t: string | Buffer): string => createHash('sha256').update(t).digest('hex');
      let series;
      let calendar;
      try {
        series = readSeriesCsv(o.data, o.target);
        calendar = resolveCalendar(o.holidays, sha);
      } catch (err) {
        failOnCoded(err);
      }
      const id = o.id ?? `${basename(o.data).replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_')}-${o.horizon}`;
      const bar = await progressBar(o.progress);
      let trained;
      try {
        trained = trainModel({
          series,
          data: { file: basename(o.data), sha256: sha(readFileSync(o.data)) },
          horizon: o.horizon,
          kind: o.kind,
          ...(o.trainUntil !== undefined ? { trainUntilMs: o.trainUntil } : {}),
          calendar,
          seed: o.seed,
          id,
          version: o.modelVersion,
          nowMs: Date.now(),
          onProgress: (p) => {
            if (p.stage === 'features') bar.stage(`features: ${p.samples} samples`);
            else if (p.stage === 'linear') bar.stage(`ridge penalty ${p.penalty}: validation MAPE ${pct(p.validationMape)}`);
            else if (p.stage === 'mlp') bar.epoch(p.member, p.members, p.epoch, p.epochs, p.validationLoss);
            else bar.stage('scoring');
          },
        });
      } catch (err) {
        bar.stop();
        failOnCoded(err);
      }
      bar.stop();
      const card = await writeModel(resolve(o.out), trained, { series, spec: trained.spec, ...trained.scoredPeriod });
      if (o.json) {
        process.stdout.write(JSON.stringify(card) + '\n');
        return;
      }
      const v = card.validation;
      const lines = [
        `model ${card.id}@${card.version} (${card.kind}, ${card.horizon}) written to ${o.out}`,
        `  trained on ${card.training.file} ${card.training.from} .. ${card.training.to}: ${card.training.samples} samples in ${(card.training.durationMs / 1000).toFixed(1)} s`,
        `  validation ${card.training.validationFrom} ..: MAPE ${pct(v.model.mape)} (seasonal naive ${pct(v.seasonalNaive.mape)}, per-hour linear reference ${pct(v.linear.mape)}), p10-p90 coverage ${((v.model.bandCoverage ?? 0) * 100).toFixed(0)} %`,
      ];
      if (card.test) lines.push(`  test ${card.test.from} .. ${card.test.to}: MAPE ${pct(card.test.model.mape)} (seasonal naive ${pct(card.test.seasonalNaive.mape)}, per-hour linear reference ${pct(card.test.linear.mape)})`);
      lines.push(`  ${card.onnx.file}: ${card.onnx.bytes} bytes, sha256 ${card.onnx.sha256}`);
      const parity = card.onnx.parity;
      if (parity) lines.push(`  onnxruntime vs TypeScript on ${parity.samples} forecasts (${parity.period}): max abs difference ${parity.maxAbsDiff} (${parity.maxRelDiff} of the load's level)`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}

/** A progress bar on a terminal, a line per stage (and every 10 epochs) otherwise. */
async function progressBar(enabled: boolean): Promise<{ stage(text: string): void; epoch(member: number, members: number, epoch: number, epochs: number, loss: number): void; stop(): void }> {
  if (!enabled) return { stage: () => undefined, epoch: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    { format: 'training {what} |{bar}| {value}/{total} epochs  validation loss {loss}', stream: process.stderr, noTTYOutput: false, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let running = false;
  let member = -1;
  return {
    stage(text) {
      if (running) {
        bar.stop();
        running = false;
      }
      process.stderr.write(`training: ${text}\n`);
    },
    epoch(m, members, epoch, epochs, loss) {
      if (!process.stderr.isTTY) {
        if (epoch === 1 || epoch % 10 === 0) process.stderr.write(`training: network ${m + 1}/${members}, epoch ${epoch}/${epochs}, validation loss ${loss.toExponential(3)}\n`);
        return;
      }
      if (m !== member) {
        if (running) bar.stop();
        bar.start(epochs, 0, { what: `network ${m + 1}/${members}`, loss: '-' });
        running = true;
        member = m;
      }
      bar.update(epoch, { loss: loss.toExponential(3) });
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

function evalCommand(): Command {
  return new Command('eval')
    .description('score a model folder on an hourly CSV over a period, next to the seasonal-naive reference (runs the .onnx as the edge does)')
    .requiredOption('--model <dir>', 'model folder (model.onnx + card.json)')
    .requiredOption('--data <csv>', 'hourly data: timestamp,load[,temp]')
    .option('--target <column>', 'the column the model forecasts', 'load')
    .requiredOption('--from <date>', 'first local date of the period scored', naiveDate)
    .option('--to <date>', 'end of the period (exclusive; default: the end of the data)', naiveDate)
    .option('--json', 'print one JSON object')
    .action(async (o: { model: string; data: string; target: string; from: number; to?: number; json?: boolean }) => {
      const { loadModel } = await import('../models/artifact.js');
      const { readSeriesCsv, endMs } = await import('../models/series.js');
      const { scoreModel } = await import('../models/score.js');
      const loaded = loadModel(o.model);
      if (!loaded.ok) fail(`${loaded.problem.code}: ${loaded.problem.message}`, EXIT_INVALID_MODEL);
      let series;
      try {
        series = readSeriesCsv(o.data, o.target);
      } catch (err) {
        failOnCoded(err);
      }
      const toMs = o.to ?? endMs(series);
      let e: Evaluation;
      try {
        e = await scoreModel(loaded.model, series, o.from, toMs);
      } catch (err) {
        fail((err as Error).message);
      }
      if (e.model.n === 0) fail(`no hour between ${o.data} ${new Date(o.from).toISOString().slice(0, 16)} and ${new Date(toMs).toISOString().slice(0, 16)} could be scored (each forecast needs the week before it)`);
      const { card } = loaded.model;
      const result = {
        model: card.id,
        version: card.version,
        sha256: loaded.model.sha256,
        horizon: card.horizon,
        from: new Date(o.from).toISOString().slice(0, 16),
        to: new Date(toMs).toISOString().slice(0, 16),
        n: e.model.n,
        mape: e.model.mape,
        mae: e.model.mae,
        rmse: e.model.rmse,
        bias: e.model.bias,
        bandCoverage: e.model.bandCoverage,
        seasonalNaiveMape: e.seasonalNaive.mape,
        seasonalNaiveMae: e.seasonalNaive.mae,
        forecastsWithoutFeatures: e.withoutFeatures,
      };
      if (o.json) process.stdout.write(JSON.stringify(result) + '\n');
      else {
        process.stdout.write(
          `${card.id}@${card.version} (${card.horizon}) on ${o.data} ${result.from} .. ${result.to}, ${e.model.n} hours:\n` +
            `  MAPE ${pct(e.model.mape)}  MAE ${e.model.mae.toFixed(2)}  RMSE ${e.model.rmse.toFixed(2)}  bias ${e.model.bias.toFixed(2)}  p10-p90 coverage ${((e.model.bandCoverage ?? 0) * 100).toFixed(0)} %\n` +
            `  seasonal naive (same hour yesterday): MAPE ${pct(e.seasonalNaive.mape)}\n`,
        );
      }
    });
}

function verifyCommand(): Command {
  return new Command('verify')
    .description('check a model folder: card, sha256 of the .onnx, inputs and outputs, feature list, and that onnxruntime opens it (exit 1 when it fails)')
    .argument('<dir>', 'model folder')
    .option('--json', 'print the result as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const { verifyModel } = await import('../models/verify.js');
      const v = await verifyModel(dir);
      if (o.json) process.stdout.write(JSON.stringify({ ok: v.ok, dir: v.dir, model: v.model, problems: v.problems }) + '\n');
      else if (v.ok) process.stdout.write(`${dir}: ok: ${v.model!.id}@${v.model!.version} (${v.model!.kind}, ${v.model!.horizon}), ${v.model!.parameters} parameters, ${v.model!.bytes} bytes, sha256 ${v.model!.sha256}\n`);
      else for (const p of v.problems) process.stderr.write(`${dir}: ${p.code}: ${p.message}\n`);
      if (!v.ok) process.exit(EXIT_INVALID_MODEL);
    });
}

export function modelCommand(): Command {
  return new Command('model').description('forecasting models: train, evaluate, verify').addCommand(trainCommand()).addCommand(evalCommand()).addCommand(verifyCommand());
}
