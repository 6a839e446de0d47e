import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../config/index.js';
import { compilePolicy } from '../../edge/policy/index.js';
import {
  DispatchError,
  peakShavingController,
  planPeakShaving,
  proposalIntact,
  toProposedAction,
  type BatteryLimits,
  type ForecastInput,
  type PeakShavingConfig,
  type PlanInput,
} from '../../edge/dispatch/index.js';

const HOUR = 3_600_000;
const EPS = 1e-6;
const ideal: BatteryLimits = { capacityKwh: 100, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 1, socMinPct: 0, socMaxPct: 100 };

function plan(loadKw: number[], over: Partial<Omit<PlanInput, 'battery'>> & { battery?: Partial<BatteryLimits> } = {}) {
  const { battery, ...rest } = over;
  return planPeakShaving({ loadKw, stepHours: 1, limitKw: 100, socPct: 50, chargeMarginKw: 0, ...rest, battery: { ...ideal, ...battery } });
}

/** Replays a plan's battery powers on the battery and checks every limit; returns the peak. */
function checkFeasible(input: PlanInput, batteryKw: number[]): number {
  const b = input.battery;
  const eta = Math.sqrt(b.roundTripEfficiency);
  let e = (input.socPct / 100) * b.capacityKwh;
  let peak = -Infinity;
  batteryKw.forEach((p, t) => {
    const load = input.loadKw[t]!;
    expect(p).toBeLessThanOrEqual(b.maxDischargeKw + EPS);
    expect(-p).toBeLessThanOrEqual(b.maxChargeKw + EPS);
    if (p < 0) expect(load - p).toBeLessThanOrEqual(input.limitKw - input.chargeMarginKw + EPS); // charge only under the limit
    e += p > 0 ? (-p * input.stepHours) / eta : -p * input.stepHours * eta;
    if (p > 0) expect(e).toBeGreaterThanOrEqual((b.socMinPct / 100) * b.capacityKwh - EPS);
    if (p < 0) expect(e).toBeLessThanOrEqual((b.socMaxPct / 100) * b.capacityKwh + EPS);
    peak = Math.max(peak, load - p);
  });
  return peak;
}

/** The lowest peak (never below the limit) over every battery power on a grid: no LP, just search. */
function bruteForcePeak(input: PlanInput, stepKw: number): number {
  const b = input.battery;
  const eta = Math.sqrt(b.roundTripEfficiency);
  const minKwh = (b.socMinPct / 100) * b.capacityKwh;
  const maxKwh = (b.socMaxPct / 100) * b.capacityKwh;
  let best = Infinity;
  const dfs = (t: number, e: number, peak: number): void => {
    if (peak >= best) return;
    if (t === input.loadKw.length) {
      best = peak;
      return;
    }
    const load = input.loadKw[t]!;
    for (let p = -b.maxChargeKw; p <= b.maxDischargeKw + EPS; p += stepKw) {
      if (p < 0 && load - p > input.limitKw - input.chargeMarginKw + EPS) continue;
      const next = p > 0 ? e - (p * input.stepHours) / eta : e - p * input.stepHours * eta;
      if (next < minKwh - EPS || (p < 0 && next > maxKwh + EPS)) continue;
      dfs(t + 1, next, Math.max(peak, load - p));
    }
  };
  dfs(0, (input.socPct / 100) * b.capacityKwh, input.limitKw);
  return best;
}

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('planPeakShaving: the algorithm', () => {
  it('with enough energy keeps the load at or under the limit everywhere', () => {
    const p = plan([90, 130, 150, 120, 80], { socPct: 100 });
    expect(p.aboveLimitKwh).toBe(0);
    p.netKw.forEach((n) => expect(n).toBeLessThanOrEqual(100 + EPS));
    expect(p.batteryKw.slice(0, 4)).toEqual([0, 30, 50, 20]);
    expect(p.peakKw).toBeCloseTo(100, 9);
  });

  it('with too little energy shaves the highest hours first (water-filling on the level)', () => {
    // 60 kWh for 200 and 180 kW hours: (200 - P) + (180 - P) = 60 -> P = 160; the 120 kW hour is left alone
    const p = plan([100, 200, 180, 120], { socPct: 60, limitKw: 100 });
    expect(p.levelKw).toBeCloseTo(160, 6);
    expect(p.peakKw).toBeCloseTo(160, 6);
    expect(p.batteryKw[0]).toBe(0);
    expect(p.batteryKw[1]).toBeCloseTo(40, 6);
    expect(p.batteryKw[2]).toBeCloseTo(20, 6);
    expect(p.batteryKw[3]).toBe(0);
    expect(p.aboveLimitKwh).toBeCloseTo(0 + 60 + 60 + 20, 6);
  });

  it('respects the discharge power limit and spends the energy left on the next-highest hours', () => {
    const p = plan([100, 200, 150], { socPct: 100, battery: { maxDischargeKw: 30 } });
    expect(p.batteryKw).toEqual([0, 30, 30]);
    expect(p.peakKw).toBe(170);
    expect(p.netKw).toEqual([100, 170, 120]);
  });

  it('does not discharge when no hour exceeds the limit, and recharges only under it', () => {
    const input: PlanInput = { loadKw: [40, 95, 100, 70, 99.5], stepHours: 1, limitKw: 100, socPct: 20, chargeMarginKw: 0, battery: { ...ideal, maxChargeKw: 50 } };
    const p = planPeakShaving(input);
    p.batteryKw.forEach((b) => expect(b).toBeLessThanOrEqual(0));
    expect(p.batteryKw[0]).toBe(-50); // the charge power limit
    expect(p.batteryKw[1]).toBe(-5);
    expect(p.batteryKw[2]).toBe(0); // no headroom at the limit
    expect(p.batteryKw[3]).toBe(-25); // the room left: 80 kWh in, the battery is full
    expect(p.batteryKw[4]).toBe(0);
    expect(p.socPct.at(-1)).toBe(100);
    checkFeasible(input, p.batteryKw);
  });

  it('keeps a charge margin under the limit when asked', () => {
    const p = plan([60, 90], { socPct: 0, chargeMarginKw: 15 });
    expect(p.batteryKw).toEqual([-25, 0]);
  });

  it('counts the charge before a peak: an empty battery charges in the valley, then shaves', () => {
    const p = plan([60, 70, 160], { socPct: 0 });
    expect(p.batteryKw).toEqual([-40, -30, 60]);
    expect(p.peakKw).toBe(100);
  });

  it('applies the round-trip efficiency evenly on charge and discharge', () => {
    // eta one way = 0.9: 50 kWh stored above the minimum deliver 45 kWh
    const p = plan([150, 150], { socPct: 60, battery: { roundTripEfficiency: 0.81, socMinPct: 10 } });
    expect(p.batteryKw[0]! + p.batteryKw[1]!).toBeCloseTo(45, 6);
    expect(p.peakKw).toBeCloseTo(127.5, 6);
    expect(p.socPct[1]).toBeCloseTo(10, 6);
    const c = plan([50], { socPct: 0, battery: { roundTripEfficiency: 0.81 } });
    expect(c.socPct[0]).toBeCloseTo(45, 6); // 50 kW in, 45 kWh stored
  });

  it('never discharges below the minimum state of charge, starting at or under it', () => {
    expect(plan([300, 300], { socPct: 20, battery: { socMinPct: 20 } }).batteryKw).toEqual([0, 0]);
    const under = plan([300, 50], { socPct: 5, battery: { socMinPct: 20 } });
    expect(under.batteryKw).toEqual([0, -50]);
    expect(Math.min(...under.socPct)).toBeGreaterThanOrEqual(5);
  });

  it('never charges above the maximum state of charge, starting at or over it', () => {
    expect(plan([10, 10], { socPct: 90, battery: { socMaxPct: 90 } }).batteryKw).toEqual([0, 0]);
    expect(plan([10], { socPct: 95, battery: { socMaxPct: 90 } }).batteryKw).toEqual([0]);
  });

  it('matches the brute-force optimum on designed cases', () => {
    const cases: PlanInput[] = [
      { loadKw: [80, 150, 130, 90], stepHours: 1, limitKw: 100, socPct: 50, chargeMarginKw: 0, battery: ideal },
      { loadKw: [120, 60, 180, 150], stepHours: 1, limitKw: 100, socPct: 30, chargeMarginKw: 0, battery: { ...ideal, maxDischargeKw: 60, maxChargeKw: 30 } },
      { loadKw: [140, 140, 140, 140], stepHours: 1, limitKw: 100, socPct: 40, chargeMarginKw: 0, battery: ideal },
    ];
    for (const input of cases) {
      const p = planPeakShaving(input);
      const peak = checkFeasible(input, p.batteryKw);
      expect(p.peakKw).toBeCloseTo(peak, 9);
      expect(Math.max(peak, input.limitKw)).toBeCloseTo(bruteForcePeak(input, 5), 6);
    }
  });

  it('is never beaten by a brute-force search on random small cases, and stays within every limit', () => {
    const r = rng(7);
    const pick = (lo: number, hi: number, step: number) => lo + step * Math.floor((r() * (hi - lo)) / step + 0.5);
    for (let n = 0; n < 40; n++) {
      const input: PlanInput = {
        loadKw: Array.from({ length: 4 }, () => pick(40, 200, 10)),
        stepHours: 1,
        limitKw: 100,
        socPct: pick(0, 100, 10),
        chargeMarginKw: n % 3 === 0 ? 10 : 0,
        battery: { capacityKwh: pick(40, 150, 10), maxDischargeKw: pick(20, 80, 10), maxChargeKw: pick(20, 80, 10), roundTripEfficiency: n % 2 === 0 ? 1 : 0.81, socMinPct: 10, socMaxPct: 90 },
      };
      const p = planPeakShaving(input);
      const peak = checkFeasible(input, p.batteryKw);
      p.socPct.forEach((s) => expect(s).toBeGreaterThanOrEqual(Math.min(10, input.socPct) - EPS));
      p.socPct.forEach((s) => expect(s).toBeLessThanOrEqual(Math.max(90, input.socPct) + EPS));
      expect(Math.max(peak, input.limitKw)).toBeLessThanOrEqual(bruteForcePeak(input, 10) + EPS);
    }
  });
});

const T0 = Date.parse('2026-03-02T00:00:00Z');
const battery: BatteryLimits = { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 0.9025, socMinPct: 10, socMaxPct: 95 };
const config: PeakShavingConfig = { edgeId: 'edge-1', siteId: 'north', assetId: 'bess-01', setpointPoint: 'bess1.power_setpoint_kw', limitKw: 3400, basis: 'load', battery };
/** A day with a 17:00-20:00 evening peak over 3400 kW. */
const dayLoad = [2300, 2200, 2100, 2050, 2050, 2150, 2400, 2700, 2900, 3000, 3100, 3200, 3250, 3300, 3300, 3350, 3450, 3600, 3700, 3550, 3300, 3000, 2700, 2500];
function forecast(over: Partial<ForecastInput> = {}): ForecastInput {
  return { target: 'feeder1.active_power_kw', startMs: T0, stepMs: HOUR, load: dayLoad, p10: dayLoad.map((v) => v * 0.95), p90: dayLoad.map((v) => v * 1.05), model: { id: 'feeder-day-ahead', version: '2026.12.1', sha256: 'ab'.repeat(32) }, ...over };
}

describe('peakShavingController: proposals', () => {
  const control = peakShavingController(config);

  it('proposes the next interval: charge in the night valley, with a reason in units', () => {
    const r = control({ nowMs: T0 + 2 * HOUR + 60_000, socPct: 50, forecast: forecast() });
    expect(r.status).toBe('PROPOSED');
    expect(r.planStartMs).toBe(T0 + 3 * HOUR);
    const [p] = r.proposals;
    // the room to 95 %: 900 kWh stored = 947.368 kW at 95 % one-way efficiency
    expect(p).toMatchObject({ action: 'battery_charge', magnitudeKw: 947.368, energyKwh: 947.368, intervalStartMs: T0 + 3 * HOUR, intervalEndMs: T0 + 4 * HOUR, setpoint: { point: 'bess1.power_setpoint_kw', value: -947.368, unit: 'kW' } });
    expect(p!.reason).toBe('model feeder-day-ahead 2026.12.1 2050 kW for 2026-03-02T03:00Z-2026-03-02T04:00Z leaves 1350 kW under the 3400 kW limit of feeder1.active_power_kw: charge 947.368 kW; SoC 50 % -> 95 % (max 95 %)');
    expect(p!.forecast).toEqual({ target: 'feeder1.active_power_kw', startMs: T0, basis: 'load', loadKw: 2050, p10Kw: 1947.5, p90Kw: 2152.5, model: { id: 'feeder-day-ahead', version: '2026.12.1', sha256: 'ab'.repeat(32) }, fallback: null });
    expect(p!.forecastBandWidth).toBeCloseTo(0.1, 12);
  });

  it('proposes discharge at the peak, enough to hold the limit', () => {
    const r = control({ nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast() });
    expect(r.proposals[0]).toMatchObject({ action: 'battery_discharge', magnitudeKw: 300, setpoint: { value: 300 } });
    expect(r.proposals[0]!.reason).toContain('discharge 300 kW to hold it at 3400 kW; load kept under the limit over the next 6 h');
  });

  it('is idle before the peak when the plan does not charge, and says why', () => {
    const r = control({ nowMs: T0 + 14 * HOUR, socPct: 95, forecast: forecast() });
    expect(r.status).toBe('IDLE');
    expect(r.proposals).toEqual([]);
    expect(r.note).toContain('battery idle');
  });

  it('names a short battery in the reason', () => {
    // 95 kWh deliverable: the 3700 kW hour comes down to 3605 kW, the 3600 kW hour before it is left alone
    expect(control({ nowMs: T0 + 17 * HOUR, socPct: 15, forecast: forecast() }).status).toBe('IDLE');
    const r = control({ nowMs: T0 + 18 * HOUR, socPct: 15, forecast: forecast() });
    expect(r.proposals[0]).toMatchObject({ action: 'battery_discharge', magnitudeKw: 95 });
    expect(r.proposals[0]!.reason).toMatch(/battery energy or power short: planned peak \d+(\.\d+)? kW/);
    expect(r.plan!.peakKw).toBeGreaterThan(3400);
  });

  it('plans on the p90 when configured: more discharge', () => {
    const p90 = peakShavingController({ ...config, basis: 'p90' })({ nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast() });
    expect(p90.proposals[0]).toMatchObject({ action: 'battery_discharge', magnitudeKw: 485, forecast: { basis: 'p90' } });
  });

  it('the measured load guards the next interval: no charging into a peak the forecast missed', () => {
    // the forecast says 2050 kW at 03:00 (charge), but 3300 kW is measured now
    const r = control({ nowMs: T0 + 3 * HOUR, socPct: 50, forecast: forecast(), measuredLoadKw: 3300 });
    expect(r.proposals[0]).toMatchObject({ action: 'battery_charge', magnitudeKw: 100 });
    expect(r.proposals[0]!.reason.startsWith('measured 3300 kW now, above the forecast 2050 kW; taken as the load for')).toBe(true);
    const over = control({ nowMs: T0 + 3 * HOUR, socPct: 50, forecast: forecast(), measuredLoadKw: 3500 });
    expect(over.proposals[0]).toMatchObject({ action: 'battery_discharge', magnitudeKw: 100 });
    // a measurement under the forecast changes nothing
    expect(control({ nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast(), measuredLoadKw: 1000 }).proposals[0]!.magnitudeKw).toBe(300);
  });

  it('records a fallback forecast', () => {
    const r = control({ nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast({ model: undefined, fallback: { code: 'MODEL_DRIFT' } }) });
    expect(r.proposals[0]!.forecast).toMatchObject({ model: null, fallback: 'MODEL_DRIFT' });
    expect(r.proposals[0]!.reason.startsWith('seasonal naive (MODEL_DRIFT) 3700 kW')).toBe(true);
  });

  it('is deterministic: the same snapshot gives the same id and hash; any change gives another', () => {
    const s = { nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast() };
    const a = control(s).proposals[0]!;
    const b = peakShavingController({ ...config })(structuredClone(s)).proposals[0]!;
    expect(b.id).toBe(a.id);
    expect(b.hash).toBe(a.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.id).toBe(`peak-shaving-${a.hash.slice(0, 16)}`);
    expect(proposalIntact(a)).toBe(true);
    expect(Object.isFrozen(a) && Object.isFrozen(a.setpoint)).toBe(true);
    expect(proposalIntact({ ...a, magnitudeKw: 301 })).toBe(false);
    expect(control({ ...s, socPct: 79 }).proposals[0]!.hash).not.toBe(a.hash);
  });

  it('maps onto the policy engine, which judges it against the example policy', () => {
    const p = control({ nowMs: T0 + 18 * HOUR, socPct: 80, forecast: forecast() }).proposals[0]!;
    const action = toProposedAction(p);
    expect(action).toEqual({ id: p.id, edgeId: 'edge-1', siteId: 'north', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 300, energyKwh: 300, intervalStartMs: T0 + 18 * HOUR, intervalEndMs: T0 + 19 * HOUR, forecastBandWidth: p.forecastBandWidth, controller: 'peak-shaving' });
    const v = compilePolicy(loadPolicy('config/policy.example.yaml'))(action, { nowMs: T0 + 18 * HOUR, stateOfChargePct: 80, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 });
    expect(v.outcome).toBe('escalate');
    expect(v.ruleId).toBe('bess-medium');
  });

  it.each([
    ['NO_FORECAST', { forecast: undefined }],
    ['NO_FORECAST', { forecast: forecast({ load: [], p10: [], p90: [] }) }],
    ['FORECAST_INVALID', { forecast: forecast({ load: [...dayLoad.slice(0, 23), NaN] }) }],
    ['FORECAST_INVALID', { forecast: forecast({ p90: dayLoad.slice(1) }) }],
    ['SOC_UNKNOWN', { socPct: undefined }],
    ['SOC_UNKNOWN', { socPct: NaN }],
    ['FORECAST_EXHAUSTED', { nowMs: T0 + 23 * HOUR + 1 }],
  ] as const)('%s: no plan, no proposal', (status, over) => {
    const r = control({ nowMs: T0, socPct: 50, forecast: forecast(), ...over });
    expect(r.status).toBe(status);
    expect(r.proposals).toEqual([]);
    expect(r.note.length).toBeGreaterThan(0);
  });

  it('scripted cycles: hour by hour over the day, the battery shaves the whole evening peak within its limits', () => {
    let soc = 40;
    const eta = Math.sqrt(battery.roundTripEfficiency);
    const net: number[] = [];
    for (let h = 0; h < 24; h++) {
      const r = control({ nowMs: T0 + h * HOUR, socPct: soc, forecast: forecast() });
      const p = r.proposals[0];
      const kw = p === undefined ? 0 : p.action === 'battery_discharge' ? p.magnitudeKw : -p.magnitudeKw;
      soc -= ((kw > 0 ? kw / eta : kw * eta) / battery.capacityKwh) * 100;
      expect(soc).toBeGreaterThanOrEqual(battery.socMinPct - EPS);
      expect(soc).toBeLessThanOrEqual(battery.socMaxPct + EPS);
      net.push(dayLoad[h]! - kw);
    }
    expect(Math.max(...net)).toBeLessThanOrEqual(3400 + EPS);
  });

  it('rejects a configuration it cannot run', () => {
    const bad = (over: Partial<PeakShavingConfig>, b: Partial<BatteryLimits> = {}) => () => peakShavingController({ ...config, ...over, battery: { ...battery, ...b } });
    expect(bad({ limitKw: NaN })).toThrow(DispatchError);
    expect(bad({}, { roundTripEfficiency: 0 })).toThrow(/roundTripEfficiency/);
    expect(bad({}, { socMinPct: 95 })).toThrow(/socMinPct < socMaxPct/);
    expect(bad({}, { capacityKwh: 0 })).toThrow(/capacityKwh/);
    expect(bad({ basis: 'p50' as 'load' })).toThrow(/basis/);
  });
});
