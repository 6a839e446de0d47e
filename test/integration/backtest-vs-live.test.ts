/**
 * Acceptance: a backtest on a recorded day gives the same outcomes as running that day live.
 * Live: the hub (embedded broker), the substation simulator over OPC UA and the agent with
 * `dispatch.peakShaving`; the policy (a YAML text, with a rate limit) handed in code; a day-ahead
 * forecast of 20 accelerated "hours" (1.5 s each) with peaks that are shaved on their own, escalated
 * or denied, and valleys that charge; the test runs a cycle every 0.5 s until the day is over.
 * Then the backtest on that edge's store (its recorded cycles in dispatch.db), as a library call
 * and once through `gridos policy backtest --data <dataDir>`, with the same policy: every
 * proposal (same id, so the same content hash), its outcome and rule, and the totals (counts and
 * energy per outcome) equal what the live dispatcher journaled.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, parsePolicy, validateConfig } from '../../config/index.js';
import { compilePolicy, startAgent, type Agent, type DispatchPolicyView } from '../../edge/index.js';
import { DispatchJournal, readRecordedCycles, replayRecordedCycles, type StoreBacktestReport } from '../../edge/dispatch/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { startSubstation, substationDefaults, edgeTagOf, type SubstationHandle } from '../../simulators/index.js';
import { runGridos } from '../helpers/cli.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-backtest-live-'));
const dataDir = join(dir, 'edge');
const { logger } = captureLogger('warn');
const EDGE = 'edge-bt';
const SITE = 'site-bt';
const STEP_MS = 1_500;
const CYCLE_MS = 500;
const LIMIT_KW = 5000;
const DAY = [4200, 5150, 5200, 5600, 6000, 4800, 3800, 3600, 5100, 5240, 5900, 6400, 4600, 3900, 5180, 5220, 5050, 4300, 3700, 5210];

const POLICY_TEXT = `
id: backtest-day
version: 3
validFrom: "2020-01-01T00:00:00Z"
validUntil: "2100-01-01T00:00:00Z"
timeZone: UTC
defaults:
  outcome: escalate
  approval: { roles: [operator], approvers: 1 }
  onTimeout: { after: 15 min, then: refuse }
rateLimits:
  maxPerHour: 5
  maxEnergyPerDay: 2 MWh
  whenExceeded: escalate
rules:
  - id: bess-small
    action: battery_discharge
    assets: ["bess-*"]
    when:
      power: { max: 250 kW }
      stateOfCharge: { min: 20 %, max: 90 % }
    outcome: auto
  - id: bess-huge
    action: battery_discharge
    assets: ["bess-*"]
    when:
      power: { above: 700 kW }
    outcome: deny
  - id: bess-charge
    action: battery_charge
    assets: ["bess-*"]
    when:
      power: { max: 400 kW }
    outcome: auto
`;
const policy = parsePolicy(POLICY_TEXT, 'backtest-day.yaml');
const policyFile = join(dir, 'backtest-day.yaml');

let hub: Hub;
let sim: SubstationHandle;
let agent: Agent | undefined;

beforeAll(async () => {
  writeFileSync(policyFile, POLICY_TEXT);
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test hub'), { logger });
  const { brokerUrl } = await hub.start();
  sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  const tag = (t: string) => edgeTagOf(sim.points, t);
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE, site: SITE },
      hub: { mqttUrl: brokerUrl },
      storage: { dataDir },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: [tag('feeder1.active_power_kw'), tag('feeder1.voltage_pu'), tag('bess1.soc_pct')] }],
      dispatch: {
        every: '1h',
        writeTimeout: '5s',
        peakShaving: {
          forecastTarget: 'feeder1-load',
          feederTag: 'feeder1.active_power_kw',
          limitKw: LIMIT_KW,
          endpoint: sim.endpointUrl,
          battery: { setpointNodeId: 'ns=1;s=BESS1.PowerSetpoint', socTag: 'bess1.soc_pct', capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 },
        },
        interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.9, 1.1], voltageTag: 'feeder1.voltage_pu', maxStepKw: 500 },
      },
    },
    'test edge',
  );
  const evaluate = compilePolicy(policy);
  const view: DispatchPolicyView = { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
  agent = await startAgent(config, { logger, dispatchPolicy: () => view });
  await agent.sourcesReady;
  await waitFor('SoC, voltage and feeder readings', () => ['bess1.soc_pct', 'feeder1.voltage_pu', 'feeder1.active_power_kw'].every((t) => agent!.latest.get(t) !== undefined), 20_000);
}, 200_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  id: string;
  outcome: string;
  ruleId: string;
  energyKwh: number;
}
const totals = (rows: readonly Outcome[]) => {
  const t: Record<string, { count: number; kwh: number }> = { auto: { count: 0, kwh: 0 }, escalate: { count: 0, kwh: 0 }, deny: { count: 0, kwh: 0 } };
  for (const r of rows) {
    t[r.outcome]!.count++;
    t[r.outcome]!.kwh += r.energyKwh;
  }
  for (const k of Object.keys(t)) t[k]!.kwh = Math.round(t[k]!.kwh * 1000) / 1000;
  return t;
};

describe('backtest on a recorded day = the day run live', () => {
  it('the same proposals, outcomes, rules and energy, from the library and from the CLI', async () => {
    const a = agent!;
    const loop = a.dispatch!;
    const startMs = Date.now() - 1_000;
    const load = DAY;
    a.store.commit({
      forecasts: [{ target: 'feeder1-load', tag: 'feeder1.active_power_kw', horizon: 'day-ahead', role: 'active', issuedAtMs: Date.now(), firstHourMs: startMs, hourMs: STEP_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 }],
    });
    const endMs = startMs + DAY.length * STEP_MS;
    while (Date.now() < endMs) {
      const next = Date.now() + CYCLE_MS;
      await loop.cycle();
      await new Promise((ok) => setTimeout(ok, Math.max(0, next - Date.now())));
    }
    await loop.dispatcher.idle();
    await a.stop();
    agent = undefined;

    // What the live dispatcher journaled.
    const journal = new DispatchJournal(join(dataDir, 'dispatch.db'), { clock: Date.now });
    const live: Outcome[] = journal.all().map((r) => ({ id: r.proposal.id, outcome: r.verdict.outcome, ruleId: r.verdict.ruleId, energyKwh: r.proposal.energyKwh }));
    journal.close();
    const outcomes = new Set(live.map((r) => r.outcome));
    // The day exercised every outcome, and the rate limit.
    expect([...outcomes].sort()).toEqual(['auto', 'deny', 'escalate']);
    expect(live.some((r) => r.outcome === 'escalate' && r.ruleId === 'bess-small')).toBe(true);

    // The backtest, library.
    const cycles = readRecordedCycles(join(dataDir, 'dispatch.db'));
    expect(cycles.length).toBeGreaterThan(DAY.length);
    const report = replayRecordedCycles(cycles, policy);
    expect(report.livePolicies).toEqual(['backtest-day v3']);
    const replayed: Outcome[] = report.proposals.map((p) => ({ id: p.id, outcome: p.outcome, ruleId: p.ruleId, energyKwh: p.energyKwh }));
    expect(replayed).toEqual(live);
    const want = totals(live);
    expect({ auto: report.total.auto, escalate: report.total.escalate, deny: report.total.deny }).toEqual(want);

    // Another policy on the same recorded day: no rate limit, so nothing small escalates any more.
    const looser = replayRecordedCycles(cycles, parsePolicy(POLICY_TEXT.replace('maxPerHour: 5', 'maxPerHour: 500').replace('version: 3', 'version: 4'), 'looser.yaml'));
    expect(looser.proposals.map((p) => p.id)).toEqual(live.map((r) => r.id));
    expect(looser.proposals.filter((p) => p.outcome === 'escalate' && p.ruleId === 'bess-small')).toHaveLength(0);
    expect(looser.total.auto.count).toBeGreaterThan(want.auto!.count);

    // The backtest, CLI.
    const cli = await runGridos(['policy', 'backtest', '--policy', policyFile, '--data', dataDir, '--json'], { timeoutMs: 30_000 });
    expect(cli.code, cli.stderr).toBe(0);
    const json = JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as StoreBacktestReport;
    expect(json.proposals.map((p) => ({ id: p.id, outcome: p.outcome, ruleId: p.ruleId, energyKwh: p.energyKwh }))).toEqual(live);
    expect({ auto: json.total.auto, escalate: json.total.escalate, deny: json.total.deny }).toEqual(want);
    const table = await runGridos(['policy', 'backtest', '--policy', policyFile, '--data', dataDir], { timeoutMs: 30_000 });
    expect(table.stdout).toMatch(new RegExp(`total +${report.total.cycles} cycles +${live.length} proposals`));
  }, 90_000);
});
