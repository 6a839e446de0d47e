import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadPolicy, parseDurationMs, parsePolicy } from '../../config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-policy-'));
const header = `
id: p1
version: 3
validFrom: "2026-01-01T00:00:00Z"
validUntil: "2026-07-01T00:00:00+02:00"
timeZone: Europe/Berlin
defaults: { outcome: escalate, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: refuse } }
`;
const withRules = (rules: string, extra = '') => `${header}${extra}rules:\n${rules}`;

function problems(text: string, name = 'policy.yaml'): string[] {
  try {
    parsePolicy(text, name);
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config/policy.example.yaml', () => {
  it('parses, compiles units into keys that name them, and freezes', () => {
    const p = loadPolicy('config/policy.example.yaml');
    expect(p).toMatchObject({ id: 'north-feeders', version: 7, timeZone: 'Europe/Berlin', validFromMs: Date.parse('2026-01-01T00:00:00Z') });
    expect(p.defaults).toEqual({ outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { afterMs: 900_000, then: 'refuse' }, changedBy: 'ana' });
    expect(p.fallbacks).toEqual({
      'bess-hold-reserve': { description: 'keep the battery at zero power, so its charge stays in reserve', action: { kind: 'zero' } },
      'bess-partial-shave': { description: 'shave the peak with at most 250 kW, what the operators accept unattended', action: { kind: 'cap', maxKw: 250 } },
    });
    expect(p.rateLimits).toEqual({ maxPerHour: 12, maxEnergyKwhPerDay: 2000, whenExceeded: 'escalate' });
    const byId = new Map(p.rules.map((r) => [r.id, r]));
    expect(byId.get('bess-small')).toMatchObject({ actions: ['battery_discharge'], assets: ['bess-*'], outcome: 'auto', when: { powerKw: { max: 250 }, stateOfChargePct: { min: 20, max: 90 }, maxForecastBandWidth: 0.3 } });
    expect(byId.get('bess-medium')).toMatchObject({ when: { powerKw: { above: 250, max: 1000 } }, onTimeout: { afterMs: 600_000, then: 'fallback', fallback: 'bess-partial-shave' }, changedBy: 'ana' });
    expect(byId.get('bess-large')?.approval).toEqual({ roles: ['supervisor'], approvers: 2 });
    expect(byId.get('pv-overvoltage')?.when).toEqual({ magnitudePct: { max: 30 }, voltagePu: { above: 1.05 } });
    expect(byId.get('shed-always-escalate')).toMatchObject({ assets: ['*'], outcome: 'escalate', approval: { roles: ['supervisor'] } });
    expect(byId.get('cap-night')?.when.timeWindows).toEqual([{ days: [0, 1, 2, 3, 4, 5, 6], fromMinuteOfDay: 1320, toMinuteOfDay: 360 }]);
    expect(byId.get('cap-day')?.rateLimits).toEqual({ maxPerHour: 4, whenExceeded: 'escalate' });
    expect(Object.isFrozen(p.rules[0]?.when)).toBe(true);
  });
});

describe('human units', () => {
  it('power, energy, percent and per-unit values with or without units; durations in min', () => {
    const p = parsePolicy(
      withRules(`  - { id: a, action: [battery_charge, battery_discharge], assets: [bess-01, "pv-?"], outcome: auto,
      when: { power: { min: 800 W, below: 1.5 MW }, energy: { max: 2 MWh }, percent: { max: "30 %" }, voltage: { min: "0.95 pu", max: 1.05 }, stateOfCharge: { min: 10 } } }\n`),
      'units.yaml',
    );
    expect(p.rules[0]).toMatchObject({ actions: ['battery_charge', 'battery_discharge'], when: { powerKw: { min: 0.8, below: 1500 }, energyKwh: { max: 2000 }, magnitudePct: { max: 30 }, voltagePu: { min: 0.95, max: 1.05 }, stateOfChargePct: { min: 10 } } });
    expect(parseDurationMs('5 min')).toBe(300_000);
    expect(parseDurationMs('15m')).toBe(900_000);
  });

  it('time windows: days Monday first, "24:00" ends the day, every day by default', () => {
    const p = parsePolicy(withRules(`  - { id: a, action: load_shed, assets: "*", outcome: deny, when: { timeWindows: [{ days: [sun, mon], from: "18:30", to: "24:00" }, { from: "22:00", to: "06:00" }] } }\n`), 'w.yaml');
    expect(p.rules[0]?.when.timeWindows).toEqual([
      { days: [0, 6], fromMinuteOfDay: 1110, toMinuteOfDay: 1440 },
      { days: [0, 1, 2, 3, 4, 5, 6], fromMinuteOfDay: 1320, toMinuteOfDay: 360 },
    ]);
  });
});

describe('bad policies name the file, the key and what was expected', () => {
  it('document-level problems, all at once', () => {
    const lines = problems(
      `id: p1\nversion: 0\nvalidFrom: nope\nvalidUntil: "2026-01-01T00:00:00Z"\ntimeZone: Mars/Olympus\ndefaults: { outcome: auto, approval: { roles: [], approvers: 3 }, onTimeout: { after: soon, then: wait } }\nextra: 1\n`,
      'bad.yaml',
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'bad.yaml: version: expected >= 1, got number 0',
        'bad.yaml: validFrom: expected an ISO 8601 timestamp with its offset, such as "2026-01-01T00:00:00Z", got string "nope"',
        'bad.yaml: timeZone: expected an IANA time zone such as "Europe/Berlin" or "UTC", got string "Mars/Olympus"',
        'bad.yaml: defaults.outcome: expected one of "escalate", "deny", got string "auto"',
        'bad.yaml: defaults.approval.roles: expected at least 1 item(s), got a list of 0',
        'bad.yaml: defaults.onTimeout.after: expected a duration such as "500ms", "5s", "15m" or "1h", got string "soon"',
        'bad.yaml: defaults.onTimeout.then: expected one of "hold", "refuse", "fallback", got string "wait"',
        'bad.yaml: extra: unknown key (check its spelling and level)',
      ]),
    );
    expect(lines.some((l) => l.startsWith('bad.yaml: defaults.approval.approvers: '))).toBe(true);
  });

  it('rules: approvals, timeouts, rate limits and ranges that make no sense', () => {
    const lines = problems(
      withRules(`  - { id: a, action: battery_discharge, assets: "*", outcome: escalate, when: { power: { min: 5 kW, above: 2 kW } } }
  - { id: b, action: zap, assets: "bess 1", outcome: auto, when: { power: { min: 500 kW, below: 250 kW }, stateOfCharge: { max: 120 }, voltage: {} } }
  - { id: c, action: load_shed, assets: "*", outcome: deny, approval: { roles: [operator] }, rateLimits: { maxPerHour: 2 } }
  - { id: d, action: load_shed, assets: "*", outcome: escalate, approval: { roles: [operator] }, onTimeout: { after: 5 min, then: fallback } }
  - { id: e, action: load_shed, assets: "*", outcome: auto, when: { power: { max: lots }, timeWindows: [{ from: "22:00", to: "22:00" }, { from: "25:00", to: "01:00" }] } }\n`),
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'policy.yaml: rules.0.when.power.above: expected either min (inclusive) or above (exclusive), not both, got string "2 kW"',
        'policy.yaml: rules.0.approval: expected approval { roles, approvers } for an escalate rule: who may approve, got nothing (the key is missing)',
        'policy.yaml: rules.1.action: expected one of battery_discharge, battery_charge, pv_curtailment, load_shed, capacitor_switch, or a list of them, got string "zap"',
        "policy.yaml: rules.1.assets: expected an asset id or pattern ('*' any characters, '?' one), such as bess-01 or bess-*, got string \"bess 1\"",
        'policy.yaml: rules.1.when.power.below: expected an upper bound above the lower bound (500), or the range is empty, got string "250 kW"',
        'policy.yaml: rules.1.when.stateOfCharge.max: expected <= 100, got number 120',
        'policy.yaml: rules.1.when.voltage.min: expected at least one bound: min, max, above or below, got nothing (the key is missing)',
        'policy.yaml: rules.2.approval: expected no approval for a deny rule, got a mapping',
        'policy.yaml: rules.2.rateLimits: expected rate limits only on auto rules, not on a deny rule, got a mapping',
        'policy.yaml: rules.3.onTimeout.fallback: expected the name of a fallback declared under fallbacks when then is fallback, got nothing (the key is missing)',
        'policy.yaml: rules.4.when.power.max: expected a power such as 250, "250 kW" or "1.5 MW", got string "lots"',
        'policy.yaml: rules.4.when.timeWindows.0.to: expected a time other than from (22:00); a whole day is "00:00" to "24:00", got string "22:00"',
        'policy.yaml: rules.4.when.timeWindows.1.from: expected a local time "HH:MM" from "00:00" to "24:00", got string "25:00"',
      ]),
    );
  });

  it('cross-references: duplicate rule ids, undeclared fallbacks, validity backwards', () => {
    const lines = problems(
      `${header.replace('validFrom: "2026-01-01T00:00:00Z"', 'validFrom: "2026-08-01T00:00:00Z"')}fallbacks: { hold: { description: keep the setpoint, action: { kind: hold-setpoint } } }\nrules:\n  - { id: a, action: load_shed, assets: "*", outcome: deny }\n  - { id: a, action: load_shed, assets: "*", outcome: escalate, approval: { roles: [op] }, onTimeout: { after: 1 min, then: fallback, fallback: hlod } }\n`,
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'policy.yaml: validUntil: expected a time after validFrom (2026-08-01T00:00:00Z), got string "2026-07-01T00:00:00+02:00"',
        "policy.yaml: rules.1.id: rule id 'a' is already used at rules.0",
        "policy.yaml: rules.1.onTimeout.fallback: fallback 'hlod' is not declared under fallbacks (declared: hold)",
      ]),
    );
  });

  it('fallbacks are data: a description and one of the known actions, with a power for a cap', () => {
    const lines = problems(
      `${header}fallbacks:\n  a: keep the setpoint\n  b: { description: x, action: { kind: explode } }\n  c: { description: x, action: { kind: cap } }\n  d: { description: x, action: { kind: cap, maxKw: -5 kW } }\n  e: { action: { kind: zero } }\nrules: []\n`,
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'policy.yaml: fallbacks.a: expected object, got string "keep the setpoint"',
        'policy.yaml: fallbacks.b.action.kind: expected one of { kind: hold-setpoint }, { kind: zero } or { kind: cap, maxKw }, got string "explode"',
        'policy.yaml: fallbacks.c.action.maxKw: expected one of the allowed forms, got nothing (the key is missing)',
        expect.stringMatching(/^policy\.yaml: fallbacks\.d\.action\.maxKw: expected >= 0/),
        expect.stringMatching(/^policy\.yaml: fallbacks\.e\.description: /),
      ]),
    );
  });

  it('changedBy: a hub user name on a rule or the defaults, not an empty one', () => {
    const p = parsePolicy(withRules(`  - { id: a, action: load_shed, assets: "*", outcome: escalate, approval: { roles: [op] }, changedBy: "ana.maria@north" }\n`), 'policy.yaml');
    expect(p.rules[0]?.changedBy).toBe('ana.maria@north');
    for (const bad of ['""', '"ana maria"']) {
      expect(problems(withRules(`  - { id: a, action: load_shed, assets: "*", outcome: deny, changedBy: ${bad} }\n`))).toEqual([expect.stringMatching(/^policy\.yaml: rules\.0\.changedBy: expected a hub user name/)]);
    }
  });

  it('a timeout shorter than a second, and a fallback named with another choice', () => {
    const lines = problems(withRules(`  - { id: a, action: load_shed, assets: "*", outcome: escalate, approval: { roles: [op] }, onTimeout: { after: 10ms, then: refuse, fallback: x } }\n`));
    expect(lines).toContain('policy.yaml: rules.0.onTimeout.after: expected at least 1s: nobody decides faster, got string "10ms"');
    expect(lines).toContain('policy.yaml: rules.0.onTimeout.fallback: expected no fallback when then is refuse, got string "x"');
  });

  it('YAML syntax errors, missing files and a list instead of a document', () => {
    expect(problems('id: [unclosed\n', 's.yaml')[0]).toMatch(/^s\.yaml: \(document\): YAML syntax error at line \d+/);
    expect(() => loadPolicy(join(dir, 'nope.yaml'))).toThrow(`${join(dir, 'nope.yaml')}: (document): cannot read the config file: no such file`);
    expect(problems('- a\n- b\n', 'l.yaml')[0]).toBe('l.yaml: (document): expected a mapping of sections (edge:, hub:, ...), got a list');
  });

  it('loadPolicy names the file it read, and GRIDOS_ variables cannot change a policy', () => {
    const path = join(dir, 'p.yaml');
    writeFileSync(path, withRules('  - { id: a, action: load_shed, assets: "*", outcome: deny, when: { percent: { max: 200 } } }\n'));
    process.env.GRIDOS_DEFAULTS__OUTCOME = 'deny';
    try {
      expect(() => loadPolicy(path)).toThrow(`${path}: rules.0.when.percent.max: expected <= 100, got number 200`);
      writeFileSync(path, withRules('  - { id: a, action: load_shed, assets: "*", outcome: deny }\n'));
      expect(loadPolicy(path).defaults.outcome).toBe('escalate');
    } finally {
      delete process.env.GRIDOS_DEFAULTS__OUTCOME;
    }
  });
});
