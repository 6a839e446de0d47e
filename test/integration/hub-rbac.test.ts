/**
 * Hub auth and approvals: every route the hub registers is either in the table of protected
 * routes, tried against every role (and no session), or in the short list of routes open on
 * purpose; CSRF, lockout, the two-person rule and the rule author's exclusion, and escalations
 * from ingest through approval to a signed decision on the edge's decision topic. The hub runs with its embedded broker on port 0 and an injected clock; HTTP
 * goes through inject().
 */
import mqtt, { type MqttClient } from 'mqtt';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { HubAuditLog, buildHub, type Hub } from '../../hub/index.js';
import type { Role } from '../../hub/auth/index.js';
import type { EscalationRow } from '../../hub/approvals/index.js';
import { publicKeyFromHex, tufPublicKey } from '../../protocols/tuf/index.js';
import { EMPTY_HEAD, sealAuditRecord, signCheckpoint } from '../../protocols/audit/index.js';
import {
  checkpointToWire,
  decodeEnvelope,
  encodeEnvelope,
  Quality,
  envelope,
  sha256Hex,
  signedDecisionFromWire,
  uplinkTopic,
  verifyDecision,
  type Envelope,
  type Escalation,
  type SignedDecision,
} from '../../protocols/index.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const SITE = 'site-a';
const EDGE = 'edge-9';
const PASSWORD = 'correct horse battery';
const ROLES: Role[] = ['viewer', 'operator', 'supervisor', 'admin'];

let clock = 1_780_000_000_000;
let hub: Hub;
let edge: MqttClient;
let seq = 0;
const decisions: Envelope[] = [];
const { logger } = captureLogger('warn');

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gridos-hub-rbac-'));
  const config = validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir } }, 'test');
  hub = await buildHub(config, { logger, now: () => clock });
  for (const role of ROLES) await hub.users.add(role, role, PASSWORD, clock);
  await hub.users.add('sup2', 'supervisor', PASSWORD, clock);
  await hub.users.add('lock-me', 'operator', PASSWORD, clock);
  await hub.users.add('author', 'supervisor', PASSWORD, clock);
  const { brokerUrl } = await hub.start();
  // an edge with one reading, so the edge routes answer 200 to those allowed
  hub.store.receive({ edgeId: EDGE, siteId: SITE, seq: 1_000_000, nowMs: clock, payload: { kind: 'telemetry', readings: [{ tagId: 't1', tsMs: clock, value: 1, quality: Quality.Good }] } });
  edge = await mqtt.connectAsync(brokerUrl, { clientId: 'test-edge-rbac', protocolVersion: 4 });
  await edge.subscribeAsync(`gridos/v1/${SITE}/${EDGE}/cmd/decision`, { qos: 1 });
  edge.on('message', (_t, payload) => {
    const d = decodeEnvelope(payload);
    if (d.ok) decisions.push(d.value);
  });
});

afterAll(async () => {
  await edge?.endAsync();
  await hub?.stop();
});

interface Session {
  cookie: string;
  csrf: string;
}

async function login(name: string, password = PASSWORD) {
  return hub.app.inject({ method: 'POST', url: '/api/login', payload: { name, password } });
}

async function session(name: string): Promise<Session> {
  const res = await login(name);
  expect(res.statusCode).toBe(200);
  const setCookie = String(res.headers['set-cookie']);
  expect(setCookie).toMatch(/^gridos_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\//);
  return { cookie: setCookie.split(';')[0]!, csrf: (res.json() as { csrfToken: string }).csrfToken };
}

function escalation(opts: { roles?: string[]; approvers?: number; deadlineMs?: number; changedBy?: string } = {}): Escalation {
  const proposalJson = Buffer.from(JSON.stringify({ action: 'battery_discharge', magnitudeKw: 420.5, n: seq + 1 }), 'utf8');
  return {
    proposalJson,
    proposalHash: sha256Hex(proposalJson),
    proposalId: `peak-${seq + 1}`,
    verdict: {
      outcome: 'escalate', ruleId: 'large-discharge', reasons: ['420.5 kW exceeds 300 kW'], policyId: 'north', policyVersion: 7, flags: [],
      approvalRoles: opts.roles ?? ['operator', 'supervisor', 'admin'],
      approversRequired: opts.approvers ?? 1,
      ...(opts.changedBy !== undefined && { ruleChangedBy: opts.changedBy }),
    },
    escalatedAtMs: clock,
    deadlineMs: opts.deadlineMs ?? clock + 900_000,
  };
}

async function approvals(s: Session, state = ''): Promise<EscalationRow[]> {
  const res = await hub.app.inject({ method: 'GET', url: `/api/approvals${state ? `?state=${state}` : ''}`, headers: { cookie: s.cookie } });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function act(s: Session | undefined, id: number, action: 'approve' | 'reject', opts: { csrf?: string | null; comment?: string } = {}) {
  const headers: Record<string, string> = {};
  if (s) headers.cookie = s.cookie;
  const csrf = opts.csrf === undefined ? s?.csrf : opts.csrf;
  if (csrf) headers['x-csrf-token'] = csrf;
  return hub.app.inject({ method: 'POST', url: `/api/approvals/${id}/${action}`, headers, payload: { comment: opts.comment ?? `${action} by test` } });
}

let admin: Session;
beforeAll(async () => {
  admin = await session('admin');
});

/** Feeds an escalation through the protobuf codec into the store, as ingest does; returns its queue id. */
async function ingestAndFind(e: Escalation): Promise<number> {
  seq++;
  const bytes = encodeEnvelope(envelope({ edgeId: EDGE, siteId: SITE, seq, sentAtMs: clock, payload: { kind: 'escalation', escalation: e } }));
  const decoded = decodeEnvelope(bytes);
  if (!decoded.ok) throw new Error(decoded.error.message);
  hub.store.receive({ edgeId: EDGE, siteId: SITE, seq, nowMs: clock, payload: decoded.value.payload });
  const row = (await approvals(admin)).find((r) => r.proposalId === e.proposalId);
  if (!row) throw new Error(`escalation ${e.proposalId} not listed`);
  return row.id;
}

let auditRuns = 0;
/** A new audit alarm on the edge (no key is registered for it here: each run is a key alarm); its id. */
function raiseAuditAlarm(): number {
  auditRuns++;
  const { row } = sealAuditRecord(EMPTY_HEAD, { atMs: clock, kind: 'proposal', subject: { proposalId: `audit-${auditRuns}` }, body: {} });
  const key = generateKeyPairSync('ed25519');
  const cp = signCheckpoint({ chainId: EDGE, seq: row.seq, hash: row.hash, atMs: clock }, key.privateKey);
  const outcome = hub.auditMirror.apply(EDGE, { edgeId: EDGE, records: [row], checkpoint: checkpointToWire(cp, tufPublicKey(key.publicKey).keyId) }, clock);
  if (outcome.status !== 'alarm') throw new Error(`expected an alarm, got ${outcome.status}`);
  return hub.auditMirror.status(EDGE)!.alarms[0]!.id;
}

async function acknowledge(s: Session | undefined, alarmId: number, opts: { csrf?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (s) headers.cookie = s.cookie;
  const csrf = opts.csrf === undefined ? s?.csrf : opts.csrf;
  if (csrf) headers['x-csrf-token'] = csrf;
  return hub.app.inject({ method: 'POST', url: `/api/edges/${EDGE}/audit/alarms/${alarmId}/acknowledge`, headers, payload: { comment: 'seen; ticket 17' } });
}

type Who = 'anonymous' | Role;
interface RouteCase {
  route: string;
  min: Role;
  call: (s: Session | undefined) => Promise<{ statusCode: number; json: () => unknown }>;
}

const get = (url: string) => (s: Session | undefined) => hub.app.inject({ method: 'GET', url, headers: s ? { cookie: s.cookie } : {} });
const ROUTES: RouteCase[] = [
  { route: 'GET /api/me', min: 'viewer', call: get('/api/me') },
  { route: 'GET /api/approvals', min: 'viewer', call: get('/api/approvals') },
  { route: 'GET /api/edges', min: 'viewer', call: get('/api/edges') },
  { route: 'GET /api/edges/:id/tags', min: 'viewer', call: get(`/api/edges/${EDGE}/tags`) },
  { route: 'GET /api/edges/:id/gaps', min: 'viewer', call: get(`/api/edges/${EDGE}/gaps`) },
  { route: 'GET /api/edges/:id/forecasts', min: 'viewer', call: get(`/api/edges/${EDGE}/forecasts`) },
  { route: 'GET /api/edges/:id/model-scores', min: 'viewer', call: get(`/api/edges/${EDGE}/model-scores`) },
  { route: 'GET /api/edges/:id/audit', min: 'viewer', call: get(`/api/edges/${EDGE}/audit`) },
  { route: 'GET /api/readings', min: 'viewer', call: get(`/api/readings?edge=${EDGE}&tag=t1&from=0`) },
  { route: 'GET /api/aggregates', min: 'viewer', call: get(`/api/aggregates?edge=${EDGE}&tag=t1&from=0`) },
  { route: 'GET /api/console/fleet', min: 'viewer', call: get('/api/console/fleet') },
  { route: 'GET /api/console/edges/:id', min: 'viewer', call: get(`/api/console/edges/${EDGE}`) },
  { route: 'GET /api/console/approvals', min: 'viewer', call: get('/api/console/approvals') },
  { route: 'GET /api/console/audit', min: 'viewer', call: get('/api/console/audit') },
  // server-sent events never end: read the status line, then hang up
  {
    route: 'GET /api/events',
    min: 'viewer',
    call: async (s) => {
      const res = await hub.app.inject({ method: 'GET', url: '/api/events', headers: s ? { cookie: s.cookie } : {}, payloadAsStream: true });
      if (res.statusCode === 200) {
        res.stream().destroy();
        return { statusCode: 200, json: () => undefined };
      }
      const chunks: Buffer[] = [];
      for await (const c of res.stream()) chunks.push(c as Buffer);
      return { statusCode: res.statusCode, json: () => JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
    },
  },
  { route: 'POST /api/logout', min: 'viewer', call: (s) => hub.app.inject({ method: 'POST', url: '/api/logout', headers: s ? { cookie: s.cookie, 'x-csrf-token': s.csrf } : {} }) },
  { route: 'POST /api/approvals/:id/approve', min: 'operator', call: async (s) => act(s, await ingestAndFind(escalation()), 'approve') },
  { route: 'POST /api/approvals/:id/reject', min: 'operator', call: async (s) => act(s, await ingestAndFind(escalation()), 'reject') },
  { route: 'POST /api/edges/:id/audit/alarms/:alarmId/acknowledge', min: 'supervisor', call: async (s) => acknowledge(s, raiseAuditAlarm()) },
];

const CASES = ROUTES.flatMap((r) =>
  (['anonymous', ...ROLES] as Who[]).map((who) => ({
    ...r,
    who,
    expected: who === 'anonymous' ? 401 : ROLES.indexOf(who) >= ROLES.indexOf(r.min) ? 200 : 403,
  })),
);

describe('hub RBAC', () => {
  it.each(CASES)('$route as $who -> $expected', async ({ call, who, expected }) => {
    const s = who === 'anonymous' ? undefined : await session(who);
    const res = await call(s);
    expect(res.statusCode).toBe(expected);
    if (expected === 401) expect(res.json()).toMatchObject({ error: 'HUB_AUTH_REQUIRED' });
    if (expected === 403) expect(res.json()).toMatchObject({ error: 'HUB_AUTH_FORBIDDEN' });
  });

  it('every route the hub registers is in the table above or open on purpose', () => {
    // Open: health (probes), login, the decision key and /tuf/* (public keys and signed metadata
    // edges verify themselves; no registry is configured here), /metrics (Prometheus scrapes
    // without a session; hub counters only), and the console page (static HTML; its data comes
    // from the guarded API).
    // The console's static files (page, style, its compiled modules, uPlot) hold no data either.
    const open = ['GET /api/health', 'POST /api/login', 'GET /api/decision-key', 'GET /metrics', 'GET /', 'GET /console.css', 'GET /assets/app/:file', 'GET /assets/uplot/:file'];
    const registered = hub.routes.map((r) => `${r.method} ${r.url}`);
    expect([...new Set(registered)].sort()).toEqual([...ROUTES.map((r) => r.route), ...open].sort());
  });

  it('the open routes answer without a session, and give away no readings', async () => {
    for (const url of ['/api/health', '/api/decision-key', '/metrics', '/']) {
      expect((await hub.app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
    const key = await hub.app.inject({ method: 'GET', url: '/api/decision-key' });
    expect(key.json()).toMatchObject({ keyType: 'ed25519', keyId: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await hub.app.inject({ method: 'GET', url: '/metrics' })).body).not.toMatch(/\bt1\b/);
  });

  it('a read route refuses a session that expired, and a forged cookie', async () => {
    expect((await hub.app.inject({ method: 'GET', url: '/api/readings?edge=x&tag=y', headers: { cookie: 'gridos_session=' + 'A'.repeat(43) } })).statusCode).toBe(401);
    const s = await session('viewer');
    const saved = clock;
    clock += 13 * 3_600_000;
    try {
      const res = await hub.app.inject({ method: 'GET', url: '/api/edges', headers: { cookie: s.cookie } });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'HUB_AUTH_REQUIRED' });
    } finally {
      clock = saved;
    }
  });

  it('refuses a POST without the CSRF token, or with another session\'s', async () => {
    const op = await session('operator');
    const other = await session('supervisor');
    const id = await ingestAndFind(escalation());
    for (const csrf of [null, other.csrf, 'x']) {
      const res = await act(op, id, 'approve', { csrf });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'HUB_AUTH_CSRF' });
    }
    const logout = await hub.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: op.cookie } });
    expect(logout.statusCode).toBe(403);
    expect((await approvals(admin)).find((r) => r.id === id)?.state).toBe('pending');
  });

  it('refuses to acknowledge an audit alarm without the CSRF token, or with another session\'s; the alarm stays active', async () => {
    const sup = await session('supervisor');
    const other = await session('admin');
    const id = raiseAuditAlarm();
    for (const csrf of [null, other.csrf, 'x']) {
      const res = await acknowledge(sup, id, { csrf });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'HUB_AUTH_CSRF' });
    }
    expect(hub.auditMirror.alarms.get(id)).toMatchObject({ active: true, acknowledged: null });
  });

  it('a logged-out session is refused', async () => {
    const s = await session('viewer');
    expect((await hub.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } })).statusCode).toBe(200);
    expect((await hub.app.inject({ method: 'GET', url: '/api/me', headers: { cookie: s.cookie } })).statusCode).toBe(401);
  });

  it('locks an account after 5 failed logins, refuses even the right password, and unlocks after 15 min', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await login('lock-me', 'wrong password!');
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'HUB_AUTH_BAD_CREDENTIALS' });
    }
    const locked = await login('lock-me');
    expect(locked.statusCode).toBe(429);
    expect(locked.json()).toMatchObject({ error: 'HUB_AUTH_LOCKED' });
    clock += 15 * 60_000 + 1;
    expect((await login('lock-me')).statusCode).toBe(200);
    const events = hub.users.events().filter((e) => e.userName === 'lock-me').map((e) => e.event);
    expect(events).toEqual(['user-added', 'login-failed', 'login-failed', 'login-failed', 'login-failed', 'locked', 'login-failed', 'login-locked', 'login']);
    admin = await session('admin'); // the clock moved; keep a fresh session
  });

  it('an unknown user and a wrong password get the same answer', async () => {
    const a = await login('nobody');
    const b = await login('viewer', 'not the password');
    expect([a.statusCode, b.statusCode]).toEqual([401, 401]);
    expect(a.json()).toEqual(b.json());
  });
});

describe('hub approvals', () => {
  it('an escalation published by an edge appears in the queue; an operator approves; the edge gets a decision it can verify', async () => {
    const e = escalation();
    seq++;
    await edge.publishAsync(uplinkTopic(SITE, EDGE, 'escalation'), Buffer.from(encodeEnvelope(envelope({ edgeId: EDGE, siteId: SITE, seq, sentAtMs: clock, payload: { kind: 'escalation', escalation: e } }))), { qos: 1 });
    const row = await waitFor('the escalation in the queue', async () => (await approvals(admin, 'pending')).find((r) => r.proposalId === e.proposalId));
    expect(row).toMatchObject({ edgeId: EDGE, siteId: SITE, proposalHash: e.proposalHash, approvalRoles: ['operator', 'supervisor', 'admin'], approversRequired: 1, state: 'pending', deadlineMs: e.deadlineMs });
    expect(row.proposal).toEqual({ action: 'battery_discharge', magnitudeKw: 420.5, n: seq });

    const res = await act(await session('operator'), row.id, 'approve', { comment: 'fine for the evening peak' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ state: 'approved', published: true, approvals: [{ userName: 'operator', role: 'operator', comment: 'fine for the evening peak' }] });

    const env = await waitFor('the decision on cmd/decision', () => decisions.find((d) => d.payload.kind === 'decision' && (() => {
      const w = signedDecisionFromWire(d.payload.decision);
      return w.ok && (w.signed as SignedDecision).decision.proposalId === e.proposalId;
    })()));
    if (env.payload.kind !== 'decision') throw new Error('not a decision');
    const wire = signedDecisionFromWire(env.payload.decision);
    if (!wire.ok) throw new Error(wire.message);
    const key = (await hub.app.inject({ method: 'GET', url: '/api/decision-key' })).json() as { keyId: string; publicKeyHex: string };
    const verified = verifyDecision(wire.signed, { trustedKeys: new Map([[key.keyId, publicKeyFromHex(key.publicKeyHex)]]), edgeId: EDGE, siteId: SITE, proposalHash: e.proposalHash, nowMs: clock });
    expect(verified).toMatchObject({ ok: true, decision: { outcome: 'approve', approvers: ['operator'], comment: 'fine for the evening peak', proposalId: e.proposalId } });

    const again = await act(await session('admin'), row.id, 'approve');
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: 'HUB_APPROVAL_DECIDED' });
  });

  it('two-person rule: the same supervisor twice is refused, a second one completes it; other roles may not', async () => {
    const id = await ingestAndFind(escalation({ roles: ['supervisor'], approvers: 2 }));
    const sup = await session('supervisor');
    const op = await session('operator');
    const adm = await session('admin');
    for (const s of [op, adm]) {
      const res = await act(s, id, 'approve');
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'HUB_APPROVAL_ROLE' });
    }
    const first = await act(sup, id, 'approve', { comment: 'first' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ state: 'pending', decision: null });
    const twice = await act(sup, id, 'approve');
    expect(twice.statusCode).toBe(409);
    expect(twice.json()).toMatchObject({ error: 'HUB_APPROVAL_SAME_APPROVER' });
    const second = await act(await session('sup2'), id, 'approve', { comment: 'second' });
    expect(second.statusCode).toBe(200);
    const row = second.json() as EscalationRow;
    expect(row.state).toBe('approved');
    expect(row.decision?.decision).toMatchObject({ outcome: 'approve', approvers: ['supervisor', 'sup2'] });
  });

  it('the person who last changed the rule may not approve it, even where one approver suffices; others may, and the author may reject', async () => {
    for (const approvers of [1, 2]) {
      const id = await ingestAndFind(escalation({ roles: ['supervisor'], approvers, changedBy: 'author' }));
      expect((await approvals(admin)).find((r) => r.id === id)?.verdict).toMatchObject({ ruleChangedBy: 'author' });
      const mine = await act(await session('author'), id, 'approve');
      expect(mine.statusCode).toBe(403);
      expect(mine.json()).toMatchObject({ error: 'HUB_APPROVAL_RULE_AUTHOR', message: expect.stringContaining('last changed policy rule large-discharge') });
      expect((await approvals(admin)).find((r) => r.id === id)).toMatchObject({ state: 'pending', approvals: [] });
      const first = await act(await session('supervisor'), id, 'approve');
      expect(first.statusCode).toBe(200);
      if (approvers === 2) {
        expect((await act(await session('author'), id, 'approve')).json()).toMatchObject({ error: 'HUB_APPROVAL_RULE_AUTHOR' });
        const second = await act(await session('sup2'), id, 'approve');
        expect(second.json()).toMatchObject({ state: 'approved', decision: { decision: { approvers: ['supervisor', 'sup2'] } } });
      } else expect(first.json()).toMatchObject({ state: 'approved' });
    }
    const rejectable = await ingestAndFind(escalation({ roles: ['supervisor'], changedBy: 'author' }));
    const rejected = await act(await session('author'), rejectable, 'reject', { comment: 'not today' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ state: 'rejected', decision: { decision: { outcome: 'reject', approvers: ['author'] } } });
  });

  it('a rejection by one allowed person is final', async () => {
    const id = await ingestAndFind(escalation({ roles: ['supervisor'], approvers: 2 }));
    const res = await act(await session('sup2'), id, 'reject', { comment: 'not during maintenance' });
    expect(res.statusCode).toBe(200);
    expect((res.json() as EscalationRow).decision?.decision).toMatchObject({ outcome: 'reject', approvers: ['sup2'], comment: 'not during maintenance' });
    expect((await approvals(admin, 'rejected')).some((r) => r.id === id)).toBe(true);
  });

  it('an expired escalation cannot be approved', async () => {
    const id = await ingestAndFind(escalation({ deadlineMs: clock + 60_000 }));
    clock += 60_000;
    admin = await session('admin');
    const res = await act(await session('operator'), id, 'approve');
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: 'HUB_APPROVAL_EXPIRED' });
    expect((await approvals(admin, 'expired')).find((r) => r.id === id)).toMatchObject({ state: 'expired', decision: null });
  });

  it('every decision and alarm acknowledgement is in the hub audit log, and the chain verifies', () => {
    const log = new HubAuditLog(hub.store.sqlite(), { chainId: 'hub', table: 'hub_audit' });
    expect(log.verify()).toMatchObject({ ok: true });
    const rows = log.rows();
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.kind))).toEqual(new Set(['decision', 'alarm.acknowledged']));
    expect(rows.some((r) => (JSON.parse(r.bodyJson) as { user: string }).user === 'sup2')).toBe(true);
  });
});
