import { describe, expect, it, vi } from 'vitest';
import { policyBacktestCommand } from '../../bin/policy-backtest.js';
import { loadPolicy, parsePolicy, type Policy } from '../../config/index.js';
import { readSeriesCsv } from '../../models/series.js';
import { DispatchError, formatBacktestTable, runPolicyBacktest, type BacktestOptions, type BacktestReport } from '../../edge/dispatch/index.js';

const series = readSeriesCsv('simulators/data/pjm_dayton.csv');
const example = loadPolicy('config/policy.example.yaml');
const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
// a hot week in July 2017: the evening peaks cross the limit
const base: BacktestOptions = {
  series,
  policy: example,
  peakKw: 4000,
  limitKw: 3400,
  battery: { capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, roundTripEfficiency: 0.9025, socMinPct: 10, socMaxPct: 95, initialSocPct: 60 },
  basis: 'load',
  escalated: 'approved',
  validity: 'ignore',
  fromMs: day('2017-07-17'),
  toMs: day('2017-07-21'),
};

function policyOf(body: string): Policy {
  return parsePolicy(`id: t\nversion: 1\nvalidFrom: "2026-01-01T00:00:00Z"\nvalidUntil: "2026-07-01T00:00:00Z"\ntimeZone: Europe/Berlin\n${body}`, 't.yaml');
}
const denyAll = policyOf('defaults: { outcome: deny, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: refuse } }\nrules: []\n');
const autoAll = policyOf(
  'defaults: { outcome: escalate, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: refuse } }\n' +
    'rules:\n  - { id: any-battery, action: [battery_discharge, battery_charge], assets: "*", when: { power: { max: 10 MW } }, outcome: auto }\n',
);

function expectCountsAddUp(r: BacktestReport): void {
  let proposals = 0;
  for (const d of r.days) {
    expect(d.auto.count + d.escalate.count + d.deny.count).toBe(d.proposals);
    expect(d.proposals).toBeLessThanOrEqual(24);
    expect(d.socEndPct).toBeGreaterThanOrEqual(r.settings.battery.socMinPct - 1e-9);
    expect(d.socEndPct).toBeLessThanOrEqual(r.settings.battery.socMaxPct + 1e-9);
    expect(d.peakAfterKw).toBeGreaterThan(0);
    proposals += d.proposals;
  }
  const t = r.total;
  expect(t.proposals).toBe(proposals);
  expect(t.auto.count + t.escalate.count + t.deny.count).toBe(t.proposals);
  expect(Object.values(t.byRule).reduce((a, b) => a + b, 0)).toBe(t.proposals);
  for (const k of ['auto', 'escalate', 'deny'] as const) {
    expect(t[k].count).toBe(r.days.reduce((a, d) => a + d[k].count, 0));
    expect(t[k].kwh).toBeCloseTo(r.days.reduce((a, d) => a + d[k].kwh, 0), 2);
  }
  expect(t.hoursOverLimitAfter).toBe(r.days.reduce((a, d) => a + d.hoursOverLimitAfter, 0));
}

describe('policy backtest over real days of pjm_dayton.csv', () => {
  const report = runPolicyBacktest(base);

  it('replays each day and its counts add up', () => {
    expect(report.days.map((d) => d.date)).toEqual(['2017-07-17', '2017-07-18', '2017-07-19', '2017-07-20']);
    expect(report.settings).toMatchObject({ from: '2017-07-17', to: '2017-07-21', limitKw: 3400, measuredGuard: true });
    expect(report.policy).toEqual({ id: 'north-feeders', version: 7 });
    expect(report.days.every((d) => d.forecast === 'seasonal-naive' && d.skipped === null)).toBe(true);
    expectCountsAddUp(report);
    expect(report.total.proposals).toBeGreaterThan(0);
    // small discharges run on their own, large ones escalate, under the example policy
    expect(report.total.byRule['bess-small']).toBeGreaterThan(0);
    expect(report.total.auto.count).toBeGreaterThan(0);
    expect(report.total.escalate.count).toBeGreaterThan(0);
  });

  it('the battery takes hours off the limit and never raises the peak', () => {
    expect(report.total.hoursOverLimitAfter).toBeLessThan(report.total.hoursOverLimitBefore);
    for (const d of report.days) expect(d.peakAfterKw).toBeLessThanOrEqual(d.peakBeforeKw);
    expect(report.total.dischargedKwh).toBeGreaterThan(0);
  });

  it('is deterministic', () => {
    expect(JSON.stringify(runPolicyBacktest(base))).toBe(JSON.stringify(report));
  });

  it('a policy that denies everything refuses every action, and the battery never moves', () => {
    const r = runPolicyBacktest({ ...base, policy: denyAll });
    expectCountsAddUp(r);
    expect(r.total.proposals).toBeGreaterThan(0);
    expect(r.total.deny.count).toBe(r.total.proposals);
    expect(r.total.auto.count + r.total.escalate.count).toBe(0);
    expect(r.total).toMatchObject({ dischargedKwh: 0, chargedKwh: 0, byRule: { default: r.total.proposals } });
    expect(r.total.hoursOverLimitAfter).toBe(r.total.hoursOverLimitBefore);
    expect(r.days.every((d) => d.socEndPct === 60)).toBe(true);
  });

  it('a policy with high auto limits runs every action on its own', () => {
    const r = runPolicyBacktest({ ...base, policy: autoAll });
    expectCountsAddUp(r);
    expect(r.total.auto.count).toBe(r.total.proposals);
    expect(r.total.auto.count).toBeGreaterThan(0);
    expect(r.total.escalate.count + r.total.deny.count).toBe(0);
    expect(r.total.flags).toEqual({});
  });

  it('keeps the rate-limit counters through the replay', () => {
    const limited = policyOf(
      'defaults: { outcome: escalate, approval: { roles: [operator] }, onTimeout: { after: 15 min, then: refuse } }\nrateLimits: { maxEnergyPerDay: 500 kWh, whenExceeded: deny }\n' +
        'rules:\n  - { id: any-battery, action: [battery_discharge, battery_charge], assets: "*", outcome: auto }\n',
    );
    const r = runPolicyBacktest({ ...base, policy: limited });
    expectCountsAddUp(r);
    expect(r.total.flags.RATE_LIMITED).toBe(r.total.deny.count);
    expect(r.total.deny.count).toBeGreaterThan(0);
    for (const d of r.days) expect(d.auto.kwh).toBeLessThanOrEqual(500);
  });

  it('escalations assumed refused do not run', () => {
    const r = runPolicyBacktest({ ...base, escalated: 'refused' });
    expectCountsAddUp(r);
    expect(r.total.dischargedKwh + r.total.chargedKwh).toBeLessThanOrEqual(r.total.auto.kwh + 1e-6);
    expect(r.total.hoursOverLimitAfter).toBeGreaterThanOrEqual(report.total.hoursOverLimitAfter);
  });

  it('checked at the replayed time, the policy (valid from 2026) runs nothing on its own', () => {
    const r = runPolicyBacktest({ ...base, validity: 'replay' });
    expectCountsAddUp(r);
    expect(r.total.auto.count).toBe(0);
    expect(r.total.flags.POLICY_EXPIRED).toBe(r.total.proposals);
  });

  it('a day without a forecast is skipped and said so', () => {
    const r = runPolicyBacktest({ ...base, forecaster: (_s, issueMs) => (issueMs === day('2017-07-18') ? { ok: false, code: 'INSUFFICIENT_DATA', message: 'no history' } : { ok: true, forecast: { load: Array(24).fill(3000), p10: Array(24).fill(2900), p90: Array(24).fill(3100), model: { id: 'flat', version: '1', sha256: '0'.repeat(64) } } }) });
    expect(r.days[1]).toMatchObject({ date: '2017-07-18', forecast: 'INSUFFICIENT_DATA', skipped: 'no history', proposals: 0 });
    expect(r.days[0]!.forecast).toBe('flat');
    expect(r.total.skippedDays).toBe(1);
  });

  it('refuses a range outside the data', () => {
    expect(() => runPolicyBacktest({ ...base, fromMs: day('2030-01-01'), toMs: day('2030-02-01') })).toThrow(DispatchError);
  });

  it('prints a table with a row per day and a total', () => {
    const lines = formatBacktestTable(report).split('\n');
    expect(lines[0]).toBe('policy north-feeders v7: 2017-07-17 to 2017-07-21 (exclusive), feeder peak 4000 kW, limit 3400 kW (charging 0 kW under it), forecast basis load, guarded by the last hour measured');
    expect(lines.filter((l) => /^2017-07-\d\d {3}seasonal-naive/.test(l))).toHaveLength(4);
    expect(lines.some((l) => l.startsWith('total (4 d)'))).toBe(true);
    expect(lines.at(-2)).toMatch(/^deciding rules: /);
  });
});

describe('gridos policy backtest (the command, in process)', () => {
  it('is named backtest and documents its options', () => {
    const cmd = policyBacktestCommand();
    expect(cmd.name()).toBe('backtest');
    const help = cmd.helpInformation();
    for (const o of ['--policy <file>', '--data <csv|dir>', '--from <date>', '--to <date>', '--limit-kw <kW>', '--peak-kw <kW>', '--json']) expect(help).toContain(o);
  });

  it('--json prints the report as one object on the last stdout line', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await policyBacktestCommand().parseAsync(['--policy', 'config/policy.example.yaml', '--data', 'simulators/data/pjm_dayton.csv', '--from', '2017-07-17', '--to', '2017-07-19', '--limit-kw', '3400', '--json'], { from: 'user' });
    } finally {
      spy.mockRestore();
    }
    const last = out.join('').trim().split('\n').at(-1)!;
    const report = JSON.parse(last) as BacktestReport;
    expect(report.days.map((d) => d.date)).toEqual(['2017-07-17', '2017-07-18']);
    expect(report.settings).toMatchObject({ peakKw: 4000, limitKw: 3400, battery: { capacityKwh: 2000, initialSocPct: 60 } });
    expect(report.total.proposals).toBe(report.total.auto.count + report.total.escalate.count + report.total.deny.count);
  });
});
