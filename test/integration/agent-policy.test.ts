// The agent's active policy, fed by a real hub's /tuf/ route (port 0): first install from the
// configured root, a newer release picked up, forged and rollback updates refused with the active
// policy kept, the hub gone (the agent keeps its policy and runs), and an expired policy that
// escalates what it would run on its own. The agent's clock is injected (deps.now).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent, type ProposedAction } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { recordOfRow } from '../../protocols/audit/index.js';
import { captureLogger, type CapturedLogger } from '../helpers/logger.js';
import { freePort } from '../helpers/ports.js';
import { DAY_MS, EDGE, forgeTargets, makeHub, publishAndAssign, release, type HubFixture } from '../helpers/tuf-repo.js';
import { waitFor } from '../helpers/wait.js';

const CSV = fileURLToPath(new URL('../../simulators/data/pjm_aep.csv', import.meta.url));
/** Inside the example policy's validFrom..validUntil, so only the trust status can expire it. */
const T = Date.parse('2026-03-04T10:00:00Z');
const ctx = { nowMs: T, stateOfChargePct: 55, hubReachable: true, autoCountLastHour: 0, autoEnergyKwhToday: 0 };
const discharge = (kw: number): ProposedAction => ({ id: `p-${kw}`, ...EDGE, assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: kw, forecastBandWidth: 0.1, intervalStartMs: T, intervalEndMs: T + 900_000 });

let fx: HubFixture;
let hub: Hub;
let hubUrl: string;
let agent: Agent | undefined;
let log: CapturedLogger;
let skewMs = 0;
let hubUp = false;

beforeEach(async () => {
  fx = makeHub();
  release(fx, 3);
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, storage: { dataDir: join(fx.tmp, 'hub') }, registry: { dir: fx.repo } }, 'test'), { logger: captureLogger('warn').logger });
  hubUrl = await hub.app.listen({ host: '127.0.0.1', port: 0 });
  hubUp = true;
  log = captureLogger('debug');
  skewMs = 0;
});
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  if (hubUp) await hub.stop();
  rmSync(fx.tmp, { recursive: true, force: true });
});

async function startEdge(policy: Record<string, unknown> = { source: `${hubUrl}/tuf/`, every: '200ms', trustedRoot: join(fx.repo, 'metadata', '1.root.json') }): Promise<Agent> {
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE.edgeId, site: EDGE.siteId },
      hub: { mqttUrl: `mqtt://127.0.0.1:${await freePort()}` }, // no broker: offline is normal
      storage: { dataDir: join(fx.tmp, 'edge') },
      sources: [{ kind: 'replay', name: 'feeders', file: CSV, readingsPerSecond: 50, tags: [{ id: 'feeder1.load', column: 'load' }] }],
      policy,
    },
    'test',
  );
  agent = await startAgent(config, { logger: log.logger, now: () => Date.now() + skewMs });
  return agent;
}

async function counter(a: Agent, result: string, code = ''): Promise<number> {
  const m = await a.metrics.registry.getSingleMetric('gridos_edge_policy_updates_total')!.get();
  return m.values.find((v) => v.labels['result'] === result && v.labels['code'] === code)?.value ?? 0;
}
const version = (a: Agent) => a.policy?.current()?.version;
const policyRecords = (a: Agent) => a.audit.rows().map(recordOfRow).filter((r) => r.kind.startsWith('policy.'));
const warnings = (code: string) => log.records.filter((r) => r['level'] === 40 && r['code'] === code);

describe('agent: active signed policy from the hub', () => {
  it('installs the assigned policy from the configured root, then picks up a newer release; a view taken before keeps its policy', async () => {
    const a = await startEdge();
    await waitFor('policy v3 active', () => version(a) === 3);
    const before = a.policy!.current()!;
    expect(before).toMatchObject({ policyId: 'north-feeders', version: 3, expired: false });
    expect(before.evaluate(discharge(180), ctx)).toMatchObject({ outcome: 'auto', ruleId: 'bess-small', policyVersion: 3 });

    release(fx, 4);
    await waitFor('policy v4 active', () => version(a) === 4);
    expect(before.evaluate(discharge(180), ctx).policyVersion).toBe(3);
    expect(a.policy!.current()!.evaluate(discharge(180), ctx)).toMatchObject({ outcome: 'auto', policyVersion: 4 });
    expect(await counter(a, 'installed')).toBe(2);
    await waitFor('an unchanged period', async () => (await counter(a, 'unchanged')) > 0);
    const text = await a.metrics.registry.metrics();
    expect(text).toMatch(/gridos_edge_policy_version\{policy="north-feeders"[^}]*\} 4/);
    expect(text).toMatch(/gridos_edge_policy_expired\{[^}]*\} 0/);
  });

  it('refuses forged targets, warns once per code, and keeps the active policy', async () => {
    const a = await startEdge();
    await waitFor('policy v3 active', () => version(a) === 3);
    forgeTargets(fx, 5, fx.keys.rogue);
    publishAndAssign(fx, 5);
    await waitFor('three refusals', async () => (await counter(a, 'refused', 'EDGE_TUF_UNTRUSTED_SIGNATURE')) >= 3);
    expect(version(a)).toBe(3);
    expect(warnings('EDGE_TUF_UNTRUSTED_SIGNATURE')).toHaveLength(1);
    expect(a.policy!.current()!.evaluate(discharge(180), ctx)).toMatchObject({ outcome: 'auto', policyVersion: 3 });
    // Refused every period, recorded once in the audit chain, naming the policy it kept.
    expect(policyRecords(a).map((r) => r.kind)).toEqual(['policy.installed', 'policy.refused']);
    expect(policyRecords(a)[1]).toMatchObject({ body: { code: 'EDGE_TUF_UNTRUSTED_SIGNATURE', source: `${hubUrl}/tuf/`, active: { policyId: 'north-feeders', version: 3 } } });
  });

  it('refuses an older policy assigned after a newer one (rollback), and keeps the newer', async () => {
    release(fx, 4);
    const a = await startEdge();
    await waitFor('policy v4 active', () => version(a) === 4);
    publishAndAssign(fx, 3);
    await waitFor('a rollback refusal', async () => (await counter(a, 'refused', 'EDGE_TUF_ROLLBACK')) >= 2);
    expect(version(a)).toBe(4);
    expect(warnings('EDGE_TUF_ROLLBACK')).toHaveLength(1);
  });

  it('with the hub down, keeps its policy and keeps running', async () => {
    const a = await startEdge();
    await waitFor('policy v3 active', () => version(a) === 3);
    await hub.stop();
    hubUp = false;
    await waitFor('refusals while the hub is down', async () => (await counter(a, 'refused', 'EDGE_TUF_SOURCE_UNAVAILABLE')) >= 3);
    expect(a.policy!.current()).toMatchObject({ version: 3, expired: false });
    expect(warnings('EDGE_TUF_SOURCE_UNAVAILABLE')).toHaveLength(1);
    const stored = a.store.readings('feeder1.load').length;
    await waitFor('more readings stored', () => a.store.readings('feeder1.load').length > stored);
  });

  it('an expired policy escalates what it would run on its own, deny stays deny; a fresh release clears the alarm', async () => {
    const a = await startEdge();
    await waitFor('policy v3 active', () => version(a) === 3);
    const empty = { ...ctx, stateOfChargePct: 5 };
    expect(a.policy!.current()!.evaluate(discharge(180), ctx).outcome).toBe('auto');

    skewMs = 2 * DAY_MS; // past the timestamp metadata's 1-day expiry
    await waitFor('the policy to expire', () => a.policy!.current()?.expired);
    const view = a.policy!.current()!;
    // The time floor holds: an action stamped before the expiry is still judged expired.
    expect(view.evaluate(discharge(180), ctx)).toMatchObject({ outcome: 'escalate', flags: expect.arrayContaining(['POLICY_EXPIRED']) });
    expect(view.evaluate(discharge(180), empty)).toMatchObject({ outcome: 'deny', ruleId: 'bess-empty' });
    expect(await a.metrics.registry.metrics()).toMatch(/gridos_edge_policy_expired\{[^}]*\} 1/);
    await waitFor('an expired refusal', async () => (await counter(a, 'refused', 'EDGE_TUF_EXPIRED')) > 0);
    const alarms = () => log.records.filter((r) => r['code'] === 'POLICY_EXPIRED');
    expect(alarms()).toHaveLength(1);

    release(fx, 4, { now: () => fx.t0 + 2 * DAY_MS });
    await waitFor('policy v4 active and valid', () => version(a) === 4 && a.policy!.current()?.expired === false);
    expect(a.policy!.current()!.evaluate(discharge(180), ctx).outcome).toBe('auto');
    expect(alarms()).toHaveLength(1);
    expect(log.records.some((r) => r['msg'] === 'the active policy is valid again; autonomous actions resume within its rules')).toBe(true);
    // The audit chain: installed v3, expired once, refused (expired metadata on the hub) once, installed v4, alarm cleared.
    const kinds = policyRecords(a).map((r) => `${r.kind}${r.kind === 'policy.refused' ? `:${(r.body as { code: string }).code}` : ''}`);
    expect(kinds.filter((k) => k === 'policy.expired')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'policy.refused:EDGE_TUF_EXPIRED')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'policy.installed')).toHaveLength(2);
    expect(kinds.at(-1)).toBe('policy.alarm');
    const expired = policyRecords(a).find((r) => r.kind === 'policy.expired')!;
    expect(expired.body).toMatchObject({ policyId: 'north-feeders', version: 3, code: 'POLICY_EXPIRED', expiredBy: 'timestamp metadata' });
    expect(policyRecords(a).at(-1)!.body).toMatchObject({ version: 4, alarm: 'POLICY_EXPIRED', state: 'cleared' });
  });

  it('restarted with the hub down and no source, runs the installed policy from the trust store at once', async () => {
    const a = await startEdge();
    await waitFor('policy v3 active', () => version(a) === 3);
    await a.stop();
    await hub.stop();
    hubUp = false;
    const b = await startEdge({});
    expect(b.policy?.current()).toMatchObject({ policyId: 'north-feeders', version: 3, expired: false });
  });

  it('a trusted root that is not there fails the start, naming the key', async () => {
    await expect(startEdge({ trustedRoot: join(fx.tmp, 'nope.root.json') })).rejects.toMatchObject({ code: 'EDGE_POLICY_TRUSTED_ROOT', message: expect.stringContaining('policy.trustedRoot') });
    agent = undefined;
  });

  it('without policy config or a trust store, no policy (nor TUF client) is loaded', async () => {
    const plain = await startEdge({});
    expect(plain.policy).toBeUndefined();
  });
});
