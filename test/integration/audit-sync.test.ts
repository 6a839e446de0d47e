/**
 * The edge's audit chain reaches the hub's mirror, end to end over real servers: a hub (embedded
 * broker, TUF route) and an agent whose audit.db gets the policy install (TUF fixture) and records
 * appended through `agent.audit`. The mirror holds exactly the edge's chain and verifies; with the
 * hub stopped, more records wait in the outbox and arrive once, without duplicates, when it is back;
 * a hub whose store was wiped, or that registered the edge's key only after the edge synced, tells
 * the edge its mirrored head and gets the whole chain again;
 * an attacker who rewrites the edge's audit.db (triggers dropped, hashes recomputed so the file
 * verifies on its own) and then cuts its tail is caught by the hub: a fork, then a truncation alarm.
 */
import Database from 'better-sqlite3';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { loadOrCreateEdgeKey } from '../../edge/audit/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { auditRecordHash, verifyChain, type AuditRow } from '../../protocols/audit/index.js';
import { loginToHub } from '../helpers/hub-login.js';
import { captureLogger } from '../helpers/logger.js';
import { EDGE, makeHub, release, type HubFixture } from '../helpers/tuf-repo.js';
import { waitFor } from '../helpers/wait.js';

const CSV = fileURLToPath(new URL('../../simulators/data/pjm_aep.csv', import.meta.url));
const { logger, records: logs } = captureLogger('warn');

let fx: HubFixture;
let hub: Hub;
let agent: Agent;
let ports: { http: number; broker: number };
let edgeDir: string;
let keyFile: string;

async function startHub(httpPort: number, brokerPort: number, withKey = true): Promise<Hub> {
  const h = await buildHub(
    validateConfig(
      hubConfigSchema,
      {
        http: { host: '127.0.0.1', port: httpPort },
        broker: { mode: 'embedded', host: '127.0.0.1', port: brokerPort },
        storage: { dataDir: join(fx.tmp, 'hub') },
        registry: { dir: fx.repo },
        audit: { edgeKeys: withKey ? { [EDGE.edgeId]: keyFile } : {} },
      },
      'test hub',
    ),
    { logger },
  );
  const started = await h.start();
  ports = { http: Number(new URL(started.httpUrl).port), broker: Number(new URL(started.brokerUrl).port) };
  return h;
}

/** The edge's audit chain as GET /api/edges/:id/audit answers it (a viewer's session). */
async function mirrored(): Promise<{ status: { head: { seq: number; hash: string }; verified: boolean; alarms: { kind: string; code: string; seq: number }[] }; records: { seq: number; hash: string }[] }> {
  const viewer = await loginToHub(hub);
  const res = await hub.app.inject({ method: 'GET', url: `/api/edges/${EDGE.edgeId}/audit?limit=5000`, headers: viewer.headers });
  expect(res.statusCode).toBe(200);
  return res.json();
}

const edgeRows = (): AuditRow[] => agent.audit.rows();

/** The mirror's head seq, and its alarm codes; none while the edge has not reported to this hub's store. */
async function mirrorState(): Promise<{ seq: number; codes: string[] } | undefined> {
  const viewer = await loginToHub(hub);
  const res = await hub.app.inject({ method: 'GET', url: `/api/edges/${EDGE.edgeId}/audit?limit=1`, headers: viewer.headers });
  if (res.statusCode === 404) return undefined;
  const body = res.json<{ status: { head: { seq: number }; alarms: { code: string }[] } }>();
  return { seq: body.status.head.seq, codes: body.status.alarms.map((a) => a.code) };
}

/** The hub's store gone (a new disk, a restore from before the edge ever synced): hub.db and its WAL. */
function wipeHubStore(): void {
  const dir = join(fx.tmp, 'hub');
  for (const f of readdirSync(dir)) if (f.startsWith('hub.db')) rmSync(join(dir, f));
}

const appendSome = (n: number, tag: string) => {
  for (let i = 0; i < n; i++) agent.audit.append({ atMs: Date.now(), kind: 'proposal', subject: { proposalId: `${tag}-${i}` }, body: { kw: i } });
};

beforeAll(async () => {
  fx = makeHub();
  release(fx, 3);
  edgeDir = join(fx.tmp, 'edge');
  // The operator registers the edge's public key at the hub (gridos audit key prints it).
  keyFile = join(fx.tmp, 'edge-1.pub.pem');
  writeFileSync(keyFile, loadOrCreateEdgeKey(edgeDir).publicKeyPem);
  hub = await startHub(0, 0);
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: EDGE.edgeId, site: EDGE.siteId },
      hub: { mqttUrl: `mqtt://127.0.0.1:${ports.broker}` },
      storage: { dataDir: edgeDir },
      sources: [{ kind: 'replay', name: 'feeders', file: CSV, readingsPerSecond: 5, tags: [{ id: 'feeder1.load', column: 'load' }] }],
      policy: { source: `http://127.0.0.1:${ports.http}/tuf/`, every: '500ms', trustedRoot: join(fx.repo, 'metadata', '1.root.json') },
      uplink: { auditSyncInterval: '200ms', auditBatchRecords: 7 },
    },
    'test edge',
  );
  agent = await startAgent(config, { logger });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  rmSync(fx.tmp, { recursive: true, force: true });
});

describe('edge -> hub audit sync', () => {
  it('the policy install and appended records reach the mirror, which holds exactly the edge chain and verifies', async () => {
    await waitFor('the policy install in the edge chain', () => edgeRows().some((r) => r.kind === 'policy.installed'), 30_000);
    for (let i = 0; i < 20; i++) agent.audit.append({ atMs: Date.now(), kind: 'execution', subject: { proposalId: `p-${i}` }, body: { state: 'executed', kw: 10 * i } });
    const head = agent.audit.head();
    await waitFor('the mirror at the edge head', async () => (await mirrored()).status.head.seq === head.seq, 20_000);
    const m = await mirrored();
    expect(m.status).toMatchObject({ head, verified: true, alarms: [] });
    expect(m.records.map((r) => [r.seq, r.hash])).toEqual(edgeRows().map((r) => [r.seq, r.hash]));
    expect(hub.auditMirror.verify(EDGE.edgeId)).toEqual({ ok: true, head, records: head.seq });
    expect(hub.auditMirror.execution(EDGE.edgeId, 'p-3')).toMatchObject({ kind: 'execution' });
  }, 60_000);

  it('hub stopped, more records appended, hub back: caught up, no duplicates, no alarm', async () => {
    await hub.stop();
    for (let i = 0; i < 30; i++) agent.audit.append({ atMs: Date.now(), kind: 'proposal', subject: { proposalId: `q-${i}` }, body: { kw: i } });
    const appended = agent.audit.head().seq;
    // (the policy updater may append a refusal of its own while the hub's TUF route is away)
    await waitFor('the audit runs queued in the outbox', () => agent.auditSync.sent().seq >= appended, 10_000);
    hub = await startHub(ports.http, ports.broker);
    await waitFor('the mirror caught up', async () => (await mirrored()).status.head.seq === agent.audit.head().seq, 30_000);
    const head = agent.audit.head();
    const m = await mirrored();
    expect(m.status).toMatchObject({ head, verified: true, alarms: [] });
    expect(m.records.map((r) => r.seq)).toEqual(Array.from({ length: head.seq }, (_, i) => i + 1));
    expect(m.records.map((r) => r.hash)).toEqual(edgeRows().map((r) => r.hash));
    expect(hub.auditMirror.verify(EDGE.edgeId)).toMatchObject({ ok: true, records: head.seq });
  }, 60_000);

  it('hub store wiped: told the mirror head (none), the edge sends its chain again from record 1; no alarm', async () => {
    await hub.stop();
    wipeHubStore();
    hub = await startHub(ports.http, ports.broker);
    // the edge's cursor is at its head: its next run starts beyond the empty mirror
    appendSome(3, 'w');
    await waitFor('the mirror rebuilt up to the edge head', async () => (await mirrorState())?.seq === agent.audit.head().seq, 30_000);
    const head = agent.audit.head();
    const m = await mirrored();
    expect(m.status).toMatchObject({ head, verified: true, alarms: [] });
    expect(m.records.map((r) => [r.seq, r.hash])).toEqual(edgeRows().map((r) => [r.seq, r.hash]));
  }, 60_000);

  it('edge key registered at the hub only after the edge synced: refused (key alarm), then caught up from record 1', async () => {
    await hub.stop();
    wipeHubStore();
    hub = await startHub(ports.http, ports.broker, false);
    appendSome(2, 'k');
    await waitFor('a key alarm at the hub', async () => (await mirrorState())?.codes.includes('HUB_AUDIT_UNKNOWN_KEY') ?? false, 20_000);
    expect((await mirrored()).status.head.seq).toBe(0);
    await hub.stop();
    hub = await startHub(ports.http, ports.broker, true);
    appendSome(2, 'l');
    await waitFor('the mirror caught up once the key is registered', async () => (await mirrorState())?.seq === agent.audit.head().seq, 30_000);
    const head = agent.audit.head();
    const m = await mirrored();
    expect(m.status.head).toEqual(head);
    // the runs refused before the key was registered stay on record; no other alarm (no gap)
    expect(new Set(m.status.alarms.map((a) => a.code))).toEqual(new Set(['HUB_AUDIT_UNKNOWN_KEY']));
    expect(m.records.map((r) => [r.seq, r.hash])).toEqual(edgeRows().map((r) => [r.seq, r.hash]));
    expect(hub.auditMirror.verify(EDGE.edgeId)).toMatchObject({ ok: true, records: head.seq });
  }, 60_000);

  it('the edge audit.db rewritten by an attacker: the hub alarms a fork, then a truncation, and keeps its mirror', async () => {
    const held = (await mirrored()).status.head;
    const raw = new Database(join(edgeDir, 'audit.db'));
    try {
      raw.pragma('busy_timeout = 5000');
      raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
      // A careful rewrite: record 5's body changed and every later hash recomputed, so the file verifies by itself.
      const rows = raw.prepare<[], AuditRow>('SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM audit ORDER BY seq').all();
      const update = raw.prepare('UPDATE audit SET body = ?, prev_hash = ?, hash = ? WHERE seq = ?');
      let prev = rows[3]!.hash;
      raw.transaction(() => {
        for (const r of rows.slice(4)) {
          const bodyJson = r.seq === 5 ? '{"forged":true}' : r.bodyJson;
          const hash = auditRecordHash({ ...r, bodyJson, prevHash: prev });
          update.run(bodyJson, prev, hash, r.seq);
          prev = hash;
        }
      })();
      expect(verifyChain(raw.prepare<[], AuditRow>('SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM audit ORDER BY seq').all())).toMatchObject({ ok: true });
    } finally {
      raw.close();
    }
    await waitFor('a fork alarm at the hub', async () => (await mirrored()).status.alarms.some((a) => a.kind === 'fork'), 20_000);

    const cut = new Database(join(edgeDir, 'audit.db'));
    cut.pragma('busy_timeout = 5000');
    cut.prepare('DELETE FROM audit WHERE seq > ?').run(held.seq - 3);
    cut.close();
    await waitFor('a truncation alarm at the hub', async () => (await mirrored()).status.alarms.some((a) => a.kind === 'truncation'), 20_000);

    const m = await mirrored();
    expect(m.status).toMatchObject({ head: held, verified: false });
    expect(m.status.alarms).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'fork', code: 'HUB_AUDIT_FORK', seq: held.seq }), expect.objectContaining({ kind: 'truncation', code: 'HUB_AUDIT_TRUNCATED', seq: held.seq - 3 })]));
    expect(hub.auditMirror.verify(EDGE.edgeId)).toMatchObject({ ok: true, records: held.seq });
    const metrics = (await hub.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(new RegExp(`gridos_hub_audit_alarms_total\\{edge="${EDGE.edgeId}",kind="fork"\\} 1`));
    expect(metrics).toMatch(new RegExp(`gridos_hub_audit_alarms_total\\{edge="${EDGE.edgeId}",kind="truncation"\\} 1`));
    expect(logs.some((l) => String(l.msg).startsWith('audit alarm:') && l.kind === 'fork')).toBe(true);
    // the agent keeps running: new records still go out (and, not continuing the mirror, alarm again)
    agent.audit.append({ atMs: Date.now(), kind: 'proposal', subject: { proposalId: 'after' }, body: {} });
    expect(agent.audit.head().seq).toBe(held.seq - 2);
  }, 60_000);
});
