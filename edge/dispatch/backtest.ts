/**
 * The policy backtest: what would this policy have let the edge do, replayed over a recorded
 * hourly load series? Pure (no I/O, no clock): the caller reads the CSV and the policy.
 *
 * Day by day: a day-ahead forecast issued at local midnight from the history before it (the
 * seasonal naive by default), then each hour the peak-shaving controller on the simulated
 * battery, each proposal judged by the compiled policy with the edge's rate-limit counters kept
 * through the replay. Auto actions run; escalations run when `escalated` is `approved` (an
 * operator agreed) and not when `refused`; denials never run. The battery is simple energy
 * bookkeeping (sqrt of the round trip on each way, clamped to the SoC bounds).
 *
 * Time: the series is naive local (models/series.ts); its clock times are read as the policy's
 * local time zone, so a window "22:00-06:00" covers the replayed nights. The controller runs on
 * the naive clock; the policy sees epoch instants. A recorded series predates the policy's
 * validity, so by default (`validity: 'ignore'`) the policy is judged as if in force; `replay`
 * judges it at the replayed instants (then an out-of-date policy runs nothing on its own).
 */
import type { Policy } from '../../config/index.js';
import { seasonalNaive } from '../../models/naive.js';
import { DAY_MS, HOUR_MS, indexOf, type HourlySeries } from '../../models/series.js';
import { compilePolicy, type Outcome, type PolicyContext } from '../policy/index.js';
import { ZoneClock } from '../policy/week-mask.js';
import { peakShavingController, type ForecastInput } from './controllers/peak-shaving.js';
import type { BatteryLimits } from './controllers/peak-shaving-plan.js';
import { toProposedAction } from './proposal.js';
import { DispatchError } from './types.js';

/** A day-ahead forecast for the 24 hours from naive-local `issueMs`, or why there is none. */
export type DayAheadForecaster = (series: HourlySeries, issueMs: number) => { ok: true; forecast: Omit<ForecastInput, 'target' | 'startMs' | 'stepMs'> } | { ok: false; code: string; message: string };

export interface BacktestOptions {
  /** Hourly load, naive local; scaled so its highest hour is `peakKw`. */
  series: HourlySeries;
  policy: Policy;
  peakKw: number;
  limitKw: number;
  battery: BatteryLimits & { initialSocPct: number };
  basis: 'load' | 'p90';
  /** Charging keeps the feeder this far under the limit, kW (default 0). */
  chargeMarginKw?: number;
  /**
   * Give the controller the load of the hour just ended as its measurement (the persistence
   * guard: no charging into a peak the forecast missed). Default true.
   */
  measuredGuard?: boolean;
  /** Naive-local day bounds, [from, to); default: a week after the series starts, to its end. */
  fromMs?: number;
  toMs?: number;
  /** Escalations: assume an operator approved them (they run) or not. */
  escalated: 'approved' | 'refused';
  validity: 'ignore' | 'replay';
  edgeId?: string;
  siteId?: string;
  assetId?: string;
  target?: string;
  /** Default: the seasonal naive (models/naive.ts). */
  forecaster?: DayAheadForecaster;
  /** Most days replayed (a bound on the work; default 3660). */
  maxDays?: number;
}

export interface OutcomeTally {
  count: number;
  /** Energy the proposals would move, kWh. */
  kwh: number;
}

export interface BacktestDay {
  date: string;
  /** Who forecast the day: `seasonal-naive`, a model id, or why nobody could (day skipped). */
  forecast: string;
  skipped: string | null;
  proposals: number;
  auto: OutcomeTally;
  escalate: OutcomeTally;
  deny: OutcomeTally;
  /** Energy the battery actually moved, kWh. */
  dischargedKwh: number;
  chargedKwh: number;
  /** Highest measured load, and after the battery, kW. */
  peakBeforeKw: number;
  peakAfterKw: number;
  hoursOverLimitBefore: number;
  hoursOverLimitAfter: number;
  socEndPct: number;
}

export interface BacktestReport {
  policy: { id: string; version: number };
  settings: { peakKw: number; limitKw: number; basis: 'load' | 'p90'; chargeMarginKw: number; measuredGuard: boolean; escalated: 'approved' | 'refused'; validity: 'ignore' | 'replay'; from: string; to: string; battery: BacktestOptions['battery'] };
  days: BacktestDay[];
  total: Omit<BacktestDay, 'date' | 'forecast' | 'skipped' | 'socEndPct'> & { days: number; skippedDays: number; byRule: Record<string, number>; flags: Record<string, number> };
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const tally = (): OutcomeTally => ({ count: 0, kwh: 0 });
const round3 = (v: number) => Math.round(v * 1000) / 1000;

const naiveForecaster: DayAheadForecaster = (series, issueMs) => {
  const r = seasonalNaive(series, issueMs, 'day-ahead');
  if (!r.ok) return r;
  return { ok: true, forecast: { load: [...r.forecast.load], p10: [...r.forecast.p10], p90: [...r.forecast.p90], fallback: { code: 'NO_MODEL' } } };
};

/** The series scaled so its highest hour is `peakKw` (what the backtest replays and forecasts on). */
export function scaleSeries(series: HourlySeries, peakKw: number): HourlySeries {
  let max = -Infinity;
  for (const v of series.load) if (v > max) max = v;
  if (!(max > 0)) throw new DispatchError('EDGE_DISPATCH_DATA', 'policy backtest: the series has no positive load to scale');
  const scale = peakKw / max;
  return { startMs: series.startMs, load: series.load.map((v) => v * scale), ...(series.temp && { temp: series.temp }) };
}

export function runPolicyBacktest(o: BacktestOptions): BacktestReport {
  const bad = (m: string): never => {
    throw new DispatchError('EDGE_DISPATCH_DATA', `policy backtest: ${m}`);
  };
  if (!(o.peakKw > 0) || !(o.limitKw > 0)) bad('peakKw and limitKw must be above 0');
  const series = scaleSeries(o.series, o.peakKw);
  const seriesEnd = o.series.startMs + o.series.load.length * HOUR_MS;
  const floorDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
  const fromMs = floorDay(o.fromMs ?? o.series.startMs + 7 * DAY_MS + DAY_MS - 1);
  const toMs = Math.min(floorDay(o.toMs ?? seriesEnd), floorDay(seriesEnd));
  if (!(toMs > fromMs)) bad(`nothing to replay between ${day(fromMs)} and ${day(toMs)} (the series covers ${day(o.series.startMs)} to ${day(seriesEnd - 1)})`);
  if ((toMs - fromMs) / DAY_MS > (o.maxDays ?? 3660)) bad(`${(toMs - fromMs) / DAY_MS} days is more than the ${o.maxDays ?? 3660} allowed`);

  const ids = { edgeId: o.edgeId ?? 'backtest', siteId: o.siteId ?? 'backtest', assetId: o.assetId ?? 'bess-01', target: o.target ?? 'feeder1.active_power_kw' };
  const evaluate = compilePolicy(o.policy);
  const zone = new ZoneClock(o.policy.timeZone);
  const utcOf = (naiveMs: number) => naiveMs - zone.offsetMs(naiveMs - zone.offsetMs(naiveMs));
  const control = peakShavingController({ ...ids, setpointPoint: 'bess1.power_setpoint_kw', limitKw: o.limitKw, basis: o.basis, battery: o.battery, chargeMarginKw: o.chargeMarginKw ?? 0 });
  const forecaster = o.forecaster ?? naiveForecaster;
  const b = o.battery;
  const eta = Math.sqrt(b.roundTripEfficiency);
  let socPct = b.initialSocPct;
  /** Executed autonomous actions: epoch start and energy, for the rate-limit counters. */
  const autoStarts: number[] = [];
  const days: BacktestDay[] = [];
  const byRule: Record<string, number> = {};
  const flags: Record<string, number> = {};

  for (let d = fromMs; d < toMs; d += DAY_MS) {
    const f = forecaster(series, d);
    const today: BacktestDay = {
      date: day(d), forecast: 'seasonal-naive', skipped: null, proposals: 0, auto: tally(), escalate: tally(), deny: tally(),
      dischargedKwh: 0, chargedKwh: 0, peakBeforeKw: -Infinity, peakAfterKw: -Infinity, hoursOverLimitBefore: 0, hoursOverLimitAfter: 0, socEndPct: socPct,
    };
    days.push(today);
    if (!f.ok) {
      today.forecast = f.code;
      today.skipped = f.message;
      continue;
    }
    if (f.forecast.model) today.forecast = f.forecast.model.id;
    const forecast: ForecastInput = { ...f.forecast, target: ids.target, startMs: d, stepMs: HOUR_MS };
    let autoKwhToday = 0;
    for (let h = 0; h < 24; h++) {
      const hourMs = d + h * HOUR_MS;
      const nowUtc = utcOf(hourMs);
      const lastHour = series.load[indexOf(series, hourMs) - 1];
      const result = control({ nowMs: hourMs, socPct, forecast, ...(o.measuredGuard !== false && lastHour !== undefined && Number.isFinite(lastHour) && { measuredLoadKw: lastHour }) });
      let batteryKw = 0;
      for (const p of result.proposals) {
        const action = { ...toProposedAction(p), intervalStartMs: utcOf(p.intervalStartMs), intervalEndMs: utcOf(p.intervalEndMs) };
        while (autoStarts.length > 0 && autoStarts[0]! < nowUtc - HOUR_MS) autoStarts.shift();
        const ctx: PolicyContext = {
          nowMs: o.validity === 'ignore' ? o.policy.validFromMs : nowUtc,
          stateOfChargePct: socPct,
          policyExpired: false,
          hubReachable: true,
          autoCountLastHour: autoStarts.length,
          autoEnergyKwhToday: autoKwhToday,
        };
        const v = evaluate(action, ctx);
        const outcome: Outcome = v.outcome;
        today.proposals++;
        today[outcome].count++;
        today[outcome].kwh += p.energyKwh;
        byRule[v.ruleId] = (byRule[v.ruleId] ?? 0) + 1;
        for (const flag of v.flags) flags[flag] = (flags[flag] ?? 0) + 1;
        if (outcome === 'auto') {
          autoStarts.push(action.intervalStartMs);
          autoKwhToday += p.energyKwh;
        }
        if (outcome === 'auto' || (outcome === 'escalate' && o.escalated === 'approved')) batteryKw += p.setpoint.value;
      }
      // the battery delivers what its power and state of charge allow over the hour
      if (batteryKw > 0) batteryKw = Math.min(batteryKw, b.maxDischargeKw, Math.max(0, ((socPct - b.socMinPct) / 100) * b.capacityKwh * eta));
      else if (batteryKw < 0) batteryKw = -Math.min(-batteryKw, b.maxChargeKw, Math.max(0, ((b.socMaxPct - socPct) / 100) * b.capacityKwh / eta));
      socPct -= ((batteryKw > 0 ? batteryKw / eta : batteryKw * eta) / b.capacityKwh) * 100;
      if (batteryKw > 0) today.dischargedKwh += batteryKw;
      else today.chargedKwh -= batteryKw;
      const load = series.load[indexOf(series, hourMs)] ?? NaN;
      if (Number.isFinite(load)) {
        today.peakBeforeKw = Math.max(today.peakBeforeKw, load);
        today.peakAfterKw = Math.max(today.peakAfterKw, load - batteryKw);
        if (load > o.limitKw) today.hoursOverLimitBefore++;
        if (load - batteryKw > o.limitKw + 1e-6) today.hoursOverLimitAfter++;
      }
    }
    today.socEndPct = socPct;
  }

  const total: BacktestReport['total'] = {
    days: days.length, skippedDays: 0, proposals: 0, auto: tally(), escalate: tally(), deny: tally(), dischargedKwh: 0, chargedKwh: 0,
    peakBeforeKw: -Infinity, peakAfterKw: -Infinity, hoursOverLimitBefore: 0, hoursOverLimitAfter: 0, byRule, flags,
  };
  for (const t of days) {
    if (t.skipped !== null) total.skippedDays++;
    total.proposals += t.proposals;
    for (const k of ['auto', 'escalate', 'deny'] as const) {
      t[k].kwh = round3(t[k].kwh);
      total[k].count += t[k].count;
      total[k].kwh += t[k].kwh;
    }
    t.dischargedKwh = round3(t.dischargedKwh);
    t.chargedKwh = round3(t.chargedKwh);
    t.peakBeforeKw = t.peakBeforeKw === -Infinity ? 0 : round3(t.peakBeforeKw);
    t.peakAfterKw = t.peakAfterKw === -Infinity ? 0 : round3(t.peakAfterKw);
    t.socEndPct = round3(t.socEndPct);
    total.dischargedKwh += t.dischargedKwh;
    total.chargedKwh += t.chargedKwh;
    total.peakBeforeKw = Math.max(total.peakBeforeKw, t.peakBeforeKw);
    total.peakAfterKw = Math.max(total.peakAfterKw, t.peakAfterKw);
    total.hoursOverLimitBefore += t.hoursOverLimitBefore;
    total.hoursOverLimitAfter += t.hoursOverLimitAfter;
  }
  for (const k of ['auto', 'escalate', 'deny'] as const) total[k].kwh = round3(total[k].kwh);
  total.dischargedKwh = round3(total.dischargedKwh);
  total.chargedKwh = round3(total.chargedKwh);
  return {
    policy: { id: o.policy.id, version: o.policy.version },
    settings: { peakKw: o.peakKw, limitKw: o.limitKw, basis: o.basis, chargeMarginKw: o.chargeMarginKw ?? 0, measuredGuard: o.measuredGuard !== false, escalated: o.escalated, validity: o.validity, from: day(fromMs), to: day(toMs), battery: { ...o.battery } },
    days,
    total,
  };
}
