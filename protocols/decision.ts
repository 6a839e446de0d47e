/**
 * A hub decision on an escalated proposal, signed by the hub's decision key (ed25519 over the
 * canonical JSON of the decision, the TUF dialect of `tuf/canonical-json.ts`; integers only) and
 * bound to one proposal (its hash), one edge and site, an expiry, and a unique id the edge uses
 * at most once. The key id is the TUF key id of the public key (`tuf/keys.ts`).
 *
 * `verifyDecision` is pure: the caller passes the time and the trusted keys. It authenticates
 * before it looks at the binding, so an unsigned or foreign document never gets a binding code.
 * Replay protection is the receiver's (a persistent store of used ids, edge/dispatch/decisions.ts).
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { isValidId } from './topics.js';
import { canonicalJson } from './tuf/canonical-json.js';
import { tufPublicKey } from './tuf/keys.js';

/** A decision document larger than this is not parsed. */
export const MAX_DECISION_BYTES = 16 * 1024;

const gridId = z.string().refine(isValidId, { message: "expected an id of 1-64 letters, digits, '_', '.', '-'" });
const timeMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const decisionSchema = z
  .strictObject({
    id: z.uuid(),
    edgeId: gridId,
    siteId: gridId,
    proposalId: z.string().min(1).max(200),
    proposalHash: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a sha256 of 64 lowercase hex characters' }),
    outcome: z.enum(['approve', 'reject']),
    approvers: z.array(z.string().min(1).max(200)).max(32),
    comment: z.string().max(2000).optional(),
    issuedAtMs: timeMs,
    expiresAtMs: timeMs,
  })
  .refine((d) => d.expiresAtMs > d.issuedAtMs, { message: 'expiresAtMs must be after issuedAtMs', path: ['expiresAtMs'] });
export type Decision = z.output<typeof decisionSchema>;

export interface SignedDecision {
  decision: Decision;
  /** ed25519 signature over the canonical JSON of `decision`, base64 (64 bytes). */
  signature: string;
  /** TUF key id (sha256 hex) of the signing key's public half. */
  keyId: string;
}

export type DecisionProblemCode =
  | 'DECISION_MALFORMED'
  | 'DECISION_UNKNOWN_KEY'
  | 'DECISION_BAD_SIGNATURE'
  | 'DECISION_WRONG_EDGE'
  | 'DECISION_WRONG_PROPOSAL'
  | 'DECISION_EXPIRED';

export type DecisionResult = { ok: true; decision: Decision } | { ok: false; code: DecisionProblemCode; message: string };

export interface DecisionExpectation {
  /** Public decision keys this receiver trusts, by TUF key id. */
  trustedKeys: ReadonlyMap<string, KeyObject>;
  edgeId: string;
  siteId: string;
  /** The hash of the proposal this receiver is about to act on. */
  proposalHash: string;
  /** The time to judge expiry at (the receiver's max(clock, time floor)). */
  nowMs: number;
}

/** The key id a decision signed with `key` (public or private ed25519) carries: its TUF key id. */
export function decisionKeyId(key: KeyObject): string {
  return tufPublicKey(key).keyId;
}

/** Signs a decision; throws a TypeError when our own code built an invalid one. */
export function signDecision(decision: Decision, privateKey: KeyObject): SignedDecision {
  const parsed = decisionSchema.safeParse(decision);
  if (!parsed.success) throw new TypeError(`cannot sign an invalid decision: ${issues(parsed.error)}`);
  const body = Buffer.from(canonicalJson(decision), 'utf8');
  return { decision, signature: sign(null, body, privateKey).toString('base64'), keyId: decisionKeyId(privateKey) };
}

const signedShape = z.strictObject({ decision: z.unknown(), signature: z.string().max(200), keyId: z.string().max(200) });
const BASE64_SIG = /^[A-Za-z0-9+/]{86}==$/;

/** Verifies a signed decision (any value, e.g. straight from JSON) against what the receiver expects. */
export function verifyDecision(signed: unknown, expect: DecisionExpectation): DecisionResult {
  const outer = signedShape.safeParse(signed);
  if (!outer.success) return fail('DECISION_MALFORMED', `not a signed decision: ${issues(outer.error)}`);
  const inner = decisionSchema.safeParse(outer.data.decision);
  if (!inner.success) return fail('DECISION_MALFORMED', `decision fields: ${issues(inner.error)}`);
  const d = inner.data;
  const { signature, keyId } = outer.data;
  if (!BASE64_SIG.test(signature)) return fail('DECISION_MALFORMED', `decision ${d.id}: the signature is not 64 bytes of base64`);

  const key = expect.trustedKeys.get(keyId);
  if (!key) return fail('DECISION_UNKNOWN_KEY', `decision ${d.id} is signed by key ${short(keyId)}, which is not a trusted decision key of this edge (re-provision the hub's decision key if it was rotated)`);
  let body: Buffer;
  try {
    body = Buffer.from(canonicalJson(outer.data.decision), 'utf8');
  } catch (e) {
    return fail('DECISION_MALFORMED', `decision ${d.id} is not canonical JSON: ${(e as Error).message}`);
  }
  let good = false;
  try {
    good = verify(null, body, key, Buffer.from(signature, 'base64'));
  } catch (e) {
    return fail('DECISION_BAD_SIGNATURE', `decision ${d.id}: key ${short(keyId)} cannot verify it (${(e as Error).message})`);
  }
  if (!good) return fail('DECISION_BAD_SIGNATURE', `decision ${d.id}: the signature by key ${short(keyId)} does not match its content (altered on the way, or forged)`);

  if (d.edgeId !== expect.edgeId || d.siteId !== expect.siteId) {
    return fail('DECISION_WRONG_EDGE', `decision ${d.id} is for edge '${d.edgeId}' at site '${d.siteId}', this is edge '${expect.edgeId}' at site '${expect.siteId}'`);
  }
  if (d.proposalHash !== expect.proposalHash) {
    return fail('DECISION_WRONG_PROPOSAL', `decision ${d.id} is bound to proposal hash ${short(d.proposalHash)}, the proposal here has hash ${short(expect.proposalHash)}`);
  }
  if (expect.nowMs >= d.expiresAtMs) {
    return fail('DECISION_EXPIRED', `decision ${d.id} expired at ${iso(d.expiresAtMs)} (reference time ${iso(expect.nowMs)}); ask the hub for a new decision`);
  }
  return { ok: true, decision: d };
}

/** The signed decision as the wire carries it: the exact canonical bytes, the raw signature. */
export interface SignedDecisionWire {
  decisionJson: Uint8Array;
  signature: Uint8Array;
  keyId: string;
}

export function signedDecisionToWire(s: SignedDecision): SignedDecisionWire {
  return { decisionJson: Buffer.from(canonicalJson(s.decision), 'utf8'), signature: Buffer.from(s.signature, 'base64'), keyId: s.keyId };
}

/**
 * Back from the wire, for `verifyDecision`. Refuses (DECISION_MALFORMED) bytes that are not JSON,
 * too large, or not canonical: the receiver verifies exactly what the hub signed.
 */
export function signedDecisionFromWire(w: SignedDecisionWire): { ok: true; signed: unknown } | { ok: false; code: 'DECISION_MALFORMED'; message: string } {
  if (w.decisionJson.length > MAX_DECISION_BYTES) return { ok: false, code: 'DECISION_MALFORMED', message: `decision of ${w.decisionJson.length} bytes exceeds ${MAX_DECISION_BYTES}` };
  const text = Buffer.from(w.decisionJson).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
    if (canonicalJson(value) !== text) throw new Error('not in canonical form');
  } catch (e) {
    return { ok: false, code: 'DECISION_MALFORMED', message: `decision bytes are not canonical JSON: ${(e as Error).message}` };
  }
  return { ok: true, signed: { decision: value, signature: Buffer.from(w.signature).toString('base64'), keyId: w.keyId } };
}

/** Hex sha256 of bytes, as proposal hashes are written. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function fail(code: DecisionProblemCode, message: string): DecisionResult {
  return { ok: false, code, message };
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ');
}

const short = (hex: string): string => (hex.length > 16 ? `${hex.slice(0, 16)}…` : hex);
const iso = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms));
