/**
 * EdgeAuditMirror: each edge's audit chain as the hub received it (edge/audit/sync.ts sends it in
 * runs, each with a checkpoint of its last record signed by the edge's key), in the hub store.
 *
 * A run is merged only when everything holds: the checkpoint is signed by the key registered
 * for that edge (hub config `audit.edgeKeys`) and names the run's last record; every record
 * hashes to its hash and links to the one before; the run continues the stored chain (its first
 * new record links to the stored head). Otherwise the run is not merged and an alarm is stored:
 *
 *   key         no registered key, another key, or a signature that does not verify
 *   invalid     a record's hash does not match its contents, its subject (an object of ids) or body
 *               is not JSON, or the run does not hang together
 *   gap         records between the stored head and the run are missing, and stay missing
 *   fork        a record at a seq the hub holds, with another hash: two histories
 *   truncation  the edge's head went back, or a run behind the stored head with another history
 *
 * A run that starts beyond the stored head (`early`) is not merged and not yet an alarm: the uplink
 * may deliver out of order, a key may have been registered after the edge started syncing, or the
 * hub's store may have been restored from a backup. The caller tells the edge the head (an
 * AuditHead on its command topic) and the edge sends again from there. Only when the same hole is
 * still there after `gapAfterAttempts` early runs and `gapAfterMs` is it a `gap` alarm (an edge
 * that never fills a hole is reported; the edge may still fill it later).
 *
 * A record the hub alarmed `invalid` (its hash, its link, its text) is a wall: nothing after it is
 * merged as if the chain went on, so a run that starts beyond it is `blocked`, not early (not a
 * hole that may fill, and never a `gap`); the caller tells the edge which record was refused
 * (answers.ts), and the edge stops sending there.
 *
 * The same alarm (edge, kind, seq, hash) is stored once while active (alarms.ts keeps them, with
 * their acknowledgements). A run the hub already holds
 * (redelivery) is a no-op, without an alarm. Judging is pure (`judgeAuditSync`, judge.ts); this
 * class reads and writes the tables, in one transaction per run (nested in ingest's, when it calls).
 */
import type Database from 'better-sqlite3';
import { EMPTY_HEAD, verifyChain, type AuditHead, type AuditRow, type ChainVerification } from '../../protocols/audit/index.js';
import type { AuditSync } from '../../protocols/index.js';
import { AuditAlarmTable, type StoredAuditAlarm } from './alarms.js';
import { judgeAuditSync, RECORD_INVALID_CODES, type AuditAlarm, type EdgeAuditKey } from './judge.js';

export type MirrorOutcome =
  | { status: 'merged'; records: number; head: AuditHead }
  | { status: 'duplicate'; head: AuditHead }
  /** Not merged: the run starts at `from`, beyond the head; `alarm` once the hole persisted (gap). */
  | { status: 'early'; from: number; head: AuditHead; alarm?: AuditAlarm }
  /** Not merged: the run starts beyond record `invalidSeq`, which the hub refused as invalid. */
  | { status: 'blocked'; from: number; head: AuditHead; invalidSeq: number }
  | { status: 'alarm'; alarm: AuditAlarm; head: AuditHead };

export interface AuditCheckpointRow {
  seq: number;
  hash: string;
  atMs: number;
  keyId: string;
  receivedMs: number;
}

export interface MirrorStatus {
  edgeId: string;
  head: AuditHead;
  lastCheckpoint: AuditCheckpointRow | null;
  /** The stored chain ends at a signed checkpoint and no alarm is active (each was acknowledged or cleared). */
  verified: boolean;
  /** Alarms neither acknowledged nor cleared. */
  activeAlarms: number;
  /** The newest alarms, acknowledged and cleared ones too. */
  alarms: StoredAuditAlarm[];
}

const PROPOSAL_ID = `(CASE WHEN json_valid(subject) THEN json_extract(subject, '$.proposalId') END)`;
const ROW_COLUMNS = 'seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash';

/**
 * The newest execution record of (edge, proposal): one index seek. INDEXED BY, because left alone
 * SQLite walks the edge's whole chain by primary key in seq order (38 ms a lookup at 100k rows,
 * and the approvals view makes one per decided item). Exported for the test of its query plan.
 */
export const EXECUTION_SQL = `SELECT ${ROW_COLUMNS} FROM edge_audit INDEXED BY edge_audit_execution_of
  WHERE edge_id = ? AND kind = 'execution' AND ${PROPOSAL_ID} = ? ORDER BY seq DESC LIMIT 1`;

/** Every mirrored row of an edge, in seq order (also for `gridos audit verify --hub-data`, on a read-only handle). */
export function mirroredRows(db: Database.Database, edgeId: string): AuditRow[] {
  return db.prepare<[string], AuditRow>(`SELECT ${ROW_COLUMNS} FROM edge_audit WHERE edge_id = ? ORDER BY seq`).all(edgeId);
}

export interface EdgeAuditMirrorOptions {
  /** Registered edge keys by edge id. */
  keys: ReadonlyMap<string, EdgeAuditKey>;
  /** Told of each new alarm (not of one stored before), after its transaction committed: logs and metrics. */
  onAlarm?: (edgeId: string, alarm: AuditAlarm) => void;
  /** Early runs at the same head before a hole is a `gap` alarm (default 5)... */
  gapAfterAttempts?: number;
  /** ...and for at least this long, by the `nowMs` given to apply (default 10 minutes). */
  gapAfterMs?: number;
}

const GAP_AFTER_ATTEMPTS = 5;
const GAP_AFTER_MS = 10 * 60_000;

export class EdgeAuditMirror {
  private readonly s;
  /** Every alarm raised, with its acknowledgement or clearing. */
  readonly alarms: AuditAlarmTable;
  private readonly applyTx: (edgeId: string, sync: AuditSync, nowMs: number) => MirrorOutcome;
  /** Alarms stored in a transaction that has not settled yet. */
  private untold: { edgeId: string; alarm: AuditAlarm }[] = [];

  constructor(
    private readonly db: Database.Database,
    private readonly options: EdgeAuditMirrorOptions,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS edge_audit (
        edge_id TEXT NOT NULL, seq INTEGER NOT NULL, at_ms INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
        body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL, received_ms INTEGER NOT NULL,
        PRIMARY KEY (edge_id, seq)) WITHOUT ROWID;
      -- json_valid first: text that is not JSON must not make an insert throw (and block ingest); seq
      -- last so the newest is the index's order (the old index without either is replaced)
      DROP INDEX IF EXISTS edge_audit_execution;
      CREATE INDEX IF NOT EXISTS edge_audit_execution_of ON edge_audit (edge_id, ${PROPOSAL_ID}, seq) WHERE kind = 'execution';
      CREATE TRIGGER IF NOT EXISTS edge_audit_no_update BEFORE UPDATE ON edge_audit BEGIN SELECT RAISE(ABORT, 'the audit mirror is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS edge_audit_no_delete BEFORE DELETE ON edge_audit BEGIN SELECT RAISE(ABORT, 'the audit mirror is append-only'); END;
      CREATE TABLE IF NOT EXISTS edge_audit_heads (
        edge_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL,
        cp_seq INTEGER NOT NULL, cp_hash TEXT NOT NULL, cp_at_ms INTEGER NOT NULL, cp_signature TEXT NOT NULL,
        cp_key_id TEXT NOT NULL, cp_received_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS edge_audit_holes (
        edge_id TEXT PRIMARY KEY, head_seq INTEGER NOT NULL, first_ms INTEGER NOT NULL, attempts INTEGER NOT NULL) WITHOUT ROWID;
    `);
    this.alarms = new AuditAlarmTable(db);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      head: p('SELECT seq, hash FROM edge_audit_heads WHERE edge_id = ?'),
      heads: p('SELECT edge_id AS edgeId, seq FROM edge_audit_heads'),
      checkpoint: p('SELECT cp_seq AS seq, cp_hash AS hash, cp_at_ms AS atMs, cp_key_id AS keyId, cp_received_ms AS receivedMs FROM edge_audit_heads WHERE edge_id = ?'),
      hashAt: p('SELECT hash FROM edge_audit WHERE edge_id = ? AND seq = ?').pluck(),
      insert: p('INSERT INTO edge_audit (edge_id, seq, at_ms, kind, subject, body, prev_hash, hash, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      setHead: p(`INSERT INTO edge_audit_heads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (edge_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash,
        cp_seq = excluded.cp_seq, cp_hash = excluded.cp_hash, cp_at_ms = excluded.cp_at_ms, cp_signature = excluded.cp_signature,
        cp_key_id = excluded.cp_key_id, cp_received_ms = excluded.cp_received_ms`),
      // the head record's arrival, or a later signed checkpoint of the same head (a quiet edge's heartbeat)
      confirmedMs: p('SELECT max(e.received_ms, coalesce(h.cp_received_ms, 0)) FROM edge_audit_heads h JOIN edge_audit e ON e.edge_id = h.edge_id AND e.seq = h.seq WHERE h.edge_id = ?').pluck(),
      refusedIn: p(`SELECT min(seq) FROM edge_audit_alarms WHERE edge_id = ? AND kind = 'invalid' AND code IN (${RECORD_INVALID_CODES.map(() => '?').join(', ')}) AND seq > ? AND seq <= ?`).pluck(),
      hole: p(`INSERT INTO edge_audit_holes VALUES (?, ?, ?, 1) ON CONFLICT (edge_id) DO UPDATE SET
        first_ms = CASE WHEN head_seq = excluded.head_seq THEN first_ms ELSE excluded.first_ms END,
        attempts = CASE WHEN head_seq = excluded.head_seq THEN attempts + 1 ELSE 1 END,
        head_seq = excluded.head_seq
        RETURNING first_ms AS firstMs, attempts`),
      holeFilled: p('DELETE FROM edge_audit_holes WHERE edge_id = ?'),
      page: p(`SELECT ${ROW_COLUMNS} FROM edge_audit WHERE edge_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
      execution: p(EXECUTION_SQL),
    };
    this.applyTx = db.transaction((edgeId: string, sync: AuditSync, nowMs: number) => this.applyNow(edgeId, sync, nowMs));
  }

  /**
   * Judges one run from `edgeId` and merges it or stores the alarm. Throws only when SQLite does (the
   * message is then not acknowledged). New alarms are told (`onAlarm`) once stored for good: at
   * once when this is the outermost transaction, else when the caller's settles (`settled`).
   */
  apply(edgeId: string, sync: AuditSync, nowMs: number): MirrorOutcome {
    const outermost = !this.db.inTransaction;
    let committed = false;
    try {
      const outcome = this.applyTx(edgeId, sync, nowMs);
      committed = true;
      return outcome;
    } finally {
      if (outermost) this.settled(committed);
    }
  }

  /** The caller's transaction around `apply` committed (the new alarms are told) or rolled back (forgotten). */
  settled(committed: boolean): void {
    const told = this.untold;
    this.untold = [];
    if (committed) for (const { edgeId, alarm } of told) this.options.onAlarm?.(edgeId, alarm);
  }

  private applyNow(edgeId: string, sync: AuditSync, nowMs: number): MirrorOutcome {
    const head = this.head(edgeId);
    const verdict = judgeAuditSync(edgeId, sync, this.options.keys.get(edgeId), { head, hashAt: (seq) => this.s.hashAt.get(edgeId, seq) as string | undefined });
    if (!verdict.ok && 'early' in verdict) {
      const invalidSeq = this.refusedIn(edgeId, head.seq, verdict.early.seq);
      if (invalidSeq !== undefined) return { status: 'blocked', from: verdict.early.seq, head, invalidSeq };
      return this.early(edgeId, head, verdict.early.seq, nowMs);
    }
    if (!verdict.ok) {
      this.raise(edgeId, verdict.alarm, nowMs);
      return { status: 'alarm', alarm: verdict.alarm, head };
    }
    const cp = sync.checkpoint;
    const last = this.s.checkpoint.get(edgeId) as AuditCheckpointRow | undefined;
    if (verdict.fresh.length > 0) this.s.holeFilled.run(edgeId);
    for (const r of verdict.fresh) this.s.insert.run(edgeId, r.seq, r.atMs, r.kind, r.subjectJson, r.bodyJson, r.prevHash, r.hash, nowMs);
    const newHead = verdict.fresh.length > 0 ? { seq: cp.seq, hash: cp.hash } : head;
    // The newest checkpoint at the head is kept; an old run delivered again changes nothing.
    if (verdict.fresh.length > 0 || (cp.seq === head.seq && (!last || cp.atMs >= last.atMs))) {
      this.s.setHead.run(edgeId, newHead.seq, newHead.hash, cp.seq, cp.hash, cp.atMs, Buffer.from(cp.signature).toString('hex'), cp.keyId, nowMs);
    }
    return verdict.fresh.length > 0 ? { status: 'merged', records: verdict.fresh.length, head: newHead } : { status: 'duplicate', head };
  }

  /** Stores an alarm (unless the same one is active) and tells it once its transaction settled. */
  raise(edgeId: string, a: AuditAlarm, nowMs: number): void {
    if (this.alarms.raise(edgeId, a, nowMs)) this.untold.push({ edgeId, alarm: a });
  }

  /** The first record after `afterSeq`, up to `throughSeq`, that the hub refused as invalid. */
  private refusedIn(edgeId: string, afterSeq: number, throughSeq: number): number | undefined {
    return (this.s.refusedIn.get(edgeId, ...RECORD_INVALID_CODES, afterSeq, throughSeq) as number | null) ?? undefined;
  }

  /**
   * When the mirror was last known current: its head record arrived, or later the edge's signed
   * checkpoint of that same head (sent every uplink.auditHeadEvery when it has nothing new).
   * Undefined when nothing is mirrored.
   */
  confirmedMs(edgeId: string): number | undefined {
    return this.s.confirmedMs.get(edgeId) as number | undefined;
  }

  /** A run from `from`, beyond the head: counted against the hole after the head; a gap alarm once it persisted. */
  private early(edgeId: string, head: AuditHead, from: number, nowMs: number): MirrorOutcome {
    const hole = this.s.hole.get(edgeId, head.seq, nowMs) as { firstMs: number; attempts: number };
    const forMs = nowMs - hole.firstMs;
    if (hole.attempts < (this.options.gapAfterAttempts ?? GAP_AFTER_ATTEMPTS) || forMs < (this.options.gapAfterMs ?? GAP_AFTER_MS)) return { status: 'early', from, head };
    // one alarm per hole: keyed on the first missing record and the head it should follow
    const alarm: AuditAlarm = {
      kind: 'gap',
      code: 'HUB_AUDIT_GAP',
      seq: head.seq + 1,
      hash: head.hash,
      message: `edge ${edgeId}'s records from ${head.seq + 1} never arrived: the hub holds up to record ${head.seq} and got ${hole.attempts} runs starting beyond it over ${Math.round(forMs / 1000)} s (the last from record ${from})`,
    };
    this.raise(edgeId, alarm, nowMs);
    // counted afresh: a hole that persists after the alarm was acknowledged alarms again only after as long again
    this.s.holeFilled.run(edgeId);
    return { status: 'early', from, head, alarm };
  }

  /** The stored head of an edge's chain (seq 0 when nothing is mirrored). */
  head(edgeId: string): AuditHead {
    return (this.s.head.get(edgeId) as AuditHead | undefined) ?? EMPTY_HEAD;
  }

  /** Every edge's mirrored head seq (the console's live feed watches them move). */
  heads(): Map<string, number> {
    return new Map((this.s.heads.all() as { edgeId: string; seq: number }[]).map((r) => [r.edgeId, r.seq]));
  }

  /** The mirror's state for an edge; undefined when nothing ever arrived from it. */
  status(edgeId: string, alarmLimit = 50): MirrorStatus | undefined {
    const cp = (this.s.checkpoint.get(edgeId) as AuditCheckpointRow | undefined) ?? null;
    const alarms = this.alarms.list(edgeId, alarmLimit);
    if (!cp && alarms.length === 0) return undefined;
    const head = this.head(edgeId);
    const activeAlarms = this.alarms.activeCount(edgeId);
    return { edgeId, head, lastCheckpoint: cp, verified: activeAlarms === 0 && cp !== null && cp.seq === head.seq && cp.hash === head.hash, activeAlarms, alarms };
  }

  /** Up to `limit` mirrored rows of an edge after `afterSeq`, in seq order. */
  records(edgeId: string, afterSeq: number, limit: number): AuditRow[] {
    return this.s.page.all(edgeId, afterSeq, limit) as AuditRow[];
  }

  /** Verifies the whole mirrored chain of an edge, naming the first broken record. */
  verify(edgeId: string): ChainVerification {
    return verifyChain(mirroredRows(this.db, edgeId));
  }

  /** The newest `execution` record the edge wrote for a proposal, when mirrored. */
  execution(edgeId: string, proposalId: string): AuditRow | undefined {
    return this.s.execution.get(edgeId, proposalId) as AuditRow | undefined;
  }
}
