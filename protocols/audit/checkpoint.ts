/**
 * Signed checkpoints: `{ chainId, seq, hash, atMs, signature }`, the head of a chain at a moment,
 * signed by its keeper (ed25519 over the canonical JSON of `{ type, chainId, seq, hash, atMs }`,
 * where `type` keeps the signature from meaning anything else). An edge sends them to the hub;
 * the hub compares each with the last one it accepted from that edge (`compareCheckpoints`) and
 * alarms on truncation (the chain got shorter) or a fork (same length, other head, or a longer
 * chain that does not extend the head it had).
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import { auditCanonicalJson } from './canonical.js';
import type { AuditHead, AuditRecord, AuditRow } from './record.js';
import { verifyChain, type ChainVerification } from './verify.js';

export const CHECKPOINT_TYPE = 'gridos.audit.checkpoint.v1';

export interface AuditCheckpoint {
  chainId: string;
  seq: number;
  hash: string;
  atMs: number;
  /** ed25519 signature, lowercase hex (128 characters). */
  signature: string;
}

export type UnsignedCheckpoint = Omit<AuditCheckpoint, 'signature'>;

/** Why a checkpoint is refused, or what comparing two reveals. Codes are stable. */
export type CheckpointErrorCode =
  /** Not a checkpoint: a field is missing or of the wrong type. */
  | 'AUDIT_CHECKPOINT_MALFORMED'
  /** The signature does not verify under the given key. */
  | 'AUDIT_CHECKPOINT_SIGNATURE'
  /** The two checkpoints are of different chains. */
  | 'AUDIT_CHAIN_ID_MISMATCH'
  /** The newer checkpoint is at a lower seq: records were removed from the end. */
  | 'AUDIT_TRUNCATED'
  /** The chain no longer contains the older head: rewritten history. */
  | 'AUDIT_FORK'
  /** The segment given to link the two checkpoints is itself broken or incomplete. */
  | 'AUDIT_SEGMENT_INVALID';

export type CheckpointResult = { ok: true } | { ok: false; code: CheckpointErrorCode; message: string };

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

function signedText(c: UnsignedCheckpoint): Buffer {
  return Buffer.from(auditCanonicalJson({ type: CHECKPOINT_TYPE, chainId: c.chainId, seq: c.seq, hash: c.hash, atMs: c.atMs }), 'utf8');
}

function malformed(c: Partial<AuditCheckpoint>): string | undefined {
  if (typeof c.chainId !== 'string' || c.chainId.length === 0) return 'chainId must be a non-empty string';
  if (!Number.isSafeInteger(c.seq) || c.seq! < 0) return 'seq must be a non-negative integer';
  if (typeof c.hash !== 'string' || !HEX64.test(c.hash)) return 'hash must be 64 lowercase hex characters';
  if (!Number.isSafeInteger(c.atMs) || c.atMs! < 0) return 'atMs must be a non-negative integer';
  return undefined;
}

/** Signs a checkpoint with an ed25519 private key; throws a TypeError on a malformed checkpoint. */
export function signCheckpoint(c: UnsignedCheckpoint, privateKey: KeyObject): AuditCheckpoint {
  const problem = malformed(c);
  if (problem) throw new TypeError(`audit checkpoint: ${problem}`);
  const signature = sign(null, signedText(c), privateKey).toString('hex');
  return { chainId: c.chainId, seq: c.seq, hash: c.hash, atMs: c.atMs, signature };
}

/** Checks a checkpoint's shape and its signature under `publicKey` (ed25519). Never throws. */
export function verifyCheckpoint(c: unknown, publicKey: KeyObject): CheckpointResult {
  const cp = (typeof c === 'object' && c !== null ? c : {}) as Partial<AuditCheckpoint>;
  const problem = malformed(cp) ?? (typeof cp.signature === 'string' && HEX128.test(cp.signature) ? undefined : 'signature must be 128 lowercase hex characters');
  if (problem) return { ok: false, code: 'AUDIT_CHECKPOINT_MALFORMED', message: problem };
  let good = false;
  try {
    good = verify(null, signedText(cp as AuditCheckpoint), publicKey, Buffer.from(cp.signature!, 'hex'));
  } catch {
    good = false;
  }
  return good ? { ok: true } : { ok: false, code: 'AUDIT_CHECKPOINT_SIGNATURE', message: `checkpoint of ${cp.chainId} at record ${cp.seq} is not signed by the expected key` };
}

/**
 * Compares a newer checkpoint with an older one of the same chain (both already verified).
 * Without a segment, a higher seq is accepted as `advanced` (linkage unchecked); with the
 * segment of records after `older.seq` up to `newer.seq`, it must extend `older` exactly
 * (`extends`). A record at `older.seq` in the segment is checked against the older head too.
 */
export function compareCheckpoints(
  older: UnsignedCheckpoint,
  newer: UnsignedCheckpoint,
  chainSegment?: readonly (AuditRecord | AuditRow)[],
): { ok: true; status: 'same' | 'advanced' | 'extends' } | { ok: false; code: CheckpointErrorCode; message: string; chain?: ChainVerification } {
  const where = (c: UnsignedCheckpoint): string => `record ${c.seq} (${c.hash.slice(0, 12)}...)`;
  if (older.chainId !== newer.chainId) return { ok: false, code: 'AUDIT_CHAIN_ID_MISMATCH', message: `checkpoints of chains ${older.chainId} and ${newer.chainId}` };
  if (newer.seq < older.seq) return { ok: false, code: 'AUDIT_TRUNCATED', message: `${newer.chainId} went back from record ${older.seq} to record ${newer.seq}: ${older.seq - newer.seq} records were removed` };
  if (newer.seq === older.seq) {
    return newer.hash === older.hash ? { ok: true, status: 'same' } : { ok: false, code: 'AUDIT_FORK', message: `${newer.chainId} has two different heads at record ${newer.seq}: ${where(older)} and ${where(newer)}` };
  }
  if (chainSegment === undefined) return { ok: true, status: 'advanced' };
  const atOlder = chainSegment.find((r) => r.seq === older.seq);
  if (atOlder && atOlder.hash !== older.hash) return { ok: false, code: 'AUDIT_FORK', message: `${newer.chainId}'s record ${older.seq} is ${atOlder.hash.slice(0, 12)}..., not the checkpointed ${where(older)}` };
  const after: AuditHead = { seq: older.seq, hash: older.hash };
  const rest = chainSegment.filter((r) => r.seq > older.seq);
  const chain = verifyChain(rest, { after });
  if (!chain.ok) {
    if (chain.at === older.seq + 1 && chain.code === 'AUDIT_PREV_MISMATCH') return { ok: false, code: 'AUDIT_FORK', message: `${newer.chainId} does not extend ${where(older)}: ${chain.message}`, chain };
    return { ok: false, code: 'AUDIT_SEGMENT_INVALID', message: `the segment after ${where(older)} is broken at record ${chain.at}: ${chain.code}: ${chain.message}`, chain };
  }
  if (chain.head.seq < newer.seq) return { ok: false, code: 'AUDIT_SEGMENT_INVALID', message: `the segment ends at record ${chain.head.seq}, before the newer checkpoint's record ${newer.seq}` };
  const atNewer = rest.find((r) => r.seq === newer.seq);
  if (atNewer?.hash !== newer.hash) return { ok: false, code: 'AUDIT_FORK', message: `the chain after ${where(older)} reaches record ${newer.seq} as ${atNewer?.hash.slice(0, 12) ?? '?'}..., not the checkpointed ${where(newer)}` };
  return { ok: true, status: 'extends' };
}
