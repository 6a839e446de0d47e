import { describe, expect, it } from 'vitest';
import { checkInterlocks, sealProposal, type InterlockLimits } from '../../edge/dispatch/index.js';

const limits: InterlockLimits = { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.95, 1.05], maxStepKw: 300 };
const proposal = (value: number) =>
  sealProposal({
    controller: 'peak-shaving', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: value >= 0 ? 'battery_discharge' : 'battery_charge',
    magnitudeKw: Math.abs(value), energyKwh: Math.abs(value) / 4, intervalStartMs: 0, intervalEndMs: 900_000,
    setpoint: { point: 'ns=1;s=BESS1.PowerSetpoint', value, unit: 'kW' }, reason: 'test', forecast: null, measurement: null,
  });
const ok = { socPct: 50, voltagePu: 1.0, currentSetpointKw: 0 };

describe('interlocks, re-checked right before a write', () => {
  it('lets a safe write through', () => {
    expect(checkInterlocks(proposal(200), limits, ok)).toBeNull();
    expect(checkInterlocks(proposal(-200), limits, ok)).toBeNull();
  });

  it.each([
    ['discharge at the SoC minimum', 200, { ...ok, socPct: 15 }, 'INTERLOCK_SOC_LOW'],
    ['charge at the SoC maximum', -200, { ...ok, socPct: 92 }, 'INTERLOCK_SOC_HIGH'],
    ['no SoC reading', 200, { ...ok, socPct: undefined }, 'INTERLOCK_SOC_UNKNOWN'],
    ['voltage above the band', 200, { ...ok, voltagePu: 1.06 }, 'INTERLOCK_VOLTAGE_BAND'],
    ['no voltage reading', 200, { ...ok, voltagePu: undefined }, 'INTERLOCK_VOLTAGE_UNKNOWN'],
    ['a step larger than allowed', 200, { ...ok, currentSetpointKw: -200 }, 'INTERLOCK_STEP'],
  ] as const)('refuses %s', (_what, value, now, code) => {
    expect(checkInterlocks(proposal(value), limits, now)?.code).toBe(code);
  });

  it('allows discharge near the SoC maximum and charge near the minimum (only the direction that drains or fills is refused)', () => {
    expect(checkInterlocks(proposal(100), limits, { ...ok, socPct: 95 })).toBeNull();
    expect(checkInterlocks(proposal(-100), limits, { ...ok, socPct: 10 })).toBeNull();
  });
});
