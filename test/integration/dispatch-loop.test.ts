/**
 * The dispatch loop end to end, real servers: the hub (embedded broker), the substation simulator
 * over OPC UA, and the agent with `dispatch.peakShaving` configured. The policy is parsed in code
 * and handed to the agent (`deps.dispatchPolicy`) instead of a TUF-delivered one; forecasts are
 * committed to the agent's store directly (the scheduler is covered by forecast-e2e); cycles are
 * run by the test (`agent.dispatch.cycle()`, the timer set to 1h) so each step is one cycle.
 *  - a peak in the forecast -> an auto discharge -> the simulator's setpoint changes, `executed`;
 *  - a bigger peak -> escalated -> an Escalation at the hub's broker; a signed approval from the
 *    hub on cmd/decision -> the setpoint written, `executed`;
 *  - a second loop with its state-of-charge interlock above the battery's SoC -> `aborted`, no write.
 */
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { policySchema } from '../../config/policy.js';
import { compilePolicy, startAgent, type Agent, type DispatchPolicyView } from '../../edge/index.js';
import { opcuaDevice } from '../../edge/dispatch/device.js';
import { startDispatchLoop, type DispatchLoop } from '../../edge/dispatch/loop.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { commandTopic, decodeEnvelope, encodeEnvelope, envelope, signDecision, signedDecisionToWire, uplinkTopic, type Escalation } from '../../protocols/index.js';
import { startSubstation, substationDefaults, edgeTagOf, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-dispatch-loop-'));
const { logger, records } = captureLogger('info');
const EDGE = 'edge-dl';
const SITE = 'site-dl';
const STEP_MS = 600_000;
const LIMIT_KW = 5000;
const SETPOINT = 'ns=1;s=BESS1.PowerSetpoint';

const policyView = (): DispatchPolicyView => {
  const policy = validateConfig(
    policySchema,
    {
      id: 'test-dispatch',
      version: 1,
      validFrom: '2020-01-01T00:00:00Z',
      validUntil: '2100-01-01T00:00:00Z',
      timeZone: 'UTC',
      defaults: { outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, onTimeout: { after: '15 min', then: 'refuse' } },
      rules: [{ id: 'bess-small', action: 'battery_discharge', assets: ['bess-*'], when: { power: { max: '250 kW' }, stateOfCharge: { min: '20 %', max: '90 %' } }, outcome: 'auto' }],
    },
    'test policy',
  );
  const evaluate = compilePolicy(policy);
  return { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
};

let hub: Hub;
let sim: SubstationHandle;
let agent: Agent;
let watcher: MqttClient;
let brokerUrl: string;
const escalations: Escalation[] = [];
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

/** A forecast whose first interval starts 1 s ago, so the controller plans from the next one. */
function commitForecast(target: string, startMs: number, load: number[]): void {
  agent.store.commit({
    forecasts: [{ target, tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', role: 'active', issuedAtMs: Date.now(), firstHourMs: startMs, hourMs: STEP_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 }],
  });
}

beforeAll(async () => {
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test hub'), { logger });
  brokerUrl = (await hub.start()).brokerUrl;
  sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  watcher = await mqtt.connectAsync(brokerUrl, { clientId: 'dispatch-watcher' });
  watcher.on('message', (_topic, payload) => {
    const d = decodeEnvelope(payload);
    if (d.ok && d.value.payload.kind === 'escalation') escalations.push(d.value.payload.escalation);
  });
  await watcher.subscribeAsync(uplinkTopic(SITE, EDGE, 'escalation'), { qos: 1 });
  const keyFile = join(dir, 'decision.pub.pem');
  writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const tag = (t: string) => edgeTagOf(sim.points, t);
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE, site: SITE },
      hub: { mqttUrl: brokerUrl },
      storage: { dataDir: join(dir, 'edge') },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: [tag('feeder1.active_power_kw'), tag('feeder1.voltage_pu'), tag('bess1.soc_pct')] }],
      dispatch: {
        every: '1h',
        writeTimeout: '5s',
        decisionKey: keyFile,
        peakShaving: {
          forecastTarget: 'feeder1-load',
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
  agent = await startAgent(config, { logger, dispatchPolicy: policyView });
  await agent.sourcesReady;
  await waitFor('SoC, voltage and feeder readings', () => ['bess1.soc_pct', 'feeder1.voltage_pu', 'feeder1.active_power_kw'].every((t) => agent.latest.get(t) !== undefined), 20_000);
  await waitFor('the uplink connected', () => agent.uplink.connected, 20_000);
}, 60_000);

afterAll(async () => {
  await watcher?.endAsync();
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
});

describe('the dispatch loop against the substation simulator', () => {
  const t0 = Date.now() - 1_000;

  it('a peak in the forecast: an auto discharge, the setpoint written and read back, journaled executed', async () => {
    const loop = agent.dispatch!;
    expect(sim.snapshot().battery.setpointKw).toBe(0);
    commitForecast('feeder1-load', t0, [3000, LIMIT_KW + 100, 4000]);
    const report = await loop.cycle();
    expect(report.status).toBe('PROPOSED');
    expect(report.proposals).toHaveLength(1);
    await loop.dispatcher.idle();
    const r = loop.journal.get(report.proposals[0]!)!;
    expect(r.verdict).toMatchObject({ outcome: 'auto', ruleId: 'bess-small' });
    expect(r.state).toBe('executed');
    expect(r.proposal.setpoint).toEqual({ point: SETPOINT, value: 100, unit: 'kW' });
    // the device holds the value at once (read back); its physics takes it at the next step
    await waitFor('the simulator discharging at 100 kW', () => sim.snapshot().battery.setpointKw === 100, 10_000);
    expect(loop.journal.history(r.proposal.id).map((e) => e.to)).toEqual(['proposed', 'auto', 'executing', 'executed']);
    // the same interval is not proposed again on the next cycle
    expect((await loop.cycle()).proposals).toHaveLength(0);
  }, 30_000);

  it('a bigger peak escalates: an Escalation reaches the hub, and a signed approval runs it', async () => {
    const loop = agent.dispatch!;
    commitForecast('feeder1-load', t0 + 2 * STEP_MS, [LIMIT_KW + 400, 4000]);
    const report = await loop.cycle();
    const id = report.proposals[0]!;
    const r = loop.journal.get(id)!;
    expect(r.verdict.outcome).toBe('escalate');
    expect(r.state).toBe('escalated');
    const esc = await waitFor('the escalation at the hub broker', () => escalations.find((e) => e.proposalId === id), 15_000);
    expect(esc.proposalHash).toBe(r.proposal.hash);
    expect(esc.verdict).toMatchObject({ outcome: 'escalate', ruleId: 'default', policyId: 'test-dispatch' });
    expect(sim.snapshot().battery.setpointKw).toBe(100);

    const publishDecision = async (key: KeyObject) => {
      const signed = signDecision(
        { id: randomUUID(), edgeId: EDGE, siteId: SITE, proposalId: id, proposalHash: r.proposal.hash, outcome: 'approve', approvers: ['op-1'], issuedAtMs: Date.now(), expiresAtMs: Date.now() + 600_000 },
        key,
      );
      const env = envelope({ edgeId: EDGE, siteId: SITE, seq: 1, sentAtMs: Date.now(), payload: { kind: 'decision', decision: signedDecisionToWire(signed) } });
      await watcher.publishAsync(commandTopic(SITE, EDGE, 'decision'), Buffer.from(encodeEnvelope(env)), { qos: 1 });
    };
    // signed by a key the edge does not trust: refused, nothing moves
    await publishDecision(generateKeyPairSync('ed25519').privateKey);
    await waitFor('the foreign decision refused', () => records.some((x) => x.proposal === id && x.code === 'DECISION_UNKNOWN_KEY'), 15_000);
    expect(loop.journal.get(id)!.state).toBe('escalated');
    await publishDecision(privateKey);
    await waitFor('the approved proposal executed', () => loop.journal.get(id)?.state === 'executed', 15_000);
    await waitFor('the simulator discharging at 400 kW', () => sim.snapshot().battery.setpointKw === 400, 10_000);
    expect(loop.journal.history(id).map((e) => e.to)).toEqual(['proposed', 'escalated', 'approved', 'executing', 'executed']);
  }, 40_000);

  it('an interlock violated right before the write (SoC at or below its minimum): aborted with the reason, nothing written', async () => {
    const soc = agent.latest.get('bess1.soc_pct')!.value;
    const writes = () => records.filter((x) => x.component === 'substation-sim' && x.msg === 'setpoint written').length;
    const before = writes();
    expect(before).toBe(2);
    let loop: DispatchLoop | undefined;
    try {
      loop = await startDispatchLoop({
        config: { ...agent.dispatch!.config, peakShaving: { ...agent.dispatch!.config.peakShaving!, forecastTarget: 'feeder1-il' }, interlocks: { ...agent.dispatch!.config.interlocks!, socMinPct: Math.ceil(soc) + 1 }, decisionKey: undefined },
        edgeId: EDGE,
        siteId: SITE,
        dataDir: join(dir, 'interlock'),
        latest: agent.latest,
        store: agent.store,
        draftCtx: { edgeId: EDGE, siteId: SITE, now: Date.now, compress: false, maxBatchReadings: 1000, maxBatchBytes: 65_536 },
        onOutbox: () => agent.uplink.kick(),
        policy: policyView,
        hubReachable: () => true,
        acceptsAutonomousActions: () => true,
        device: opcuaDevice({ endpoint: sim.endpointUrl, pkiDir: join(dir, 'interlock', 'pki'), logger }),
        logger: pino({ level: 'silent' }),
        clock: Date.now,
      });
      commitForecast('feeder1-il', t0, [3000, LIMIT_KW + 150, 4000]);
      const report = await loop.cycle();
      await loop.dispatcher.idle();
      const r = loop.journal.get(report.proposals[0]!)!;
      expect(r.verdict.outcome).toBe('auto');
      expect(r.state).toBe('aborted');
      expect(r.reason).toMatch(/^INTERLOCK_SOC_LOW: state of charge .* at or below the interlock's/);
      expect(writes()).toBe(before);
      expect(sim.snapshot().battery.setpointKw).toBe(400);
    } finally {
      await loop?.stop();
    }
  }, 30_000);

  it('logs each transition with the proposal id', () => {
    const transitions = records.filter((x) => x.component === 'dispatch' && typeof x.proposal === 'string' && typeof x.to === 'string');
    expect(transitions.some((x) => x.to === 'executed')).toBe(true);
    expect(transitions.some((x) => x.to === 'escalated')).toBe(true);
  });
});
