/**
 * Substation physics, stepped by hand with injected time: the battery follows its setpoint within
 * power and SoC limits with one-way losses, PV follows the sun and the curtailment limit, and
 * feeder voltage falls as net load rises.
 */
import { describe, expect, it } from 'vitest';
import { batteryPowerKw, defaultBattery, defaultPv, initialState, nextSocPct, pvAvailableKw, step, voltagePu, type Inputs, type PhysicsParams, type SubstationState } from '../../simulators/index.js';

const HOUR_MS = 3_600_000;
const MIDNIGHT_MS = Date.UTC(2018, 6, 16, 0);
const NOON_MS = MIDNIGHT_MS + 12 * HOUR_MS;

function params(loadPu = 0.5): PhysicsParams {
  return { feederPeakKw: [4000, 3000], pv: { ...defaultPv }, battery: { ...defaultBattery }, loadPerUnit: () => loadPu };
}

/** Steps `n` times by `dtMs` under fixed inputs; returns every state after the first. */
function run(p: PhysicsParams, from: SubstationState, n: number, dtMs: number, inputs: Inputs): SubstationState[] {
  const states: SubstationState[] = [];
  let s = from;
  for (let i = 0; i < n; i++) states.push((s = step(p, s, dtMs, inputs)));
  return states;
}

/** True when every consecutive pair satisfies `ok`. */
const strictly = (xs: number[], ok: (a: number, b: number) => boolean): boolean => xs.every((x, i) => i === 0 || ok(xs[i - 1]!, x));

const idle: Inputs = { curtailmentLimitPct: 100, batterySetpointKw: 0 };

describe('battery', () => {
  it('starts at 60 % SoC, discharging lowers SoC and charging raises it', () => {
    const p = params();
    const s0 = initialState(p, NOON_MS, idle);
    expect(s0.battery.socPct).toBe(60);
    const down = run(p, s0, 5, 0.1 * HOUR_MS, { ...idle, batterySetpointKw: 500 });
    expect(down.map((s) => s.battery.activePowerKw)).toEqual([500, 500, 500, 500, 500]);
    expect(strictly([s0, ...down].map((s) => s.battery.socPct), (a, b) => b < a)).toBe(true);
    const up = run(p, down.at(-1)!, 5, 0.1 * HOUR_MS, { ...idle, batterySetpointKw: -500 });
    expect(up.map((s) => s.battery.activePowerKw)).toEqual([-500, -500, -500, -500, -500]);
    expect(strictly([down.at(-1)!, ...up].map((s) => s.battery.socPct), (a, b) => b > a)).toBe(true);
  });

  it('applies the one-way efficiency on charge and on discharge', () => {
    const b = defaultBattery;
    // 500 kWh delivered takes 500 / 0.95 kWh out of the cells; 500 kWh taken in stores 500 x 0.95.
    expect(nextSocPct(b, 60, 1000, 0.5)).toBeCloseTo(60 - (500 / 0.95 / 2000) * 100, 9);
    expect(nextSocPct(b, 50, -1000, 0.5)).toBeCloseTo(50 + ((500 * 0.95) / 2000) * 100, 9);
    // A round trip through the battery returns 0.95 x 0.95 of the energy.
    const p = params();
    const s = initialState(p, NOON_MS, idle);
    const charged = step(p, s, HOUR_MS, { ...idle, batterySetpointKw: -400 });
    const storedKwh = ((charged.battery.socPct - 60) / 100) * 2000;
    expect(storedKwh).toBeCloseTo(400 * 0.95, 9);
    const discharged = step(p, charged, HOUR_MS, { ...idle, batterySetpointKw: 400 * 0.95 * 0.95 });
    expect(discharged.battery.socPct).toBeCloseTo(60, 9);
  });

  it('holds power to its limits and to the energy left before the SoC limit', () => {
    const b = defaultBattery;
    expect(batteryPowerKw(b, 50, 5000, 0.01)).toBe(b.maxDischargeKw);
    expect(batteryPowerKw(b, 50, -5000, 0.01)).toBe(-b.maxChargeKw);
    // 1 % above the minimum holds 20 kWh in the cells, 19 kWh at the terminals: 19 kW for an hour.
    expect(batteryPowerKw(b, b.socMinPct + 1, 500, 1)).toBeCloseTo(19, 9);
    expect(batteryPowerKw(b, b.socMinPct, 500, 0.01)).toBe(0);
    expect(batteryPowerKw(b, b.socMaxPct, -500, 0.01)).toBe(0);
  });

  it('never crosses its SoC limits: at the limit, power in that direction goes to 0', () => {
    const p = params();
    const s0 = initialState(p, NOON_MS, idle);
    const down = run(p, s0, 150, 0.05 * HOUR_MS, { ...idle, batterySetpointKw: 1000 });
    expect(Math.min(...down.map((s) => s.battery.socPct))).toBeGreaterThanOrEqual(defaultBattery.socMinPct);
    expect(down.at(-1)!.battery.socPct).toBeCloseTo(defaultBattery.socMinPct, 9);
    expect(down.at(-1)!.battery.activePowerKw).toBe(0);
    // Empty, it still charges.
    const up = run(p, down.at(-1)!, 150, 0.05 * HOUR_MS, { ...idle, batterySetpointKw: -1000 });
    expect(up[0]!.battery.activePowerKw).toBe(-1000);
    expect(Math.max(...up.map((s) => s.battery.socPct))).toBeLessThanOrEqual(defaultBattery.socMaxPct);
    expect(up.at(-1)!.battery.socPct).toBeCloseTo(defaultBattery.socMaxPct, 9);
    expect(up.at(-1)!.battery.activePowerKw).toBe(0);
  });
});

describe('PV', () => {
  it('is zero at night and peaks at noon at its capacity', () => {
    for (const h of [0, 2, 4, 6, 18, 20, 22, 23.5]) expect(pvAvailableKw(defaultPv, MIDNIGHT_MS + h * HOUR_MS), `hour ${h}`).toBe(0);
    for (const h of [7, 9, 15, 17]) expect(pvAvailableKw(defaultPv, MIDNIGHT_MS + h * HOUR_MS), `hour ${h}`).toBeGreaterThan(0);
    expect(pvAvailableKw(defaultPv, NOON_MS)).toBeCloseTo(defaultPv.capacityKw, 9);
    expect(pvAvailableKw(defaultPv, NOON_MS + 2 * HOUR_MS)).toBeLessThan(pvAvailableKw(defaultPv, NOON_MS));
  });

  it('output is the available power, bounded by the curtailment limit', () => {
    const p = params();
    for (const limitPct of [0, 25, 50, 80, 100]) {
      for (const h of [3, 8, 10, 12, 16]) {
        const s = initialState(p, MIDNIGHT_MS + h * HOUR_MS, { ...idle, curtailmentLimitPct: limitPct });
        expect(s.pv.activePowerKw).toBeCloseTo(Math.min(s.pv.availableKw, (1500 * limitPct) / 100), 9);
      }
    }
    expect(initialState(p, NOON_MS, { ...idle, curtailmentLimitPct: 40 }).pv.activePowerKw).toBeCloseTo(600, 9);
  });
});

describe('feeders', () => {
  it('feeder 1 net power = load - PV - battery; reactive power at power factor 0.95; other feeders carry load only', () => {
    const p = params(0.5);
    const s = step(p, initialState(p, NOON_MS, idle), 1000, { ...idle, batterySetpointKw: 300 });
    const [f1, f2] = [s.feeders[0]!, s.feeders[1]!];
    expect(f1.loadKw).toBeCloseTo(2000, 9);
    expect(f1.activePowerKw).toBeCloseTo(2000 - s.pv.activePowerKw - 300, 9);
    expect(f1.reactivePowerKvar / Math.hypot(f1.loadKw, f1.reactivePowerKvar)).toBeCloseTo(Math.sqrt(1 - 0.95 ** 2), 9);
    expect(f2.activePowerKw).toBeCloseTo(1500, 9);
  });

  it('voltage is lower at higher net load, rises with PV export, and stays within 0.9..1.1 pu', () => {
    const p = params(0.6);
    const night = initialState(p, MIDNIGHT_MS, idle);
    const charging = step(p, night, 1000, { ...idle, batterySetpointKw: -1000 });
    const discharging = step(p, night, 1000, { ...idle, batterySetpointKw: 1000 });
    expect(charging.feeders[0]!.activePowerKw).toBeGreaterThan(discharging.feeders[0]!.activePowerKw);
    expect(charging.feeders[0]!.voltagePu).toBeLessThan(discharging.feeders[0]!.voltagePu);
    expect(voltagePu(-1000, 4000)).toBeGreaterThan(voltagePu(0, 4000));
    expect(voltagePu(1e6, 4000)).toBe(0.9);
    expect(voltagePu(-1e6, 4000)).toBe(1.1);
  });
});
