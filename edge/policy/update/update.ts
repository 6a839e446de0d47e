/**
 * `updateFrom(store, source)`: one update of the edge's policy (and model files) from an HTTP
 * repository or a directory (removable media), through the same tuf-js client. Checks, in order:
 *
 *  1. the root chain on the source has no gap above the trusted root (directories list theirs);
 *  2. tuf-js: root rotation, signatures and thresholds, rollback, mix-and-match, freeze (at the
 *     wall clock: tuf-js fixes its reference time to `new Date()` and offers no option);
 *  3. freeze again at the reference time max(now(), time floor): every trusted document's expiry;
 *  4. the hub's assignment: signed by the assignment key(s) the trusted root names, for this edge
 *     and site, not expired, not older than the accepted one;
 *  5. every target it names is in the targets metadata with the same sha256 and length; the policy
 *     is not older than the installed one; tuf-js downloads and checks each file's length and hash;
 *  6. the policy validates and is the policy its target name says.
 * Then one SQLite transaction activates it all. Any refusal leaves the store as it was (only the
 * time floor may have risen to the clock reading).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, MetadataKind, type Root, type TargetFile } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { parsePolicy } from '../../../config/policy-load.js';
import {
  ASSIGNMENT_KEYS_FIELD,
  MAX_ASSIGNMENT_BYTES,
  assignmentFile,
  canonicalJson,
  parseAssignmentTrust,
  parsePolicyTarget,
  verifyAssignment,
  type Assignment,
  type AssignmentProblem,
} from '../../../protocols/tuf/index.js';
import { installModels, type InstalledModel } from './models.js';
import { classifyTufError, refusal, type OfferedUpdate, type UpdateRefusal } from './refusal.js';
import { metadataUrl, missingRootVersion, openSource, targetsUrl, type UpdateSource } from './source.js';
import { ConcurrentUpdateError, TRUSTED_ROLES, type TrustStore, type TrustedRole } from './trust-store.js';

export interface UpdateOptions {
  edgeId: string;
  siteId: string;
  /** The clock, ms since the epoch; Date.now by default. */
  now?: () => number;
  /** Where model files go (`<modelsDir>/<id>/<version>/<file>`); model targets are verified but not kept without it. */
  modelsDir?: string;
  fetchTimeoutMs?: number;
}

export interface UpdateInstalled {
  policyText: string;
  policyId: string;
  target: string;
  version: number;
  sha256: string;
  /** False when the source held what was already installed (the trusted metadata may still have moved on). */
  changed: boolean;
  models: InstalledModel[];
}
export type UpdateResult = { installed: UpdateInstalled } | { refused: UpdateRefusal };

type JSONObject = Parameters<typeof Metadata.fromJSON>[1];

/** Runs one update from `source` (an http(s) URL or a directory); never throws for a bad source. */
export async function updateFrom(store: TrustStore, source: string, options: UpdateOptions): Promise<UpdateResult> {
  const trustedRoot = store.metadata('root');
  if (trustedRoot === undefined) return refusal('EDGE_TUF_NOT_PROVISIONED', 'this edge holds no trusted root; provision it with the hub root (1.root.json) first');
  const referenceTimeMs = store.observeClock((options.now ?? Date.now)());
  const src = openSource(source, { fetchTimeoutMs: options.fetchTimeoutMs });

  const rootVersion = (JSON.parse(trustedRoot) as { signed: { version: number } }).signed.version;
  const gap = missingRootVersion(rootVersion, src.rootVersions() ?? []);
  if (gap) {
    return refusal('EDGE_TUF_ROOT_CHAIN_BROKEN', `${src.describe} carries root v${gap.highest} but not v${gap.missing}; this edge trusts root v${rootVersion} and must walk every version in order. Export again with every intermediate root`);
  }

  const work = mkdtempSync(join(tmpdir(), 'gridos-tuf-'));
  const offered: OfferedUpdate = {};
  try {
    const r = await runUpdate(store, src, work, referenceTimeMs, options, offered);
    return 'refused' in r ? { refused: { ...r.refused, offered } } : r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** One update in `work`; fills `offered` as it learns what the source offers. */
async function runUpdate(store: TrustStore, src: UpdateSource, work: string, referenceTimeMs: number, options: UpdateOptions, offered: OfferedUpdate): Promise<UpdateResult> {
  const basedOn = { assignmentVersion: store.assignment().version, timestampJson: store.metadata('timestamp') };
  for (const role of TRUSTED_ROLES) {
    const json = store.metadata(role);
    if (json !== undefined) writeFileSync(join(work, `${role}.json`), json);
  }
  const updater = new Updater({ metadataDir: work, metadataBaseUrl: metadataUrl(src), targetDir: work, targetBaseUrl: targetsUrl(src), fetcher: src.fetcher });
  try {
    await updater.refresh();
  } catch (e) {
    return classifyTufError(e, 'metadata');
  }

  // What tuf-js now trusts (it persisted each file it accepted into `work`).
  const trusted = {} as Record<TrustedRole, string>;
  for (const role of TRUSTED_ROLES) trusted[role] = readFileSync(join(work, `${role}.json`), 'utf8');
  offered.targetsVersion = (JSON.parse(trusted.targets) as { signed: { version: number } }).signed.version;
  for (const role of TRUSTED_ROLES) {
    const expires = (JSON.parse(trusted[role]) as { signed: { expires: string } }).signed.expires;
    if (Date.parse(expires) <= referenceTimeMs) {
      return refusal('EDGE_TUF_EXPIRED', `${role} metadata expired at ${expires}; reference time ${iso(referenceTimeMs)} (the later of the clock and the time floor, so setting the clock back does not help). Bring a fresh export from the hub`);
    }
  }
  const root: Metadata<Root> = Metadata.fromJSON(MetadataKind.Root, JSON.parse(trusted.root) as JSONObject);

  // The assignment.
  let assignmentBytes: Buffer;
  try {
    assignmentBytes = await src.fetcher.downloadBytes(`${src.baseUrl}${assignmentFile(options.siteId, options.edgeId)}`, MAX_ASSIGNMENT_BYTES);
  } catch (e) {
    return refusal('EDGE_TUF_NO_ASSIGNMENT', `no assignment for edge '${options.edgeId}' at site '${options.siteId}' on ${src.describe} (${(e as Error).message}); issue one at the hub and export again`);
  }
  const trust = parseAssignmentTrust(root.signed.unrecognizedFields[ASSIGNMENT_KEYS_FIELD]);
  if (!trust) return refusal('EDGE_TUF_ASSIGNMENT_SIGNATURE', `trusted root v${root.signed.version} names no assignment key, so no assignment can be trusted`);
  let doc: unknown;
  try {
    doc = JSON.parse(assignmentBytes.toString('utf8'));
  } catch {
    return refusal('EDGE_TUF_ASSIGNMENT_MISMATCH', 'the assignment file is not JSON');
  }
  const checked = verifyAssignment(doc, trust, { edgeId: options.edgeId, siteId: options.siteId, referenceTimeMs });
  if (!checked.ok) return assignmentRefusal(checked.problems);
  const a = checked.assignment;
  Object.assign(offered, { assignmentVersion: a.version, policyTarget: a.policy.target, policyVersion: a.policy.version, policySha256: a.policy.sha256 });
  const accepted = store.assignment();
  if (a.version < accepted.version) return refusal('EDGE_TUF_ROLLBACK', `assignment v${a.version} is older than the accepted v${accepted.version}`);
  if (a.version === accepted.version && accepted.json !== undefined && canonicalJson((JSON.parse(accepted.json) as { signed: unknown }).signed) !== canonicalJson(a)) {
    return refusal('EDGE_TUF_ROLLBACK', `assignment v${a.version} differs from the v${a.version} already accepted; the hub must raise the version`);
  }

  // Assignment against targets metadata, then the policy itself.
  const infos = new Map<string, TargetFile>();
  for (const t of [a.policy, ...a.models]) {
    const info = await updater.getTargetInfo(t.target);
    if (!info) return refusal('EDGE_TUF_ASSIGNMENT_MISMATCH', `the assignment names ${t.target}, which the targets metadata does not list`);
    if (info.length !== t.length || info.hashes['sha256'] !== t.sha256) {
      return refusal('EDGE_TUF_ASSIGNMENT_MISMATCH', `the assignment and the targets metadata disagree on ${t.target} (sha256 ${t.sha256.slice(0, 12)}... / ${String(info.hashes['sha256']).slice(0, 12)}..., length ${t.length} / ${info.length})`);
    }
    infos.set(t.target, info);
  }
  const named = parsePolicyTarget(a.policy.target)!;
  const current = store.installed();
  if (current && current.policyId === named.policyId) {
    if (a.policy.version < current.version) return refusal('EDGE_TUF_ROLLBACK', `policy ${named.policyId} v${a.policy.version} is older than the installed v${current.version}`);
    if (a.policy.version === current.version && a.policy.sha256 !== current.sha256) {
      return refusal('EDGE_TUF_ROLLBACK', `policy ${named.policyId} v${a.policy.version} differs from the installed v${current.version} of the same number; the hub must raise the version`);
    }
  }
  const policyFile = join(work, 'policy.yaml');
  try {
    await updater.downloadTarget(infos.get(a.policy.target)!, policyFile);
  } catch (e) {
    return classifyTufError(e, 'target');
  }
  const policyText = readFileSync(policyFile, 'utf8');
  let policyId: string;
  try {
    const policy = parsePolicy(policyText, a.policy.target);
    if (policy.id !== named.policyId || policy.version !== named.version) {
      return refusal('EDGE_TUF_POLICY_INVALID', `${a.policy.target} holds policy ${policy.id} v${policy.version}, not what its name says`);
    }
    policyId = policy.id;
  } catch (e) {
    return refusal('EDGE_TUF_POLICY_INVALID', `${a.policy.target} does not validate: ${(e as Error).message}`);
  }

  let models: InstalledModel[];
  try {
    models = await installModels(updater, a, infos, work, options.modelsDir);
  } catch (e) {
    return classifyTufError(e, 'target');
  }

  const changed = !current || current.sha256 !== a.policy.sha256 || current.policyId !== policyId;
  try {
    store.activate({
      basedOn,
      metadata: trusted,
      assignmentJson: assignmentBytes.toString('utf8'),
      assignmentVersion: a.version,
      signedTimeMs: Date.parse(a.issuedAt),
      policy: {
        target: a.policy.target,
        policyId,
        version: a.policy.version,
        sha256: a.policy.sha256,
        length: a.policy.length,
        policyText,
        installedAtMs: changed || !current ? referenceTimeMs : current.installedAtMs,
      },
    });
  } catch (e) {
    if (e instanceof ConcurrentUpdateError) return refusal('EDGE_TUF_CONCURRENT_UPDATE', e.message);
    throw e;
  }
  return { installed: { policyText, policyId, target: a.policy.target, version: a.policy.version, sha256: a.policy.sha256, changed, models } };
}

function assignmentRefusal(problems: readonly AssignmentProblem[]): { refused: UpdateRefusal } {
  const text = problems.map((p) => p.message).join('; ');
  const has = (code: AssignmentProblem['code']) => problems.some((p) => p.code === code);
  if (has('ASSIGNMENT_SIGNATURE')) return refusal('EDGE_TUF_ASSIGNMENT_SIGNATURE', text);
  if (has('ASSIGNMENT_WRONG_EDGE') || has('ASSIGNMENT_WRONG_SITE')) return refusal('EDGE_TUF_WRONG_EDGE', text);
  if (has('ASSIGNMENT_EXPIRED')) return refusal('EDGE_TUF_EXPIRED', `${text}; bring a fresh export from the hub`);
  return refusal('EDGE_TUF_ASSIGNMENT_MISMATCH', text);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export type { Assignment };
