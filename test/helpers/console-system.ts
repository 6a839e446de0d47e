/**
 * A real system for the console's browser tests: the hub (embedded broker, on port 0, with a
 * clock the test can move forward), the substation simulator over OPC UA, and an edge agent with
 * `dispatch.peakShaving` that trusts the hub's decision key (read from GET /api/decision-key).
 * The dispatch policy is handed in code (as in dispatch-loop.test.ts):
 *
 *   bess-small   discharge <= 250 kW          auto
 *   bess-medium  250 kW < discharge <= 600 kW  escalate: one operator or supervisor
 *   bess-large   discharge > 600 kW            escalate: two supervisors (two-person rule)
 *
 * `escalate(kw)` commits a forecast whose next interval peaks `kw` above the feeder limit (sent
 * to the hub like the scheduler's), runs one dispatch cycle and waits for the escalation at the
 * hub. Users: olga (operator), vic (viewer), sue and sam (supervisors), all with PASSWORD.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { policySchema } from '../../config/policy.js';
import { compilePolicy, startAgent, type Agent, type DispatchPolicyView } from '../../edge/index.js';
import { loadOrCreateEdgeKey } from '../../edge/audit/index.js';
import { forecastDraft } from '../../edge/uplink/drafts.js';
import { buildHub, type Hub } from '../../hub/index.js';
import type { ForecastMessage } from '../../protocols/index.js';
import { startSubstation, substationDefaults, edgeTagOf, type SubstationHandle } from '../../simulators/index.js';
import { waitFor } from './wait.js';

export const EDGE = 'edge-north';
export const SITE = 'site-north';
export const LIMIT_KW = 5000;
export const STEP_MS = 600_000;
export const SETPOINT_NODE = 'ns=1;s=BESS1.PowerSetpoint';
export const PASSWORD = 'correct horse battery';
export const USERS = { operator: 'olga', viewer: 'vic', supervisor: 'sue', supervisor2: 'sam' } as const;
export const MODEL = { id: 'feeder-hour-ahead', version: '2026.12.1', sha256: 'ab'.repeat(32), featureBuilderVersion: '1' };

export interface ConsoleSystem {
  hub: Hub;
  httpUrl: string;
  sim: SubstationHandle;
  agent: Agent;
  dir: string;
  /** Proposes a discharge of `kw` for a fresh interval and waits for it at the hub (escalate rules only). */
  escalate(kw: number): Promise<{ proposalId: string; escalationId: number }>;
  /** Moves the hub's clock (not the edge's) forward: deadlines pass at the hub. */
  advanceHubClock(ms: number): void;
  stop(): Promise<void>;
}

function policyView(): DispatchPolicyView {
  const policy = validateConfig(
    policySchema,
    {
      id: 'north-dispatch',
      version: 3,
      validFrom: '2020-01-01T00:00:00Z',
      validUntil: '2100-01-01T00:00:00Z',
      timeZone: 'UTC',
      defaults: { outcome: 'escalate', approval: { roles: ['supervisor'], approvers: 1 }, onTimeout: { after: '15 min', then: 'refuse' } },
      rules: [
        { id: 'bess-small', action: 'battery_discharge', assets: ['bess-*'], when: { power: { max: '250 kW' } }, outcome: 'auto' },
        { id: 'bess-medium', action: 'battery_discharge', assets: ['bess-*'], when: { power: { above: '250 kW', max: '600 kW' } }, outcome: 'escalate', approval: { roles: ['operator', 'supervisor'], approvers: 1 }, onTimeout: { after: '15 min', then: 'refuse' } },
        { id: 'bess-large', action: 'battery_discharge', assets: ['bess-*'], when: { power: { above: '600 kW' } }, outcome: 'escalate', approval: { roles: ['supervisor'], approvers: 2 }, onTimeout: { after: '15 min', then: 'refuse' } },
      ],
    },
    'console test policy',
  );
  const evaluate = compilePolicy(policy);
  return { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
}

export async function startConsoleSystem(logger: Logger): Promise<ConsoleSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'gridos-console-'));
  let offsetMs = 0;
  const hubNow = () => Date.now() + offsetMs;
  // The edge's audit key made before the edge starts and registered at the hub, as an operator
  // would (`gridos audit key`), so the edge's chain (its execution records) is mirrored at the hub.
  const edgeKeyPem = join(dir, 'edge-audit.pub.pem');
  writeFileSync(edgeKeyPem, loadOrCreateEdgeKey(join(dir, 'edge')).publicKeyPem);
  const hub = await buildHub(
    validateConfig(hubConfigSchema, { hub: { id: 'hub-console' }, http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') }, audit: { edgeKeys: { [EDGE]: edgeKeyPem } } }, 'console test hub'),
    { logger, now: hubNow },
  );
  const { httpUrl, brokerUrl } = await hub.start();
  for (const [role, name] of [['operator', USERS.operator], ['viewer', USERS.viewer], ['supervisor', USERS.supervisor], ['supervisor', USERS.supervisor2]] as const) {
    await hub.users.add(name, role, PASSWORD, hubNow());
  }
  const sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  // The edge trusts the key the hub signs decisions with, as an operator would install it.
  const key = (await (await fetch(`${httpUrl}/api/decision-key`)).json()) as { publicKeyPem: string };
  const keyFile = join(dir, 'hub-decision.pub.pem');
  writeFileSync(keyFile, key.publicKeyPem);
  const tag = (t: string) => edgeTagOf(sim.points, t);
  const tags = ['feeder1.active_power_kw', 'feeder1.voltage_pu', 'bess1.soc_pct', 'bess1.active_power_kw', 'bess1.power_setpoint_kw', 'pv1.active_power_kw', 'pv1.curtailment_limit_pct'];
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE, site: SITE },
      hub: { mqttUrl: brokerUrl },
      storage: { dataDir: join(dir, 'edge') },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: tags.map(tag) }],
      dispatch: {
        every: '1h',
        writeTimeout: '5s',
        decisionKey: keyFile,
        peakShaving: {
          forecastTarget: 'feeder1-load',
          feederTag: 'feeder1.active_power_kw',
          limitKw: LIMIT_KW,
          endpoint: sim.endpointUrl,
          battery: { setpointNodeId: SETPOINT_NODE, socTag: 'bess1.soc_pct', capacityKwh: 4000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 },
        },
        // Not the usual 0.9-1.1 pu, so the edge page shows the edge's own limits (the simulated
        // feeder stays near 0.97-1.04 pu at night, so writes still pass).
        interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.94, 1.06], voltageTag: 'feeder1.voltage_pu', maxStepKw: 1000 },
      },
    },
    'console test edge',
  );
  const agent = await startAgent(config, { logger, dispatchPolicy: policyView });
  await agent.sourcesReady;
  await waitFor('SoC, voltage and feeder readings at the edge', () => ['bess1.soc_pct', 'feeder1.voltage_pu', 'feeder1.active_power_kw'].every((t) => agent.latest.get(t) !== undefined), 20_000);
  await waitFor('the uplink connected', () => agent.uplink.connected, 20_000);
  await waitFor('the edge at the hub', () => hub.store.hasEdge(EDGE), 20_000);

  const draftCtx = { edgeId: EDGE, siteId: SITE, now: Date.now, compress: false, maxBatchReadings: 1000, maxBatchBytes: 65_536 };
  let next = Date.now() + STEP_MS;
  return {
    hub,
    httpUrl,
    sim,
    agent,
    dir,
    async escalate(kw) {
      const startMs = next;
      next += 3 * STEP_MS;
      const load = [LIMIT_KW + kw, LIMIT_KW - 1500, LIMIT_KW - 1800];
      const f: ForecastMessage = {
        target: 'feeder1-load', tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', role: 'active', issuedAtMs: Date.now(), firstHourMs: startMs, hourMs: STEP_MS,
        load, p10: load.map((v) => v * 0.96), p90: load.map((v) => v * 1.04), model: MODEL, fallbackCode: '', fallbackReason: '', latencyUs: 900,
      };
      agent.store.commit({ forecasts: [f], outbox: [forecastDraft(draftCtx, f)] });
      agent.uplink.kick();
      const report = await agent.dispatch!.cycle();
      const proposalId = report.proposals[0];
      if (!proposalId) throw new Error(`no proposal for a ${kw} kW peak: ${report.status}`);
      const state = agent.dispatch!.journal.get(proposalId)?.state;
      if (state !== 'escalated') throw new Error(`proposal ${proposalId} is ${state}, not escalated`);
      const escalationId = await waitFor('the escalation at the hub', () => hub.store.sqlite().prepare('SELECT id FROM escalations WHERE proposal_id = ?').pluck().get(proposalId) as number | undefined, 15_000);
      await waitFor('its forecast at the hub', () => hub.store.forecasts(EDGE, 'feeder1-load', startMs, startMs, 1).length > 0, 15_000);
      return { proposalId, escalationId };
    },
    advanceHubClock(ms) {
      offsetMs += ms;
    },
    async stop() {
      await agent.stop();
      await sim.stop();
      await hub.stop();
    },
  };
}
