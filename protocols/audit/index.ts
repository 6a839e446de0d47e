/**
 * @module protocols/audit
 * The audit chain both edge and hub keep: append-only records, each hashed with the previous
 * record's hash; `verifyChain` naming the first broken record; ed25519-signed checkpoints and
 * `compareCheckpoints` for truncation and forks. Pure apart from node:crypto; no SQLite here
 * (each side stores rows in its own table, edge/audit/ and hub/audit/).
 *
 * @example
 *   const { row } = sealAuditRecord(EMPTY_HEAD, { atMs: 0, kind: 'proposal', subject: { proposalId: 'p1' }, body: { kw: 250 } });
 *   verifyChain([row]); // { ok: true, head: { seq: 1, hash: row.hash }, records: 1 }
 *   const cp = signCheckpoint({ chainId: 'edge-1', seq: 1, hash: row.hash, atMs: 0 }, privateKey);
 *   verifyCheckpoint(cp, publicKey); // { ok: true }
 */
export { auditCanonicalJson, AuditCanonicalError } from './canonical.js';
export type { JsonValue } from './canonical.js';
export { GENESIS_HASH, EMPTY_HEAD, AUDIT_KINDS, AuditEntryError, auditRecordHash, sealAuditRecord, recordOfRow, readableRecordOfRow, auditRowJsonProblem } from './record.js';
export type { AuditKind, AuditSubject, AuditEntry, AuditRecord, AuditRow, AuditHead, ReadableAuditRecord } from './record.js';
export { verifyChain } from './verify.js';
export type { AuditChainErrorCode, ChainVerification, VerifyChainOptions } from './verify.js';
export { CHECKPOINT_TYPE, signCheckpoint, verifyCheckpoint, compareCheckpoints } from './checkpoint.js';
export type { AuditCheckpoint, UnsignedCheckpoint, CheckpointErrorCode, CheckpointResult } from './checkpoint.js';
