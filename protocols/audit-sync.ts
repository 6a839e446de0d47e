/**
 * The AuditSync payload (edge -> hub on .../audit): a run of an edge's audit chain and a signed
 * checkpoint of its last record. Decoding checks the shape only (ids, hex, integers, sizes);
 * whether the run continues the chain the hub holds and whether the signature is good is the
 * hub's to judge (hub/audit/mirror.ts), so it can alarm rather than refuse. A record's hash and
 * prev_hash are carried as the edge holds them, hex or not: refusing a message for a malformed
 * one leaves it unacknowledged, and the edge would send it forever; the hub alarms instead.
 */
import type Long from 'long';
import type { AuditCheckpoint, AuditRow } from './audit/index.js';
import { ProtocolError } from './errors.js';
import { isValidId } from './topics.js';
import type { AuditHeadNotice, AuditSync, AuditSyncCheckpoint } from './types.js';

/** At most this many records in one message (the edge sends fewer, bounded by bytes too). */
export const MAX_AUDIT_SYNC_RECORDS = 10_000;
/** A record's subject or body text longer than this is refused. */
export const MAX_AUDIT_JSON_CHARS = 64 * 1024;

type Int64 = number | Long;
const toNumber = (v: Int64 | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());
const HEX64 = /^[0-9a-f]{64}$/;
/** A record's hash or prev_hash longer than this is refused (a well-formed one has 64). */
const MAX_AUDIT_HASH_CHARS = 256;

export interface WireAuditSync {
  edgeId?: string;
  records?: { seq?: Int64; atMs?: Int64; kind?: string; subjectJson?: string; bodyJson?: string; prevHash?: string; hash?: string }[];
  checkpoint?: { chainId?: string; seq?: Int64; hash?: string; atMs?: Int64; signature?: Uint8Array; keyId?: string } | null;
}

export function auditSyncToWire(a: AuditSync): Record<string, unknown> {
  return { edgeId: a.edgeId, records: a.records, checkpoint: a.checkpoint };
}

/** The AuditSync a decoded message holds; throws a ProtocolError (PROTO_INVALID_FIELD) naming what is wrong. */
export function auditSyncOf(w: WireAuditSync, envelopeEdgeId: string): AuditSync {
  const bad = (why: string): never => {
    throw new ProtocolError('PROTO_INVALID_FIELD', `audit sync: ${why}`);
  };
  if (w.edgeId !== envelopeEdgeId) bad(`edge_id '${w.edgeId ?? ''}' is not the envelope's edge '${envelopeEdgeId}'`);
  const wireRecords = w.records ?? [];
  if (wireRecords.length > MAX_AUDIT_SYNC_RECORDS) bad(`${wireRecords.length} records, at most ${MAX_AUDIT_SYNC_RECORDS} in one message`);
  const records = wireRecords.map((r, i): AuditRow => {
    const row: AuditRow = { seq: toNumber(r.seq), atMs: toNumber(r.atMs), kind: r.kind ?? '', subjectJson: r.subjectJson ?? '', bodyJson: r.bodyJson ?? '', prevHash: r.prevHash ?? '', hash: r.hash ?? '' };
    const at = `records[${i}]`;
    if (!Number.isSafeInteger(row.seq) || row.seq < 1) bad(`${at}.seq must be an integer >= 1, got ${row.seq}`);
    if (!Number.isSafeInteger(row.atMs) || row.atMs < 0) bad(`${at}.at_ms must be a non-negative integer, got ${row.atMs}`);
    if (row.kind.length === 0 || row.kind.length > 64) bad(`${at}.kind must be 1-64 characters`);
    for (const [name, text] of [['subject_json', row.subjectJson], ['body_json', row.bodyJson]] as const) {
      if (text.length === 0 || text.length > MAX_AUDIT_JSON_CHARS) bad(`${at}.${name} must be 1-${MAX_AUDIT_JSON_CHARS} characters of JSON`);
    }
    for (const [name, text] of [['prev_hash', row.prevHash], ['hash', row.hash]] as const) {
      if (text.length === 0 || text.length > MAX_AUDIT_HASH_CHARS) bad(`${at}.${name} must be 1-${MAX_AUDIT_HASH_CHARS} characters (64 lowercase hex when well-formed)`);
    }
    return row;
  });
  const c = w.checkpoint;
  if (!c) return bad('no checkpoint');
  const checkpoint: AuditSyncCheckpoint = { chainId: c.chainId ?? '', seq: toNumber(c.seq), hash: c.hash ?? '', atMs: toNumber(c.atMs), signature: c.signature ?? new Uint8Array(), keyId: c.keyId ?? '' };
  if (!isValidId(checkpoint.chainId)) bad(`checkpoint.chain_id '${checkpoint.chainId}' is not a valid id`);
  if (!Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 0) bad(`checkpoint.seq must be a non-negative integer, got ${checkpoint.seq}`);
  if (!HEX64.test(checkpoint.hash)) bad('checkpoint.hash must be 64 lowercase hex characters');
  if (!Number.isSafeInteger(checkpoint.atMs) || checkpoint.atMs < 0) bad(`checkpoint.at_ms must be a non-negative integer, got ${checkpoint.atMs}`);
  if (checkpoint.signature.length !== 64) bad(`checkpoint.signature must be 64 bytes (ed25519), got ${checkpoint.signature.length}`);
  if (!HEX64.test(checkpoint.keyId)) bad('checkpoint.key_id must be a sha256 of 64 lowercase hex characters');
  return { edgeId: envelopeEdgeId, records, checkpoint };
}

export interface WireAuditHead {
  edgeId?: string;
  seq?: Int64;
  hash?: string;
  answersAtMs?: Int64;
  refused?: boolean;
  invalidSeq?: Int64;
}

/** The AuditHeadNotice a decoded message holds; throws a ProtocolError (PROTO_INVALID_FIELD) naming what is wrong. */
export function auditHeadOf(w: WireAuditHead, envelopeEdgeId: string): AuditHeadNotice {
  const bad = (why: string): never => {
    throw new ProtocolError('PROTO_INVALID_FIELD', `audit head: ${why}`);
  };
  if (w.edgeId !== envelopeEdgeId) bad(`edge_id '${w.edgeId ?? ''}' is not the envelope's edge '${envelopeEdgeId}'`);
  const notice: AuditHeadNotice = { edgeId: envelopeEdgeId, seq: toNumber(w.seq), hash: w.hash ?? '', answersAtMs: toNumber(w.answersAtMs), refused: w.refused ?? false, invalidSeq: toNumber(w.invalidSeq) };
  if (!Number.isSafeInteger(notice.seq) || notice.seq < 0) bad(`seq must be a non-negative integer, got ${notice.seq}`);
  if (!HEX64.test(notice.hash)) bad('hash must be 64 lowercase hex characters');
  if (!Number.isSafeInteger(notice.answersAtMs) || notice.answersAtMs < 0) bad(`answers_at_ms must be a non-negative integer, got ${notice.answersAtMs}`);
  const invalidSeq = notice.invalidSeq ?? 0;
  if (!Number.isSafeInteger(invalidSeq) || invalidSeq < 0) bad(`invalid_seq must be a non-negative integer, got ${invalidSeq}`);
  return notice;
}

/** A signed checkpoint (hex signature, protocols/audit) as the wire carries it. */
export function checkpointToWire(cp: AuditCheckpoint, keyId: string): AuditSyncCheckpoint {
  return { chainId: cp.chainId, seq: cp.seq, hash: cp.hash, atMs: cp.atMs, signature: Buffer.from(cp.signature, 'hex'), keyId };
}

/** Back from the wire, for `verifyCheckpoint`. */
export function checkpointFromWire(w: AuditSyncCheckpoint): AuditCheckpoint {
  return { chainId: w.chainId, seq: w.seq, hash: w.hash, atMs: w.atMs, signature: Buffer.from(w.signature).toString('hex') };
}
