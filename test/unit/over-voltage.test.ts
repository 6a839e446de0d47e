import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../config/index.js';
import { compilePolicy } from '../../edge/policy/index.js';
import { DispatchError, overVoltageController, proposalIntact, toProposedAction, type OverVoltageConfig } from '../../edge/dispatch/index.js';

const T0 = Date.parse('2026-03-02T12:00:00Z');
const config: OverVoltageConfig = { edgeId: 'edge-1', siteId: 'north', assetId: 'pv-north', setpointPoint: 'pv1.curtailment_limit_pct', pvCapacityKw: 1500 };
const control = overVoltageController(config);

describe('over-voltage: PV curtailment with hysteresis', () => {
  it('inside the band: nothing', () => {
    expect(control({ nowMs: T0, voltagePu: 1.03, pvActivePowerKw: 1200, curtailmentPct: 0 })).toMatchObject({ status: 'NORMAL', proposals: [], releases: [] });
    expect(control({ nowMs: T0, voltagePu: 1.05, pvActivePowerKw: 1200, curtailmentPct: 0 }).status).toBe('NORMAL'); // the bound itself is in the band
  });

  it('above the band: curtailment proportional to the excess, with the setpoint as % of capacity', () => {
    const r = control({ nowMs: T0, voltagePu: 1.06, pvActivePowerKw: 1200, curtailmentPct: 0 });
    expect(r.status).toBe('CURTAIL');
    const [p] = r.proposals;
    expect(p).toMatchObject({
      action: 'pv_curtailment',
      assetId: 'pv-north',
      magnitudePercent: 10,
      magnitudeKw: 120,
      energyKwh: 30,
      intervalStartMs: T0,
      intervalEndMs: T0 + 900_000,
      setpoint: { point: 'pv1.curtailment_limit_pct', value: 72, unit: '%' }, // 1080 kW of 1500 kW
      forecast: null,
      measurement: { voltagePu: 1.06, pvActivePowerKw: 1200, curtailmentPct: 0 },
    });
    expect(p!.reason).toBe('voltage 1.06 pu is 0.01 pu above the 1.05 pu band with pv-north producing 1200 kW: curtail 10 % of its 1200 kW available (1000 %/pu x 0.01 pu), about 120 kW');
    expect(proposalIntact(p!)).toBe(true);
    expect(control({ nowMs: T0, voltagePu: 1.07, pvActivePowerKw: 1200, curtailmentPct: 0 }).proposals[0]!.magnitudePercent).toBe(20);
  });

  it('the gain is configurable and the curtailment clamps to 0-100 % (or the configured maximum)', () => {
    const strong = overVoltageController({ ...config, gainPctPerPu: 3000 });
    expect(strong({ nowMs: T0, voltagePu: 1.06, pvActivePowerKw: 1000, curtailmentPct: 0 }).proposals[0]!.magnitudePercent).toBe(30);
    expect(control({ nowMs: T0, voltagePu: 1.2, pvActivePowerKw: 1000, curtailmentPct: 0 }).proposals[0]).toMatchObject({ magnitudePercent: 100, setpoint: { value: 0 } });
    const capped = overVoltageController({ ...config, maxCurtailmentPct: 40 });
    expect(capped({ nowMs: T0, voltagePu: 1.1, pvActivePowerKw: 1000, curtailmentPct: 0 }).proposals[0]!.magnitudePercent).toBe(40);
    expect(capped({ nowMs: T0, voltagePu: 1.1, pvActivePowerKw: 600, curtailmentPct: 40 })).toMatchObject({ status: 'SATURATED', proposals: [] });
  });

  it('a persisting excess adds to the curtailment in force, measured against the available output', () => {
    // 20 % in force, 800 kW measured -> 1000 kW available; 0.005 pu over adds 5 %
    const r = control({ nowMs: T0, voltagePu: 1.055, pvActivePowerKw: 800, curtailmentPct: 20 });
    expect(r.proposals[0]).toMatchObject({ magnitudePercent: 25, magnitudeKw: 250, setpoint: { value: 50 } });
  });

  it('holds in the hysteresis band and releases below it', () => {
    expect(control({ nowMs: T0, voltagePu: 1.045, pvActivePowerKw: 900, curtailmentPct: 10 })).toMatchObject({ status: 'HOLD', proposals: [], releases: [] });
    expect(control({ nowMs: T0, voltagePu: 1.04, pvActivePowerKw: 900, curtailmentPct: 10 }).status).toBe('HOLD');
    const r = control({ nowMs: T0, voltagePu: 1.035, pvActivePowerKw: 900, curtailmentPct: 10 });
    expect(r.status).toBe('RELEASE');
    expect(r.proposals).toEqual([]);
    expect(r.releases[0]).toMatchObject({ action: 'pv_curtailment', magnitudePercent: 0, magnitudeKw: 0, setpoint: { value: 100 } });
    expect(r.releases[0]!.reason).toBe('voltage 1.035 pu back under 1.04 pu: release the curtailment of pv-north from 10 % to 0 %');
  });

  it('releases step by step when configured', () => {
    const slow = overVoltageController({ ...config, releaseStepPct: 5 });
    expect(slow({ nowMs: T0, voltagePu: 1.0, pvActivePowerKw: 800, curtailmentPct: 12 }).releases[0]!.magnitudePercent).toBe(7);
    expect(slow({ nowMs: T0, voltagePu: 1.0, pvActivePowerKw: 800, curtailmentPct: 3 }).releases[0]!.magnitudePercent).toBe(0);
  });

  it('no PV or no reading: no proposal, and says why', () => {
    expect(control({ nowMs: T0, voltagePu: 1.08, pvActivePowerKw: 0, curtailmentPct: 0 })).toMatchObject({ status: 'NO_PV', proposals: [] });
    expect(control({ nowMs: T0, voltagePu: undefined, pvActivePowerKw: 900, curtailmentPct: 10 })).toMatchObject({ status: 'NO_READING', proposals: [], releases: [] });
    expect(control({ nowMs: T0, voltagePu: 1.08, pvActivePowerKw: NaN, curtailmentPct: 0 }).note).toContain('PV output');
  });

  it('scripted cycles: curtail, add, hold through the band, release, stay normal', () => {
    const voltages = [1.03, 1.06, 1.053, 1.045, 1.042, 1.038, 1.03];
    const statuses: string[] = [];
    let inForce = 0;
    voltages.forEach((v, i) => {
      const r = control({ nowMs: T0 + i * 900_000, voltagePu: v, pvActivePowerKw: 1000 * (1 - inForce / 100), curtailmentPct: inForce });
      statuses.push(r.status);
      const next = r.proposals[0] ?? r.releases[0];
      if (next) inForce = next.magnitudePercent!;
    });
    expect(statuses).toEqual(['NORMAL', 'CURTAIL', 'CURTAIL', 'HOLD', 'HOLD', 'RELEASE', 'NORMAL']);
    expect(inForce).toBe(0);
  });

  it('maps onto the policy engine: a small curtailment at 1.06 pu runs on its own under the example policy', () => {
    const evaluate = compilePolicy(loadPolicy('config/policy.example.yaml'));
    const ctx = { nowMs: T0, voltagePu: 1.06, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 };
    const small = control({ nowMs: T0, voltagePu: 1.06, pvActivePowerKw: 1200, curtailmentPct: 0 }).proposals[0]!;
    expect(toProposedAction(small)).toMatchObject({ action: 'pv_curtailment', magnitudePercent: 10, magnitudeKw: 120 });
    expect(evaluate(toProposedAction(small), ctx)).toMatchObject({ outcome: 'auto', ruleId: 'pv-overvoltage' });
    const large = control({ nowMs: T0, voltagePu: 1.09, pvActivePowerKw: 1200, curtailmentPct: 0 }).proposals[0]!;
    expect(evaluate(toProposedAction(large), { ...ctx, voltagePu: 1.09 }).outcome).toBe('escalate');
  });

  it('rejects a configuration it cannot run', () => {
    expect(() => overVoltageController({ ...config, vReleasePu: 1.05 })).toThrow(DispatchError);
    expect(() => overVoltageController({ ...config, pvCapacityKw: 0 })).toThrow(/pvCapacityKw/);
    expect(() => overVoltageController({ ...config, gainPctPerPu: -1 })).toThrow(/gainPctPerPu/);
    expect(() => overVoltageController({ ...config, releaseStepPct: 0 })).toThrow(/releaseStepPct/);
  });
});
