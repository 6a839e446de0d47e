/**
 * The demo's pieces that are pure: the demo policy's verdicts at the scenario's sizes, both edge
 * configs valid against the edge schema (with the dispatch loop and the signed policy wired), and
 * the summary's counting and its JSON last line.
 */
import { describe, expect, it } from 'vitest';
import { demoSummary, edgeSummary, summaryJson, summaryText, type EdgeFacts } from '../../bin/demo-summary.js';
import { DEMO_START, DEMO_SUBSTATIONS, demoEdgeConfig } from '../../bin/demo-scenario.js';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { loadPolicy } from '../../config/policy-load.js';
import { compilePolicy, type ProposedAction } from '../../edge/index.js';

const T = Date.parse('2026-12-02T12:00:00Z');
const ctx = { nowMs: T, stateOfChargePct: 85, policyExpired: false, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 };
const action = (kw: number, a: ProposedAction['action'] = 'battery_discharge'): ProposedAction => ({ id: `p-${kw}`, edgeId: 'e', siteId: 's', assetId: 'bess-01', action: a, magnitudeKw: kw, intervalStartMs: T, intervalEndMs: T + 60_000 });

describe('config/policy.demo.yaml', () => {
  const evaluate = compilePolicy(loadPolicy('config/policy.demo.yaml'));

  it('a small discharge runs by itself, a large one waits for an operator, a very large one for two supervisors', () => {
    expect(evaluate(action(280), ctx)).toMatchObject({ outcome: 'auto', ruleId: 'bess-small', policyId: 'demo-peak-shaving', policyVersion: 1 });
    expect(evaluate(action(400), ctx)).toMatchObject({ outcome: 'auto', ruleId: 'bess-small' });
    expect(evaluate(action(930), ctx)).toMatchObject({ outcome: 'escalate', ruleId: 'bess-large', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { then: 'hold' } });
    expect(evaluate(action(1500), ctx)).toMatchObject({ outcome: 'escalate', ruleId: 'bess-very-large', approval: { roles: ['supervisor'], approvers: 2 } });
  });

  it('refuses load shedding and discharging a nearly empty battery', () => {
    expect(evaluate({ ...action(100, 'load_shed'), assetId: 'feeder-2' }, ctx)).toMatchObject({ outcome: 'deny', ruleId: 'shed-never' });
    expect(evaluate(action(100), { ...ctx, stateOfChargePct: 12 })).toMatchObject({ outcome: 'deny', ruleId: 'bess-empty' });
  });
});

describe('demo edge configs', () => {
  it('both substations give valid edge configs with the dispatch loop, the decision key and the signed policy wired', () => {
    const points = ['feeder1.active_power_kw', 'feeder1.voltage_pu', 'bess1.soc_pct', 'bess1.power_setpoint_kw'].map((tag) => ({ tag, nodeId: `ns=1;s=${tag}`, unit: 'kW', description: tag, minValue: -1e4, maxValue: 1e4 }));
    expect(new Set(DEMO_SUBSTATIONS.map((s) => s.edgeId)).size).toBe(2);
    for (const s of DEMO_SUBSTATIONS) {
      const doc = demoEdgeConfig(s, {
        brokerUrl: 'mqtt://127.0.0.1:1883',
        tufUrl: 'http://127.0.0.1:8080/tuf/',
        trustedRoot: '/demo/registry/tuf/metadata/1.root.json',
        decisionKeyFile: '/demo/hub/decision-key.pub.pem',
        endpointUrl: 'opc.tcp://127.0.0.1:4840',
        points,
        dataDir: `/demo/${s.edgeId}`,
        hourMs: 60_000,
        start: DEMO_START,
        modelDir: (n) => `/models/${n}`,
        dataFile: (n) => `/data/${n}.csv`,
        seriesPeak: () => 2,
      });
      const c = validateConfig(edgeConfigSchema, doc, s.edgeId);
      expect(c.edge).toMatchObject({ id: s.edgeId, site: s.site });
      expect(c.policy).toMatchObject({ source: 'http://127.0.0.1:8080/tuf/', trustedRoot: '/demo/registry/tuf/metadata/1.root.json' });
      expect(c.dispatch).toMatchObject({ decisionKey: '/demo/hub/decision-key.pub.pem', peakShaving: { forecastTarget: 'feeder1-day-ahead', limitKw: s.limitKw, battery: { setpointNodeId: 'ns=1;s=bess1.power_setpoint_kw' } } });
      // the forecast is seeded with the feeder's own series, scaled to its peak
      expect(c.forecast.targets.find((t) => t.id === 'feeder1-day-ahead')?.history).toMatchObject({ file: `/data/${s.series[0]}.csv`, scale: s.feederPeaksKw[0]! / 2 });
      // the feeder limit sits under the feeder's peak, or no peak would ever appear
      expect(s.limitKw).toBeLessThan(s.feederPeaksKw[0]!);
    }
  });
});

describe('demo summary', () => {
  const rec = (outcome: 'auto' | 'escalate' | 'deny', state: string, kw: number, at: number) => ({ verdict: { outcome }, state, proposal: { setpoint: { value: kw } }, stateSinceMs: at });
  const facts = (over: Partial<EdgeFacts>): EdgeFacts => ({ edgeId: 'e1', site: 's1', policy: { policyId: 'demo-peak-shaving', version: 1 }, journal: [], escalations: [], forecasts: [], tags: [], ...over });

  it('counts proposals by outcome, executed setpoints oldest first, approvals by state; the last line is JSON', () => {
    const north = edgeSummary(
      facts({
        journal: [rec('auto', 'executed', 320, 2), rec('auto', 'executed', 280, 1), rec('auto', 'aborted', 300, 3)] as unknown as EdgeFacts['journal'],
        forecasts: [{ fallbackCode: '' }, { fallbackCode: 'MODEL_MISSING' }],
        tags: [{ latest: { v: 1 } }, { latest: undefined }],
      }),
    );
    expect(north).toMatchObject({ policy: 'demo-peak-shaving v1', proposals: { total: 3, auto: 3, escalated: 0, denied: 0 }, states: { executed: 2, aborted: 1 }, executedSetpointsKw: [280, 320], forecasts: { total: 2, byModel: 1 }, tags: { withReadings: 1, total: 2 } });
    const south = edgeSummary(
      facts({
        edgeId: 'e2',
        policy: undefined,
        journal: [rec('escalate', 'escalated', 900, 1), rec('deny', 'denied', 100, 2)] as unknown as EdgeFacts['journal'],
        escalations: [{ state: 'pending' }, { state: 'expired' }] as unknown as EdgeFacts['escalations'],
      }),
    );
    expect(south).toMatchObject({ policy: null, proposals: { auto: 0, escalated: 1, denied: 1 }, approvals: { pending: 1, approved: 0, rejected: 0, expired: 1 } });
    const s = demoSummary([north, south], []);
    expect(s.totals).toEqual({ auto: 3, escalated: 1, denied: 1, executed: 2, pendingApprovals: 1, forecasts: 2 });
    expect(s.stoppedCleanly).toBe(true);
    expect(summaryText(s)).toMatch(/in all: 3 automatic and 1 escalated action\(s\), 1 denied, 2 setpoint\(s\) executed, 1 approval\(s\) pending/);
    const line = summaryJson(s);
    expect(line.endsWith('\n') && !line.slice(0, -1).includes('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ gridosDemoSummary: s });
    const failed = demoSummary([north], ['hub: socket hang up']);
    expect(failed.stoppedCleanly).toBe(false);
    expect(summaryText(failed)).toMatch(/errors while stopping:\n {4}hub: socket hang up/);
  });
});
