/**
 * The dispatch audit trail end to end, real servers: the hub (embedded broker), the substation
 * simulator over OPC UA, and the agent with `dispatch.peakShaving`, a decision key and its audit
 * chain (`<dataDir>/audit.db`). Cycles are run by the test; decisions arrive on the hub's broker.
 *  - an auto discharge: telemetry-summary, forecast, proposal, policy-outcome, execution,
 *    observed-effect, linked by the proposal id, in that order; the chain verifies;
 *  - an escalation: decisions signed by another key, for another edge, expired, bound to another
 *    hash: each refused with its code in a decision record, nothing written; then the approval
 *    (decision record `applied`, with who approved) and its replay (refused, no second write);
 *  - an interlock violated before the write: execution record `aborted` with the code; a loop
 *    without a decision key: refused `DECISION_NO_KEY`, a decision for no journaled proposal:
 *    `DECISION_UNKNOWN_PROPOSAL`;
 *  - an escalation that times out into a safe fallback: a timeout record naming the fallback, and
 *    the fallback's own trail;
 *  - a reconcile that fails at start: the loop starts anyway, the next start records what it missed;
 *  - `gridos audit verify` on the agent's audit.db after the run: ok; one flipped byte: named.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { policySchema } from '../../config/policy.js';
import { compilePolicy, startAgent, type Agent, type DispatchPolicyView } from '../../edge/index.js';
import { openEdgeAudit, type EdgeAuditLog, type OpenEdgeAudit } from '../../edge/audit/index.js';
import { opcuaDevice } from '../../edge/dispatch/device.js';
import { startDispatchLoop, type DispatchLoop } from '../../edge/dispatch/loop.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { commandTopic, encodeEnvelope, envelope, signDecision, signedDecisionToWire, type Decision } from '../../protocols/index.js';
import { GENESIS_HASH, recordOfRow, type AuditRecord } from '../../protocols/audit/index.js';
import { startSubstation, substationDefaults, edgeTagOf, type SubstationHandle } from '../../simulators/index.js';
import { runGridos } from '../helpers/cli.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-dispatch-audit-'));
const { logger, records } = captureLogger('info');
const EDGE = 'edge-da';
const SITE = 'site-da';
const STEP_MS = 600_000;
const LIMIT_KW = 5000;
const SETPOINT = 'ns=1;s=BESS1.PowerSetpoint';

function policyView(onTimeout: object = { after: '15 min', then: 'refuse' }): DispatchPolicyView {
  const policy = validateConfig(
    policySchema,
    {
      id: 'audit-dispatch',
      version: 3,
      validFrom: '2020-01-01T00:00:00Z',
      validUntil: '2100-01-01T00:00:00Z',
      timeZone: 'UTC',
      defaults: { outcome: 'escalate', approval: { roles: ['operator'], approvers: 1 }, onTimeout },
      fallbacks: { 'bess-cap': { description: 'discharge at most 150 kW unattended', action: { kind: 'cap', maxKw: '150 kW' } } },
      rules: [{ id: 'bess-small', action: 'battery_discharge', assets: ['bess-*'], when: { power: { max: '250 kW' }, stateOfCharge: { min: '20 %', max: '90 %' } }, outcome: 'auto' }],
    },
    'test policy',
  );
  const evaluate = compilePolicy(policy);
  return { policyId: policy.id, version: policy.version, evaluate: (a, c) => evaluate(a, { ...c, policyExpired: false }) };
}

let hub: Hub;
let sim: SubstationHandle;
let agent: Agent | undefined;
let watcher: MqttClient;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
let decisionKeyFile: string;
const writes = () => records.filter((x) => x.component === 'substation-sim' && x.msg === 'setpoint written').length;

function commitForecast(target: string, startMs: number, load: number[]): void {
  agent!.store.commit({
    forecasts: [{ target, tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', role: 'active', issuedAtMs: startMs + 500, firstHourMs: startMs, hourMs: STEP_MS, load, p10: load.map((v) => v * 0.97), p90: load.map((v) => v * 1.03), fallbackCode: '', fallbackReason: '', latencyUs: 0 }],
  });
}

const trail = (log: EdgeAuditLog, proposalId: string): AuditRecord[] => log.ofProposal(proposalId).map(recordOfRow);
const body = (r: AuditRecord | undefined) => r?.body as Record<string, unknown>;

async function publishDecision(over: Partial<Decision> & Pick<Decision, 'proposalId' | 'proposalHash'>, key: KeyObject = privateKey): Promise<Decision> {
  const d: Decision = { id: randomUUID(), edgeId: EDGE, siteId: SITE, outcome: 'approve', approvers: ['op-1'], issuedAtMs: Date.now(), expiresAtMs: Date.now() + 600_000, ...over };
  const env = envelope({ edgeId: EDGE, siteId: SITE, seq: 1, sentAtMs: Date.now(), payload: { kind: 'decision', decision: signedDecisionToWire(signDecision(d, key)) } });
  await watcher.publishAsync(commandTopic(SITE, EDGE, 'decision'), Buffer.from(encodeEnvelope(env)), { qos: 1 });
  return d;
}

beforeAll(async () => {
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, broker: { mode: 'embedded', host: '127.0.0.1', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test hub'), { logger });
  const brokerUrl = (await hub.start()).brokerUrl;
  sim = await startSubstation({ ...substationDefaults, port: 0, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  watcher = await mqtt.connectAsync(brokerUrl, { clientId: 'dispatch-audit-watcher' });
  decisionKeyFile = join(dir, 'decision.pub.pem');
  writeFileSync(decisionKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const tag = (t: string) => edgeTagOf(sim.points, t);
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE, site: SITE },
      hub: { mqttUrl: brokerUrl },
      storage: { dataDir: join(dir, 'edge') },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: 200, publishingInterval: 200, tags: ['feeder1.active_power_kw', 'feeder1.voltage_pu', 'bess1.soc_pct', 'bess1.active_power_kw'].map(tag) }],
      dispatch: {
        every: '1h',
        writeTimeout: '5s',
        effectAfter: '300ms',
        decisionKey: decisionKeyFile,
        peakShaving: {
          forecastTarget: 'feeder1-load',
          feederTag: 'feeder1.active_power_kw',
          limitKw: LIMIT_KW,
          endpoint: sim.endpointUrl,
          battery: { setpointNodeId: SETPOINT, socTag: 'bess1.soc_pct', powerTag: 'bess1.active_power_kw', capacityKwh: 2000, maxDischargeKw: 1000, maxChargeKw: 1000, socMinPct: 10, socMaxPct: 95 },
        },
        interlocks: { socMinPct: 15, socMaxPct: 92, voltageBandPu: [0.9, 1.1], voltageTag: 'feeder1.voltage_pu', maxStepKw: 500 },
      },
    },
    'test edge',
  );
  agent = await startAgent(config, { logger, dispatchPolicy: () => policyView() });
  await agent.sourcesReady;
  await waitFor('SoC, voltage, feeder and battery readings', () => ['bess1.soc_pct', 'feeder1.voltage_pu', 'feeder1.active_power_kw', 'bess1.active_power_kw'].every((t) => agent!.latest.get(t) !== undefined), 20_000);
  await waitFor('the uplink connected', () => agent!.uplink.connected, 20_000);
}, 60_000);

afterAll(async () => {
  await watcher?.endAsync();
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A second dispatch loop on the agent's readings and store, with its own journal and audit chain. */
async function extraLoop(name: string, over: { policy?: DispatchPolicyView; socMinPct?: number; clock?: () => number }): Promise<{ loop: DispatchLoop; audit: OpenEdgeAudit; close: () => Promise<void> }> {
  const a = agent!;
  const base = a.dispatch!.config;
  const audit = openEdgeAudit(join(dir, name), EDGE);
  const clock = over.clock ?? Date.now;
  const loop = await startDispatchLoop({
    config: { ...base, peakShaving: { ...base.peakShaving!, forecastTarget: `feeder1-${name}` }, interlocks: { ...base.interlocks!, ...(over.socMinPct !== undefined && { socMinPct: over.socMinPct }) }, decisionKey: undefined },
    edgeId: EDGE,
    siteId: SITE,
    dataDir: join(dir, name),
    latest: a.latest,
    store: a.store,
    draftCtx: { edgeId: EDGE, siteId: SITE, now: clock, compress: false, maxBatchReadings: 1000, maxBatchBytes: 65_536 },
    onOutbox: () => a.uplink.kick(),
    policy: () => over.policy ?? policyView(),
    hubReachable: () => true,
    acceptsAutonomousActions: () => true,
    device: opcuaDevice({ endpoint: sim.endpointUrl, pkiDir: join(dir, name, 'pki'), logger }),
    logger: pino({ level: 'silent' }),
    clock,
    audit: audit.log,
  });
  return {
    loop,
    audit,
    close: async () => {
      await loop.stop();
      audit.close();
    },
  };
}

describe('the dispatch audit trail', () => {
  const t0 = Date.now() - 1_000;
  let autoId = '';

  it('an auto discharge: telemetry summary -> forecast -> proposal -> policy outcome -> execution -> observed effect, linked by the proposal id', async () => {
    const a = agent!;
    const loop = a.dispatch!;
    commitForecast('feeder1-load', t0, [3000, LIMIT_KW + 100, 4000]);
    const report = await loop.cycle();
    autoId = report.proposals[0]!;
    expect(loop.journal.get(autoId)?.state).toBe('executed');
    const kinds = ['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution', 'observed-effect'];
    const got = await waitFor('the observed effect recorded', () => (trail(a.audit, autoId).length === kinds.length ? trail(a.audit, autoId) : undefined), 15_000);
    expect(got.map((r) => r.kind)).toEqual(kinds);
    for (const r of got) expect(r.subject.proposalId).toBe(autoId);
    // the cycle's records are one batch: consecutive in the chain, nothing of another writer between them
    expect(got.slice(0, 5).map((r) => r.seq - got[0]!.seq)).toEqual([0, 1, 2, 3, 4]);
    // and each is the chain's record at its seq, linked to the one before it there
    for (const r of got) {
      expect(a.audit.rows(r.seq, r.seq)[0]!.hash).toBe(r.hash);
      expect(r.prevHash).toBe(r.seq === 1 ? GENESIS_HASH : a.audit.rows(r.seq - 1, r.seq - 1)[0]!.hash);
    }

    const [telemetry, forecast, proposal, outcome, execution, effect] = got;
    expect(body(telemetry)).toMatchObject({ hubReachable: true, policy: { policyId: 'audit-dispatch', version: 3 }, readings: { feederKw: { tag: 'feeder1.active_power_kw', quality: 'good' }, socPct: { tag: 'bess1.soc_pct', quality: 'good' }, voltagePu: { tag: 'feeder1.voltage_pu', quality: 'good' }, batteryKw: { tag: 'bess1.active_power_kw', quality: 'good' } } });
    expect(typeof (body(telemetry).readings as { socPct: { tsMs: unknown } }).socPct.tsMs).toBe('number');
    expect(forecast!.subject.forecastId).toBe(`feeder1-load@${t0 + 500}`);
    expect(proposal!.subject.forecastId).toBe(forecast!.subject.forecastId);
    expect(body(forecast)).toMatchObject({ target: 'feeder1-load', issuedAtMs: t0 + 500, startMs: t0, model: null, fallback: null, interval: { loadKw: LIMIT_KW + 100 }, series: { load: [3000, LIMIT_KW + 100, 4000] } });
    const r = loop.journal.get(autoId)!;
    expect(body(proposal)).toMatchObject({ id: autoId, hash: r.proposal.hash, assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 100, intervalStartMs: r.proposal.intervalStartMs, intervalEndMs: r.proposal.intervalEndMs, reason: r.proposal.reason });
    expect(outcome!.subject.policyId).toBe('audit-dispatch');
    expect(body(outcome)).toMatchObject({ outcome: 'auto', ruleId: 'bess-small', policyId: 'audit-dispatch', policyVersion: 3, flags: [], state: 'auto' });
    expect((body(outcome).reasons as string[]).length).toBeGreaterThan(0);
    expect(body(execution)).toMatchObject({ result: 'executed', code: null, written: true, readBack: 'verified', setpoint: { point: SETPOINT, value: 100, unit: 'kW' }, before: { fromKw: 0 } });
    expect(body(effect)).toMatchObject({ planned: { setpointKw: 100, forecastKw: LIMIT_KW + 100, feederKw: LIMIT_KW }, observed: { feederKw: { quality: 'good' }, batteryKw: { tag: 'bess1.active_power_kw' }, socPct: { quality: 'good' } } });
    expect(body(effect).observedAtMs as number).toBeGreaterThanOrEqual(body(effect).dueAtMs as number);
    for (const x of got) expect(body(x).recovered).toBeUndefined();
    expect(a.audit.verify()).toMatchObject({ ok: true });
  }, 30_000);

  it('an escalation: refused decisions (other key, other edge, expired, another hash) and a replay leave refusal records and write nothing; the approval its decision record', async () => {
    const a = agent!;
    const loop = a.dispatch!;
    commitForecast('feeder1-load', t0 + 2 * STEP_MS, [LIMIT_KW + 400, 4000]);
    const id = (await loop.cycle()).proposals[0]!;
    const r = loop.journal.get(id)!;
    expect(r.state).toBe('escalated');
    const before = writes();
    const refusals = () => trail(a.audit, id).filter((x) => x.kind === 'decision' && body(x).status === 'refused');
    const refusedWith = async (code: string, publish: () => Promise<Decision>) => {
      const d = await publish();
      const rec = await waitFor(`a ${code} refusal recorded`, () => refusals().find((x) => body(x).code === code), 15_000);
      expect(rec.subject).toEqual({ proposalId: id, decisionId: d.id });
      expect(body(rec)).toMatchObject({ status: 'refused', code, decisionId: d.id, outcome: 'approve' });
      expect(loop.journal.get(id)!.state).toBe('escalated');
      expect(writes()).toBe(before);
    };
    const bound = { proposalId: id, proposalHash: r.proposal.hash };
    await refusedWith('DECISION_UNKNOWN_KEY', () => publishDecision(bound, generateKeyPairSync('ed25519').privateKey));
    await refusedWith('DECISION_WRONG_EDGE', () => publishDecision({ ...bound, edgeId: 'edge-other' }));
    await refusedWith('DECISION_EXPIRED', () => publishDecision({ ...bound, issuedAtMs: Date.now() - 1_200_000, expiresAtMs: Date.now() - 600_000 }));
    await refusedWith('DECISION_WRONG_PROPOSAL', () => publishDecision({ ...bound, proposalHash: 'f'.repeat(64) }));

    const approval = await publishDecision({ ...bound, approvers: ['op-1', 'op-2'], comment: 'peak expected' });
    await waitFor('the approved proposal executed', () => loop.journal.get(id)?.state === 'executed', 15_000);
    const kinds = ['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'decision', 'execution', 'observed-effect'];
    await waitFor('its observed effect', () => trail(a.audit, id).some((x) => x.kind === 'observed-effect'), 15_000);
    const applied = trail(a.audit, id).filter((x) => !(x.kind === 'decision' && body(x).status === 'refused'));
    expect(applied.map((x) => x.kind)).toEqual(kinds);
    const decision = applied[4]!;
    expect(decision.subject).toEqual({ proposalId: id, decisionId: approval.id });
    expect(body(decision)).toMatchObject({ status: 'applied', outcome: 'approve', state: 'approved', decisionId: approval.id, approvers: ['op-1', 'op-2'], comment: 'peak expected', expiresAtMs: approval.expiresAtMs });
    expect(body(applied[3])).toMatchObject({ outcome: 'escalate', ruleId: 'default', approval: { roles: ['operator'], approvers: 1 }, state: 'escalated' });
    expect(writes()).toBe(before + 1);

    // the same signed approval again: refused as replayed, recorded, no second write
    const replayed = { ...approval };
    const env = envelope({ edgeId: EDGE, siteId: SITE, seq: 2, sentAtMs: Date.now(), payload: { kind: 'decision', decision: signedDecisionToWire(signDecision(replayed, privateKey)) } });
    await watcher.publishAsync(commandTopic(SITE, EDGE, 'decision'), Buffer.from(encodeEnvelope(env)), { qos: 1 });
    const replay = await waitFor('the replay refused', () => refusals().find((x) => body(x).code === 'DECISION_REPLAYED'), 15_000);
    expect(replay.subject).toEqual({ proposalId: id, decisionId: approval.id });
    expect(writes()).toBe(before + 1);
    expect(refusals().map((x) => body(x).code)).toEqual(['DECISION_UNKNOWN_KEY', 'DECISION_WRONG_EDGE', 'DECISION_EXPIRED', 'DECISION_WRONG_PROPOSAL', 'DECISION_REPLAYED']);

    // a decision naming no proposal this edge journaled
    await publishDecision({ proposalId: 'peak-shaving-0000000000000000', proposalHash: 'a'.repeat(64) });
    const unknown = await waitFor('the unknown proposal refused', () => trail(a.audit, 'peak-shaving-0000000000000000')[0], 15_000);
    expect(body(unknown)).toMatchObject({ status: 'refused', code: 'DECISION_UNKNOWN_PROPOSAL' });
    expect(a.audit.verify()).toMatchObject({ ok: true });
  }, 60_000);

  it('an interlock violated before the write: an execution record `aborted` with the code, nothing written; without a decision key every decision is refused and recorded', async () => {
    const soc = agent!.latest.get('bess1.soc_pct')!.value;
    const before = writes();
    const x = await extraLoop('interlock', { socMinPct: Math.ceil(soc) + 1 });
    try {
      commitForecast('feeder1-interlock', t0, [3000, LIMIT_KW + 150, 4000]);
      const id = (await x.loop.cycle()).proposals[0]!;
      await x.loop.dispatcher.idle();
      expect(x.loop.journal.get(id)?.state).toBe('aborted');
      const got = trail(x.audit.log, id);
      expect(got.map((r) => r.kind)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution']);
      expect(body(got[4])).toMatchObject({ result: 'aborted', code: 'INTERLOCK_SOC_LOW', written: false, readBack: null });
      // the state of charge the interlock judged (the battery may have moved since `soc` was read)
      expect((body(got[4]).before as { socPct: number }).socPct).toBeLessThanOrEqual(Math.ceil(soc) + 1);
      expect(body(got[4]).reason).toMatch(/^INTERLOCK_SOC_LOW: state of charge/);
      expect(writes()).toBe(before);

      const p = x.loop.journal.get(id)!.proposal;
      const d: Decision = { id: randomUUID(), edgeId: EDGE, siteId: SITE, proposalId: id, proposalHash: p.hash, outcome: 'approve', approvers: ['op-1'], issuedAtMs: Date.now(), expiresAtMs: Date.now() + 60_000 };
      await x.loop.onDecision(signedDecisionToWire(signDecision(d, privateKey)));
      const refused = trail(x.audit.log, id).at(-1)!;
      expect(refused.kind).toBe('decision');
      expect(body(refused)).toMatchObject({ status: 'refused', code: 'DECISION_NO_KEY', decisionId: d.id });
      expect(x.audit.log.verify()).toMatchObject({ ok: true });
    } finally {
      await x.close();
    }
  }, 30_000);

  it('a reconcile that fails (the audit table refuses writes) does not stop the loop from starting; the next start records what it missed', async () => {
    const soc = agent!.latest.get('bess1.soc_pct')!.value;
    const name = 'reconcile';
    const first = await extraLoop(name, { socMinPct: Math.ceil(soc) + 1 });
    commitForecast(`feeder1-${name}`, t0, [3000, LIMIT_KW + 150, 4000]);
    const id = (await first.loop.cycle()).proposals[0]!;
    await first.loop.dispatcher.idle();
    await first.close();
    // the audit chain lost (a new file), the journal kept; and the new file refuses every insert
    for (const f of ['audit.db', 'audit.db-wal', 'audit.db-shm']) rmSync(join(dir, name, f), { force: true });
    openEdgeAudit(join(dir, name), EDGE).close();
    const raw = new Database(join(dir, name, 'audit.db'));
    raw.exec("CREATE TRIGGER no_insert BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'disk says no'); END;");
    raw.close();
    const second = await extraLoop(name, { socMinPct: Math.ceil(soc) + 1 });
    try {
      expect(second.loop.auditFeed?.reconcileFailures).toBe(1);
      expect(second.audit.log.head().seq).toBe(0);
      expect(second.loop.journal.get(id)?.state).toBe('aborted');
    } finally {
      await second.close();
    }
    const fixed = new Database(join(dir, name, 'audit.db'));
    fixed.exec('DROP TRIGGER no_insert');
    fixed.close();
    const third = await extraLoop(name, { socMinPct: Math.ceil(soc) + 1 });
    try {
      expect(third.loop.auditFeed?.reconcileFailures).toBe(0);
      expect(trail(third.audit.log, id).map((r) => r.kind)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution']);
    } finally {
      await third.close();
    }
  }, 60_000);

  it('an escalation that times out into a safe fallback: a timeout record naming what the policy did, and the fallback its own trail', async () => {
    const clock = { now: Date.now() };
    const start = clock.now;
    const x = await extraLoop('timeout', { policy: policyView({ after: '2 min', then: 'fallback', fallback: 'bess-cap' }), clock: () => clock.now });
    try {
      commitForecast('feeder1-timeout', start - 1_000, [3000, LIMIT_KW + 400, 4000]);
      const id = (await x.loop.cycle()).proposals[0]!;
      expect(x.loop.journal.get(id)?.state).toBe('escalated');
      clock.now = start + 120_000;
      await x.loop.cycle();
      await x.loop.dispatcher.idle();
      const expired = x.loop.journal.get(id)!;
      expect(expired.state).toBe('expired');
      const fallbackId = /-> (\S+)$/.exec(expired.reason!)![1]!;
      expect(x.loop.journal.get(fallbackId)?.state).toBe('executed');

      const got = trail(x.audit.log, id);
      expect(got.map((r) => r.kind)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'timeout']);
      const timeout = got[4]!;
      expect(timeout.subject).toEqual({ proposalId: id, fallbackProposalId: fallbackId });
      expect(body(timeout)).toMatchObject({
        code: 'TIMEOUT_FALLBACK',
        escalatedAtMs: start,
        expiredAtMs: start + 120_000,
        onTimeout: { afterMs: 120_000, then: 'fallback', fallback: 'bess-cap' },
        fallback: { name: 'bess-cap', action: { kind: 'cap', maxKw: 150 }, proposalId: fallbackId, code: null },
      });
      expect(body(timeout).did).toContain(fallbackId);

      const fb = await waitFor('the fallback observed', () => (trail(x.audit.log, fallbackId).some((r) => r.kind === 'observed-effect') ? trail(x.audit.log, fallbackId) : undefined), 15_000);
      expect(fb.map((r) => r.kind)).toEqual(['telemetry-summary', 'forecast', 'proposal', 'policy-outcome', 'execution', 'observed-effect']);
      expect(fb[2]!.subject).toMatchObject({ proposalId: fallbackId, fallbackOf: id });
      expect(body(fb[0])).toMatchObject({ snapshotAtMs: start + 120_000 });
      expect(body(fb[3])).toMatchObject({ outcome: 'auto', flags: ['FALLBACK'] });
      expect(body(fb[4])).toMatchObject({ result: 'executed', setpoint: { value: 150 } });
      expect(x.audit.log.verify()).toMatchObject({ ok: true });
    } finally {
      await x.close();
    }
  }, 40_000);

  it('`gridos audit verify` on the agent\'s audit.db after the run: ok; one flipped byte: the record named', async () => {
    const a = agent!;
    const head = a.audit.head();
    const flipAt = a.audit.ofProposal(autoId).find((r) => r.kind === 'execution')!.seq;
    await a.stop();
    agent = undefined;
    const file = join(dir, 'edge', 'audit.db');
    const ok = await runGridos(['audit', 'verify', '--db', file], { timeoutMs: 20_000 });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`ok: ${head.seq} records, head ${head.hash}\n`);

    const tampered = join(dir, 'tampered.db');
    copyFileSync(file, tampered);
    const db = new Database(tampered);
    db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    db.prepare(`UPDATE audit SET body = replace(body, '"result":"executed"', '"result":"executes"') WHERE seq = ?`).run(flipAt);
    db.close();
    const broken = await runGridos(['audit', 'verify', '--db', tampered], { timeoutMs: 20_000 });
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(new RegExp(`^broken at record ${flipAt}: AUDIT_HASH_MISMATCH: `));
  }, 40_000);
});
