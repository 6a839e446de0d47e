/**
 * The edge's audit sync (edge/audit/sync.ts) against a real audit log and an in-memory outbox:
 * what it queues, and how it answers the hub's mirrored head (AuditHead): behind the cursor, it
 * sends again from there; an answer to a run queued before the last rewind is stale; a refusal
 * after a refusal does not rewind again, an early answer after it does.
 */
import Database from 'better-sqlite3';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditHubSync, EdgeAuditLog, loadOrCreateEdgeKey, type AuditHubSyncOptions } from '../../edge/audit/index.js';
import type { OutboxDraft } from '../../edge/store/edge-store.js';
import { GENESIS_HASH } from '../../protocols/audit/index.js';
import type { AuditHeadNotice, AuditSync } from '../../protocols/index.js';
import { EdgeAuditMirror } from '../../hub/audit/index.js';
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
