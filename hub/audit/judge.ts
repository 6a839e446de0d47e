/**
 * Judging one run of an edge's audit chain (an AuditSync) against what the hub's mirror holds,
 * pure: the edge's registered key and the stored chain are given. Either the records to merge, or
 * the alarm and why: key, invalid, gap, fork, truncation (hub/audit/mirror.ts has the meanings).
 * Checks run in that order, so an unsigned run never gets a chain verdict.
 */
import type { KeyObject } from 'node:crypto';
import { auditRowJsonProblem, verifyChain, verifyCheckpoint, type AuditHead, type AuditRow, type ChainVerification } from '../../protocols/audit/index.js';
import { checkpointFromWire, type AuditSync } from '../../protocols/index.js';

/** `stale` is not a verdict on a run: the hub raises it when an online edge's mirror stops advancing (stale.ts). */
export const AUDIT_ALARM_KINDS = ['truncation', 'fork', 'key', 'gap', 'invalid', 'stale'] as const;
export type AuditAlarmKind = (typeof AUDIT_ALARM_KINDS)[number];

/** Why a run was not merged. Codes are stable: add new ones, never reuse or rename. */
export type AuditAlarmCode =
  | 'HUB_AUDIT_UNKNOWN_KEY'
  | 'HUB_AUDIT_WRONG_KEY'
  | 'HUB_AUDIT_BAD_SIGNATURE'
  | 'HUB_AUDIT_WRONG_CHAIN'
  | 'HUB_AUDIT_CHECKPOINT_MISMATCH'
  | 'HUB_AUDIT_INVALID_RECORD'
  | 'HUB_AUDIT_GAP'
  | 'HUB_AUDIT_FORK'
  | 'HUB_AUDIT_TRUNCATED'
  /** A record's subject or body text is not JSON (or the subject not an object of ids): hashed and signed, but unreadable. */
  | 'HUB_AUDIT_NOT_JSON'
  /** An edge online and heard from, whose mirror has not advanced for `audit.staleAfter`. */
  | 'HUB_AUDIT_STALE';

/**
 * Invalid alarms about one record (not about the run): the hub merges nothing from that record on,
 * and tells the edge so (AuditHead.invalid_seq), instead of being sent it again and again.
 */
export const RECORD_INVALID_CODES: readonly AuditAlarmCode[] = ['HUB_AUDIT_INVALID_RECORD', 'HUB_AUDIT_NOT_JSON'];

export interface AuditAlarm {
  kind: AuditAlarmKind;
  code: AuditAlarmCode;
  /** The record (or checkpoint) the alarm is about, and its hash as the edge sent it. */
  seq: number;
  hash: string;
  message: string;
}

/** A registered edge key: the public key and its TUF key id. */
export interface EdgeAuditKey {
  key: KeyObject;
  keyId: string;
}

/** What the judge needs of the stored chain. */
export interface MirroredChain {
  head: AuditHead;
  hashAt(seq: number): string | undefined;
}

/**
 * Merge these records; or not merged, and why: an alarm, or `early` (the run starts beyond the
 * stored head, from `seq`: the records before it may still be on their way, or the hub's store
 * lost them; the edge is told the head and sends again from there, the mirror alarms `gap`
 * only when the hole persists).
 */
export type AuditSyncVerdict = { ok: true; fresh: AuditRow[] } | { ok: false; alarm: AuditAlarm } | { ok: false; early: { seq: number; hash: string } };

const short = (h: string): string => `${h.slice(0, 12)}...`;

/** Judges one run against the stored chain (pure: the key and the chain are given). */
export function judgeAuditSync(edgeId: string, sync: AuditSync, key: EdgeAuditKey | undefined, chain: MirroredChain): AuditSyncVerdict {
  const cp = sync.checkpoint;
  const alarm = (kind: AuditAlarmKind, code: AuditAlarmCode, seq: number, hash: string, message: string): AuditSyncVerdict => ({ ok: false, alarm: { kind, code, seq, hash, message } });
  if (!key) return alarm('key', 'HUB_AUDIT_UNKNOWN_KEY', cp.seq, cp.hash, `edge ${edgeId} has no registered audit key (hub config audit.edgeKeys.${edgeId}): its checkpoint at record ${cp.seq} cannot be checked`);
  if (cp.keyId !== key.keyId) return alarm('key', 'HUB_AUDIT_WRONG_KEY', cp.seq, cp.hash, `edge ${edgeId}'s checkpoint at record ${cp.seq} is signed by key ${short(cp.keyId)}, not its registered key ${short(key.keyId)}`);
  const signature = verifyCheckpoint(checkpointFromWire(cp), key.key);
  if (!signature.ok) return alarm('key', 'HUB_AUDIT_BAD_SIGNATURE', cp.seq, cp.hash, `edge ${edgeId}: ${signature.message}`);
  if (cp.chainId !== edgeId) return alarm('invalid', 'HUB_AUDIT_WRONG_CHAIN', cp.seq, cp.hash, `edge ${edgeId} sent a checkpoint of chain '${cp.chainId}'`);

  const { head } = chain;
  const records = sync.records;
  if (records.length === 0) {
    if (cp.seq < head.seq) {
      const held = chain.hashAt(cp.seq);
      const history = cp.seq === 0 ? 'every record was removed' : held === cp.hash ? 'the records after it were removed' : `and its record ${cp.seq} is not the one the hub holds`;
      return alarm('truncation', 'HUB_AUDIT_TRUNCATED', cp.seq, cp.hash, `edge ${edgeId}'s audit head went back from record ${head.seq} to record ${cp.seq}: ${history}`);
    }
    if (cp.seq === head.seq) {
      return cp.hash === head.hash ? { ok: true, fresh: [] } : alarm('fork', 'HUB_AUDIT_FORK', cp.seq, cp.hash, `edge ${edgeId}'s record ${cp.seq} is now ${short(cp.hash)}, the hub holds ${short(head.hash)}: two histories`);
    }
    return { ok: false, early: { seq: cp.seq, hash: cp.hash } };
  }

  const first = records[0]!;
  const last = records[records.length - 1]!;
  if (last.seq !== cp.seq || last.hash !== cp.hash) {
    return alarm('invalid', 'HUB_AUDIT_CHECKPOINT_MISMATCH', cp.seq, cp.hash, `edge ${edgeId}'s checkpoint names record ${cp.seq} (${short(cp.hash)}), the run ends at record ${last.seq} (${short(last.hash)})`);
  }
  const run: ChainVerification = verifyChain(records, { after: { seq: first.seq - 1, hash: first.prevHash } });
  if (!run.ok) {
    const hash = records.find((r) => r.seq === run.at)?.hash ?? cp.hash;
    if (run.code === 'AUDIT_SEQ_GAP') return alarm('gap', 'HUB_AUDIT_GAP', run.at, hash, `edge ${edgeId}'s run: ${run.message}`);
    return alarm('invalid', 'HUB_AUDIT_INVALID_RECORD', run.at, hash, `edge ${edgeId}'s record ${run.at}: ${run.code}: ${run.message}`);
  }
  for (const r of records) {
    const problem = auditRowJsonProblem(r);
    if (problem) return alarm('invalid', 'HUB_AUDIT_NOT_JSON', r.seq, r.hash, `edge ${edgeId}'s record ${r.seq}: ${problem}`);
  }
  if (first.seq > head.seq + 1) return { ok: false, early: { seq: first.seq, hash: first.hash } };
  for (const r of records) {
    if (r.seq > head.seq) break;
    const held = chain.hashAt(r.seq);
    if (held === r.hash) continue;
    if (last.seq < head.seq) {
      return alarm('truncation', 'HUB_AUDIT_TRUNCATED', r.seq, r.hash, `edge ${edgeId}'s chain now ends at record ${last.seq}, behind the hub's record ${head.seq}, with another history from record ${r.seq} (${short(r.hash)}, the hub holds ${short(held ?? '?')})`);
    }
    return alarm('fork', 'HUB_AUDIT_FORK', r.seq, r.hash, `edge ${edgeId} sent record ${r.seq} as ${short(r.hash)}, the hub holds ${short(held ?? '?')}: two histories`);
  }
  const fresh = records.filter((r) => r.seq > head.seq);
  // A run that starts right after the head must link to it; one that overlaps was matched above.
  if (fresh.length > 0 && first.seq === head.seq + 1 && first.prevHash !== head.hash) {
    return alarm('fork', 'HUB_AUDIT_FORK', first.seq, first.hash, `edge ${edgeId}'s record ${first.seq} links to ${short(first.prevHash)}, but the hub's record ${head.seq} is ${short(head.hash)}: the chain forked at or before record ${head.seq}`);
  }
  return { ok: true, fresh };
}
