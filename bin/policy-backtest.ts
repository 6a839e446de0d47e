/**
 * `gridos policy backtest`: replays a recorded hourly load series through the peak-shaving
 * controller and a dispatch policy, and reports per day how many actions would have run on their
 * own, been escalated, or been refused, with the energy involved. The logic is
 * edge/dispatch/backtest.ts; this file reads the files and prints.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
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
    .requiredOption('--data <csv>', 'hourly load: timestamp,load, local time, one row per hour (e.g. simulators/data/pjm_dayton.csv)')
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
    .option('--json', 'print the report as one JSON object (the last line of stdout)')
    .action(async (o: BacktestCliOptions) => {
      const { loadPolicy } = await import('../config/index.js');
      const { readSeriesCsv } = await import('../models/series.js');
      const { defaultBattery } = await import('../simulators/substation/physics.js');
      const { runPolicyBacktest, formatBacktestTable } = await import('../edge/dispatch/index.js');
      let policy;
      try {
        policy = loadPolicy(o.policy);
      } catch (err) {
        if (err instanceof Error && 'code' in err && err.code === 'ENOENT') fail(err.message);
        exitOnConfigError(err);
      }
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
        report = runPolicyBacktest({
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
