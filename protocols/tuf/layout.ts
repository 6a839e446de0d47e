/**
 * Where things live in a gridos TUF repository, on the hub, on an HTTP server and on removable
 * media alike (one layout, so `bundle export` is a copy and `bundle import` the same client):
 *
 *   metadata/<v>.root.json          every root version ever signed (1, 2, ...): a client walks them in order
 *   metadata/timestamp.json         the only unversioned file (TUF 1.0, consistent snapshots)
 *   metadata/<v>.snapshot.json
 *   metadata/<v>.targets.json
 *   targets/<dir>/<sha256>.<name>   a target file under its content hash (TUF consistent targets:
 *                                   the hash prefixes the file name, the target's directory stays)
 *   assignments/<site>/<edge>.json  the hub's signed per-edge assignment (assignment.ts)
 *
 * Target names (the paths inside targets metadata):
 *   policies/<policy-id>/<version>.yaml           one immutable name per policy version, so two
 *                                                 edges can run two versions during a rollout
 *   models/<model-id>/<version>/model.onnx        a model artifact ...
 *   models/<model-id>/<version>/card.json         ... and its card
 * Each policy target carries `custom: { gridos: { kind: "policy", id, version } }`, each model file
 * `custom: { gridos: { kind: "model", id, version } }`.
 */
import { isValidId } from '../topics.js';

export const METADATA_DIR = 'metadata';
export const TARGETS_DIR = 'targets';
export const ASSIGNMENTS_DIR = 'assignments';
export const TIMESTAMP_FILE = 'timestamp.json';

/**
 * The field of root metadata's `signed` part that names the hub's assignment keys:
 * `{ keys: { <keyid>: <TUF ed25519 key> }, threshold: 1 }`. Root's signers (offline) vouch for it,
 * and it rotates with root.
 */
export const ASSIGNMENT_KEYS_FIELD = 'x-gridos-assignment';

export type TopRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const MODEL_FILES = ['model.onnx', 'card.json'] as const;
export type ModelFile = (typeof MODEL_FILES)[number];

/** `<v>.<role>.json`, the versioned metadata file name (consistent snapshots). */
export function versionedMetadataFile(role: Exclude<TopRole, 'timestamp'>, version: number): string {
  if (!Number.isSafeInteger(version) || version < 1) throw new TypeError(`metadata version must be a positive integer, got ${version}`);
  return `${version}.${role}.json`;
}

/** Parses `<v>.root.json`; undefined for any other name. */
export function rootVersionOf(fileName: string): number | undefined {
  const m = /^([1-9]\d{0,9})\.root\.json$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

function checkId(what: string, value: string): void {
  if (!isValidId(value)) throw new TypeError(`${what} '${value}' is not valid: use 1-64 letters, digits, '_', '.', '-', starting with a letter or digit`);
}

export function policyTarget(policyId: string, version: number): string {
  checkId('policy id', policyId);
  if (!Number.isSafeInteger(version) || version < 1) throw new TypeError(`policy version must be a positive integer, got ${version}`);
  return `policies/${policyId}/${version}.yaml`;
}

/** Parses a policy target name back; undefined when it is not one. */
export function parsePolicyTarget(target: string): { policyId: string; version: number } | undefined {
  const m = /^policies\/([^/]+)\/([1-9]\d{0,14})\.yaml$/.exec(target);
  if (!m || !isValidId(m[1]!)) return undefined;
  return { policyId: m[1]!, version: Number(m[2]) };
}

export function modelTarget(modelId: string, version: string, file: ModelFile): string {
  checkId('model id', modelId);
  checkId('model version', version);
  return `models/${modelId}/${version}/${file}`;
}

/** Parses a model target name back; undefined when it is not one. */
export function parseModelTarget(target: string): { modelId: string; version: string; file: ModelFile } | undefined {
  const m = /^models\/([^/]+)\/([^/]+)\/(model\.onnx|card\.json)$/.exec(target);
  if (!m || !isValidId(m[1]!) || !isValidId(m[2]!)) return undefined;
  return { modelId: m[1]!, version: m[2]!, file: m[3] as ModelFile };
}

/** True for the target names this layout defines (nothing else is ever published or fetched). */
export function isKnownTarget(target: string): boolean {
  return parsePolicyTarget(target) !== undefined || parseModelTarget(target) !== undefined;
}

/** Repository-relative path of a target's file: `targets/<dir>/<sha256>.<name>`. */
export function targetFilePath(target: string, sha256Hex: string): string {
  if (!isKnownTarget(target)) throw new TypeError(`'${target}' is not a gridos target name`);
  if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new TypeError('expected a sha256 of 64 lowercase hex characters');
  const slash = target.lastIndexOf('/');
  return `${TARGETS_DIR}/${target.slice(0, slash)}/${sha256Hex}.${target.slice(slash + 1)}`;
}

/** Repository-relative path of an edge's assignment. */
export function assignmentFile(siteId: string, edgeId: string): string {
  checkId('site id', siteId);
  checkId('edge id', edgeId);
  return `${ASSIGNMENTS_DIR}/${siteId}/${edgeId}.json`;
}
