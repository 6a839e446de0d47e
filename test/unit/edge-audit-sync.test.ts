/**
 * The edge's audit sync (edge/audit/sync.ts) against a real audit log and an in-memory outbox:
 * what it queues, and how it answers the hub's mirrored head (AuditHead): behind the cursor, it
 * sends again from there; an answer to a run queued before the last rewind is stale; a refusal
 * after a refusal does not rewind again, an early answer after it does. A record the hub refuses as
 * invalid (a malformed hash, edited contents), end to end through the wire codec, the mirror and its
 * answers: one alarm, the mirror at the record before it, and the edge stops sending there.
 */
import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditHubSync, EdgeAuditLog, loadOrCreateEdgeKey, type AuditHubSyncOptions } from '../../edge/audit/index.js';
import type { OutboxDraft } from '../../edge/store/edge-store.js';
import { GENESIS_HASH, signCheckpoint } from '../../protocols/audit/index.js';
import { checkpointToWire, decodeEnvelope, encodeEnvelope, envelope, type AuditHeadNotice, type AuditSync } from '../../protocols/index.js';
import { AuditHeadAnswers, EdgeAuditMirror, type AuditAlarm } from '../../hub/audit/index.js';
import { captureLogger } from '../helpers/logger.js';

let dir: string;
let db: Database.Database;
let log: EdgeAuditLog;
let queued: AuditSync[];
let clock: number;
let sync: AuditHubSync;
let logs: Record<string, unknown>[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-audit-sync-'));
  db = new Database(join(dir, 'audit.db'));
  log = new EdgeAuditLog(db, { chainId: 'edge-1' });
  queued = [];
  clock = 1_000;
  sync = makeSync();
  for (let i = 0; i < 30; i++) log.append({ atMs: i, kind: 'proposal', subject: { proposalId: `p${i}` }, body: { i } });
});

/** A sync over the test's log, with its own store (cursor) and `over` options. */
function makeSync(over: Partial<AuditHubSyncOptions> = {}): AuditHubSync {
  const meta = new Map<string, string | number>();
  return new AuditHubSync({
    edgeId: 'edge-1',
    log,
    key: loadOrCreateEdgeKey(dir),
    store: {
      commit: (batch: { outbox?: readonly OutboxDraft[]; meta?: Readonly<Record<string, string | number>> }) => {
        for (const d of batch.outbox ?? []) queued.push(d as unknown as AuditSync);
        for (const [k, v] of Object.entries(batch.meta ?? {})) meta.set(k, v);
        return [];
      },
      metaValue: (k: string) => meta.get(k),
    } as never,
    draft: (a) => a as unknown as OutboxDraft,
    onQueued: () => {},
    now: () => clock,
    logger: (() => {
      const c = captureLogger('warn');
      logs = c.records;
      return c.logger;
    })(),
    everyMs: 60_000,
    batchRecords: 10,
    maxBatchBytes: 1_000_000,
    ...over,
  });
}

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const head = (seq: number, o: Partial<AuditHeadNotice> = {}): AuditHeadNotice => ({ edgeId: 'edge-1', seq, hash: seq === 0 ? GENESIS_HASH : log.rows(seq, seq)[0]!.hash, answersAtMs: clock, refused: false, ...o });
const firstSeqs = () => queued.map((q) => q.records[0]?.seq);

describe('AuditHubSync answers the hub\'s mirrored head', () => {
  it('a head behind the cursor: sends again from there; a head at or beyond it changes nothing', () => {
    expect(sync.syncNow()).toBe(3);
    expect(firstSeqs()).toEqual([1, 11, 21]);
    expect(sync.hubHead(head(30))).toBe(false);
    clock = 2_000;
    expect(sync.hubHead(head(10))).toBe(true);
    expect(sync.sent().seq).toBe(10);
    queued = [];
    expect(sync.syncNow()).toBe(2);
    expect(firstSeqs()).toEqual([11, 21]);
    expect(sync.sent().seq).toBe(30);
  });

  it('answers to runs queued before the last rewind are stale; one to a run queued after it rewinds again', () => {
    sync.syncNow();
    clock = 2_000;
    expect(sync.hubHead(head(0, { answersAtMs: 1_000 }))).toBe(true);
    sync.syncNow();
    // the other early runs of the first pass, answered late: the resend covers them
    expect(sync.hubHead(head(10, { answersAtMs: 1_000 }))).toBe(false);
    // a resent run answered early (delivered out of order again)
    clock = 3_000;
    expect(sync.hubHead(head(10, { answersAtMs: 2_000 }))).toBe(true);
    expect(sync.sent().seq).toBe(10);
  });

  it('refused (no key at the hub): rewinds once, not on every refusal; an early answer later (key registered) rewinds', () => {
    sync.syncNow();
    clock = 2_000;
    expect(sync.hubHead(head(0, { answersAtMs: 1_000, refused: true }))).toBe(true);
    sync.syncNow();
    clock = 3_000;
    expect(sync.hubHead(head(0, { answersAtMs: 2_000, refused: true }))).toBe(false);
    expect(sync.sent().seq).toBe(30);
    log.append({ atMs: 31, kind: 'proposal', subject: { proposalId: 'p31' }, body: {} });
    sync.syncNow();
    expect(sync.hubHead(head(0, { answersAtMs: 3_000 }))).toBe(true);
    expect(sync.sent().seq).toBe(0);
  });
});

describe('AuditHubSync reports what happened to its chain', () => {
  const tamper = (sql: string) => {
    db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    db.exec(sql);
  };

  it('every record deleted after they were sent: the empty head (seq 0) is reported, and the hub alarms truncation', () => {
    sync.syncNow();
    const key = loadOrCreateEdgeKey(dir);
    const mirror = new EdgeAuditMirror(db, { keys: new Map([['edge-1', { key: createPublicKey(key.privateKey), keyId: key.keyId }]]) });
    for (const q of queued) mirror.apply('edge-1', q, 1);
    expect(mirror.head('edge-1').seq).toBe(30);
    queued = [];
    tamper('DELETE FROM audit');
    expect(sync.syncNow()).toBe(1);
    expect(queued[0]).toMatchObject({ records: [], checkpoint: { seq: 0, hash: GENESIS_HASH } });
    expect(mirror.apply('edge-1', queued[0]!, 2)).toMatchObject({ status: 'alarm', alarm: { kind: 'truncation', seq: 0, message: expect.stringMatching(/every record was removed/) } });
    // reported once
    expect(sync.syncNow()).toBe(0);
  });

  it('a head record whose hash is not a hash: reported as an edited audit table, once, not as a failure to queue', () => {
    sync.syncNow();
    log.append({ atMs: 31, kind: 'proposal', subject: { proposalId: 'p31' }, body: {} });
    tamper("UPDATE audit SET hash = 'xyz' WHERE seq = 31");
    expect(sync.syncNow()).toBe(0);
    expect(sync.syncNow()).toBe(0);
    const said = logs.filter((l) => String(l.msg).includes('malformed hash'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({ level: 50, headSeq: 31 });
    expect(logs.some((l) => String(l.msg).includes('could not queue'))).toBe(false);
  });
});

describe('a record the hub refuses as invalid, mid-chain: edge sync -> wire -> mirror -> answer -> edge', () => {
  const tamper = (sql: string) => {
    db.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    db.exec(sql);
  };

  /** The hub side on the test's file: a mirror with the edge's key, and its answers, decoded as the edge's uplink decodes them. */
  function hub() {
    const key = loadOrCreateEdgeKey(dir);
    const told: AuditAlarm[] = [];
    const mirror = new EdgeAuditMirror(db, { keys: new Map([['edge-1', { key: createPublicKey(key.privateKey), keyId: key.keyId }]]), onAlarm: (_e, a) => told.push(a) });
    const notices: AuditHeadNotice[] = [];
    const answers = new AuditHeadAnswers(captureLogger('warn').logger, () => clock);
    answers.setPublisher(async (_topic, bytes) => {
      const d = decodeEnvelope(bytes);
      if (d.ok && d.value.payload.kind === 'auditHead') notices.push(d.value.payload.auditHead);
    });
    let deliveries = 0;
    /** Some passes of the edge: queue, deliver each message over the codec (one ingest transaction each), hand the answers back; a record appended each pass. */
    const passes = (n: number) => {
      for (let i = 0; i < n; i++) {
        sync.syncNow();
        for (const q of queued.splice(0)) {
          deliveries++;
          const d = decodeEnvelope(encodeEnvelope(envelope({ edgeId: 'edge-1', siteId: 's', seq: deliveries, sentAtMs: clock, payload: { kind: 'audit', audit: q } })));
          if (!d.ok || d.value.payload.kind !== 'audit') throw new Error(`the hub could not decode the run: ${d.ok ? d.value.payload.kind : d.error.message}`);
          answers.answer('s', 'edge-1', d.value.payload.audit, mirror.apply('edge-1', d.value.payload.audit, clock));
          answers.settled(true);
        }
        for (const notice of notices.splice(0)) sync.hubHead(notice);
        clock += 1000;
        log.append({ atMs: clock, kind: 'proposal', subject: { proposalId: `later-${i}` }, body: {} });
      }
    };
    return { mirror, told, passes, deliveries: () => deliveries };
  }

  it('a malformed hash (record 15 of 30): one invalid alarm naming it; the mirror holds 1..14; a bounded number of deliveries; the edge keeps its chain', () => {
    tamper("UPDATE audit SET hash = 'xyz' WHERE seq = 15");
    const h = hub();
    h.passes(10);
    expect(h.told).toEqual([expect.objectContaining({ kind: 'invalid', seq: 15, message: expect.stringMatching(/edge-1's record 15: AUDIT_MALFORMED: record 15's hash 'xyz' is not 64 lowercase hex/) })]);
    expect(h.mirror.head('edge-1')).toEqual({ seq: 14, hash: log.rows(14, 14)[0]!.hash });
    // 1-10, 11-14, then 15-16 once (a malformed hash cannot end a signed run); nothing after, however many appends
    expect(h.deliveries()).toBe(3);
    expect(log.head().seq).toBe(40);
    expect(logs.filter((l) => String(l.msg).includes('audit record 15 has a malformed hash'))).toHaveLength(1);
    expect(h.mirror.verify('edge-1')).toMatchObject({ ok: true, records: 14 });
  });

  it('contents edited under a well-formed hash (the edge cannot tell): the hub names the record, the edge sends what precedes it and stops', () => {
    tamper(`UPDATE audit SET body = '{"i":"forged"}' WHERE seq = 15`);
    const h = hub();
    h.passes(10);
    expect(h.told).toEqual([expect.objectContaining({ kind: 'invalid', code: 'HUB_AUDIT_INVALID_RECORD', seq: 15, message: expect.stringMatching(/AUDIT_HASH_MISMATCH/) })]);
    expect(h.mirror.head('edge-1').seq).toBe(14);
    // 1-10, 11-20 (refused for 15), 21-30 (blocked behind 15), then 11-14 again; then nothing
    expect(h.deliveries()).toBe(4);
    expect(logs.filter((l) => String(l.msg).startsWith('the hub refused audit record 15 as invalid'))).toHaveLength(1);
  });

  it('nothing after the refused record is merged as a continuation, whoever sends it (an older edge sends on)', () => {
    tamper("UPDATE audit SET hash = 'xyz' WHERE seq = 15");
    const h = hub();
    h.passes(1);
    const key = loadOrCreateEdgeKey(dir);
    const rows = log.rows(16, 25);
    const last = rows[rows.length - 1]!;
    const cp = signCheckpoint({ chainId: 'edge-1', seq: last.seq, hash: last.hash, atMs: clock }, key.privateKey);
    const onward: AuditSync = { edgeId: 'edge-1', records: rows, checkpoint: checkpointToWire(cp, key.keyId) };
    expect(h.mirror.apply('edge-1', onward, clock)).toEqual({ status: 'blocked', from: 16, head: { seq: 14, hash: log.rows(14, 14)[0]!.hash }, invalidSeq: 15 });
    expect(h.mirror.head('edge-1').seq).toBe(14);
    expect(h.told).toHaveLength(1);
  });
});

describe('a quiet edge confirms its head', () => {
  it('in sync and nothing new: a checkpoint of the head (no records) every headEveryMs, which the hub takes as its mirror being current', () => {
    const key = loadOrCreateEdgeKey(dir);
    const told: AuditAlarm[] = [];
    const mirror = new EdgeAuditMirror(db, { keys: new Map([['edge-1', { key: createPublicKey(key.privateKey), keyId: key.keyId }]]), onAlarm: (_e, a) => told.push(a) });
    sync = makeSync({ headEveryMs: 300_000 });
    const deliver = () => queued.splice(0).map((q) => mirror.apply('edge-1', q, clock).status);
    sync.syncNow();
    expect(deliver()).toEqual(['merged', 'merged', 'merged']); // 1-10, 11-20, 21-30
    const merged = mirror.confirmedMs('edge-1');
    expect(merged).toBe(clock);
    clock += 299_999;
    expect(sync.syncNow()).toBe(0); // in sync, too early for a checkpoint
    clock += 1;
    expect(sync.syncNow()).toBe(1);
    expect(queued[0]).toMatchObject({ records: [], checkpoint: { seq: 30 } });
    expect(deliver()).toEqual(['duplicate']);
    expect(mirror.confirmedMs('edge-1')).toBe(clock);
    expect(mirror.head('edge-1').seq).toBe(30);
    expect(told).toEqual([]);
    // a new record is sent as usual, and restarts the wait for the next checkpoint
    log.append({ atMs: clock, kind: 'proposal', subject: { proposalId: 'p30' }, body: {} });
    clock += 1000;
    expect(sync.syncNow()).toBe(1);
    expect(queued[0]!.records.map((r) => r.seq)).toEqual([31]);
    expect(deliver()).toEqual(['merged']);
    clock += 1000;
    expect(sync.syncNow()).toBe(0);
  });
});

describe('AuditHubSync cuts runs by bytes on the wire', () => {
  it('measures record text in UTF-8 bytes, not UTF-16 code units', () => {
    const before = log.head().seq;
    // 1000 characters of 3 UTF-8 bytes each: one such record is over 3 kB on the wire, two do not fit in 4 kB
    for (let i = 0; i < 2; i++) log.append({ atMs: 40 + i, kind: 'proposal', subject: { proposalId: `wide${i}` }, body: { note: '€'.repeat(1000) } });
    const small = makeSync({ batchRecords: 100, maxBatchBytes: 4_000 });
    small.syncNow();
    expect(small.sent().seq).toBe(before + 2);
    expect(queued.find((q) => q.records.some((r) => r.seq === before + 1))!.records.map((r) => r.seq)).toEqual([before + 1]);
  });
});
