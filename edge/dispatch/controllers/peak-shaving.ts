/**
 * The peak-shaving controller: a pure function of a frozen snapshot (state of charge, the feeder's
 * day-ahead forecast, the time) that plans the battery over the rest of the forecast
 * (peak-shaving-plan.ts) and proposes the next interval's setpoint: discharge, charge, or
 * nothing. No I/O and no clock: `nowMs` is the snapshot's.
 *
 * @example
 *   const control = peakShavingController({ edgeId: 'e1', siteId: 's1', assetId: 'bess-01', setpointPoint: 'bess1.power_setpoint_kw',
 *     limitKw: 3400, basis: 'p90', battery: { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 0.9, socMinPct: 10, socMaxPct: 95 } });
 *   const { status, proposals } = control({ nowMs, socPct: 60, forecast });
 */
import { num } from '../../policy/reasons.js';
import type { FallbackCode } from '../../forecast/types.js';
import { sealProposal } from '../proposal.js';
import { DispatchError, type ForecastRef, type Proposal } from '../types.js';
import { planPeakShaving, type BatteryLimits, type Plan } from './peak-shaving-plan.js';

export interface PeakShavingConfig {
  /** Names the controller in proposals and their ids (default `peak-shaving`). */
  controllerId?: string;
  edgeId: string;
  siteId: string;
  assetId: string;
  /** The battery's power setpoint point (discharge > 0), e.g. `bess1.power_setpoint_kw`. */
  setpointPoint: string;
  /** The feeder's import limit, kW. */
  limitKw: number;
  /** Plan on the central forecast, or on its p90 (conservative: more discharge, less charge). */
  basis: 'load' | 'p90';
  battery: BatteryLimits;
  /** Charging keeps the feeder this far under the limit, kW (default 0). */
  chargeMarginKw?: number;
  /** Setpoints smaller than this are not proposed, kW (default 1). */
  deadbandKw?: number;
}

/** A forecast on the epoch clock (the dispatcher converts the store's naive-local issue time). */
export interface ForecastInput {
  target: string;
  /** Start of the first value's interval, ms since the epoch. */
  startMs: number;
  /** Length of each value's interval on the agent's clock (3,600,000 for hourly). */
  stepMs: number;
  /**
   * The same interval in the grid's hours, for energy (kWh = kW x h). Defaults to stepMs / 1 h;
   * on a simulated clock that runs faster than real time (a demo, a replay) it stays 1 for an
   * hourly forecast while stepMs shrinks, or planned energy would shrink with it.
   */
  stepHours?: number;
  load: readonly number[];
  p10: readonly number[];
  p90: readonly number[];
  model?: { id: string; version: string; sha256: string };
  fallback?: { code: FallbackCode };
}

export interface PeakShavingSnapshot {
  nowMs: number;
  /** Measured state of charge, %; undefined when there is no good reading. */
  socPct: number | undefined;
  forecast: ForecastInput | undefined;
  /**
   * Feeder load measured now, kW (optional). A persistence guard: when it is above the forecast
   * for the next interval, the plan takes it for that interval, so the battery neither charges
   * into a peak the forecast missed nor under-discharges one.
   */
  measuredLoadKw?: number;
}

/** PROPOSED: one proposal; IDLE: plan says nothing to do now; the rest say why no plan was made. */
export type PeakShavingStatus = 'PROPOSED' | 'IDLE' | 'NO_FORECAST' | 'FORECAST_INVALID' | 'FORECAST_EXHAUSTED' | 'SOC_UNKNOWN';

export interface PeakShavingResult {
  status: PeakShavingStatus;
  /** The plan from the next interval to the end of the forecast (null without one). */
  plan: Plan | null;
  /** Start of the plan's first step (the next interval), ms since the epoch. */
  planStartMs: number | null;
  proposals: Proposal[];
  /** Why, in words (for IDLE and failures; a proposal carries its own reason). */
  note: string;
}

type Compiled = Required<Omit<PeakShavingConfig, 'battery'>> & { battery: BatteryLimits };

function compile(c: PeakShavingConfig): Readonly<Compiled> {
  const bad = (m: string): never => {
    throw new DispatchError('EDGE_DISPATCH_CONFIG', `peak shaving: ${m}`);
  };
  const b = c.battery;
  const finite = (v: number, name: string, min: number) => (Number.isFinite(v) && v >= min) || bad(`${name} must be a finite number >= ${min}, got ${v}`);
  finite(c.limitKw, 'limitKw', 0);
  finite(b.capacityKwh, 'battery.capacityKwh', 0);
  finite(b.maxDischargeKw, 'battery.maxDischargeKw', 0);
  finite(b.maxChargeKw, 'battery.maxChargeKw', 0);
  if (!(b.roundTripEfficiency > 0 && b.roundTripEfficiency <= 1)) bad(`battery.roundTripEfficiency must be in (0, 1], got ${b.roundTripEfficiency}`);
  if (!(b.socMinPct >= 0 && b.socMinPct < b.socMaxPct && b.socMaxPct <= 100)) bad(`battery SoC bounds must satisfy 0 <= socMinPct < socMaxPct <= 100, got ${b.socMinPct}..${b.socMaxPct}`);
  if (b.capacityKwh === 0) bad('battery.capacityKwh must be above 0');
  const chargeMarginKw = c.chargeMarginKw ?? 0;
  const deadbandKw = c.deadbandKw ?? 1;
  finite(chargeMarginKw, 'chargeMarginKw', 0);
  finite(deadbandKw, 'deadbandKw', 0);
  if (c.basis !== 'load' && c.basis !== 'p90') bad(`basis must be 'load' or 'p90', got '${String(c.basis)}'`);
  return Object.freeze({ controllerId: c.controllerId ?? 'peak-shaving', edgeId: c.edgeId, siteId: c.siteId, assetId: c.assetId, setpointPoint: c.setpointPoint, limitKw: c.limitKw, basis: c.basis, battery: Object.freeze({ ...b }), chargeMarginKw, deadbandKw });
}

const at = (ms: number) => new Date(ms).toISOString().slice(0, 16) + 'Z';
/** Towards zero, to the watt (less a nano-watt of float noise): a proposal never asks for more than the plan. */
const kw = (v: number) => Math.floor(v * 1000 + 1e-6) / 1000;

export function peakShavingController(config: PeakShavingConfig): (snapshot: PeakShavingSnapshot) => PeakShavingResult {
  const c = compile(config);
  const none = (status: PeakShavingStatus, note: string, plan: Plan | null = null, planStartMs: number | null = null): PeakShavingResult => ({ status, plan, planStartMs, proposals: [], note });

  return function control(s: PeakShavingSnapshot): PeakShavingResult {
    const f = s.forecast;
    if (f === undefined || f.load.length === 0) return none('NO_FORECAST', 'no day-ahead forecast for the feeder: nothing planned');
    const series = c.basis === 'p90' ? f.p90 : f.load;
    if (!(f.stepMs > 0) || f.p10.length !== f.load.length || f.p90.length !== f.load.length || !series.every(Number.isFinite)) {
      return none('FORECAST_INVALID', `forecast for ${f.target} issued for ${at(f.startMs)} has missing, non-finite or mismatched values: nothing planned`);
    }
    if (s.socPct === undefined || !Number.isFinite(s.socPct)) return none('SOC_UNKNOWN', `no state of charge reading for ${c.assetId}: nothing planned`);
    const first = Math.max(0, Math.ceil((s.nowMs - f.startMs) / f.stepMs));
    if (first >= f.load.length) return none('FORECAST_EXHAUSTED', `forecast for ${f.target} ended at ${at(f.startMs + f.load.length * f.stepMs)}: nothing planned`);

    const stepHours = f.stepHours ?? f.stepMs / 3_600_000;
    const planned = series.slice(first);
    const measured = s.measuredLoadKw;
    const guarded = measured !== undefined && Number.isFinite(measured) && measured > planned[0]!;
    if (guarded) planned[0] = measured;
    const plan = planPeakShaving({ loadKw: planned, stepHours, limitKw: c.limitKw, socPct: s.socPct, battery: c.battery, chargeMarginKw: c.chargeMarginKw });
    const startMs = f.startMs + first * f.stepMs;
    const endMs = startMs + f.stepMs;
    const p = plan.batteryKw[0]!;
    const magnitudeKw = kw(Math.abs(p));
    if (magnitudeKw < c.deadbandKw || magnitudeKw === 0) {
      const peak = plan.peakKw > c.limitKw ? `planned peak ${num(plan.peakKw)} kW above the ${num(c.limitKw)} kW limit later` : `forecast stays under the ${num(c.limitKw)} kW limit`;
      return none('IDLE', `${at(startMs)}-${at(endMs)}: battery idle (${peak}; SoC ${num(s.socPct)} %)`, plan, startMs);
    }
    const load = f.load[first]!;
    const p10 = f.p10[first]!;
    const p90 = f.p90[first]!;
    const basisKw = planned[0]!;
    const forecast: ForecastRef = {
      target: f.target,
      startMs: f.startMs,
      basis: c.basis,
      loadKw: load,
      p10Kw: p10,
      p90Kw: p90,
      model: f.model ? { id: f.model.id, version: f.model.version, sha256: f.model.sha256 } : null,
      fallback: f.fallback ? f.fallback.code : null,
    };
    const source = guarded ? `measured ${num(measured)} kW now, above the forecast ${num(series[first]!)} kW; taken as the load` : f.fallback ? `seasonal naive (${f.fallback.code})` : f.model ? `model ${f.model.id} ${f.model.version}` : 'forecast';
    const horizon = `${plan.batteryKw.length} h to ${at(f.startMs + f.load.length * f.stepMs)}`;
    const socAfter = plan.socPct[0]!;
    const discharge = p > 0;
    const what = guarded ? source : `${source} ${c.basis === 'p90' ? 'p90 ' : ''}${num(basisKw)} kW`;
    const reason = discharge
      ? `${what} for ${at(startMs)}-${at(endMs)} is above the ${num(c.limitKw)} kW limit of ${f.target}: ` +
        `discharge ${num(magnitudeKw)} kW to hold it at ${num(plan.netKw[0]!)} kW; ` +
        (plan.aboveLimitKwh > 0 ? `battery energy or power short: planned peak ${num(plan.peakKw)} kW, ${num(plan.aboveLimitKwh)} kWh above the limit over the next ${horizon}; ` : `load kept under the limit over the next ${horizon}; `) +
        `SoC ${num(s.socPct)} % -> ${num(socAfter)} % (min ${num(c.battery.socMinPct)} %)`
      : `${what} for ${at(startMs)}-${at(endMs)} leaves ${num(c.limitKw - c.chargeMarginKw - basisKw)} kW under the ${num(c.limitKw)} kW limit of ${f.target}` +
        `${c.chargeMarginKw > 0 ? ` (less a ${num(c.chargeMarginKw)} kW margin)` : ''}: charge ${num(magnitudeKw)} kW; SoC ${num(s.socPct)} % -> ${num(socAfter)} % (max ${num(c.battery.socMaxPct)} %)`;
    const proposal = sealProposal({
      controller: c.controllerId,
      edgeId: c.edgeId,
      siteId: c.siteId,
      assetId: c.assetId,
      action: discharge ? 'battery_discharge' : 'battery_charge',
      magnitudeKw,
      energyKwh: magnitudeKw * stepHours,
      intervalStartMs: startMs,
      intervalEndMs: endMs,
      setpoint: { point: c.setpointPoint, value: discharge ? magnitudeKw : -magnitudeKw, unit: 'kW' },
      reason,
      forecast,
      measurement: null,
      ...(load > 0 && p90 >= p10 && { forecastBandWidth: (p90 - p10) / load }),
    });
    return { status: 'PROPOSED', plan, planStartMs: startMs, proposals: [proposal], note: reason };
  };
}
