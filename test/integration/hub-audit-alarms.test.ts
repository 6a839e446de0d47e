/**
 * Audit alarms on a real hub (embedded broker on port 0, an injected clock): an edge, played by an
 * MQTT client that publishes real envelopes, syncs its chain and then only sends telemetry; past
 * `audit.staleAfter` the hub alarms `stale` (log, counter, the active gauge, the fleet page). A
 * supervisor acknowledges it over HTTP with a comment: it leaves the active count and the fleet,
 * stays in the edge's audit history, and the hub's chain records who and why. When the mirror
 * advances, the alarm clears by itself, with when.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { EMPTY_HEAD, sealAuditRecord, signCheckpoint, type AuditHead, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointToWire, encodeEnvelope, envelope, Quality, uplinkTopic, type Payload } from '../../protocols/index.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';
import { loginToHub } from '../helpers/hub-login.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const SITE = 'site-a';
const EDGE = 'edge-5';
const MIN = 60_000;
const T0 = 1_780_000_000_000;
const key = generateKeyPairSync('ed25519');
const { logger, records: logs } = captureLogger('warn');

let clock = T0;
let dir: string;
let hub: Hub;
let edge: MqttClient;
let seq = 0;
let chain: AuditRow[] = [];

async function publish(payload: Payload): Promise<number> {
  seq++;
  await edge.publishAsync(uplinkTopic(SITE, EDGE, payload.kind as 'audit'), Buffer.from(encodeEnvelope(envelope({ edgeId: EDGE, siteId: SITE, seq, sentAtMs: clock, payload }))), { qos: 1 });
  const sent = seq;
  await waitFor(`message ${sent} stored`, () => hub.store.edges().some((e) => e.id === EDGE && e.lastSeenMs === clock));
  return sent;
}

/** Appends `n` records to the edge's chain and sends them in one run. */
async function syncRecords(n: number): Promise<void> {
  let h: AuditHead = chain[chain.length - 1] ?? EMPTY_HEAD;
  const fresh: AuditRow[] = [];
  for (let i = 0; i < n; i++) {
    h = sealAuditRecord(h, { atMs: clock, kind: 'proposal', subject: { proposalId: `p${h.seq + 1}` }, body: {} }).row;
    fresh.push(h as AuditRow);
  }
  chain = [...chain, ...fresh];
  const cp = signCheckpoint({ chainId: EDGE, seq: h.seq, hash: h.hash, atMs: clock }, key.privateKey);
  await publish({ kind: 'audit', audit: { edgeId: EDGE, records: fresh, checkpoint: checkpointToWire(cp, tufPublicKey(key.publicKey).keyId) } });
  await waitFor('the mirror at the edge head', () => hub.auditMirror.head(EDGE).seq === h.seq);
}

const heartbeat = () => publish({ kind: 'telemetry', readings: [{ tagId: 'feeder1.load', tsMs: clock, value: 1, quality: Quality.Good }] });

interface AlarmView { id: number; kind: string; active: boolean; acknowledged: { by: string; role: string; comment: string; atMs: number } | null; clearedMs: number | null }

async function auditStatus(): Promise<{ activeAlarms: number; verified: boolean; alarms: AlarmView[] }> {
  const viewer = await loginToHub(hub);
  const res = await hub.app.inject({ method: 'GET', url: `/api/edges/${EDGE}/audit?limit=1`, headers: viewer.headers });
  expect(res.statusCode).toBe(200);
  return res.json<{ status: { activeAlarms: number; verified: boolean; alarms: AlarmView[] } }>().status;
}

async function fleetAlarmCodes(): Promise<string[]> {
  const viewer = await loginToHub(hub);
  const res = await hub.app.inject({ method: 'GET', url: '/api/console/fleet', headers: viewer.headers });
  return res.json<{ edges: { id: string; alarms: { code: string }[] }[] }>().edges.find((e) => e.id === EDGE)!.alarms.map((a) => a.code);
}

const activeGauge = async () => /gridos_hub_audit_alarms_active\{edge="edge-5",kind="stale"\} (\d+)/.exec((await hub.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-hub-alarms-'));
  const pem = join(dir, 'edge.pub.pem');
  writeFileSync(pem, key.publicKey.export({ type: 'spki', format: 'pem' }));
  const config = validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir: join(dir, 'hub') }, audit: { edgeKeys: { [EDGE]: pem }, staleAfter: '15m' } }, 'test');
  expect(config.audit.staleAfterMs).toBe(15 * MIN);
  hub = await buildHub(config, { logger, now: () => clock });
  const { brokerUrl } = await hub.start();
  edge = await mqtt.connectAsync(brokerUrl, { clientId: 'test-edge-alarms', protocolVersion: 4 });
}, 30_000);

afterAll(async () => {
  await edge?.endAsync();
  await hub?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('stale mirror, acknowledged, cleared', () => {
  it('an online edge whose mirror stands still past staleAfter is alarmed stale once', async () => {
    await syncRecords(5);
    clock += 10 * MIN;
    await heartbeat();
    expect(hub.staleWatch.check().raised).toEqual([]);
    clock += 6 * MIN;
    await heartbeat();
    expect(hub.staleWatch.check().raised).toEqual([EDGE]);
    clock += 1 * MIN;
    await heartbeat();
    expect(hub.staleWatch.check().raised).toEqual([]);
    const s = await auditStatus();
    expect(s).toMatchObject({ activeAlarms: 1, verified: false, alarms: [{ kind: 'stale', active: true, acknowledged: null, clearedMs: null }] });
    expect(await activeGauge()).toBe('1');
    expect(await fleetAlarmCodes()).toContain('AUDIT_STALE');
    expect((await hub.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/gridos_hub_audit_alarms_total\{edge="edge-5",kind="stale"\} 1/);
    expect(logs.some((l) => String(l.msg).startsWith('audit alarm:') && l.kind === 'stale')).toBe(true);
  });

  it('a supervisor acknowledges it with a comment: out of the active count and the fleet, kept in the history and the hub chain', async () => {
    const [alarm] = (await auditStatus()).alarms;
    const sup = await loginToHub(hub, 'supervisor', 'sue');
    const url = `/api/edges/${EDGE}/audit/alarms/${alarm!.id}/acknowledge`;
    const post = (payload: unknown) => hub.app.inject({ method: 'POST', url, headers: { ...sup.headers, 'x-csrf-token': sup.csrf }, payload: payload as object });
    expect((await post({})).json()).toMatchObject({ error: 'HUB_API_BAD_REQUEST' });
    expect((await post({ comment: '   ' })).statusCode).toBe(400);
    const res = await post({ comment: 'no dispatch at this site tonight; audit quiet is expected' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: alarm!.id, active: false, acknowledged: { by: 'sue', role: 'supervisor', atMs: clock, comment: 'no dispatch at this site tonight; audit quiet is expected' } });
    expect((await post({ comment: 'again' })).json()).toMatchObject({ error: 'HUB_AUDIT_ALARM_ACKNOWLEDGED' });

    expect(await auditStatus()).toMatchObject({ activeAlarms: 0, alarms: [{ id: alarm!.id, kind: 'stale', active: false, acknowledged: { by: 'sue' } }] });
    expect(await activeGauge()).toBe('0');
    expect(await fleetAlarmCodes()).not.toContain('AUDIT_STALE');
    const viewer = await loginToHub(hub);
    const page = (await hub.app.inject({ method: 'GET', url: '/api/console/audit?q=alarm.acknowledged', headers: viewer.headers })).json<{ records: { kind: string; subject: unknown; body: { user: string; comment: string } }[]; hubChain: { ok: boolean } }>();
    expect(page.records).toEqual([expect.objectContaining({ kind: 'alarm.acknowledged', subject: { edgeId: EDGE, alarmId: String(alarm!.id) }, body: expect.objectContaining({ user: 'sue', comment: expect.stringContaining('no dispatch') }) })]);
    expect(page.hubChain.ok).toBe(true);
  });

  it('the mirror advances: the alarm clears by itself, with when; quiet again for long, a new one', async () => {
    clock += 5 * MIN;
    const advancedAt = clock;
    await syncRecords(2);
    clock += 1 * MIN;
    await heartbeat();
    expect(hub.staleWatch.check()).toEqual({ raised: [], cleared: [EDGE] });
    expect((await auditStatus()).alarms[0]).toMatchObject({ kind: 'stale', clearedMs: advancedAt, acknowledged: { by: 'sue' } });
    clock += 16 * MIN;
    await heartbeat();
    expect(hub.staleWatch.check().raised).toEqual([EDGE]);
    expect(await auditStatus()).toMatchObject({ activeAlarms: 1, alarms: [{ kind: 'stale', active: true }, { kind: 'stale', active: false }] });
  });
});
