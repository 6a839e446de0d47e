/**
 * Audit alarms at the hub on a SQLite file: acknowledging keeps the alarm in the history (who,
 * when, why) and in the hub's own chain, and takes it out of the active count; the same condition
 * after the acknowledgement is a new alarm; a store of an older hub is carried over. The stale rule
 * (pure) and the watch that applies it to a real mirror: raised once, cleared when the mirror
 * advances, with when.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlarmAcknowledger, EdgeAuditMirror, HubAuditLog, StaleMirrorWatch, staleDecision, type AuditAlarm, type StaleFacts } from '../../hub/audit/index.js';
import { EMPTY_HEAD, sealAuditRecord, signCheckpoint, type AuditHead, type AuditRow } from '../../protocols/audit/index.js';
import { checkpointToWire, type AuditSync } from '../../protocols/index.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';
import { captureLogger } from '../helpers/logger.js';

const EDGE = 'edge-1';
const edgeKey = generateKeyPairSync('ed25519');
const T0 = 1_780_000_000_000;
const MIN = 60_000;

function records(head: AuditHead, n: number, tag: string): AuditRow[] {
  const rows: AuditRow[] = [];
  let h = head;
  for (let i = 0; i < n; i++) {
    h = sealAuditRecord(h, { atMs: T0 + h.seq, kind: 'proposal', subject: { proposalId: `p${h.seq + 1}` }, body: { tag } }).row;
    rows.push(h as AuditRow);
  }
  return rows;
}
const A = records(EMPTY_HEAD, 30, 'a');
const a = (from: number, to: number) => A.slice(from - 1, to);

function run(rows: AuditRow[], head: AuditHead = rows[rows.length - 1]!): AuditSync {
  const cp = signCheckpoint({ chainId: EDGE, seq: head.seq, hash: head.hash, atMs: T0 }, edgeKey.privateKey);
  return { edgeId: EDGE, records: rows, checkpoint: checkpointToWire(cp, tufPublicKey(edgeKey.publicKey).keyId) };
}

let dir: string;
let db: Database.Database;
let mirror: EdgeAuditMirror;
let hubLog: HubAuditLog;
let acks: AlarmAcknowledger;
let clock: number;
let told: AuditAlarm[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-alarms-'));
  db = new Database(join(dir, 'hub.db'));
  clock = T0;
  told = [];
  mirror = new EdgeAuditMirror(db, { keys: new Map([[EDGE, { key: edgeKey.publicKey, keyId: tufPublicKey(edgeKey.publicKey).keyId }]]), onAlarm: (_e, x) => told.push(x) });
  hubLog = new HubAuditLog(db, { chainId: 'hub', table: 'hub_audit' });
  acks = new AlarmAcknowledger({ db, alarms: mirror.alarms, audit: hubLog, now: () => clock });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const sup = { name: 'sue', role: 'supervisor' as const };

describe('acknowledging an audit alarm', () => {
  it('keeps it in the history with who, when and why, in the hub chain too; it no longer counts as active; the mirror verifies again', () => {
    mirror.apply(EDGE, run(a(1, 10)), T0);
    mirror.apply(EDGE, run([], A[6]!), T0 + 1); // truncation
    const [alarm] = mirror.status(EDGE)!.alarms;
    expect(alarm).toMatchObject({ kind: 'truncation', active: true, acknowledged: null, clearedMs: null });
    expect(mirror.status(EDGE)).toMatchObject({ activeAlarms: 1, verified: false });
    expect(mirror.alarms.activeCounts()).toEqual([{ edgeId: EDGE, kind: 'truncation', active: 1 }]);

    clock = T0 + 5 * MIN;
    const r = acks.acknowledge(EDGE, alarm!.id, sup, 'gateway reimaged by field crew, ticket 4411');
    expect(r).toMatchObject({ ok: true, alarm: { id: alarm!.id, active: false, acknowledged: { by: 'sue', role: 'supervisor', atMs: clock, comment: 'gateway reimaged by field crew, ticket 4411' } } });
    expect(mirror.status(EDGE)).toMatchObject({ activeAlarms: 0, verified: true, alarms: [expect.objectContaining({ id: alarm!.id, kind: 'truncation', active: false })] });
    expect(mirror.alarms.activeCounts()).toEqual([{ edgeId: EDGE, kind: 'truncation', active: 0 }]);
    const [row] = hubLog.rows();
    expect(row).toMatchObject({ kind: 'alarm.acknowledged', atMs: clock });
    expect(JSON.parse(row!.subjectJson)).toEqual({ edgeId: EDGE, alarmId: String(alarm!.id) });
    expect(JSON.parse(row!.bodyJson)).toMatchObject({ user: 'sue', role: 'supervisor', comment: 'gateway reimaged by field crew, ticket 4411', alarm: { kind: 'truncation', seq: 7 } });
    expect(hubLog.verify()).toMatchObject({ ok: true, records: 1 });

    expect(acks.acknowledge(EDGE, alarm!.id, { name: 'ann', role: 'admin' }, 'again')).toMatchObject({ ok: false, status: 409, code: 'HUB_AUDIT_ALARM_ACKNOWLEDGED' });
    expect(acks.acknowledge('edge-2', alarm!.id, sup, 'x')).toMatchObject({ ok: false, status: 404, code: 'HUB_AUDIT_ALARM_NOT_FOUND' });
    expect(acks.acknowledge(EDGE, 999, sup, 'x')).toMatchObject({ ok: false, status: 404 });
    expect(hubLog.rows()).toHaveLength(1);
  });

  it('repairs nothing: the same condition after the acknowledgement is a new alarm (told, counted active); before it, the same one is stored once', () => {
    mirror.apply(EDGE, run(a(1, 10)), T0);
    mirror.apply(EDGE, run([], A[6]!), T0 + 1);
    mirror.apply(EDGE, run([], A[6]!), T0 + 2);
    expect(mirror.status(EDGE)!.alarms).toHaveLength(1);
    acks.acknowledge(EDGE, mirror.status(EDGE)!.alarms[0]!.id, sup, 'looked at it');
    // the edge's head went back to record 7 once more (appended and cut again): the same evidence, again
    expect(mirror.apply(EDGE, run([], A[6]!), T0 + 3)).toMatchObject({ status: 'alarm', alarm: { kind: 'truncation', seq: 7 } });
    const alarms = mirror.status(EDGE)!.alarms;
    expect(alarms.map((x) => [x.kind, x.active, x.acknowledged?.by ?? null])).toEqual([['truncation', true, null], ['truncation', false, 'sue']]);
    expect(told.map((x) => x.kind)).toEqual(['truncation', 'truncation']);
    expect(mirror.status(EDGE)).toMatchObject({ activeAlarms: 1, verified: false });
  });

  it('a store of an older hub (alarms unique over their whole history, no acknowledgement columns) is carried over', () => {
    const old = new Database(join(dir, 'old.db'));
    old.exec(`CREATE TABLE edge_audit_alarms (id INTEGER PRIMARY KEY AUTOINCREMENT, edge_id TEXT NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
      seq INTEGER NOT NULL, hash TEXT NOT NULL, message TEXT NOT NULL, at_ms INTEGER NOT NULL, UNIQUE (edge_id, kind, seq, hash));
      INSERT INTO edge_audit_alarms (edge_id, kind, code, seq, hash, message, at_ms) VALUES ('${EDGE}', 'fork', 'HUB_AUDIT_FORK', 3, 'abc', 'two histories', ${T0});`);
    const m = new EdgeAuditMirror(old, { keys: new Map() });
    expect(m.alarms.list(EDGE, 10)).toEqual([{ id: 1, edgeId: EDGE, kind: 'fork', code: 'HUB_AUDIT_FORK', seq: 3, hash: 'abc', message: 'two histories', atMs: T0, active: true, acknowledged: null, clearedMs: null }]);
    expect(m.alarms.acknowledge(1, { by: 'sue', role: 'supervisor', atMs: T0 + 1, comment: 'ok' })).toBe(true);
    expect(m.alarms.raise(EDGE, { kind: 'fork', code: 'HUB_AUDIT_FORK', seq: 3, hash: 'abc', message: 'two histories' }, T0 + 2)).toBe(true);
    old.close();
  });
});

describe('the stale rule (pure)', () => {
  const STALE = 15 * MIN;
  const facts = (o: Partial<StaleFacts>): StaleFacts => ({ confirmedMs: T0, headSeq: 10, lastSeenMs: T0, online: true, open: undefined, ...o });

  it.each<[string, Partial<StaleFacts>, string]>([
    ['online, heard from past staleAfter since the mirror advanced', { lastSeenMs: T0 + STALE + 1 }, 'raise'],
    ['heard from exactly staleAfter after: not yet', { lastSeenMs: T0 + STALE }, 'none'],
    ['heard from lately, the mirror advanced lately', { confirmedMs: T0 + 10 * MIN, lastSeenMs: T0 + 20 * MIN }, 'none'],
    ['offline (its link state is the alarm)', { lastSeenMs: T0 + 2 * STALE, online: false }, 'none'],
    ['never synced', { confirmedMs: undefined, headSeq: 0, lastSeenMs: T0 + 2 * STALE }, 'none'],
    ['a quiet edge: no new records for an hour, its checkpoint of the same head arrived lately', { confirmedMs: T0 + 55 * MIN, lastSeenMs: T0 + 60 * MIN }, 'none'],
    ['raised at this head, still there', { lastSeenMs: T0 + 2 * STALE, open: { seq: 10, atMs: T0 + STALE + 1 } }, 'none'],
    ['raised, and the mirror advanced since', { headSeq: 11, confirmedMs: T0 + 3 * STALE, lastSeenMs: T0 + 3 * STALE, open: { seq: 10, atMs: T0 + STALE + 1 } }, 'clear'],
    ['raised, then the edge confirmed the same head (its sync came back with nothing new)', { confirmedMs: T0 + 2 * STALE, lastSeenMs: T0 + 2 * STALE, open: { seq: 10, atMs: T0 + STALE + 1 } }, 'clear'],
    ['raised, advanced, even offline now', { headSeq: 12, online: false, open: { seq: 10, atMs: T0 + STALE + 1 } }, 'clear'],
  ])('%s -> %s', (_name, f, expected) => {
    expect(staleDecision(facts(f), STALE)).toBe(expected);
  });
});

describe('StaleMirrorWatch on a real mirror', () => {
  it('raises stale once while the mirror stands still and the edge is heard from; clears it when the mirror advances, with when', () => {
    let lastSeenMs = T0;
    const watch = new StaleMirrorWatch({
      alarms: mirror.alarms,
      edges: () => [{ id: EDGE, online: true, lastSeenMs }],
      head: (e) => mirror.head(e),
      confirmedMs: (e) => mirror.confirmedMs(e),
      staleAfterMs: 15 * MIN,
      now: () => clock,
      onAlarm: (_e, x) => told.push(x),
      logger: captureLogger('warn').logger,
    });
    expect(watch.check()).toEqual({ raised: [], cleared: [] }); // nothing mirrored yet
    mirror.apply(EDGE, run(a(1, 10)), T0);
    for (const t of [5, 15, 16, 30, 60]) {
      clock = lastSeenMs = T0 + t * MIN;
      watch.check();
    }
    expect(told).toEqual([expect.objectContaining({ kind: 'stale', code: 'HUB_AUDIT_STALE', seq: 10, message: expect.stringMatching(/not been confirmed current \(record 10\) .*\(16 min, audit.staleAfter 15 min\)/) })]);
    const stale = mirror.alarms.uncleared(EDGE, 'stale')!;
    expect(stale).toMatchObject({ active: true, atMs: T0 + 16 * MIN });
    // acknowledged while it lasts: still not raised again
    acks.acknowledge(EDGE, stale.id, sup, 'site has no dispatch tonight');
    clock = lastSeenMs = T0 + 90 * MIN;
    expect(watch.check()).toEqual({ raised: [], cleared: [] });

    mirror.apply(EDGE, run(a(11, 12)), T0 + 95 * MIN);
    clock = lastSeenMs = T0 + 96 * MIN;
    expect(watch.check()).toEqual({ raised: [], cleared: [EDGE] });
    expect(mirror.alarms.get(stale.id)).toMatchObject({ clearedMs: T0 + 95 * MIN, active: false, acknowledged: { by: 'sue' } });
    expect(mirror.alarms.uncleared(EDGE, 'stale')).toBeUndefined();
    // still again for long: a new episode, a new alarm
    clock = lastSeenMs = T0 + 120 * MIN;
    expect(watch.check()).toEqual({ raised: [EDGE], cleared: [] });
    expect(told.map((x) => `${x.kind}@${x.seq}`)).toEqual(['stale@10', 'stale@12']);
  });
});
