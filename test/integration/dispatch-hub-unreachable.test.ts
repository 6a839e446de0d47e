/**
 * Hub unreachable during an escalation: the timeout behaviour from the policy happens on time.
 * Real parts: the substation simulator over OPC UA, an agent whose hub URL is a dead port (its
 * uplink never connects, escalations wait in its outbox), and one dispatch loop per onTimeout
 * choice on the agent's readings and store, each on a clock the test moves (no wall-clock timing
 * is asserted). For each loop: a forecast peak escalates a 400 kW discharge; one cycle at
 * `after - 1 ms` changes nothing; the first cycle at `after`:
 *  - refuse: expired TIMEOUT_REFUSE, nothing written to the simulator;
 *  - fallback (cap 150 kW): expired, and its fallback, linked to it, written and read back at the
 *    simulator (150 kW);
 *  - hold: still waiting; it expires only when its interval ends (INTERVAL_PASSED), nothing written.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig, type EdgeConfig } from '../../config/index.js';
import { policySchema } from '../../config/policy.js';
import { compilePolicy, startAgent, type Agent, type DispatchPolicyView } from '../../edge/index.js';
import { opcuaDevice } from '../../edge/dispatch/device.js';
import { startDispatchLoop, type DispatchLoop } from '../../edge/dispatch/loop.js';
import { Lane } from '../../edge/store/lanes.js';
import { decodeEnvelope } from '../../protocols/index.js';
import { startSubstation, substationDefaults, edgeTagOf, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-hub-unreachable-'));
const { logger, records } = captureLogger('info');
const EDGE = 'edge-hu';
const SITE = 'site-hu';
const STEP_MS = 600_000;
const AFTER_MS = 120_000;
const LIMIT_KW = 5000;
const SETPOINT = 'ns=1;s=BESS1.PowerSetpoint';

type Then = 'refuse' | 'fallback' | 'hold';

function policyView(then: Then): DispatchPolicyView {
  const policy = validateConfig(
    policySchema,
    {
      id: `hub-unreachable-${then}`,
      version: 1,
      validFrom: '2020-01-01T00:00:00Z',
      validUntil: '2100-01-01T00:00:00Z',
      timeZone: 'UTC',
      defaults: { outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, changedBy: 'ana', onTimeout: { after: '2 min', then, ...(then === 'fallback' && { fallback: 'bess-cap' }) } },
      fallbacks: { 'bess-cap': { description: 'discharge at most 150 kW unattended', action: { kind: 'cap', maxKw: '150 kW' } } },
      rules: [{ id: 'bess-small', action: 'battery_discharge', assets: ['bess-*'], when: { power: { max: '250 kW' } }, outcome: 'auto' }],
    },
    'test policy',
  );
  const evaluate = compilePolicy(policy);
  return { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
}

let sim: SubstationHandle;
let agent: Agent;
let dispatch: EdgeConfig['dispatch'];
const writes = () => records.filter((x) => x.component === 'substation-sim' && x.msg === 'setpoint written').length;

beforeAll(async () => {
  sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  const deadHub = `mqtt://127.0.0.1:${await freePort()}`;
  const tag = (t: string) => edgeTagOf(sim.points, t);
  const base = {
    edge: { id: EDGE, site: SITE },
    hub: { mqttUrl: deadHub },
    storage: { dataDir: join(dir, 'edge') },
    sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: [tag('feeder1.active_power_kw'), tag('feeder1.voltage_pu'), tag('bess1.soc_pct')] }],
  };
  // The agent dispatches (so it keeps the latest values), but its own loop never cycles here (every
  // 1h, no policy); the loops under test are started by the test, each on its own clock.
  const config = validateConfig(
    edgeConfigSchema,
    {
      ...base,
      dispatch: {
        every: '1h',
        writeTimeout: '5s',
        peakShaving: {
          forecastTarget: 'unused',
          feederTag: 'feeder1.active_power_kw',
          limitKw: LIMIT_KW,
          endpoint: sim.endpointUrl,
          battery: { setpointNodeId: SETPOINT, socTag: 'bess1.soc_pct', capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 },
        },
        interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.9, 1.1], voltageTag: 'feeder1.voltage_pu', maxStepKw: 500 },
      },
    },
    'test edge',
  );
  dispatch = config.dispatch;
  agent = await startAgent(config, { logger });
  await agent.sourcesReady;
  await waitFor('SoC, voltage and feeder readings', () => ['bess1.soc_pct', 'feeder1.voltage_pu', 'feeder1.active_power_kw'].every((t) => agent.latest.get(t) !== undefined), 20_000);
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
});

/** A dispatch loop with `then` as the policy's onTimeout, on a clock the test sets. */
async function loopFor(then: Then, clock: { now: number }): Promise<DispatchLoop> {
  return startDispatchLoop({
    config: { ...dispatch, peakShaving: { ...dispatch.peakShaving!, forecastTarget: `feeder1-${then}` }, decisionKey: undefined },
    edgeId: EDGE,
    siteId: SITE,
    dataDir: join(dir, then),
    latest: agent.latest,
    store: agent.store,
    draftCtx: { edgeId: EDGE, siteId: SITE, now: () => clock.now, compress: false, maxBatchReadings: 1000, maxBatchBytes: 65_536 },
    onOutbox: () => agent.uplink.kick(),
    policy: () => policyView(then),
    hubReachable: () => agent.uplink.connected,
    acceptsAutonomousActions: () => true,
    device: opcuaDevice({ endpoint: sim.endpointUrl, pkiDir: join(dir, then, 'pki'), logger }),
    logger: pino({ level: 'silent' }),
    clock: () => clock.now,
  });
}

/** Escalates a 400 kW discharge for the next interval; returns its id. */
async function escalate(loop: DispatchLoop, then: Then, t0: number): Promise<string> {
  const load = [3000, LIMIT_KW + 400, 4000];
  agent.store.commit({
    forecasts: [{ target: `feeder1-${then}`, tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', role: 'active', issuedAtMs: t0, firstHourMs: t0 - 1_000, hourMs: STEP_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 }],
  });
  const report = await loop.cycle();
  expect(report.proposals).toHaveLength(1);
  const id = report.proposals[0]!;
  const r = loop.journal.get(id)!;
  expect(r).toMatchObject({ state: 'escalated', stateSinceMs: t0, verdict: { outcome: 'escalate', ruleId: 'default', onTimeout: { afterMs: AFTER_MS, then } } });
  expect(r.verdict.flags).toContain('HUB_UNREACHABLE');
  expect(r.proposal.setpoint.value).toBe(400);
  // the escalation waits in the outbox: nobody at the hub can see it
  const queued = agent.store.outboxInLane(Lane.Control, 0, Number.MAX_SAFE_INTEGER, 10_000).map((m) => decodeEnvelope(m.payload)).filter((d) => d.ok && d.value.payload.kind === 'escalation' && d.value.payload.escalation.proposalId === id);
  expect(queued).toHaveLength(1);
  // who last changed the rule travels with it, so the hub can refuse that person's approval
  const q = queued[0]!;
  expect(q.ok && q.value.payload.kind === 'escalation' && q.value.payload.escalation.verdict).toMatchObject({ ruleId: 'default', approvalRoles: ['operator'], ruleChangedBy: 'ana' });
  return id;
}

describe('the hub unreachable during an escalation', () => {
  it('the edge cannot reach its hub', () => {
    expect(agent.uplink.connected).toBe(false);
  });

  it('refuse: expires at the first cycle at `after`, nothing written', async () => {
    const clock = { now: Date.now() };
    const t0 = clock.now;
    const loop = await loopFor('refuse', clock);
    try {
      const before = writes();
      const id = await escalate(loop, 'refuse', t0);
      clock.now = t0 + AFTER_MS - 1;
      await loop.cycle();
      expect(loop.journal.get(id)?.state).toBe('escalated');
      clock.now = t0 + AFTER_MS;
      await loop.cycle();
      await loop.dispatcher.idle();
      expect(loop.journal.get(id)).toMatchObject({ state: 'expired', reason: 'TIMEOUT_REFUSE', attempt: 0 });
      expect(loop.journal.history(id).at(-1)).toMatchObject({ to: 'expired', atMs: t0 + AFTER_MS });
      expect(loop.journal.all()).toHaveLength(1);
      expect(writes()).toBe(before);
      expect(sim.snapshot().battery.setpointKw).toBe(0);
    } finally {
      await loop.stop();
    }
  }, 40_000);

  it('hold: keeps waiting past `after`, expires when its interval ends, nothing written', async () => {
    const clock = { now: Date.now() };
    const t0 = clock.now;
    const loop = await loopFor('hold', clock);
    try {
      const before = writes();
      const id = await escalate(loop, 'hold', t0);
      const end = loop.journal.get(id)!.proposal.intervalEndMs;
      for (const t of [t0 + AFTER_MS, end - 1]) {
        clock.now = t;
        await loop.cycle();
        expect(loop.journal.get(id)?.state).toBe('escalated');
      }
      clock.now = end;
      await loop.cycle();
      await loop.dispatcher.idle();
      expect(loop.journal.get(id)).toMatchObject({ state: 'expired', reason: 'INTERVAL_PASSED', attempt: 0 });
      expect(writes()).toBe(before);
      expect(sim.snapshot().battery.setpointKw).toBe(0);
    } finally {
      await loop.stop();
    }
  }, 40_000);

  it('fallback: at the first cycle at `after` the capped fallback is written at the simulator and read back', async () => {
    const clock = { now: Date.now() };
    const t0 = clock.now;
    const loop = await loopFor('fallback', clock);
    try {
      const before = writes();
      const id = await escalate(loop, 'fallback', t0);
      clock.now = t0 + AFTER_MS - 1;
      await loop.cycle();
      expect(loop.journal.get(id)?.state).toBe('escalated');
      expect(loop.journal.all()).toHaveLength(1);
      clock.now = t0 + AFTER_MS;
      await loop.cycle();
      await loop.dispatcher.idle();
      const fb = loop.journal.all().find((r) => r.proposal.fallbackOf?.proposalId === id);
      expect(fb).toBeDefined();
      expect(loop.journal.get(id)).toMatchObject({ state: 'expired', reason: `TIMEOUT_FALLBACK:bess-cap -> ${fb!.proposal.id}`, attempt: 0 });
      expect(fb).toMatchObject({ state: 'executed', attempt: 1, verdict: { outcome: 'auto', flags: expect.arrayContaining(['FALLBACK', 'HUB_UNREACHABLE']) } });
      expect(fb!.proposal).toMatchObject({ controller: 'fallback', magnitudeKw: 150, setpoint: { point: SETPOINT, value: 150, unit: 'kW' }, fallbackOf: { fallback: 'bess-cap', proposalHash: loop.journal.get(id)!.proposal.hash } });
      expect(loop.journal.history(fb!.proposal.id)).toEqual([
        expect.objectContaining({ to: 'proposed', atMs: t0 + AFTER_MS }),
        expect.objectContaining({ to: 'auto' }),
        expect.objectContaining({ to: 'executing' }),
        expect.objectContaining({ to: 'executed' }),
      ]);
      expect(writes()).toBe(before + 1);
      await waitFor('the simulator discharging at 150 kW', () => sim.snapshot().battery.setpointKw === 150, 10_000);
      // the next cycles in the interval write nothing more
      clock.now = t0 + AFTER_MS + 60_000;
      await loop.cycle();
      await loop.dispatcher.idle();
      expect(writes()).toBe(before + 1);
    } finally {
      await loop.stop();
    }
  }, 40_000);
});
