/**
 * The audit record and how it is sealed. Each record's hash is the lowercase hex sha256 of the
 * canonical JSON of `{ atMs, body, kind, prevHash, seq, subject }`, and `prevHash` is the hash of
 * the record before it (GENESIS_HASH for record 1), so changing, removing or moving any record
 * breaks the link at that record. Records link the decision trail by ids in `subject`:
 * telemetry summary -> forecast -> proposal -> policy outcome -> decision (or timeout) ->
 * execution -> observed effect.
 *
 * A stored row keeps `subject` and `body` as their canonical JSON text; the hash is taken over
 * that text as stored (spliced in, not re-parsed), so a flipped byte is a hash mismatch even
 * when it leaves text that no longer parses.
 */
import { createHash } from 'node:crypto';
import { auditCanonicalJson, type JsonValue } from './canonical.js';

/** The prevHash of record 1: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * What an audit record is about: the decision trail in the order a decision flows, then the
 * signed policy's own life (installed, refused, expired, its expiry alarm cleared).
 */
export const AUDIT_KINDS = [
  'telemetry-summary',
  'forecast',
  'proposal',
  'policy-outcome',
  'decision',
  /** An escalation that got no decision in time, and what the policy's timeout behaviour did. */
  'timeout',
  'execution',
  'observed-effect',
  'policy.installed',
  'policy.refused',
  'policy.expired',
  'policy.alarm',
  /** The hub's chain: a supervisor acknowledged an alarm on an edge's audit chain (who, why). */
  'alarm.acknowledged',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** The ids a record links (`proposalId`, `decisionId`, `forecastId`, ...): name -> id. */
export type AuditSubject = Readonly<Record<string, string>>;

/** What a writer appends; the log assigns seq, prevHash and hash. */
export interface AuditEntry {
  atMs: number;
  kind: AuditKind;
  subject: AuditSubject;
  body: JsonValue;
}

export interface AuditRecord {
  seq: number;
  atMs: number;
  kind: string;
  subject: AuditSubject;
  body: JsonValue;
  prevHash: string;
  hash: string;
}

/** A record as a table stores it: subject and body as canonical JSON text. */
export interface AuditRow {
  seq: number;
  atMs: number;
  kind: string;
  subjectJson: string;
  bodyJson: string;
  prevHash: string;
  hash: string;
}

/** The last record of a chain (seq 0 and GENESIS_HASH for an empty chain). */
export interface AuditHead {
  seq: number;
  hash: string;
}

export const EMPTY_HEAD: AuditHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export class AuditEntryError extends Error {
  override readonly name = 'AuditEntryError';
  readonly code = 'AUDIT_INVALID_ENTRY';
}

const ID_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

/** The hash a record or row should carry. Throws an AuditCanonicalError if a record's body or subject is not JSON. */
export function auditRecordHash(r: Omit<AuditRecord, 'hash'> | Omit<AuditRow, 'hash'>): string {
  const subject = 'subjectJson' in r ? r.subjectJson : auditCanonicalJson(r.subject);
  const body = 'bodyJson' in r ? r.bodyJson : auditCanonicalJson(r.body);
  const text = `{"atMs":${num(r.atMs)},"body":${body},"kind":${JSON.stringify(String(r.kind))},"prevHash":${JSON.stringify(String(r.prevHash))},"seq":${num(r.seq)},"subject":${subject}}`;
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A number as canonical JSON prints it; anything else (a tampered column) as its JSON text, which then fails the hash. */
const num = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : JSON.stringify(String(v)));

/** Seals `entry` as the record after `head`: the record, and the row to store. Throws AuditEntryError on a bad entry. */
export function sealAuditRecord(head: AuditHead, entry: AuditEntry): { record: AuditRecord; row: AuditRow } {
  if (!Number.isSafeInteger(entry.atMs) || entry.atMs < 0) throw new AuditEntryError(`atMs must be a non-negative integer of milliseconds, got ${entry.atMs}`);
  if (!(AUDIT_KINDS as readonly string[]).includes(entry.kind)) throw new AuditEntryError(`unknown audit kind '${entry.kind}' (one of ${AUDIT_KINDS.join(', ')})`);
  for (const [name, id] of Object.entries(entry.subject)) {
    if (!ID_NAME.test(name)) throw new AuditEntryError(`subject key '${name}' must be an identifier such as proposalId`);
    if (typeof id !== 'string' || id.length === 0) throw new AuditEntryError(`subject.${name} must be a non-empty id string`);
  }
  const subjectJson = auditCanonicalJson(entry.subject);
  const bodyJson = auditCanonicalJson(entry.body);
  const unsealed = { seq: head.seq + 1, atMs: entry.atMs, kind: entry.kind, subjectJson, bodyJson, prevHash: head.hash };
  const hash = auditRecordHash(unsealed);
  const row: AuditRow = { ...unsealed, hash };
  return { row, record: { seq: row.seq, atMs: row.atMs, kind: row.kind, subject: entry.subject, body: entry.body, prevHash: row.prevHash, hash } };
}

/** The record a stored row holds; throws a SyntaxError if its subject or body text is not JSON. */
export function recordOfRow(row: AuditRow): AuditRecord {
  const { subjectJson, bodyJson, ...rest } = row;
  return { ...rest, subject: JSON.parse(subjectJson) as AuditSubject, body: JSON.parse(bodyJson) as JsonValue };
}

/** A record for reading (API, console): never throws on a row whose text is not JSON. */
export type ReadableAuditRecord = AuditRecord & {
  /** Present when the stored subject or body text did not parse: the subject is then `{}`, the body the raw text. */
  unparsable?: ('subject' | 'body')[];
};

/** The record a stored row holds, for readers: a subject or body that is not JSON (a tampered row) is named, not thrown. */
export function readableRecordOfRow(row: AuditRow): ReadableAuditRecord {
  const { subjectJson, bodyJson, ...rest } = row;
  const unparsable: ('subject' | 'body')[] = [];
  const parse = (text: string, field: 'subject' | 'body'): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      unparsable.push(field);
      return undefined;
    }
  };
  const subject = parse(subjectJson, 'subject');
  const body = parse(bodyJson, 'body');
  return {
    ...rest,
    subject: (subject === undefined ? {} : subject) as AuditSubject,
    body: (body === undefined ? bodyJson : body) as JsonValue,
    ...(unparsable.length > 0 ? { unparsable } : {}),
  };
}

/** The subject and body of a row parsed and of their shapes (subject: an object of id strings), or why not. */
export function auditRowJsonProblem(row: Pick<AuditRow, 'subjectJson' | 'bodyJson'>): string | undefined {
  let subject: unknown;
  try {
    subject = JSON.parse(row.subjectJson);
  } catch (e) {
    return `subject is not JSON (${(e as Error).message})`;
  }
  if (typeof subject !== 'object' || subject === null || Array.isArray(subject)) return 'subject is not a JSON object';
  for (const [name, id] of Object.entries(subject as Record<string, unknown>)) if (typeof id !== 'string') return `subject.${name} is not a string`;
  try {
    JSON.parse(row.bodyJson);
  } catch (e) {
    return `body is not JSON (${(e as Error).message})`;
  }
  return undefined;
}
