/**
 * Peak shaving over a forecast, as a pure function of arrays: which battery power, hour by hour,
 * keeps the feeder under its limit as far as the battery's energy and power allow.
 *
 * Algorithm (water-filling on the peak level, by bisection):
 *  - For a level P >= limit, simulate the horizon forward from the current state of charge:
 *    an hour whose load L is above P discharges min(maxDischarge, L - P); an hour with headroom
 *    (L < limit - margin) charges min(maxCharge, limit - margin - L, room left), so charging
 *    never makes a new peak; other hours idle. P is feasible when the stored energy never falls
 *    below the minimum state of charge.
 *  - Feasibility only improves as P rises (less to discharge; charging is greedy, which keeps
 *    the stored energy as high as possible at every hour), so the lowest feasible level is
 *    found by bisection between the limit and the highest load. When the limit itself is
 *    feasible, the load stays under the limit everywhere.
 *  - The achieved peak is max(P, L - maxDischarge): the power limit caps the highest hours and
 *    the energy left then goes to the hours below them, so every kWh discharged takes one kWh
 *    off the energy above the limit, highest hours first.
 * Efficiency: the round trip splits evenly, sqrt(eta) on charge and on discharge.
 */

export interface BatteryLimits {
  /** Usable energy between 0 and 100 % state of charge, kWh. */
  capacityKwh: number;
  maxDischargeKw: number;
  maxChargeKw: number;
  /** Energy out / energy in, (0, 1]. */
  roundTripEfficiency: number;
  socMinPct: number;
  socMaxPct: number;
}

export interface PlanInput {
  /** Forecast load per step, kW. */
  loadKw: readonly number[];
  stepHours: number;
  limitKw: number;
  /** State of charge at the start of the first step, %. */
  socPct: number;
  battery: BatteryLimits;
  /** Charging keeps the feeder this far under the limit (a margin for forecast error), kW. */
  chargeMarginKw: number;
}

export interface Plan {
  /** The water level: no hour is discharged below it (>= the limit). */
  levelKw: number;
  /** Highest planned feeder load after the battery, kW. */
  peakKw: number;
  /** Battery power per step, kW: discharge > 0, charge < 0. */
  batteryKw: number[];
  /** Load after the battery per step, kW. */
  netKw: number[];
  /** State of charge at the end of each step, %. */
  socPct: number[];
  /** Planned energy still above the limit, kWh (0 when the battery suffices). */
  aboveLimitKwh: number;
}

const ENERGY_TOLERANCE_KWH = 1e-9;
const MAX_BISECTIONS = 200;

interface Run {
  feasible: boolean;
  batteryKw: number[];
  storedKwh: number[];
}

function simulate(input: PlanInput, levelKw: number): Run {
  const { battery: b, stepHours: dt, limitKw, chargeMarginKw } = input;
  const eta = Math.sqrt(b.roundTripEfficiency);
  const minKwh = (b.socMinPct / 100) * b.capacityKwh;
  const maxKwh = (b.socMaxPct / 100) * b.capacityKwh;
  const chargeBelowKw = limitKw - chargeMarginKw;
  let stored = (input.socPct / 100) * b.capacityKwh;
  const batteryKw: number[] = [];
  const storedKwh: number[] = [];
  let feasible = true;
  for (const load of input.loadKw) {
    let p = 0;
    if (load > levelKw) {
      p = Math.min(b.maxDischargeKw, load - levelKw);
      stored -= (p * dt) / eta;
      if (stored < minKwh - ENERGY_TOLERANCE_KWH) feasible = false;
    } else if (load < chargeBelowKw) {
      const c = Math.max(0, Math.min(b.maxChargeKw, chargeBelowKw - load, (maxKwh - stored) / (eta * dt)));
      stored += c * eta * dt;
      p = c > 0 ? -c : 0;
    }
    batteryKw.push(p);
    storedKwh.push(stored);
  }
  return { feasible, batteryKw, storedKwh };
}

/** The plan with the lowest achievable peak; see the module comment. */
export function planPeakShaving(input: PlanInput): Plan {
  const { loadKw, limitKw, battery: b } = input;
  let lo = limitKw;
  let hi = Math.max(limitKw, ...loadKw);
  let run = simulate(input, lo);
  if (!run.feasible) {
    // invariant: lo infeasible, hi feasible (no discharge at all at the highest load)
    for (let i = 0; i < MAX_BISECTIONS && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
      const mid = (lo + hi) / 2;
      if (simulate(input, mid).feasible) hi = mid;
      else lo = mid;
    }
    lo = hi;
    run = simulate(input, hi);
  }
  // the bisection's last bit can leave a micro-watt where the exact answer is zero
  for (let i = 0; i < run.batteryKw.length; i++) if (Math.abs(run.batteryKw[i]!) < 1e-6) run.batteryKw[i] = 0;
  const netKw = loadKw.map((l, i) => l - run.batteryKw[i]!);
  const minPct = b.socMinPct;
  const maxPct = Math.max(b.socMaxPct, input.socPct);
  const socPct = run.storedKwh.map((e) => Math.min(maxPct, Math.max(Math.min(minPct, input.socPct), (e / b.capacityKwh) * 100)));
  const aboveLimitKwh = netKw.reduce((s, n) => s + Math.max(0, n - limitKw) * input.stepHours, 0);
  return { levelKw: lo, peakKw: netKw.length > 0 ? Math.max(...netKw) : 0, batteryKw: run.batteryKw, netKw, socPct, aboveLimitKwh };
}
