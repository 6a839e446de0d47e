/**
 * Per-edge assignments: which policy version and model files one edge should run, signed by the
 * hub's online assignment key(s) that the current root names. Every target must be in the current
 * targets metadata; length and sha256 are copied from there, so the edge's two checks agree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import {
  ASSIGNMENT_KEYS_FIELD,
  ASSIGNMENT_TYPE,
  assignmentFile,
  parseAssignmentTrust,
  parsePolicyTarget,
  signAssignment,
  type SignedAssignment,
} from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import type { SigningKey } from './keys.js';
import { currentRoot, isoSeconds, latestVersion, readMetadata, resolveOptions, writeFileAtomic, type WriteOptions } from './repo-files.js';

export interface AssignmentRequest {
  edgeId: string;
  siteId: string;
  /** A policy target name, e.g. policyTarget('north-feeders', 7). */
  policy: string;
  /** Model target names (model.onnx and card.json of each model). */
  models?: readonly string[];
}

/** Signs and writes `assignments/<site>/<edge>.json`, one version above the edge's previous one. */
export function issueAssignment(dir: string, request: AssignmentRequest, signers: readonly SigningKey[], options?: WriteOptions): SignedAssignment {
  const root = currentRoot(dir);
  const { nowMs, expiries } = resolveOptions(options);
  const targetsVersion = latestVersion(dir, 'targets');
  if (targetsVersion === 0) throw new HubTufError('HUB_TUF_NOTHING_TO_PUBLISH', `${dir}: no targets released yet`);
  const targets = readMetadata(dir, MetadataKind.Targets, targetsVersion).signed.targets;
  const info = (name: string) => {
    const t = targets[name];
    const sha256 = t?.hashes['sha256'];
    if (!t || !sha256) throw new HubTufError('HUB_TUF_UNKNOWN_TARGET', `${name} is not in targets v${targetsVersion}; release it with addTargets first`);
    return { target: name, sha256, length: t.length };
  };
  const named = parsePolicyTarget(request.policy);
  if (!named) throw new HubTufError('HUB_TUF_BAD_TARGET', `'${request.policy}' is not a policy target (policies/<id>/<version>.yaml)`);

  const trust = parseAssignmentTrust(root.signed.unrecognizedFields[ASSIGNMENT_KEYS_FIELD]);
  if (!trust) throw new HubTufError('HUB_TUF_BAD_ROLES', `root v${root.signed.version} names no assignment keys`);
  const trusted = new Set(trust.keys.map((k) => k.keyId));
  for (const s of signers) {
    if (!trusted.has(s.keyId)) throw new HubTufError('HUB_TUF_KEY_NOT_IN_ROLE', `key ${s.keyId.slice(0, 12)}... is not an assignment key of root v${root.signed.version}`);
  }
  const distinct = [...new Map(signers.map((s) => [s.keyId, s])).values()];
  if (distinct.length < trust.threshold) throw new HubTufError('HUB_TUF_THRESHOLD_NOT_MET', `assignments need ${trust.threshold} assignment key(s), got ${distinct.length}`);

  const file = join(dir, assignmentFile(request.siteId, request.edgeId));
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as SignedAssignment).signed.version : 0;
  const signed = signAssignment(
    {
      type: ASSIGNMENT_TYPE,
      edgeId: request.edgeId,
      siteId: request.siteId,
      version: previous + 1,
      issuedAt: isoSeconds(nowMs),
      expires: isoSeconds(nowMs + expiries.assignmentMs),
      policy: { ...info(request.policy), version: named.version },
      models: (request.models ?? []).map(info),
    },
    distinct.map((s) => s.privateKey),
  );
  writeFileAtomic(file, JSON.stringify(signed, null, 2) + '\n');
  return signed;
}
