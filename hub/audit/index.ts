/**
 * @module hub/audit
 * The hub's own append-only audit log (SQLite); chain rules and checkpoints are protocols/audit's.
 *
 * @example
 *   const log = new HubAuditLog(db, { chainId: 'hub' });
 *   log.append({ atMs: clock(), kind: 'proposal', subject: { proposalId: 'p1' }, body: { kw: 250 } });
 *   log.verify(); // { ok: true, head, records }
 *   const cp = log.checkpoint(hubKey, clock());
 *
 *   // each edge's chain, as it syncs it (edge/audit/sync.ts), checked and mirrored:
 *   const mirror = new EdgeAuditMirror(db, { keys: loadEdgeAuditKeys({ 'edge-1': 'edge-1.pub.pem' }) });
 *   mirror.apply('edge-1', auditSync, clock()); // { status: 'merged' | 'duplicate' | 'early' | 'alarm', ... }
 *   // a run not merged (early, or refused for its key) is answered with the mirror's head:
 *   answers.answer(siteId, 'edge-1', auditSync, outcome); // AuditHead on .../cmd/audit-head
 *   // a supervisor acknowledges an alarm (history kept, appended to the hub's chain):
 *   new AlarmAcknowledger({ db, alarms: mirror.alarms, audit: log, now }).acknowledge('edge-1', 7, { name: 'sue', role: 'supervisor' }, 'known: gateway reimaged');
 *   staleDecision({ confirmedMs, headSeq, lastSeenMs, online, open }, 15 * 60_000); // 'raise' | 'clear' | 'none'
 */
export { HubAuditLog } from './log.js';
export type { AuditLogOptions } from './log.js';
export { EdgeAuditMirror, mirroredRows } from './mirror.js';
export type { AuditCheckpointRow, EdgeAuditMirrorOptions, MirrorOutcome, MirrorStatus } from './mirror.js';
export { AuditAlarmTable } from './alarms.js';
export type { AlarmAcknowledgement, StoredAuditAlarm } from './alarms.js';
export { judgeAuditSync, AUDIT_ALARM_KINDS, RECORD_INVALID_CODES } from './judge.js';
export type { AuditAlarm, AuditAlarmCode, AuditAlarmKind, AuditSyncVerdict, EdgeAuditKey, MirroredChain } from './judge.js';
export { loadEdgeAuditKeys } from './edge-keys.js';
export { AuditHeadAnswers, type AuditHeadPublisher } from './answers.js';
export { AlarmAcknowledger, type AlarmAckErrorCode, type AlarmAckResult } from './acknowledge.js';
export { auditAlarmRoutes } from './routes.js';
export { staleDecision, StaleMirrorWatch, type StaleDecision, type StaleFacts } from './stale.js';
