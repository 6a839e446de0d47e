/**
 * `gridos policy backtest`: replays a recorded hourly load series through the peak-shaving
 * controller and a dispatch policy, and reports per day how many actions would have run on their
 * own, been escalated, or been refused, with the energy involved. The logic is
 * edge/dispatch/backtest.ts; this file reads the files and prints. Given an edge's data folder
 * instead of a CSV, it replays the dispatch cycles that edge recorded (<dir>/dispatch.db,
 * edge/dispatch/replay.ts): with the policy it ran, the outcomes it had live.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Policy } from '../config/index.js';
import type { HourlySeries } from '../models/series.js';
import type { DayAheadForecaster } from '../edge/dispatch/index.js';
import { exitOnConfigError, EXIT_CONFIG, positiveNumber } from './options.js';

function naiveDay(value: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a local date 'YYYY-MM-DD', got '${value}'`);
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
}

function percentOption(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0 || v > 100) throw new InvalidArgumentError(`expected a percentage from 0 to 100, got '${value}'`);
  return v;
}

function nonNegative(value: string): number {
  const v = Number(value);
  if (!Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`expected a number >= 0, got '${value}'`);
  return v;
}

/**
 * Day-ahead forecasts of a model folder for every local midnight in [fromMs, toMs), run in one
 * onnxruntime batch on the scaled series; a day the features cannot be built for falls back to
 * the seasonal naive (INSUFFICIENT_DATA), as the edge's model runtime does.
 */
async function modelForecaster(dir: string, scaled: HourlySeries, fromMs: number, toMs: number): Promise<DayAheadForecaster> {
  const { loadModel } = await import('../models/artifact.js');
  const { specOfCard } = await import('../models/score.js');
  const { buildFeatures } = await import('../models/features.js');
  const { ModelSession } = await import('../models/session.js');
  const { seasonalNaive } = await import('../models/naive.js');
  const loaded = loadModel(dir);
  if (!loaded.ok) fail(`${loaded.problem.code}: ${loaded.problem.message}`);
  const model = loaded.model;
  if (model.card.horizon !== 'day-ahead') fail(`${dir}: the model forecasts ${model.card.horizon}; the backtest needs a day-ahead model`);
  const spec = specOfCard(model);
  if (spec.withTemperature && !scaled.temp) fail(`${dir}: the model needs a temperature column ('temp'), and the data has none`);
  const F = model.card.features.names.length;
  const days: number[] = [];
  const rows: Float64Array[] = [];
  const scales: number[] = [];
  for (let d = Math.floor(fromMs / 86_400_000) * 86_400_000; d < toMs; d += 86_400_000) {
    const f = buildFeatures(scaled, d, spec);
    if (!f.ok) continue;
    days.push(d);
    rows.push(f.features.values);
    scales.push(f.features.scale);
  }
  const byDay = new Map<number, { load: number[]; p10: number[]; p90: number[] }>();
  if (days.length > 0) {
    const session = await ModelSession.open(model.onnx, F);
    try {
      const x = new Float32Array(days.length * F);
      rows.forEach((r, i) => x.set(r, i * F));
      const out = await session.runBatch(x, Float32Array.from(scales));
      days.forEach((d, i) => byDay.set(d, { load: [...out.load.subarray(i * 24, i * 24 + 24)], p10: [...out.p10.subarray(i * 24, i * 24 + 24)], p90: [...out.p90.subarray(i * 24, i * 24 + 24)] }));
    } finally {
      await session.close();
    }
  }
  const ref = { id: model.card.id, version: model.card.version, sha256: model.sha256 };
  return (series, issueMs) => {
    const f = byDay.get(issueMs);
    if (f) return { ok: true, forecast: { ...f, model: ref } };
    const naive = seasonalNaive(series, issueMs, 'day-ahead');
    if (!naive.ok) return naive;
    return { ok: true, forecast: { load: [...naive.forecast.load], p10: [...naive.forecast.p10], p90: [...naive.forecast.p90], model: ref, fallback: { code: 'INSUFFICIENT_DATA' } } };
  };
}

interface BacktestCliOptions {
  policy: string;
  data: string;
  from?: number;
  to?: number;
  peakKw: number;
  limitKw?: number;
  basis: 'load' | 'p90';
  chargeMarginKw: number;
  measuredGuard: boolean;
  escalated: 'approved' | 'refused';
  validity: 'ignore' | 'replay';
  soc?: number;
  model?: string;
  json?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`gridos policy backtest: ${message}\n`);
  process.exit(EXIT_CONFIG);
}

export function policyBacktestCommand(): Command {
  return new Command('backtest')
    .description('replay a recorded hourly load series (CSV timestamp,load) through the peak-shaving controller and a dispatch policy: per day, the actions that would have run on their own, escalated or been refused, and their energy')
    .requiredOption('--policy <file>', 'dispatch policy (YAML), e.g. config/policy.example.yaml')
    .requiredOption('--data <csv|dir>', "hourly load: timestamp,load, local time, one row per hour (e.g. simulators/data/pjm_dayton.csv); or an edge's data folder (storage.dataDir): its recorded dispatch cycles")
    .addOption(new Option('--from <date>', 'first local day replayed (default: a week into the data)').argParser(naiveDay))
    .addOption(new Option('--to <date>', 'local day the replay stops before (default: the end of the data)').argParser(naiveDay))
    .addOption(new Option('--peak-kw <kW>', "scale the series so its highest hour is this feeder's peak").argParser(positiveNumber).default(4000))
    .addOption(new Option('--limit-kw <kW>', 'feeder import limit the battery shaves to (default: 85 % of --peak-kw)').argParser(positiveNumber))
    .addOption(new Option('--basis <series>', 'plan on the central forecast or on its p90 (conservative)').choices(['load', 'p90']).default('load'))
    .addOption(new Option('--charge-margin-kw <kW>', 'charging keeps the feeder this far under the limit (a margin for forecast error)').argParser(nonNegative).default(0))
    .option('--no-measured-guard', "plan on the forecast alone (by default the hour just measured replaces a lower forecast for the next hour)")
    .addOption(new Option('--escalated <assume>', 'what operators did with escalations: approved (they run) or refused').choices(['approved', 'refused']).default('approved'))
    .addOption(new Option('--validity <mode>', "ignore: judge the policy as if in force over the replayed dates; replay: check its validFrom/validUntil at the replayed time").choices(['ignore', 'replay']).default('ignore'))
    .addOption(new Option('--soc <pct>', "battery state of charge at the start (default: the simulator battery's)").argParser(percentOption))
    .option('--model <dir>', 'forecast each day with this day-ahead model folder (model.onnx + card.json) instead of the seasonal naive')
    .option('--json', 'print the report as one JSON object (the last line of stdout)')
    .action(async (o: BacktestCliOptions) => {
      const { loadPolicy } = await import('../config/index.js');
      const { readSeriesCsv } = await import('../models/series.js');
      const { defaultBattery } = await import('../simulators/substation/physics.js');
      const { runPolicyBacktest, formatBacktestTable, scaleSeries } = await import('../edge/dispatch/index.js');
      let policy;
      try {
        policy = loadPolicy(o.policy);
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') fail(err.message);
        exitOnConfigError(err);
      }
      if (statSync(o.data, { throwIfNoEntry: false })?.isDirectory()) return storeBacktest(o, policy);
      let series;
      try {
        series = readSeriesCsv(o.data);
      } catch (err) {
        if (err instanceof Error && 'code' in err && typeof err.code === 'string') fail(`${err.code}: ${err.message}`);
        throw err;
      }
      // the simulator's battery (bess1): the same asset the demo runs
      const b = defaultBattery;
      const battery = { capacityKwh: b.capacityKwh, maxDischargeKw: b.maxDischargeKw, maxChargeKw: b.maxChargeKw, roundTripEfficiency: b.efficiency * b.efficiency, socMinPct: b.socMinPct, socMaxPct: b.socMaxPct, initialSocPct: o.soc ?? b.initialSocPct };
      let report;
      try {
        const forecaster = o.model === undefined ? undefined : await modelForecaster(o.model, scaleSeries(series, o.peakKw), o.from ?? series.startMs, o.to ?? series.startMs + series.load.length * 3_600_000);
        report = runPolicyBacktest({
          ...(forecaster && { forecaster }),
          series,
          policy,
          peakKw: o.peakKw,
          limitKw: o.limitKw ?? 0.85 * o.peakKw,
          battery,
          basis: o.basis,
          chargeMarginKw: o.chargeMarginKw,
          measuredGuard: o.measuredGuard,
          escalated: o.escalated,
          validity: o.validity,
          ...(o.from !== undefined && { fromMs: o.from }),
          ...(o.to !== undefined && { toMs: o.to }),
        });
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'EDGE_DISPATCH_DATA') fail(err.message);
        throw err;
      }
      process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatBacktestTable(report) + '\n');
    });
}

/** `--data <edge data folder>`: the recorded dispatch cycles in <dir>/dispatch.db, replayed under the policy. */
async function storeBacktest(o: BacktestCliOptions, policy: Policy): Promise<void> {
  const { readRecordedCycles, replayRecordedCycles, formatStoreBacktestTable } = await import('../edge/dispatch/index.js');
  const file = join(o.data, 'dispatch.db');
  if (!existsSync(file)) fail(`${o.data} holds no dispatch.db: give an edge's storage.dataDir where the dispatch loop ran, or a CSV`);
  const cycles = readRecordedCycles(file, o.from ?? 0, o.to ?? Number.MAX_SAFE_INTEGER);
  if (cycles.length === 0) fail(`${file} holds no recorded dispatch cycle${o.from !== undefined || o.to !== undefined ? ' in the days asked for' : ''}`);
  const report = replayRecordedCycles(cycles, policy);
  process.stdout.write(o.json ? JSON.stringify(report) + '\n' : formatStoreBacktestTable(report) + '\n');
}
