import { describe, expect, it } from 'vitest';
import { batteryPowerKw, defaultBattery, initialState, naiveMs, nextSocPct, parseLoadCsv, perUnitAt, pvAvailableKw, step, voltagePu, type PhysicsParams } from '../../simulators/index.js';

const HOUR = 3_600_000;
const noon = Date.UTC(2018, 6, 16, 12);
const midnight = Date.UTC(2018, 6, 16, 0);

function params(loadPu = 0.5): PhysicsParams {
  return { feederPeakKw: [4000, 3000], pv: { capacityKw: 1500 }, battery: { ...defaultBattery }, loadPerUnit: () => loadPu };
}

describe('battery', () => {
  it('discharging lowers SoC, charging raises it, with one-way efficiency on each', () => {
    const b = defaultBattery;
    expect(nextSocPct(b, 60, 1000, 0.1)).toBeCloseTo(60 - ((100 / 0.95) / 2000) * 100, 9);
    expect(nextSocPct(b, 60, -1000, 0.1)).toBeCloseTo(60 + ((100 * 0.95) / 2000) * 100, 9);
  });

  it('power is clamped to its limits and to the energy left before the SoC limit', () => {
    const b = defaultBattery;
    expect(batteryPowerKw(b, 50, 5000, 0.01)).toBe(b.maxDischargeKw);
    expect(batteryPowerKw(b, 50, -5000, 0.01)).toBe(-b.maxChargeKw);
    expect(batteryPowerKw(b, b.socMinPct, 500, 0.01)).toBe(0);
    expect(batteryPowerKw(b, b.socMaxPct, -500, 0.01)).toBe(0);
    // 1 % above the minimum holds 20 kWh of cells, 19 kWh deliverable: over an hour, 19 kW
    expect(batteryPowerKw(b, b.socMinPct + 1, 500, 1)).toBeCloseTo(19, 9);
  });

  it('a long discharge runs SoC down to its minimum and no further, and power then stops', () => {
    const p = params();
    let s = initialState(p, noon, { curtailmentLimitPct: 100, batterySetpointKw: 800 });
    const socs: number[] = [];
    for (let i = 0; i < 200; i++) {
      s = step(p, s, 0.05 * HOUR, { curtailmentLimitPct: 100, batterySetpointKw: 800 });
      socs.push(s.battery.socPct);
    }
    expect(socs.every((v, i) => i === 0 || v <= socs[i - 1]!)).toBe(true);
    expect(Math.min(...socs)).toBeCloseTo(defaultBattery.socMinPct, 9);
    expect(s.battery.activePowerKw).toBe(0);
  });

  it('a long charge stops at the maximum', () => {
    const p = params();
    let s = initialState(p, noon, { curtailmentLimitPct: 100, batterySetpointKw: 0 });
    for (let i = 0; i < 200; i++) s = step(p, s, 0.05 * HOUR, { curtailmentLimitPct: 100, batterySetpointKw: -900 });
    expect(s.battery.socPct).toBeCloseTo(defaultBattery.socMaxPct, 9);
    expect(s.battery.activePowerKw).toBe(0);
  });
});

describe('PV and voltage', () => {
  it('PV is zero at night, peaks at noon, and is capped by the curtailment limit', () => {
    expect(pvAvailableKw({ capacityKw: 1500 }, midnight)).toBe(0);
    expect(pvAvailableKw({ capacityKw: 1500 }, midnight + 5 * HOUR)).toBe(0);
    expect(pvAvailableKw({ capacityKw: 1500 }, noon)).toBeCloseTo(1500, 9);
    const p = params();
    const s = initialState(p, noon, { curtailmentLimitPct: 40, batterySetpointKw: 0 });
    expect(s.pv.activePowerKw).toBeCloseTo(600, 9);
  });

  it('voltage falls as net load rises and rises with export, within 0.9..1.1 pu', () => {
    expect(voltagePu(3000, 4000)).toBeLessThan(voltagePu(1000, 4000));
    expect(voltagePu(-1000, 4000)).toBeGreaterThan(voltagePu(0, 4000));
    expect(voltagePu(1e6, 4000)).toBe(0.9);
    expect(voltagePu(-1e6, 4000)).toBe(1.1);
  });

  it('feeder 1 net power = load - PV - battery; the other feeders carry load only', () => {
    const p = params(0.5);
    const s = step(p, initialState(p, noon, { curtailmentLimitPct: 100, batterySetpointKw: 0 }), 1000, { curtailmentLimitPct: 100, batterySetpointKw: 300 });
    const f1 = s.feeders[0]!;
    expect(f1.loadKw).toBeCloseTo(2000, 9);
    expect(f1.activePowerKw).toBeCloseTo(2000 - s.pv.activePowerKw - 300, 9);
    expect(s.feeders[1]!.activePowerKw).toBeCloseTo(1500, 9);
    expect(f1.reactivePowerKvar).toBeCloseTo(2000 * Math.tan(Math.acos(0.95)), 9);
  });
});

describe('load profile', () => {
  const csv = 'timestamp,load\n2018-01-01 00:00,100\n2018-01-01 01:00,\n2018-01-01 02:00,300\n2018-01-01 03:00,400\n';
  const series = parseLoadCsv('t', csv);

  it('fills a missing hour linearly and normalises to the peak', () => {
    expect([...series.perUnit]).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('matches the data at whole hours and interpolates between them; wraps past the end', () => {
    const t0 = naiveMs('2018-01-01 00:00');
    expect(perUnitAt(series, t0 + 2 * HOUR)).toBe(0.75);
    expect(perUnitAt(series, t0 + 2.5 * HOUR)).toBeCloseTo(0.875, 12);
    expect(perUnitAt(series, t0 + 4 * HOUR)).toBe(0.25);
  });

  it('rejects a malformed timestamp', () => {
    expect(() => parseLoadCsv('bad', 'timestamp,load\nyesterday,1\ntoday,2\n')).toThrow(/not a timestamp/);
  });
});
