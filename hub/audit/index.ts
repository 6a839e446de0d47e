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
 */
export { HubAuditLog } from './log.js';
export type { AuditLogOptions } from './log.js';
export { EdgeAuditMirror, mirroredRows } from './mirror.js';
export type { AuditCheckpointRow, EdgeAuditMirrorOptions, MirrorOutcome, MirrorStatus, StoredAuditAlarm } from './mirror.js';
export { judgeAuditSync, AUDIT_ALARM_KINDS } from './judge.js';
export type { AuditAlarm, AuditAlarmCode, AuditAlarmKind, AuditSyncVerdict, EdgeAuditKey, MirroredChain } from './judge.js';
export { loadEdgeAuditKeys } from './edge-keys.js';
export { AuditHeadAnswers, type AuditHeadPublisher } from './answers.js';
