/**
 * The console's page routes and live feed, through inject() on a hub with an injected clock:
 * every route needs a session (401 without), each page's view in one answer, bad queries get a
 * 400 naming the parameter, the audit search filters, and the feed turns store changes into
 * events (escalation, approval, decision, edge, readings). SSE over a real socket is covered by
 * the browser tests.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { diff, type Snapshot } from '../../hub/http/console-feed.js';
import { EMPTY_HEAD, sealAuditRecord, signCheckpoint, type AuditEntry, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointToWire, loadOrCreateEd25519Key, type Ed25519KeyFile } from '../../protocols/index.js';
import { captureLogger } from '../helpers/logger.js';

const EDGE = 'edge-c';
const PASSWORD = 'correct horse battery';
let clock = 1_780_000_000_000;
let hub: Hub;
let seq = 0;
let edgeKey: Ed25519KeyFile;
const cookies: Record<string, string> = {};

function escalate(proposalId: string, kw: number, deadlineMs: number): void {
  const json = Buffer.from(JSON.stringify({ action: 'battery_discharge', assetId: 'bess-01', magnitudeKw: kw, intervalStartMs: clock, intervalEndMs: clock + 600_000, reason: `peak ${kw} kW`, forecast: null }));
  hub.store.receive({
    edgeId: EDGE, siteId: 'site-c', seq: ++seq, nowMs: clock,
    payload: { kind: 'escalation', escalation: { proposalJson: json, proposalHash: createHash('sha256').update(json).digest('hex'), proposalId, verdict: { outcome: 'escalate', ruleId: 'bess-medium', reasons: [], policyId: 'p', policyVersion: 1, flags: [], approvalRoles: ['operator'], approversRequired: 1 }, escalatedAtMs: clock, deadlineMs } },
  });
}

const get = (url: string, who?: string) => hub.app.inject({ method: 'GET', url, headers: who ? { cookie: cookies[who]! } : {} });

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridos-console-api-'));
  edgeKey = loadOrCreateEd25519Key(join(dir, 'edge', 'edge-key.pem'), 'the test edge key');
  writeFileSync(join(dir, 'edge-c.pub.pem'), edgeKey.publicKeyPem);
  const config = { http: { host: '127.0.0.1', port: 0 }, storage: { dataDir: dir }, audit: { edgeKeys: { [EDGE]: join(dir, 'edge-c.pub.pem') } } };
  hub = await buildHub(validateConfig(hubConfigSchema, config, 'test hub'), { logger: captureLogger('warn').logger, now: () => clock });
  for (const [name, role] of [['vic', 'viewer'], ['olga', 'operator']] as const) {
    await hub.users.add(name, role, PASSWORD, clock);
    const r = await hub.app.inject({ method: 'POST', url: '/api/login', payload: { name, password: PASSWORD } });
    cookies[name] = String(r.headers['set-cookie']).split(';')[0]!;
  }
  escalate('p-1', 400, clock + 900_000);
  escalate('p-2', 300, clock + 900_000);
}, 30_000);

afterAll(async () => {
  await hub.app.close();
  hub.store.close();
});

describe('console page routes', () => {
  it('need a session', async () => {
    for (const url of ['/api/console/fleet', '/api/console/edges/edge-c', '/api/console/approvals', '/api/console/audit', '/api/events']) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(401);
      expect(r.json().error).toBe('HUB_AUTH_REQUIRED');
    }
  });

  it('fleet: the edge with its alarms, policy and models unknown until the hub has them', async () => {
    const v = (await get('/api/console/fleet', 'vic')).json();
    expect(v.me).toEqual({ name: 'vic', role: 'viewer' });
    expect(v.pendingApprovals).toBe(2);
    expect(v.edges).toHaveLength(1);
    expect(v.edges[0]).toMatchObject({ id: EDGE, policy: null, models: [] });
    expect(v.edges[0].alarms.map((a: { code: string }) => a.code)).toContain('APPROVAL_PENDING');
  });

  it('edge: 404 with a code for an unknown edge; the view otherwise', async () => {
    const r = await get('/api/console/edges/nope', 'vic');
    expect(r.statusCode).toBe(404);
    expect(r.json().error).toBe('HUB_API_UNKNOWN_EDGE');
    const v = (await get(`/api/console/edges/${EDGE}`, 'vic')).json();
    expect(v.edge.id).toBe(EDGE);
    expect(v.forecast).toBeNull();
    // No birth from this edge: no limits reported, and none assumed.
    expect(v.voltage).toEqual({ tag: 'feeder1.voltage_pu', limits: null });
  });

  it('approvals: pending newest first with what the card shows; decided after a decision; a bad query named', async () => {
    let v = (await get('/api/console/approvals', 'vic')).json();
    expect(v.pending.map((p: { proposalId: string }) => p.proposalId)).toEqual(['p-2', 'p-1']);
    expect(v.pending[0]).toMatchObject({ action: 'battery_discharge', assetId: 'bess-01', magnitudeKw: 300, ruleId: 'bess-medium', approvalRoles: ['operator'], approversRequired: 1, reason: 'peak 300 kW', chart: null });
    expect(v.nowMs).toBe(clock);
    const id = v.pending[1].id as number;
    const r = await hub.approvals.act(id, { name: 'olga', role: 'operator' }, 'approve', 'ok');
    expect(r.ok).toBe(true);
    v = (await get('/api/console/approvals', 'vic')).json();
    expect(v.pending).toHaveLength(1);
    expect(v.decided[0]).toMatchObject({ id, state: 'approved', approvals: [{ userName: 'olga', role: 'operator', comment: 'ok' }] });
    const bad = await get('/api/console/approvals?decided=lots', 'vic');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'HUB_API_BAD_QUERY', message: expect.stringContaining('decided') });
  });

  it('audit: searched records, the hub chain verified, edge chains unknown until the edge syncs one', async () => {
    const all = (await get('/api/console/audit', 'vic')).json();
    expect(all.hubChain.ok).toBe(true);
    expect(all.records.some((r: { kind: string }) => r.kind === 'decision')).toBe(true);
    expect(all.records.some((r: { kind: string }) => r.kind === 'login')).toBe(true);
    expect(all.edges).toEqual([{ edgeId: EDGE, chain: { status: 'unknown', detail: expect.any(String) }, alarms: [] }]);
    const some = (await get('/api/console/audit?q=olga', 'vic')).json();
    expect(some.records.length).toBeGreaterThan(0);
    expect(some.records.every((r: unknown) => JSON.stringify(r).toLowerCase().includes('olga'))).toBe(true);
    const none = (await get('/api/console/audit?q=nobody-wrote-this', 'vic')).json();
    expect(none.records).toEqual([]);
  });

  it("the edge's audit chain from the mirror: execution results on the approvals page, chain status and alarms on the edge page", async () => {
    // the edge syncs records 1..3 (p-1 executed), signed; ingest stores them through the mirror
    const rows: AuditRow[] = [];
    const entries: AuditEntry[] = [
      { atMs: clock, kind: 'proposal', subject: { proposalId: 'p-1' }, body: { kw: 400 } },
      { atMs: clock, kind: 'decision', subject: { proposalId: 'p-1' }, body: { outcome: 'approve' } },
      { atMs: clock + 1, kind: 'execution', subject: { proposalId: 'p-1' }, body: { state: 'executed', message: 'setpoint 400 kW read back' } },
    ];
    for (const e of entries) rows.push(sealAuditRecord(rows[rows.length - 1] ?? EMPTY_HEAD, e).row);
    const sync = (records: AuditRow[], head: AuditRow) => ({
      edgeId: EDGE, records, checkpoint: checkpointToWire(signCheckpoint({ chainId: EDGE, seq: head.seq, hash: head.hash, atMs: clock }, edgeKey.privateKey), edgeKey.keyId),
    });
    hub.store.receive({ edgeId: EDGE, siteId: 'site-c', seq: ++seq, nowMs: clock, payload: { kind: 'audit', audit: sync(rows, rows[2]!) } });
    const decided = (await get('/api/console/approvals', 'vic')).json().decided.find((d: { proposalId: string }) => d.proposalId === 'p-1');
    expect(decided.execution).toEqual({ seq: 3, atMs: clock + 1, body: { state: 'executed', message: 'setpoint 400 kW read back' } });
    let edge = (await get(`/api/console/edges/${EDGE}`, 'vic')).json();
    expect(edge.auditChain).toMatchObject({ status: 'ok', head: { seq: 3, hash: rows[2]!.hash }, lastCheckpointAtMs: clock, alarms: [] });
    expect((await get('/api/console/audit', 'vic')).json().edges).toEqual([{ edgeId: EDGE, chain: { status: 'ok', detail: expect.stringContaining('3 records') }, alarms: [] }]);

    // another history at record 3: a fork, shown as an alarm; the mirror keeps what it had
    const forged = sealAuditRecord(rows[1]!, { ...entries[2]!, body: { state: 'failed' } }).row;
    hub.store.receive({ edgeId: EDGE, siteId: 'site-c', seq: ++seq, nowMs: clock, payload: { kind: 'audit', audit: sync([forged], forged) } });
    edge = (await get(`/api/console/edges/${EDGE}`, 'vic')).json();
    expect(edge.auditChain).toMatchObject({ status: 'broken', head: { seq: 3, hash: rows[2]!.hash }, alarms: [{ kind: 'fork', code: 'HUB_AUDIT_FORK', seq: 3 }] });
    expect(edge.edge.alarms.map((a: { code: string }) => a.code)).toContain('AUDIT_FORK');
    const api = await get(`/api/edges/${EDGE}/audit?after=1&limit=1`, 'vic');
    expect(api.json()).toMatchObject({ edgeId: EDGE, status: { verified: false }, records: [{ seq: 2, kind: 'decision' }], nextAfter: 2 });
  });
});

describe('the live feed', () => {
  const snap = (esc: [number, string, number][], edges: [string, boolean, number][], auditHeads: [string, number][] = []): Snapshot => ({
    escalations: new Map(esc.map(([id, state, approvals]) => [id, { edgeId: 'e', state, approvals }])),
    edges: new Map(edges.map(([id, online, ts]) => [id, { online, reason: '', lastReadingTsMs: ts, tagCount: 3 }])),
    auditHeads: new Map(auditHeads),
  });

  it('turns changes into events, and nothing into nothing', () => {
    const a = snap([[1, 'pending', 0]], [['e', true, 100]]);
    expect(diff(a, a)).toEqual([]);
    const b = snap([[1, 'pending', 1], [2, 'pending', 0]], [['e', false, 200]]);
    expect(diff(a, b).map((e) => e.type).sort()).toEqual(['approval', 'edge', 'escalation', 'readings']);
    const c = snap([[1, 'approved', 2], [2, 'expired', 0]], [['e', false, 200]]);
    expect(diff(b, c)).toEqual([
      { type: 'decision', data: { id: 1, edgeId: 'e', state: 'approved' } },
      { type: 'decision', data: { id: 2, edgeId: 'e', state: 'expired' } },
    ]);
    // an edge's mirrored audit chain grew (its execution record arrived): one event; the same head: none
    const d = snap([[1, 'approved', 2], [2, 'expired', 0]], [['e', false, 200]], [['e', 7]]);
    expect(diff(c, d)).toEqual([{ type: 'audit', data: { edgeId: 'e', seq: 7 } }]);
    expect(diff(d, d)).toEqual([]);
  });
});
