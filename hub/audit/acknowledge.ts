/**
 * Acknowledging an audit alarm: a supervisor or admin says they have seen it, and why it may rest
 * (a required comment). It repairs nothing: the alarm stays in the history with who, when and the
 * comment, it no longer counts as active, and the same condition seen later is a new alarm.
 * Like every approval step, the acknowledgement is appended to the hub's own audit chain
 * (`hub_audit`, kind `alarm.acknowledged`), in the same transaction as the alarm's row.
 */
import type Database from 'better-sqlite3';
import type { Role } from '../auth/index.js';
import type { AuditAlarmTable, StoredAuditAlarm } from './alarms.js';
import type { HubAuditLog } from './log.js';

export type AlarmAckErrorCode = 'HUB_AUDIT_ALARM_NOT_FOUND' | 'HUB_AUDIT_ALARM_ACKNOWLEDGED' | 'HUB_AUDIT_ALARM_CLEARED';

export type AlarmAckResult = { ok: true; alarm: StoredAuditAlarm } | { ok: false; status: 404 | 409; code: AlarmAckErrorCode; message: string };

export interface AlarmAcknowledgerOptions {
  db: Database.Database;
  alarms: AuditAlarmTable;
  audit: HubAuditLog;
  now: () => number;
}

export class AlarmAcknowledger {
  private readonly tx: (edgeId: string, id: number, user: { name: string; role: Role }, comment: string) => AlarmAckResult;

  constructor(private readonly o: AlarmAcknowledgerOptions) {
    this.tx = o.db.transaction((edgeId, id, user, comment) => this.acknowledgeNow(edgeId, id, user, comment));
  }

  /** Acknowledges alarm `id` of `edgeId` for `user` (the route checked the role) with `comment`. */
  acknowledge(edgeId: string, id: number, user: { name: string; role: Role }, comment: string): AlarmAckResult {
    return this.tx(edgeId, id, user, comment);
  }

  private acknowledgeNow(edgeId: string, id: number, user: { name: string; role: Role }, comment: string): AlarmAckResult {
    const { alarms, audit } = this.o;
    const a = alarms.get(id);
    if (!a || a.edgeId !== edgeId) return { ok: false, status: 404, code: 'HUB_AUDIT_ALARM_NOT_FOUND', message: `edge ${edgeId} has no audit alarm ${id}` };
    if (a.acknowledged) {
      const by = a.acknowledged;
      return { ok: false, status: 409, code: 'HUB_AUDIT_ALARM_ACKNOWLEDGED', message: `audit alarm ${id} was acknowledged by ${by.by} at ${new Date(by.atMs).toISOString()}` };
    }
    if (a.clearedMs !== null) return { ok: false, status: 409, code: 'HUB_AUDIT_ALARM_CLEARED', message: `audit alarm ${id} cleared by itself at ${new Date(a.clearedMs).toISOString()}: nothing to acknowledge` };
    const atMs = this.o.now();
    alarms.acknowledge(id, { by: user.name, role: user.role, atMs, comment });
    audit.append({
      atMs,
      kind: 'alarm.acknowledged',
      subject: { edgeId, alarmId: String(id) },
      body: { alarm: { kind: a.kind, code: a.code, seq: a.seq, hash: a.hash, raisedAtMs: a.atMs, message: a.message }, user: user.name, role: user.role, comment },
    });
    return { ok: true, alarm: alarms.get(id)! };
  }
}
