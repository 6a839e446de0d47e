/**
 * The per-edge assignment: which policy version and which model artifacts one edge should run,
 * signed by the hub's online assignment key (ed25519 over the canonical JSON of `signed`, TUF
 * style). The edge installs only what the assignment names AND the TUF targets metadata lists
 * with the same length and sha256: the offline targets keys decide what may run anywhere, the
 * online assignment key only where.
 *
 *   { "signed": { "type": "gridos-assignment", "edgeId", "siteId", "version", "issuedAt", "expires",
 *                 "policy": { "target", "version", "sha256", "length" },
 *                 "models": [{ "target", "sha256", "length" }] },
 *     "signatures": [{ "keyid", "sig" }] }
 */
import { createPrivateKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { isValidId } from '../topics.js';
import { canonicalJson } from './canonical-json.js';
import { publicKeyFromHex, tufKeyId, tufKeyJson, tufPublicKey, type TufPublicKey } from './keys.js';
import { parseModelTarget, parsePolicyTarget } from './layout.js';

export const ASSIGNMENT_TYPE = 'gridos-assignment';
/** An assignment file larger than this is not read (a source cannot feed endless data). */
export const MAX_ASSIGNMENT_BYTES = 64 * 1024;

const gridId = z.string().refine(isValidId, { message: "expected an id of 1-64 letters, digits, '_', '.', '-'" });
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected a sha256 of 64 lowercase hex characters' });
const length = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const isoTime = z.iso.datetime();

export const assignmentSchema = z.strictObject({
  type: z.literal(ASSIGNMENT_TYPE),
  edgeId: gridId,
  siteId: gridId,
  /** Raised with every assignment to this edge; the edge refuses a lower one. */
  version: z.number().int().min(1),
  issuedAt: isoTime,
  expires: isoTime,
  policy: z.strictObject({
    target: z.string().refine((t) => parsePolicyTarget(t) !== undefined, { message: 'expected a policy target policies/<id>/<version>.yaml' }),
    version: z.number().int().min(1),
    sha256,
    length,
  }),
  models: z.array(
    z.strictObject({
      target: z.string().refine((t) => parseModelTarget(t) !== undefined, { message: 'expected a model target models/<id>/<version>/(model.onnx|card.json)' }),
      sha256,
      length,
    }),
  ),
});
export type Assignment = z.output<typeof assignmentSchema>;

export const signedAssignmentSchema = z.strictObject({
  signed: z.unknown(),
  signatures: z.array(z.strictObject({ keyid: z.string(), sig: z.string() })).max(16),
});
export type SignedAssignment = { signed: Assignment; signatures: { keyid: string; sig: string }[] };

export type AssignmentProblemCode =
  | 'ASSIGNMENT_MALFORMED'
  | 'ASSIGNMENT_SIGNATURE'
  | 'ASSIGNMENT_WRONG_EDGE'
  | 'ASSIGNMENT_WRONG_SITE'
  | 'ASSIGNMENT_EXPIRED'
  | 'ASSIGNMENT_INCONSISTENT';
export interface AssignmentProblem {
  code: AssignmentProblemCode;
  message: string;
}
export type AssignmentResult = { ok: true; assignment: Assignment } | { ok: false; problems: AssignmentProblem[] };

/** The keys that may sign assignments, and how many must. */
export interface AssignmentTrust {
  keys: readonly TufPublicKey[];
  threshold: number;
}

/** Signs an assignment with each private key (ed25519 KeyObjects or PEM text). */
export function signAssignment(assignment: Assignment, privateKeys: readonly (KeyObject | string)[]): SignedAssignment {
  const body = Buffer.from(canonicalJson(assignment));
  const signatures = privateKeys.map((k) => {
    const key = typeof k === 'string' ? createPrivateKey(k) : k;
    return { keyid: tufPublicKey(key).keyId, sig: sign(null, body, key).toString('hex') };
  });
  return { signed: assignment, signatures };
}

/**
 * Verifies a signed assignment: shape, `threshold` valid signatures by distinct trusted keys,
 * meant for this edge and site, not expired at `referenceTimeMs`. Returns every problem found.
 */
export function verifyAssignment(doc: unknown, trust: AssignmentTrust, expect: { edgeId: string; siteId: string; referenceTimeMs: number }): AssignmentResult {
  const outer = signedAssignmentSchema.safeParse(doc);
  if (!outer.success) return fail('ASSIGNMENT_MALFORMED', `not a signed assignment: ${outer.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`);
  const inner = assignmentSchema.safeParse(outer.data.signed);
  if (!inner.success) return fail('ASSIGNMENT_MALFORMED', `assignment fields: ${inner.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ')}`);
  const a = inner.data;
  const problems: AssignmentProblem[] = [];

  let body: Buffer;
  try {
    body = Buffer.from(canonicalJson(outer.data.signed));
  } catch (e) {
    return fail('ASSIGNMENT_MALFORMED', `assignment is not canonical JSON: ${(e as Error).message}`);
  }
  const valid = new Set<string>();
  for (const s of outer.data.signatures) {
    const key = trust.keys.find((k) => k.keyId === s.keyid);
    if (!key || !/^[0-9a-f]{128}$/.test(s.sig)) continue;
    if (verify(null, body, publicKeyFromHex(key.publicKeyHex), Buffer.from(s.sig, 'hex'))) valid.add(key.keyId);
  }
  const threshold = Math.max(1, trust.threshold);
  if (valid.size < threshold) {
    problems.push({ code: 'ASSIGNMENT_SIGNATURE', message: `assignment carries ${valid.size} valid signature(s) by trusted assignment keys, ${threshold} required (unknown key, altered content, or too few signers)` });
  }
  if (a.edgeId !== expect.edgeId) problems.push({ code: 'ASSIGNMENT_WRONG_EDGE', message: `assignment is for edge '${a.edgeId}', this is edge '${expect.edgeId}'` });
  if (a.siteId !== expect.siteId) problems.push({ code: 'ASSIGNMENT_WRONG_SITE', message: `assignment is for site '${a.siteId}', this edge is at site '${expect.siteId}'` });
  if (Date.parse(a.expires) <= expect.referenceTimeMs) {
    problems.push({ code: 'ASSIGNMENT_EXPIRED', message: `assignment v${a.version} expired at ${a.expires} (reference time ${new Date(expect.referenceTimeMs).toISOString()})` });
  }
  const named = parsePolicyTarget(a.policy.target);
  if (named && named.version !== a.policy.version) {
    problems.push({ code: 'ASSIGNMENT_INCONSISTENT', message: `assignment names policy version ${a.policy.version} but target ${a.policy.target}` });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, assignment: a };
}

function fail(code: AssignmentProblemCode, message: string): AssignmentResult {
  return { ok: false, problems: [{ code, message }] };
}

/** The value of root's ASSIGNMENT_KEYS_FIELD for these keys. */
export function assignmentTrustField(keys: readonly TufPublicKey[], threshold: number): { keys: Record<string, ReturnType<typeof tufKeyJson>>; threshold: number } {
  return { keys: Object.fromEntries(keys.map((k) => [k.keyId, tufKeyJson(k.publicKeyHex)])), threshold };
}

const trustFieldSchema = z.strictObject({
  keys: z.record(z.string(), z.strictObject({ keytype: z.literal('ed25519'), scheme: z.literal('ed25519'), keyval: z.strictObject({ public: z.string().regex(/^[0-9a-f]{64}$/) }) })),
  threshold: z.number().int().min(1),
});

/**
 * Reads root's ASSIGNMENT_KEYS_FIELD; undefined when absent or malformed. A key whose id is not
 * the hash of its own JSON is dropped, so a root cannot smuggle one key under another's id.
 */
export function parseAssignmentTrust(field: unknown): AssignmentTrust | undefined {
  const r = trustFieldSchema.safeParse(field);
  if (!r.success) return undefined;
  const keys = Object.entries(r.data.keys)
    .filter(([id, k]) => tufKeyId(k.keyval.public) === id)
    .map(([keyId, k]) => ({ keyId, publicKeyHex: k.keyval.public }));
  return { keys, threshold: r.data.threshold };
}
