/**
 * `verifyChain`: walks records in the order given and names the FIRST record at which the chain
 * breaks. Per record it checks, in order: the seq is the next one (else a gap, or records out of
 * order), its prevHash is the previous record's hash, and its hash matches its contents.
 * Pure: no I/O, no clock.
 */
import { auditRecordHash, EMPTY_HEAD, type AuditHead, type AuditRecord, type AuditRow } from './record.js';

/** Why a chain is broken. Codes are stable: add new ones, never reuse or rename. */
export type AuditChainErrorCode =
  /** The record's contents do not hash to the hash it carries: it was changed after it was written. */
  | 'AUDIT_HASH_MISMATCH'
  /** One or more records are missing before this seq. */
  | 'AUDIT_SEQ_GAP'
  /** Records are out of order, or a seq repeats. */
  | 'AUDIT_SEQ_ORDER'
  /** The record's prevHash is not the previous record's hash. */
  | 'AUDIT_PREV_MISMATCH'
  /** A field is not of its type (seq not an integer, hash not 64 hex characters). */
  | 'AUDIT_MALFORMED';

export type ChainVerification =
  | { ok: true; head: AuditHead; records: number }
  | { ok: false; at: number; code: AuditChainErrorCode; message: string };

export interface VerifyChainOptions {
  /** Verify a segment that continues after this head (default: the empty chain, so records start at seq 1). */
  after?: AuditHead;
}

const HASH = /^[0-9a-f]{64}$/;
const short = (h: unknown): string => (typeof h === 'string' ? h.slice(0, 12) : String(h));

export function verifyChain(records: readonly (AuditRecord | AuditRow)[], options: VerifyChainOptions = {}): ChainVerification {
  const after = options.after ?? EMPTY_HEAD;
  let expected = after.seq + 1;
  let prev = after.hash;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const fail = (at: number, code: AuditChainErrorCode, message: string): ChainVerification => ({ ok: false, at, code, message });
    if (!Number.isSafeInteger(r.seq)) return fail(expected, 'AUDIT_MALFORMED', `the record where record ${expected} belongs has seq ${String(r.seq)}, not an integer`);
    if (r.seq < expected) {
      return fail(expected, 'AUDIT_SEQ_ORDER', `record ${r.seq} appears after record ${expected - 1}: records are out of order or repeated`);
    }
    if (r.seq > expected) {
      if (records.slice(i + 1).some((later) => later.seq === expected)) {
        return fail(expected, 'AUDIT_SEQ_ORDER', `record ${r.seq} stands where record ${expected} belongs, which comes later: records are out of order`);
      }
      const before = expected === 1 ? 'the chain starts at' : `record ${expected - 1} is followed by`;
      const what = r.seq === expected + 1 ? `record ${expected} is missing` : `records ${expected}..${r.seq - 1} are missing`;
      return fail(expected, 'AUDIT_SEQ_GAP', `${what} (${before} record ${r.seq})`);
    }
    if (typeof r.hash !== 'string' || !HASH.test(r.hash)) return fail(r.seq, 'AUDIT_MALFORMED', `record ${r.seq}'s hash '${short(r.hash)}' is not 64 lowercase hex characters`);
    if (r.prevHash !== prev) {
      const whose = r.seq === 1 ? 'the genesis hash' : `record ${r.seq - 1}'s hash`;
      return fail(r.seq, 'AUDIT_PREV_MISMATCH', `record ${r.seq} links to ${short(r.prevHash)}..., but ${whose} is ${short(prev)}...: a record before it was replaced or moved`);
    }
    let actual: string;
    try {
      actual = auditRecordHash(r);
    } catch (err) {
      return fail(r.seq, 'AUDIT_MALFORMED', `record ${r.seq} cannot be hashed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (actual !== r.hash) {
      return fail(r.seq, 'AUDIT_HASH_MISMATCH', `record ${r.seq}'s contents hash to ${short(actual)}..., but it carries ${short(r.hash)}...: it was changed after it was written`);
    }
    prev = r.hash;
    expected++;
  }
  return { ok: true, head: { seq: expected - 1, hash: prev }, records: records.length };
}
