/**
 * The hub's mirror of an edge's audit chain (hub/audit/mirror.ts) on a SQLite file: runs that
 * continue the chain are merged; the same run again changes nothing; truncation, a fork, a bad or
 * unknown signature, a hole inside a run and a record whose hash does not match each raise their
 * alarm, stored once, and leave the mirror as it was. A run beyond the head is early (not merged,
 * no alarm) until the hole persists.
 */
import Database from 'better-sqlite3';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EdgeAuditMirror, type AuditAlarm, type AuditAlarmKind } from '../../hub/audit/index.js';
import { auditRecordHash, EMPTY_HEAD, readableRecordOfRow, sealAuditRecord, signCheckpoint, type AuditHead, type AuditRow } from '../../protocols/audit/index.js';
import { HubStore } from '../../hub/store/hub-store.js';
import { EXECUTION_SQL } from '../../hub/audit/mirror.js';
import { checkpointToWire, type AuditSync } from '../../protocols/index.js';
import { tufPublicKey } from '../../protocols/tuf/index.js';

const EDGE = 'edge-1';
const edgeKey = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
const keyId = (k: KeyObject) => tufPublicKey(k).keyId;
const T0 = 1_780_000_000_000;

/** `n` records after `head`, their bodies marked with `tag` (two tags: two histories). */
function records(head: AuditHead, n: number, tag: string): AuditRow[] {
  const rows: AuditRow[] = [];
  let h = head;
  for (let i = 0; i < n; i++) {
    const { row } = sealAuditRecord(h, { atMs: T0 + h.seq + 1, kind: i % 2 ? 'execution' : 'proposal', subject: { proposalId: `p${h.seq + 1}` }, body: { tag, kw: h.seq * 10 } });
    rows.push(row);
    h = row;
  }
  return rows;
}

const A = records(EMPTY_HEAD, 40, 'a');
/** Records 1..n of A. */
const a = (from: number, to: number) => A.slice(from - 1, to);

function run(rows: AuditRow[], o: { head?: AuditHead; key?: KeyObject; claimKeyId?: string; edgeId?: string } = {}): AuditSync {
  const head = o.head ?? rows[rows.length - 1]!;
  const key = o.key ?? edgeKey.privateKey;
  const cp = signCheckpoint({ chainId: o.edgeId ?? EDGE, seq: head.seq, hash: head.hash, atMs: T0 + 1000 }, key);
  return { edgeId: o.edgeId ?? EDGE, records: rows, checkpoint: checkpointToWire(cp, o.claimKeyId ?? keyId(key)) };
}

let dir: string;
let db: Database.Database;
let mirror: EdgeAuditMirror;
let told: { edge: string; alarm: AuditAlarm }[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-mirror-'));
  db = new Database(join(dir, 'hub.db'));
  told = [];
  mirror = new EdgeAuditMirror(db, {
    keys: new Map([[EDGE, { key: edgeKey.publicKey, keyId: keyId(edgeKey.publicKey) }]]),
    onAlarm: (edge, alarm) => told.push({ edge, alarm }),
  });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Everything the mirror holds of the edge: to show an alarmed run changed nothing. */
const snapshot = () => ({ head: mirror.head(EDGE), rows: mirror.records(EDGE, 0, 1000), checkpoint: mirror.status(EDGE)?.lastCheckpoint });

describe('EdgeAuditMirror', () => {
  it('merges runs that continue the chain; the mirror verifies, the status says so', () => {
    expect(mirror.status(EDGE)).toBeUndefined();
    expect(mirror.apply(EDGE, run(a(1, 10)), T0)).toEqual({ status: 'merged', records: 10, head: { seq: 10, hash: A[9]!.hash } });
    expect(mirror.apply(EDGE, run(a(11, 25)), T0)).toMatchObject({ status: 'merged', records: 15, head: { seq: 25 } });
    expect(mirror.verify(EDGE)).toEqual({ ok: true, head: { seq: 25, hash: A[24]!.hash }, records: 25 });
    expect(mirror.records(EDGE, 0, 1000)).toEqual(a(1, 25));
    expect(mirror.records(EDGE, 20, 3).map((r) => r.seq)).toEqual([21, 22, 23]);
    expect(mirror.status(EDGE)).toMatchObject({ head: { seq: 25 }, lastCheckpoint: { seq: 25, hash: A[24]!.hash, keyId: keyId(edgeKey.publicKey) }, verified: true, alarms: [] });
    expect(mirror.execution(EDGE, 'p24')).toEqual(A[23]);
    expect(told).toEqual([]);
  });

  it('a run delivered again, or one overlapping what is held, is idempotent: no alarm', () => {
    mirror.apply(EDGE, run(a(1, 20)), T0);
    const before = snapshot();
    expect(mirror.apply(EDGE, run(a(1, 20)), T0).status).toBe('duplicate');
    expect(mirror.apply(EDGE, run(a(5, 12)), T0).status).toBe('duplicate');
    expect(mirror.apply(EDGE, run([], { head: A[19]! }), T0).status).toBe('duplicate');
    expect(snapshot()).toEqual(before);
    expect(mirror.apply(EDGE, run(a(15, 30)), T0)).toMatchObject({ status: 'merged', records: 10, head: { seq: 30 } });
    expect(mirror.verify(EDGE)).toMatchObject({ ok: true, records: 30 });
    expect(told).toEqual([]);
  });

  /** Holds A 1..20, applies `sync`, expects `kind` at `seq`, stored and told once, the mirror unchanged. */
  function expectAlarm(sync: AuditSync, kind: AuditAlarmKind, code: string, seq: number, edgeId = EDGE) {
    mirror.apply(EDGE, run(a(1, 20)), T0);
    const before = snapshot();
    const outcome = mirror.apply(edgeId, sync, T0 + 5);
    expect(outcome).toMatchObject({ status: 'alarm', alarm: { kind, code, seq } });
    expect(snapshot()).toEqual(before);
    expect(mirror.verify(EDGE)).toMatchObject({ ok: true, records: 20 });
    // the same run again: the alarm is stored and told once
    expect(mirror.apply(edgeId, sync, T0 + 6).status).toBe('alarm');
    expect(told).toEqual([{ edge: edgeId, alarm: expect.objectContaining({ kind, code, seq }) }]);
    const status = mirror.status(edgeId)!;
    expect(status.verified).toBe(false);
    expect(status.alarms).toEqual([expect.objectContaining({ edgeId, kind, code, seq, atMs: T0 + 5, message: expect.stringContaining(edgeId) })]);
  }

  it('truncation: the edge reports a head behind what the hub holds', () => {
    expectAlarm(run([], { head: A[16]! }), 'truncation', 'HUB_AUDIT_TRUNCATED', 17);
    expect(told[0]!.alarm.message).toMatch(/went back from record 20 to record 17/);
  });

  it('truncation: a run that ends behind the held head with another history', () => {
    const rewritten = [...a(1, 11), ...records(A[10]!, 4, 'b')]; // 1..15, differs from 12
    expectAlarm(run(rewritten.slice(9)), 'truncation', 'HUB_AUDIT_TRUNCATED', 12);
  });

  it('fork: the same seq with another hash', () => {
    const forked = records(A[17]!, 5, 'b'); // 19..23 of another history
    expectAlarm(run(forked), 'fork', 'HUB_AUDIT_FORK', 19);
  });

  it('fork: a run right after the head that links to another record', () => {
    const other = records(A[18]!, 3, 'b'); // 20', 21', 22'
    expectAlarm(run(other.slice(1)), 'fork', 'HUB_AUDIT_FORK', 21);
    expect(told[0]!.alarm.message).toMatch(/forked at or before record 20/);
  });

  it('fork: the edge reports another head at the same seq', () => {
    const other = records(A[18]!, 1, 'b')[0]!;
    expectAlarm(run([], { head: other }), 'fork', 'HUB_AUDIT_FORK', 20);
  });

  it('key: a checkpoint signed by another key under the registered key id', () => {
    expectAlarm(run(a(21, 25), { key: otherKey.privateKey, claimKeyId: keyId(edgeKey.publicKey) }), 'key', 'HUB_AUDIT_BAD_SIGNATURE', 25);
  });

  it('key: a checkpoint of another key', () => {
    expectAlarm(run(a(21, 25), { key: otherKey.privateKey }), 'key', 'HUB_AUDIT_WRONG_KEY', 25);
  });

  it('key: an edge with no registered key', () => {
    expectAlarm(run(a(1, 3), { edgeId: 'edge-2' }), 'key', 'HUB_AUDIT_UNKNOWN_KEY', 3, 'edge-2');
    expect(told[0]!.alarm.message).toMatch(/audit.edgeKeys.edge-2/);
  });

  it('runs delivered out of order (11-20, 1-10, 21-30): not merged early, no alarm; what the edge sends again from the head it is told ends at 30', () => {
    expect(mirror.apply(EDGE, run(a(11, 20)), T0)).toEqual({ status: 'early', from: 11, head: EMPTY_HEAD });
    expect(mirror.apply(EDGE, run(a(1, 10)), T0 + 1)).toMatchObject({ status: 'merged', head: { seq: 10 } });
    expect(mirror.apply(EDGE, run(a(21, 30)), T0 + 2)).toEqual({ status: 'early', from: 21, head: { seq: 10, hash: A[9]!.hash } });
    // the edge, told head 10, sends 11.. again
    expect(mirror.apply(EDGE, run(a(11, 20)), T0 + 3)).toMatchObject({ status: 'merged', head: { seq: 20 } });
    expect(mirror.apply(EDGE, run(a(21, 30)), T0 + 4)).toMatchObject({ status: 'merged', head: { seq: 30 } });
    expect(mirror.apply(EDGE, run(a(11, 20)), T0 + 5).status).toBe('duplicate');
    expect(mirror.verify(EDGE)).toMatchObject({ ok: true, records: 30 });
    expect(mirror.status(EDGE)).toMatchObject({ head: { seq: 30, hash: A[29]!.hash }, verified: true, alarms: [] });
    expect(told).toEqual([]);
  });

  it('a checkpoint alone beyond the head (a store restored from a backup) is early too, not an alarm', () => {
    mirror.apply(EDGE, run(a(1, 10)), T0);
    expect(mirror.apply(EDGE, run([], { head: A[24]! }), T0 + 1)).toEqual({ status: 'early', from: 25, head: { seq: 10, hash: A[9]!.hash } });
    expect(told).toEqual([]);
  });

  it('gap: a hole that persists (the same head after enough early runs and time) is alarmed once; filling it later still merges', () => {
    const gapped = new EdgeAuditMirror(db, { keys: new Map([[EDGE, { key: edgeKey.publicKey, keyId: keyId(edgeKey.publicKey) }]]), onAlarm: (edge, alarm) => told.push({ edge, alarm }), gapAfterAttempts: 3, gapAfterMs: 60_000 });
    gapped.apply(EDGE, run(a(1, 20)), T0);
    // many early runs in a short while (a burst before the edge's resend arrives): no alarm
    for (let i = 0; i < 5; i++) expect(gapped.apply(EDGE, run(a(24, 30)), T0 + i)).toEqual({ status: 'early', from: 24, head: { seq: 20, hash: A[19]!.hash } });
    expect(told).toEqual([]);
    const persisted = gapped.apply(EDGE, run(a(24, 31)), T0 + 60_000);
    expect(persisted).toMatchObject({ status: 'early', from: 24, alarm: { kind: 'gap', code: 'HUB_AUDIT_GAP', seq: 21 } });
    expect(gapped.apply(EDGE, run(a(24, 32)), T0 + 70_000).status).toBe('early');
    expect(told).toEqual([{ edge: EDGE, alarm: expect.objectContaining({ kind: 'gap', seq: 21, message: expect.stringMatching(/records from 21 never arrived/) }) }]);
    expect(gapped.status(EDGE)).toMatchObject({ verified: false, alarms: [expect.objectContaining({ kind: 'gap', seq: 21 })] });
    expect(gapped.apply(EDGE, run(a(21, 32)), T0 + 80_000)).toMatchObject({ status: 'merged', head: { seq: 32 } });
    // a new hole after the head moved is counted afresh
    expect(gapped.apply(EDGE, run(a(35, 36)), T0 + 200_000)).toEqual({ status: 'early', from: 35, head: { seq: 32, hash: A[31]!.hash } });
    expect(told).toHaveLength(1);
  });

  it('gap: a run with a hole in it', () => {
    expectAlarm(run([...a(21, 22), ...a(24, 25)]), 'gap', 'HUB_AUDIT_GAP', 23);
  });

  it('invalid: a record whose contents do not match its hash', () => {
    const edited = a(21, 25).map((r) => (r.seq === 23 ? { ...r, bodyJson: r.bodyJson.replace('"kw":', '"kW":') } : r));
    expectAlarm(run(edited), 'invalid', 'HUB_AUDIT_INVALID_RECORD', 23);
    expect(told[0]!.alarm.message).toMatch(/AUDIT_HASH_MISMATCH/);
  });

  it('invalid: a checkpoint that does not name the run\'s last record', () => {
    expectAlarm(run(a(21, 25), { head: A[23]! }), 'invalid', 'HUB_AUDIT_CHECKPOINT_MISMATCH', 24);
  });

  it('keeps its tables across a reopen, and refuses UPDATE and DELETE of mirrored records', () => {
    mirror.apply(EDGE, run(a(1, 5)), T0);
    const again = new EdgeAuditMirror(db, { keys: new Map() });
    expect(again.head(EDGE)).toEqual({ seq: 5, hash: A[4]!.hash });
    expect(() => db.prepare('UPDATE edge_audit SET body = ? WHERE seq = 3').run('{}')).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM edge_audit WHERE seq = 5').run()).toThrow(/append-only/);
  });
});

/** A record sealed over whatever text the edge's audit.db holds (the edge signs what it has). */
function sealedText(prev: AuditHead, subjectJson: string, bodyJson: string): AuditRow {
  const unsealed = { seq: prev.seq + 1, atMs: T0, kind: 'execution', subjectJson, bodyJson, prevHash: prev.hash };
  return { ...unsealed, hash: auditRecordHash(unsealed) };
}

describe('records whose text is not JSON', () => {
  it.each([
    ['a subject that is not JSON', '{"proposalId":', '{}', /subject is not JSON/],
    ['a subject that is not an object of ids', '{"proposalId":7}', '{}', /subject.proposalId is not a string/],
    ['a body that is not JSON', '{"proposalId":"p4"}', 'not json', /body is not JSON/],
  ])('%s: not merged, alarmed invalid (HUB_AUDIT_NOT_JSON)', (_name, subjectJson, bodyJson, message) => {
    mirror.apply(EDGE, run(a(1, 3)), T0);
    const bad = sealedText(A[2]!, subjectJson, bodyJson);
    expect(mirror.apply(EDGE, run([bad]), T0 + 1)).toMatchObject({ status: 'alarm', alarm: { kind: 'invalid', code: 'HUB_AUDIT_NOT_JSON', seq: 4, message } });
    expect(mirror.head(EDGE).seq).toBe(3);
  });

  it('a poison record from edge-1 in the same ingest batch as edge-2\'s messages: edge-2 stored, edge-1 alarmed, ingest goes on', () => {
    const store = new HubStore(join(dir, 'store', 'hub.db'));
    try {
      const keys = new Map([
        [EDGE, { key: edgeKey.publicKey, keyId: keyId(edgeKey.publicKey) }],
        ['edge-2', { key: edgeKey.publicKey, keyId: keyId(edgeKey.publicKey) }],
      ]);
      const m = new EdgeAuditMirror(store.sqlite(), { keys });
      store.handle('audit', (msg) => {
        if (msg.payload.kind === 'audit') m.apply(msg.edgeId, msg.payload.audit, msg.nowMs);
      });
      const poison = sealedText(EMPTY_HEAD, '{"proposalId":', '{}');
      const msg = (edgeId: string, seq: number, audit: AuditSync) => ({ edgeId, siteId: 's', seq, nowMs: T0, payload: { kind: 'audit' as const, audit } });
      const results = store.receiveMany([
        msg('edge-2', 1, run(a(1, 3), { edgeId: 'edge-2' })),
        msg(EDGE, 1, run([poison])),
        { edgeId: 'edge-2', siteId: 's', seq: 2, nowMs: T0, payload: { kind: 'gap', gap: { reason: 'x', readings: 1, fromTsMs: 0, toTsMs: 1, droppedSeqs: [] } } },
      ]);
      expect(results.map((r) => r.fresh)).toEqual([true, true, true]);
      expect(m.head('edge-2').seq).toBe(3);
      expect(store.edges().map((e) => e.id).sort()).toEqual([EDGE, 'edge-2']);
      expect(m.status(EDGE)).toMatchObject({ head: { seq: 0 }, alarms: [expect.objectContaining({ kind: 'invalid', code: 'HUB_AUDIT_NOT_JSON', seq: 1 })] });
      // the next batch goes in too
      expect(store.receiveMany([msg('edge-2', 3, run(a(4, 5), { edgeId: 'edge-2' }))])[0]!.fresh).toBe(true);
      expect(m.head('edge-2').seq).toBe(5);
    } finally {
      store.close();
    }
  });

  it('alarms are told once their ingest transaction committed: a group commit that fails and is received again tells each once', () => {
    const store = new HubStore(join(dir, 'store2', 'hub.db'));
    try {
      const heard: string[] = [];
      const m = new EdgeAuditMirror(store.sqlite(), { keys: new Map(), onAlarm: (edge, alarm) => heard.push(`${edge}:${alarm.kind}`) });
      store.onSettled((committed) => m.settled(committed));
      let failOnce = true;
      store.handle('audit', (msg) => {
        if (msg.payload.kind !== 'audit') return;
        if (msg.edgeId === 'edge-3' && failOnce) {
          failOnce = false;
          throw new Error('disk I/O error');
        }
        m.apply(msg.edgeId, msg.payload.audit, msg.nowMs);
      });
      const msg = (edgeId: string, audit: AuditSync) => ({ edgeId, siteId: 's', seq: 1, nowMs: T0, payload: { kind: 'audit' as const, audit } });
      // no key registered for either: each is a key alarm
      const batch = [msg(EDGE, run(a(1, 3))), msg('edge-3', run(a(1, 3), { edgeId: 'edge-3' }))];
      expect(() => store.receiveMany(batch)).toThrow(/disk I\/O error/);
      expect(heard).toEqual([]);
      store.receiveMany(batch);
      expect(heard).toEqual([`${EDGE}:key`, 'edge-3:key']);
    } finally {
      store.close();
    }
  });

  it('readers tolerate a mirrored row whose text is not JSON (written before the hub checked, or by hand)', () => {
    db.prepare('INSERT INTO edge_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(EDGE, 1, T0, 'execution', '{"proposalId":"p1"}', 'not json', EMPTY_HEAD.hash, 'f'.repeat(64), T0);
    db.prepare('INSERT INTO edge_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(EDGE, 2, T0, 'execution', '{"proposalId":', '{}', 'f'.repeat(64), 'e'.repeat(64), T0);
    const row = mirror.execution(EDGE, 'p1')!;
    expect(readableRecordOfRow(row)).toMatchObject({ seq: 1, subject: { proposalId: 'p1' }, body: 'not json', unparsable: ['body'] });
    expect(readableRecordOfRow(mirror.records(EDGE, 1, 1)[0]!)).toMatchObject({ seq: 2, subject: {}, unparsable: ['subject'] });
  });
});

describe('the execution lookup (approvals view, one per decided item)', () => {
  it('is one seek in the execution index, newest first, however long the chain: no scan, no sort', () => {
    const insert = db.prepare('INSERT INTO edge_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const kinds = ['proposal', 'decision', 'execution', 'observed-effect'];
    db.transaction(() => {
      for (let seq = 1; seq <= 20_000; seq++) insert.run(EDGE, seq, T0, kinds[seq % 4], JSON.stringify({ proposalId: `p${Math.floor(seq / 8)}` }), '{}', EMPTY_HEAD.hash, 'f'.repeat(64), T0);
    })();
    db.exec('ANALYZE');
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${EXECUTION_SQL}`).all(EDGE, 'p7') as { detail: string }[]).map((r) => r.detail);
    expect(plan).toEqual([expect.stringMatching(/^SEARCH edge_audit USING (COVERING )?INDEX edge_audit_execution_of \(edge_id=\? AND <expr>=\?\)$/)]);
    expect(mirror.execution(EDGE, 'p7')).toMatchObject({ seq: 62, kind: 'execution' });
  });
});
