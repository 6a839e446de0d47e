import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicy, type Policy } from '../../config/index.js';
import { compilePolicy, PolicyEngineError, type PolicyContext, type ProposedAction } from '../../edge/policy/index.js';

const T0 = Date.parse('2026-03-02T10:00:00Z'); // a Monday
const MIN = 60_000;

function policyOf(rules: string, { zone = 'UTC', extra = '', defaults = 'escalate' } = {}): Policy {
  return parsePolicy(
    `id: test\nversion: 4\nvalidFrom: "2026-01-01T00:00:00Z"\nvalidUntil: "2026-12-31T00:00:00Z"\ntimeZone: ${zone}\n` +
      `defaults: { outcome: ${defaults}, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: refuse } }\n${extra}rules:\n${rules}`,
    'test.yaml',
  );
}
const engine = (rules: string, options?: Parameters<typeof policyOf>[1]) => compilePolicy(policyOf(rules, options));

function proposal(over: Partial<ProposedAction> = {}): ProposedAction {
  return { id: 'p1', edgeId: 'e1', siteId: 's1', assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 180, intervalStartMs: T0, intervalEndMs: T0 + 15 * MIN, ...over };
}
function context(over: Partial<PolicyContext> = {}): PolicyContext {
  return { nowMs: T0, voltagePu: 1.0, stateOfChargePct: 55, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0, ...over };
}
const auto = (id: string, action: string, when: string, extra = '') => `  - { id: ${id}, action: ${action}, assets: "*", outcome: auto, when: ${when}${extra} }\n`;

describe('conditions, each in range, out of range and at the boundary', () => {
  it.each([
    ['power max is inclusive', '{ power: { max: 250 kW } }', { magnitudeKw: 250 }, {}, 'auto'],
    ['power over max', '{ power: { max: 250 kW } }', { magnitudeKw: 250.001 }, {}, 'escalate'],
    ['power above is exclusive', '{ power: { above: 250 kW } }', { magnitudeKw: 250 }, {}, 'escalate'],
    ['power above', '{ power: { above: 250 kW } }', { magnitudeKw: 251 }, {}, 'auto'],
    ['power min inclusive', '{ power: { min: 1 MW } }', { magnitudeKw: 1000 }, {}, 'auto'],
    ['power below exclusive', '{ power: { below: 100 } }', { magnitudeKw: 100 }, {}, 'escalate'],
    ['percent in', '{ percent: { max: 30 } }', { magnitudePercent: 30 }, {}, 'auto'],
    ['percent out', '{ percent: { max: 30 } }', { magnitudePercent: 31 }, {}, 'escalate'],
    ['energy given', '{ energy: { max: 50 kWh } }', { energyKwh: 50 }, {}, 'auto'],
    ['energy given, out', '{ energy: { max: 50 kWh } }', { energyKwh: 50.5 }, {}, 'escalate'],
    ['energy from kW x interval (180 kW x 15 min = 45 kWh)', '{ energy: { max: 45 kWh } }', {}, {}, 'auto'],
    ['energy from kW x interval, out', '{ energy: { max: 44.9 kWh } }', {}, {}, 'escalate'],
    ['forecast band at the bound', '{ maxForecastBandWidth: 0.2 }', { forecastBandWidth: 0.2 }, {}, 'auto'],
    ['forecast band too wide', '{ maxForecastBandWidth: 0.2 }', { forecastBandWidth: 0.21 }, {}, 'escalate'],
    ['voltage above is exclusive', '{ voltage: { above: 1.05 pu } }', {}, { voltagePu: 1.05 }, 'escalate'],
    ['voltage above', '{ voltage: { above: 1.05 pu } }', {}, { voltagePu: 1.051 }, 'auto'],
    ['voltage band', '{ voltage: { min: 0.95, max: 1.05 } }', {}, { voltagePu: 0.95 }, 'auto'],
    ['voltage under the band', '{ voltage: { min: 0.95, max: 1.05 } }', {}, { voltagePu: 0.949 }, 'escalate'],
    ['state of charge at min', '{ stateOfCharge: { min: 20 %, max: 90 % } }', {}, { stateOfChargePct: 20 }, 'auto'],
    ['state of charge at max', '{ stateOfCharge: { min: 20 %, max: 90 % } }', {}, { stateOfChargePct: 90 }, 'auto'],
    ['state of charge under', '{ stateOfCharge: { min: 20 %, max: 90 % } }', {}, { stateOfChargePct: 19.9 }, 'escalate'],
    ['state of charge over', '{ stateOfCharge: { min: 20 %, max: 90 % } }', {}, { stateOfChargePct: 90.1 }, 'escalate'],
  ] as const)('%s', (_name, when, a, c, outcome) => {
    const v = engine(auto('r', 'battery_discharge', when))(proposal(a), context(c));
    expect(v.outcome).toBe(outcome);
    expect(v.ruleId).toBe(outcome === 'auto' ? 'r' : 'default');
  });

  it('action types and asset scopes: exact ids, * and ? patterns, "*"', () => {
    const evaluate = engine(
      `  - { id: exact, action: load_shed, assets: [feeder-3], outcome: deny }\n  - { id: glob, action: [pv_curtailment, battery_charge], assets: ["pv-*", "bess-?1"], outcome: auto }\n  - { id: any, action: capacitor_switch, assets: "*", outcome: auto }\n`,
    );
    const on = (action: ProposedAction['action'], assetId: string) => evaluate(proposal({ action, assetId }), context()).ruleId;
    expect(on('load_shed', 'feeder-3')).toBe('exact');
    expect(on('load_shed', 'feeder-31')).toBe('default');
    expect(on('pv_curtailment', 'pv-north')).toBe('glob');
    expect(on('battery_charge', 'bess-01')).toBe('glob');
    expect(on('battery_charge', 'bess-011')).toBe('default');
    expect(on('battery_discharge', 'bess-01')).toBe('default');
    expect(on('capacitor_switch', 'anything.at-all')).toBe('any');
  });

  it('a rule without conditions holds for every action of its type and scope', () => {
    const v = engine('  - { id: shed, action: load_shed, assets: "*", outcome: escalate, approval: { roles: [supervisor], approvers: 2 }, onTimeout: { after: 2 min, then: hold } }\n')(proposal({ action: 'load_shed', assetId: 'f1' }), context());
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'shed', approval: { roles: ['supervisor'], approvers: 2 }, onTimeout: { afterMs: 120_000, then: 'hold' }, policyId: 'test', policyVersion: 4, flags: [] });
  });
});

describe('the most restrictive match wins', () => {
  const rules =
    auto('small', 'battery_discharge', '{ power: { max: 250 kW } }') +
    '  - { id: op, action: battery_discharge, assets: "*", outcome: escalate, approval: { roles: [operator] }, when: { power: { min: 200 kW } } }\n' +
    '  - { id: two, action: battery_discharge, assets: "*", outcome: escalate, approval: { roles: [supervisor], approvers: 2 }, when: { power: { min: 900 kW } } }\n' +
    '  - { id: op-late, action: battery_discharge, assets: "*", outcome: escalate, approval: { roles: [dispatcher] }, when: { power: { min: 200 kW } } }\n' +
    '  - { id: empty, action: battery_discharge, assets: "*", outcome: deny, when: { stateOfCharge: { below: 10 } } }\n';
  const evaluate = engine(rules);

  it('auto alone; escalate over auto, whatever the order; first in document order between equals', () => {
    expect(evaluate(proposal({ magnitudeKw: 100 }), context()).ruleId).toBe('small');
    const v = evaluate(proposal({ magnitudeKw: 220 }), context());
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'op', approval: { roles: ['operator'], approvers: 1 } });
    expect(v.reasons).toContain('also matched, outranked by op: small (auto), op-late (escalate)');
  });

  it('a two-person escalation outranks a one-person one; deny outranks everything', () => {
    expect(evaluate(proposal({ magnitudeKw: 950 }), context())).toMatchObject({ outcome: 'escalate', ruleId: 'two', approval: { approvers: 2 } });
    const v = evaluate(proposal({ magnitudeKw: 950 }), context({ stateOfChargePct: 5 }));
    expect(v).toMatchObject({ outcome: 'deny', ruleId: 'empty', approval: undefined, onTimeout: undefined });
    expect(v.reasons).toContain('state of charge 5 % < 10 % (rule empty)');
  });

  it('a deny listed first still loses nothing to a later auto', () => {
    const e = engine('  - { id: no, action: battery_discharge, assets: "*", outcome: deny }\n' + auto('yes', 'battery_discharge', '{ power: { max: 250 kW } }'));
    expect(e(proposal(), context())).toMatchObject({ outcome: 'deny', ruleId: 'no' });
  });
});

describe('no rule matched: the policy default', () => {
  it('escalate with the default approval and timeout', () => {
    const v = engine(auto('r', 'pv_curtailment', '{}'))(proposal(), context());
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'default', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { afterMs: 900_000, then: 'refuse' } });
    expect(v.reasons).toEqual(['no rule matched battery_discharge of bess-01: policy default escalate']);
  });
  it('deny', () => {
    expect(engine(auto('r', 'pv_curtailment', '{}'), { defaults: 'deny' })(proposal(), context())).toMatchObject({ outcome: 'deny', ruleId: 'default', approval: undefined });
  });
  it('a policy built in code with an auto default is refused', () => {
    const p = policyOf(auto('r', 'pv_curtailment', '{}'));
    const bad = { ...p, defaults: { ...p.defaults, outcome: 'auto' } } as unknown as Policy;
    expect(() => compilePolicy(bad)).toThrow(PolicyEngineError);
    expect(() => compilePolicy(bad)).toThrow(/never auto/);
  });
});

describe('missing readings are never guessed', () => {
  const evaluate = engine(
    auto('soc', 'battery_discharge', '{ stateOfCharge: { min: 20, max: 90 }, maxForecastBandWidth: 0.3 }') +
      '  - { id: empty, action: battery_discharge, assets: "*", outcome: deny, when: { stateOfCharge: { below: 10 } } }\n' +
      auto('pv', 'pv_curtailment', '{ voltage: { above: 1.05 }, percent: { max: 30 } }'),
  );

  it('no state of charge: the auto rule cannot be judged, escalate with the default approval', () => {
    const v = evaluate(proposal({ forecastBandWidth: 0.1 }), context({ stateOfChargePct: undefined }));
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'soc', approval: { roles: ['operator'] }, flags: ['CONTEXT_MISSING'] });
    expect(v.reasons).toContain('no state of charge reading: rule soc needs >= 20 % and <= 90 %');
    expect(v.reasons).toContain('also matched, outranked by soc: empty (deny, not judged: escalate)');
  });

  it('no forecast band, no voltage, no percentage, NaN readings: escalate, not auto and not deny', () => {
    expect(evaluate(proposal(), context()).outcome).toBe('escalate');
    expect(evaluate(proposal({ action: 'pv_curtailment', assetId: 'pv-1', magnitudePercent: 20 }), context({ voltagePu: undefined })).flags).toEqual(['CONTEXT_MISSING']);
    expect(evaluate(proposal({ action: 'pv_curtailment', assetId: 'pv-1' }), context({ voltagePu: 1.07 })).outcome).toBe('escalate');
    expect(evaluate(proposal({ forecastBandWidth: 0.1 }), context({ stateOfChargePct: NaN })).outcome).toBe('escalate');
  });

  it('a known failing condition rules a rule out even when another is unknown', () => {
    const v = evaluate(proposal({ forecastBandWidth: 0.5 }), context({ stateOfChargePct: 50 }));
    expect(v.ruleId).toBe('default');
  });
});

describe('rate limits on autonomous actions', () => {
  const extra = 'rateLimits: { maxPerHour: 3, maxEnergyPerDay: 100 kWh }\n';
  const evaluate = engine(auto('r', '[battery_discharge, capacitor_switch]', '{}', ', rateLimits: { maxPerHour: 2, whenExceeded: deny }') + auto('pv', 'pv_curtailment', '{}'), { extra });

  it('count: the last allowed one runs, the next escalates (policy) or is refused (rule)', () => {
    expect(evaluate(proposal({ action: 'pv_curtailment', magnitudeKw: 10 }), context({ autoCountLastHour: 2 })).outcome).toBe('auto');
    const v = evaluate(proposal({ action: 'pv_curtailment', magnitudeKw: 10 }), context({ autoCountLastHour: 3 }));
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'pv', flags: ['RATE_LIMITED'], approval: { roles: ['operator'] } });
    expect(v.reasons).toContain('3 autonomous actions in the last hour: one more exceeds the policy limit of 3 per hour, escalate');
    expect(evaluate(proposal({ magnitudeKw: 10 }), context({ autoCountLastHour: 1 })).outcome).toBe('auto');
    expect(evaluate(proposal({ magnitudeKw: 10 }), context({ autoCountLastHour: 2 }))).toMatchObject({ outcome: 'deny', flags: ['RATE_LIMITED'] });
  });

  it('energy today: up to the limit included; kW x interval when no kWh; a capacitor switch moves none', () => {
    expect(evaluate(proposal({ action: 'pv_curtailment', energyKwh: 40 }), context({ autoEnergyKwhToday: 60 })).outcome).toBe('auto');
    const v = evaluate(proposal({ action: 'pv_curtailment', energyKwh: 40.5 }), context({ autoEnergyKwhToday: 60 }));
    expect(v.outcome).toBe('escalate');
    expect(v.reasons).toContain('60 kWh today + 40.5 kWh exceeds the policy limit of 100 kWh per day, escalate');
    expect(evaluate(proposal({ action: 'pv_curtailment', magnitudeKw: 240 }), context({ autoEnergyKwhToday: 40 })).outcome).toBe('auto'); // 60 kWh
    expect(evaluate(proposal({ action: 'pv_curtailment', magnitudeKw: 244 }), context({ autoEnergyKwhToday: 40 })).outcome).toBe('escalate'); // 61 kWh
    expect(evaluate(proposal({ action: 'capacitor_switch', assetId: 'cap-1', magnitudeKw: undefined }), context({ autoEnergyKwhToday: 100 })).outcome).toBe('auto');
  });

  it('an energy nobody can know escalates; deny and escalate verdicts are not counted', () => {
    const v = evaluate(proposal({ action: 'pv_curtailment', magnitudeKw: undefined, magnitudePercent: 20 }), context());
    expect(v).toMatchObject({ outcome: 'escalate', flags: ['CONTEXT_MISSING'] });
    const limitsOnly = engine('  - { id: d, action: load_shed, assets: "*", outcome: deny }\n', { extra });
    expect(limitsOnly(proposal({ action: 'load_shed' }), context({ autoCountLastHour: 99 }))).toMatchObject({ outcome: 'deny', flags: [] });
  });
});

describe('an expired policy executes nothing on its own', () => {
  const evaluate = engine(
    auto('small', 'battery_discharge', '{ power: { max: 250 kW } }') +
      auto('pv', 'pv_curtailment', '{}', ', whenPolicyExpired: deny') +
      '  - { id: no, action: load_shed, assets: "*", outcome: deny }\n' +
      '  - { id: cap, action: capacitor_switch, assets: "*", outcome: escalate, approval: { roles: [supervisor] }, whenPolicyExpired: deny }\n',
  );

  it('auto becomes escalate, with the reason; deny stays deny', () => {
    const v = evaluate(proposal(), context({ policyExpired: true }));
    expect(v).toMatchObject({ outcome: 'escalate', ruleId: 'small', flags: ['POLICY_EXPIRED'], approval: { roles: ['operator'] } });
    expect(v.reasons).toContain('policy test v4 reported expired by the policy store: nothing runs on its own, escalate');
    expect(evaluate(proposal({ action: 'load_shed' }), context({ policyExpired: true }))).toMatchObject({ outcome: 'deny', ruleId: 'no' });
  });

  it('expiry is also read from nowMs against validFrom/validUntil', () => {
    const late = evaluate(proposal(), context({ nowMs: Date.parse('2026-12-31T00:00:00Z') }));
    expect(late).toMatchObject({ outcome: 'escalate', flags: ['POLICY_EXPIRED'] });
    expect(late.reasons).toContain('policy test v4 expired at 2026-12-31T00:00:00.000Z: nothing runs on its own, escalate');
    expect(evaluate(proposal(), context({ nowMs: Date.parse('2026-12-30T23:59:59.999Z') })).outcome).toBe('auto');
    const early = evaluate(proposal(), context({ nowMs: Date.parse('2025-12-31T23:59:59Z') }));
    expect(early.reasons).toContain('policy test v4 is not valid before 2026-01-01T00:00:00.000Z: nothing runs on its own, escalate');
  });

  it('a rule can say refuse rather than escalate once expired', () => {
    expect(evaluate(proposal({ action: 'pv_curtailment' }), context({ policyExpired: true }))).toMatchObject({ outcome: 'deny', ruleId: 'pv', flags: ['POLICY_EXPIRED'] });
    expect(evaluate(proposal({ action: 'capacitor_switch' }), context({ policyExpired: true })).outcome).toBe('deny');
    expect(evaluate(proposal({ action: 'capacitor_switch' }), context()).outcome).toBe('escalate');
  });

  it('expired and the hub unreachable: what would escalate is refused', () => {
    const v = evaluate(proposal(), context({ policyExpired: true, hubReachable: false }));
    expect(v).toMatchObject({ outcome: 'deny', ruleId: 'small', flags: ['POLICY_EXPIRED', 'HUB_UNREACHABLE'], approval: undefined });
    expect(v.reasons).toContain('hub unreachable with an expired policy: nobody can approve, refused');
    expect(evaluate(proposal({ magnitudeKw: 900 }), context({ policyExpired: true, hubReachable: false })).outcome).toBe('deny');
  });

  it('a valid policy with the hub unreachable still escalates (the timeout decides) and says so', () => {
    const v = evaluate(proposal({ magnitudeKw: 900 }), context({ hubReachable: false }));
    expect(v).toMatchObject({ outcome: 'escalate', flags: ['HUB_UNREACHABLE'] });
    expect(evaluate(proposal(), context({ hubReachable: false }))).toMatchObject({ outcome: 'auto', flags: [] });
  });
});

describe('time windows in the policy time zone', () => {
  const windows = (zone: string) =>
    engine(
      auto('night', 'battery_charge', '{ timeWindows: [{ days: [mon, tue, wed, thu, fri], from: "22:00", to: "06:00" }] }') +
        '  - { id: cap-night, action: capacitor_switch, assets: "*", outcome: deny, when: { timeWindows: [{ from: "22:00", to: "06:00" }] } }\n' +
        auto('cap-day', 'capacitor_switch', '{ timeWindows: [{ from: "06:00", to: "22:00" }] }'),
      { zone },
    );
  const at = (iso: string, minutes = 15) => ({ intervalStartMs: Date.parse(iso), intervalEndMs: Date.parse(iso) + minutes * MIN });
  const utc = windows('UTC');

  it('across midnight: inside on both sides; the start day decides (Friday night into Saturday, not Saturday night)', () => {
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-02T23:50:00Z', 20) }), context()).ruleId).toBe('night');
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-03T05:45:00Z') }), context()).ruleId).toBe('night');
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-07T03:00:00Z') }), context()).ruleId).toBe('night'); // Saturday 03:00, Friday's window
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-07T23:00:00Z') }), context()).ruleId).toBe('default'); // Saturday night
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-02T21:45:00Z') }), context()).ruleId).toBe('default'); // ends at 22:00 exactly: outside
  });

  it('boundaries: from is inside, to is outside', () => {
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-02T22:00:00Z') }), context()).outcome).toBe('auto');
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-03T05:45:01Z') }), context()).outcome).toBe('escalate');
    expect(utc(proposal({ action: 'battery_charge', ...at('2026-03-03T06:00:00Z') }), context()).outcome).toBe('escalate');
  });

  it('auto needs the whole interval inside; deny holds as soon as it touches', () => {
    const v = utc(proposal({ action: 'capacitor_switch', assetId: 'cap-1', ...at('2026-03-02T21:50:00Z') }), context());
    expect(v).toMatchObject({ outcome: 'deny', ruleId: 'cap-night' });
    expect(v.reasons).toContain('interval Mon 21:50-22:05 (UTC) overlaps daily 22:00-06:00 (rule cap-night)');
    const day = utc(proposal({ action: 'capacitor_switch', assetId: 'cap-1', ...at('2026-03-02T12:00:00Z') }), context());
    expect(day).toMatchObject({ outcome: 'auto', ruleId: 'cap-day' });
    expect(day.reasons).toContain('interval Mon 12:00-12:15 (UTC) inside daily 06:00-22:00 (rule cap-day)');
    expect(utc(proposal({ action: 'capacitor_switch', ...at('2026-03-02T08:00:00Z', 24 * 60) }), context()).outcome).toBe('deny'); // a day-long interval crosses the night
  });

  it('local time with daylight saving: 22:30 in Berlin is 21:30 UTC in winter and 20:30 UTC in summer', () => {
    const berlin = windows('Europe/Berlin');
    expect(berlin(proposal({ action: 'battery_charge', ...at('2026-03-02T21:30:00Z') }), context()).ruleId).toBe('night');
    expect(berlin(proposal({ action: 'battery_charge', ...at('2026-03-02T20:30:00Z') }), context()).ruleId).toBe('default');
    expect(berlin(proposal({ action: 'battery_charge', ...at('2026-06-01T20:30:00Z') }), context()).ruleId).toBe('night');
    expect(berlin(proposal({ action: 'battery_charge', ...at('2026-06-02T03:50:00Z', 10) }), context()).ruleId).toBe('night'); // Tuesday 05:50 CEST, in Monday night's window
    expect(berlin(proposal({ action: 'battery_charge', ...at('2026-06-02T04:00:00Z') }), context()).ruleId).toBe('default'); // 06:00 CEST
    expect(windows('America/New_York')(proposal({ action: 'battery_charge', ...at('2026-03-03T03:00:00Z') }), context()).ruleId).toBe('night'); // Mon 22:00 EST
  });

  it('an interval across a daylight-saving change cannot be placed: escalate and say why', () => {
    // Europe/Berlin moves from 02:00 CET to 03:00 CEST on Sunday 29 March 2026 (01:00 UTC).
    const v = windows('Europe/Berlin')(proposal({ action: 'capacitor_switch', ...at('2026-03-29T00:50:00Z') }), context());
    expect(v).toMatchObject({ outcome: 'escalate', flags: ['CONTEXT_MISSING'] });
    expect(v.reasons.some((r) => r.startsWith('interval crosses a daylight-saving change in Europe/Berlin'))).toBe(true);
    expect(windows('Europe/Berlin')(proposal({ action: 'capacitor_switch', ...at('2026-03-29T01:00:00Z') }), context()).ruleId).toBe('cap-night'); // 03:00 CEST
  });
});

describe('malformed proposals are refused', () => {
  const evaluate = engine(auto('r', 'battery_discharge', '{}'));
  it.each([
    ['an interval that ends before it starts', { intervalEndMs: T0 - 1 }],
    ['a non-finite interval', { intervalStartMs: NaN }],
    ['a negative power', { magnitudeKw: -5 }],
    ['an infinite power', { magnitudeKw: Infinity }],
    ['a percentage over 100', { magnitudePercent: 101 }],
    ['a negative energy', { energyKwh: -1 }],
    ['a negative forecast band', { forecastBandWidth: -0.1 }],
    ['an unknown action type', { action: 'teleport' as ProposedAction['action'] }],
  ])('%s', (_name, over) => {
    expect(evaluate(proposal(over), context())).toMatchObject({ outcome: 'deny', ruleId: 'invalid-proposal', flags: ['INVALID_PROPOSAL'] });
  });
});

describe('config/policy.example.yaml, end to end', () => {
  const evaluate = compilePolicy(loadPolicy('config/policy.example.yaml'));
  const band = { forecastBandWidth: 0.1 };

  it('reasons read as an operator would want them', () => {
    const v = evaluate(proposal(band), context());
    expect(v).toMatchObject({ outcome: 'auto', ruleId: 'bess-small', policyId: 'north-feeders', policyVersion: 7, approval: undefined, onTimeout: undefined });
    expect(v.reasons).toEqual([
      'battery_discharge of bess-01 matches rule bess-small: auto',
      'discharge 180 kW <= 250 kW (rule bess-small)',
      'state of charge 55 % >= 20 % and <= 90 % (rule bess-small)',
      'forecast band 0.1 of the forecast <= 0.3 (rule bess-small)',
      'autonomous action 1 of 12 this hour (policy limit)',
      '0 kWh today + 45 kWh <= 2000 kWh per day (policy limit)',
    ]);
  });

  it('battery discharge by size, and an empty battery', () => {
    expect(evaluate(proposal({ ...band, magnitudeKw: 251 }), context())).toMatchObject({
      outcome: 'escalate',
      ruleId: 'bess-medium',
      onTimeout: { then: 'fallback', fallback: 'bess-partial-shave' },
      fallback: { name: 'bess-partial-shave', action: { kind: 'cap', maxKw: 250 } },
      ruleChangedBy: 'ana',
    });
    const large = evaluate(proposal({ ...band, magnitudeKw: 1500 }), context());
    expect(large).toMatchObject({ outcome: 'escalate', ruleId: 'bess-large', approval: { roles: ['supervisor'], approvers: 2 }, ruleChangedBy: 'ben' });
    expect(large.fallback).toBeUndefined();
    // no rule matched: who last changed the defaults
    expect(evaluate(proposal({ ...band, action: 'battery_charge', magnitudeKw: 600 }), context())).toMatchObject({ outcome: 'escalate', ruleId: 'default', ruleChangedBy: 'ana' });
    // only escalations carry them
    expect(evaluate(proposal(band), context())).not.toHaveProperty('ruleChangedBy');
    expect(evaluate(proposal({ ...band, magnitudeKw: 100 }), context({ stateOfChargePct: 9 }))).toMatchObject({ outcome: 'deny', ruleId: 'bess-empty' });
    expect(evaluate(proposal({ ...band, magnitudeKw: 100 }), context({ stateOfChargePct: 15 }))).toMatchObject({ outcome: 'escalate', ruleId: 'default' });
  });

  it('PV curtailment on overvoltage, load shed, capacitor banks by day and night', () => {
    const pv = proposal({ action: 'pv_curtailment', assetId: 'pv-north', magnitudePercent: 30, magnitudeKw: 200 });
    expect(evaluate(pv, context({ voltagePu: 1.06 })).outcome).toBe('auto');
    expect(evaluate(pv, context({ voltagePu: 1.05 })).ruleId).toBe('default');
    expect(evaluate(proposal({ action: 'load_shed', assetId: 'feeder-3', magnitudeKw: 50 }), context())).toMatchObject({ outcome: 'escalate', ruleId: 'shed-always-escalate', approval: { roles: ['supervisor'] } });
    const cap = (iso: string) => proposal({ action: 'capacitor_switch', assetId: 'cap-2', magnitudeKw: undefined, intervalStartMs: Date.parse(iso), intervalEndMs: Date.parse(iso) + 5 * MIN });
    expect(evaluate(cap('2026-03-02T22:30:00Z'), context())).toMatchObject({ outcome: 'deny', ruleId: 'cap-night' }); // 23:30 CET
    expect(evaluate(cap('2026-03-02T10:00:00Z'), context({ autoCountLastHour: 3 })).outcome).toBe('auto');
    expect(evaluate(cap('2026-03-02T10:00:00Z'), context({ autoCountLastHour: 4 }))).toMatchObject({ outcome: 'escalate', flags: ['RATE_LIMITED'] });
  });
});

describe('purity', () => {
  it('the same proposal and context give the same verdict, and the inputs are not touched', () => {
    const evaluate = compilePolicy(loadPolicy('config/policy.example.yaml'));
    const a = Object.freeze(proposal({ forecastBandWidth: 0.1 }));
    const c = Object.freeze(context());
    expect(evaluate(a, c)).toEqual(evaluate(a, c));
  });

  it('the engine reads no clock and imports no I/O', () => {
    // update/ (signed delivery) is I/O by design and sits beside the engine, not in it
    const files = readdirSync('edge/policy', { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(files).toContain('engine.ts');
    for (const file of files) {
      const text = readFileSync(`edge/policy/${file}`, 'utf8');
      const code = text.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/Date\.now|new Date\(\)|performance\.now|Math\.random/);
      expect(code, file).not.toMatch(/from '(node:|fs|mqtt|better-sqlite3|net|http)/);
    }
  });
});
