/**
 * The hub's TUF repository (layout in protocols/tuf/layout.ts), written with @tufjs/models.
 *
 * Roles: root and targets are offline keys with k-of-n thresholds (e.g. 2 of 3 policy owners);
 * snapshot, timestamp and the gridos assignment key are the hub's online keys. Every operation
 * checks the threshold before it writes, and writes nothing when it is not met.
 *
 *   init -> root v1;  addTargets -> targets v+1 (offline);  publish -> snapshot v+1, timestamp v+1 (online);
 *   rotateRoot -> root v+1 signed by the old root's threshold AND the new one's.
 */
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { ASSIGNMENT_KEYS_FIELD, assignmentTrustField, tufKeyJson, type TufPublicKey } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import type { SigningKey } from './keys.js';
import { currentRoot, isoSeconds, latestVersion, resolveOptions, roleOf, signWithThreshold, writeMetadata, type WriteOptions } from './repo-files.js';

export const SPEC_VERSION = '1.0.31';
type JSONObject = Parameters<typeof Metadata.fromJSON>[1];

/** Keys and threshold of one role. */
export interface RoleKeys {
  keys: readonly TufPublicKey[];
  threshold: number;
}
/** Every role a gridos root defines. */
export interface RepositoryRoles {
  root: RoleKeys;
  targets: RoleKeys;
  snapshot: RoleKeys;
  timestamp: RoleKeys;
  /** The online key(s) that sign per-edge assignments (carried in root, see ASSIGNMENT_KEYS_FIELD). */
  assignment: RoleKeys;
}

function checkRoles(roles: RepositoryRoles): void {
  for (const [name, r] of Object.entries(roles) as [string, RoleKeys][]) {
    const ids = new Set(r.keys.map((k) => k.keyId));
    if (r.keys.length === 0) throw new HubTufError('HUB_TUF_BAD_ROLES', `${name}: no keys`);
    if (ids.size !== r.keys.length) throw new HubTufError('HUB_TUF_BAD_ROLES', `${name}: the same key is listed twice`);
    if (!Number.isInteger(r.threshold) || r.threshold < 1 || r.threshold > r.keys.length) {
      throw new HubTufError('HUB_TUF_BAD_ROLES', `${name}: threshold ${r.threshold} must be between 1 and its ${r.keys.length} key(s)`);
    }
  }
}

function buildRoot(version: number, expires: string, roles: RepositoryRoles): Metadata<Root> {
  const keys: Record<string, ReturnType<typeof tufKeyJson>> = {};
  const roleJson: Record<string, { keyids: string[]; threshold: number }> = {};
  for (const name of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    const r = roles[name];
    for (const k of r.keys) keys[k.keyId] = tufKeyJson(k.publicKeyHex);
    roleJson[name] = { keyids: r.keys.map((k) => k.keyId), threshold: r.threshold };
  }
  const signed = {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version,
    expires,
    consistent_snapshot: true,
    keys,
    roles: roleJson,
    [ASSIGNMENT_KEYS_FIELD]: assignmentTrustField(roles.assignment.keys, roles.assignment.threshold),
  };
  return Metadata.fromJSON(MetadataKind.Root, { signed, signatures: [] } as unknown as JSONObject);
}

/** Creates `dir/metadata/1.root.json`, signed by `rootSigners` (at least the root threshold). */
export function initRepository(dir: string, roles: RepositoryRoles, rootSigners: readonly SigningKey[], options?: WriteOptions): { rootVersion: 1 } {
  if (latestVersion(dir, 'root') > 0) throw new HubTufError('HUB_TUF_REPO_EXISTS', `${dir} already holds a TUF repository; rotate its root instead of starting over`);
  checkRoles(roles);
  const { nowMs, expiries } = resolveOptions(options);
  const root = buildRoot(1, isoSeconds(nowMs + expiries.rootMs), roles);
  signWithThreshold(root, 'root', [roleOf(root, 'root')], rootSigners);
  writeMetadata(dir, root);
  return { rootVersion: 1 };
}

/**
 * Writes root v+1 with `roles`, signed by the current root's threshold AND the new root's threshold
 * (a signer may count for both). Publish afterwards when the online keys changed.
 */
export function rotateRoot(dir: string, roles: RepositoryRoles, signers: readonly SigningKey[], options?: WriteOptions): { rootVersion: number } {
  const old = currentRoot(dir);
  checkRoles(roles);
  const { nowMs, expiries } = resolveOptions(options);
  const version = old.signed.version + 1;
  const root = buildRoot(version, isoSeconds(nowMs + expiries.rootMs), roles);
  signWithThreshold(root, 'root', [roleOf(old, 'root'), roleOf(root, 'root')], signers);
  writeMetadata(dir, root);
  return { rootVersion: version };
}

/** The public keys a root lists for a role (to carry roles over into a rotation). */
export function rolesOf(dir: string): RepositoryRoles {
  const root = currentRoot(dir);
  const keysOf = (name: 'root' | 'targets' | 'snapshot' | 'timestamp'): RoleKeys => {
    const r = roleOf(root, name);
    return { keys: r.keyIDs.map((id) => ({ keyId: id, publicKeyHex: root.signed.keys[id]?.keyVal['public'] ?? '' })), threshold: r.threshold };
  };
  const a = root.signed.unrecognizedFields[ASSIGNMENT_KEYS_FIELD] as { keys: Record<string, { keyval: { public: string } }>; threshold: number } | undefined;
  return {
    root: keysOf('root'),
    targets: keysOf('targets'),
    snapshot: keysOf('snapshot'),
    timestamp: keysOf('timestamp'),
    assignment: { keys: Object.entries(a?.keys ?? {}).map(([keyId, k]) => ({ keyId, publicKeyHex: k.keyval.public })), threshold: a?.threshold ?? 1 },
  };
}
