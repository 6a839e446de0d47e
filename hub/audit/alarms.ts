/**
 * The table of audit alarms (`edge_audit_alarms`): every alarm the hub raised on an edge's audit
 * chain stays in it, with who acknowledged it, when and why, or when it cleared by itself (a
 * `stale` mirror that advanced again). An alarm is active until then.
 *
 * The same alarm (edge, kind, seq, hash) is stored once while it is active. Acknowledging repairs
 * nothing, so the same condition seen again after the acknowledgement is a new alarm: the
 * uniqueness holds among active alarms only (a partial index), not over the history.
 */
import type Database from 'better-sqlite3';
import type { AuditAlarm, AuditAlarmKind } from './judge.js';

export interface AlarmAcknowledgement {
  by: string;
  role: string;
  atMs: number;
  comment: string;
}

export interface StoredAuditAlarm extends AuditAlarm {
  id: number;
  edgeId: string;
  atMs: number;
  /** Neither acknowledged nor cleared. */
  active: boolean;
  acknowledged: AlarmAcknowledgement | null;
  /** When the condition went away by itself (a stale mirror advanced); null otherwise. */
  clearedMs: number | null;
}

interface AlarmRow extends AuditAlarm {
  id: number;
  edgeId: string;
  atMs: number;
  ackBy: string | null;
  ackRole: string | null;
  ackMs: number | null;
  ackComment: string | null;
  clearedMs: number | null;
}

const COLUMNS = `id, edge_id AS edgeId, kind, code, seq, hash, message, at_ms AS atMs, ack_by AS ackBy, ack_role AS ackRole,
  ack_ms AS ackMs, ack_comment AS ackComment, cleared_ms AS clearedMs`;
const OPEN = 'ack_ms IS NULL AND cleared_ms IS NULL';

function alarmOf(r: AlarmRow): StoredAuditAlarm {
  const { ackBy, ackRole, ackMs, ackComment, ...rest } = r;
  const acknowledged = ackMs === null ? null : { by: ackBy ?? '', role: ackRole ?? '', atMs: ackMs, comment: ackComment ?? '' };
  return { ...rest, active: acknowledged === null && r.clearedMs === null, acknowledged };
}

/** Creates the table, or brings one of an older hub (unique over the whole history, no acknowledgements) to this layout. */
function migrate(db: Database.Database): void {
  const old = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'edge_audit_alarms'").pluck().get() as string | undefined;
  const create = `CREATE TABLE IF NOT EXISTS edge_audit_alarms (
      id INTEGER PRIMARY KEY AUTOINCREMENT, edge_id TEXT NOT NULL, kind TEXT NOT NULL, code TEXT NOT NULL,
      seq INTEGER NOT NULL, hash TEXT NOT NULL, message TEXT NOT NULL, at_ms INTEGER NOT NULL,
      ack_by TEXT, ack_role TEXT, ack_ms INTEGER, ack_comment TEXT, cleared_ms INTEGER);
    CREATE UNIQUE INDEX IF NOT EXISTS edge_audit_alarms_active ON edge_audit_alarms (edge_id, kind, seq, hash) WHERE ${OPEN};`;
  if (old === undefined || old.includes('ack_ms')) {
    db.exec(create);
    return;
  }
  db.transaction(() => {
    db.exec('ALTER TABLE edge_audit_alarms RENAME TO edge_audit_alarms_before_ack');
    db.exec(create);
    db.exec(`INSERT INTO edge_audit_alarms (id, edge_id, kind, code, seq, hash, message, at_ms)
      SELECT id, edge_id, kind, code, seq, hash, message, at_ms FROM edge_audit_alarms_before_ack; DROP TABLE edge_audit_alarms_before_ack;`);
  })();
}

export class AuditAlarmTable {
  private readonly s;

  constructor(db: Database.Database) {
    migrate(db);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      raise: p('INSERT OR IGNORE INTO edge_audit_alarms (edge_id, kind, code, seq, hash, message, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      list: p(`SELECT ${COLUMNS} FROM edge_audit_alarms WHERE edge_id = ? ORDER BY id DESC LIMIT ?`),
      get: p(`SELECT ${COLUMNS} FROM edge_audit_alarms WHERE id = ?`),
      acknowledge: p(`UPDATE edge_audit_alarms SET ack_by = ?, ack_role = ?, ack_ms = ?, ack_comment = ? WHERE id = ? AND ${OPEN}`),
      clear: p(`UPDATE edge_audit_alarms SET cleared_ms = ? WHERE id = ? AND cleared_ms IS NULL`),
      active: p(`SELECT count(*) FROM edge_audit_alarms WHERE edge_id = ? AND ${OPEN}`).pluck(),
      counts: p(`SELECT edge_id AS edgeId, kind, sum(${OPEN}) AS active FROM edge_audit_alarms GROUP BY edge_id, kind`),
      uncleared: p(`SELECT ${COLUMNS} FROM edge_audit_alarms WHERE edge_id = ? AND kind = ? AND cleared_ms IS NULL ORDER BY id DESC LIMIT 1`),
    };
  }

  /** Stores `alarm` unless the same one is active; true when stored. */
  raise(edgeId: string, a: AuditAlarm, nowMs: number): boolean {
    return this.s.raise.run(edgeId, a.kind, a.code, a.seq, a.hash, a.message, nowMs).changes > 0;
  }

  /** An edge's alarms, newest first, acknowledged and cleared ones too. */
  list(edgeId: string, limit: number): StoredAuditAlarm[] {
    return (this.s.list.all(edgeId, limit) as AlarmRow[]).map(alarmOf);
  }

  get(id: number): StoredAuditAlarm | undefined {
    const row = this.s.get.get(id) as AlarmRow | undefined;
    return row && alarmOf(row);
  }

  /** Marks an active alarm acknowledged; false when it is not active (any more). */
  acknowledge(id: number, ack: AlarmAcknowledgement): boolean {
    return this.s.acknowledge.run(ack.by, ack.role, ack.atMs, ack.comment, id).changes > 0;
  }

  /** Records that the condition went away by itself, at `atMs`. */
  clear(id: number, atMs: number): void {
    this.s.clear.run(atMs, id);
  }

  activeCount(edgeId: string): number {
    return this.s.active.get(edgeId) as number;
  }

  /** Active alarms per edge and kind, for every (edge, kind) that ever alarmed (0 once all are acknowledged). */
  activeCounts(): { edgeId: string; kind: AuditAlarmKind; active: number }[] {
    return this.s.counts.all() as { edgeId: string; kind: AuditAlarmKind; active: number }[];
  }

  /** The newest alarm of `kind` on the edge that has not cleared (acknowledged or not). */
  uncleared(edgeId: string, kind: AuditAlarmKind): StoredAuditAlarm | undefined {
    const row = this.s.uncleared.get(edgeId, kind) as AlarmRow | undefined;
    return row && alarmOf(row);
  }
}
