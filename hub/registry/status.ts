/**
 * What a repository holds, for people: the newest version and expiry of each top-level role, the
 * targets of the newest targets version, and every per-edge assignment. Reads files only.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { ASSIGNMENTS_DIR, METADATA_DIR, TIMESTAMP_FILE, type SignedAssignment } from '../../protocols/tuf/index.js';
import { currentRoot, latestVersion, readMetadata, roleOf } from './repo-files.js';

export interface RoleStatus {
  version: number;
  expires: string;
  /** Keys and threshold, as the current root defines the role. */
  keyIds: string[];
  threshold: number;
}

export interface RepositoryStatus {
  root: RoleStatus;
  /** Undefined until the first release (targets) or publication (snapshot, timestamp). */
  targets: RoleStatus | undefined;
  snapshot: RoleStatus | undefined;
  timestamp: RoleStatus | undefined;
  /** Targets of the newest targets version (published or not). */
  targetFiles: { name: string; length: number; sha256: string }[];
  /** The targets version the timestamp currently publishes, 0 when nothing is published. */
  publishedTargetsVersion: number;
  assignments: { siteId: string; edgeId: string; version: number; expires: string; policy: string; models: string[] }[];
}

/** Reads the repository at `dir` (HUB_TUF_REPO_MISSING when there is none). */
export function repositoryStatus(dir: string): RepositoryStatus {
  const root = currentRoot(dir);
  const role = (name: 'root' | 'targets' | 'snapshot' | 'timestamp', version: number, expires: string): RoleStatus => {
    const r = roleOf(root, name);
    return { version, expires, keyIds: [...r.keyIDs], threshold: r.threshold };
  };
  const targetsVersion = latestVersion(dir, 'targets');
  const targetsMd = targetsVersion > 0 ? readMetadata(dir, MetadataKind.Targets, targetsVersion) : undefined;
  const snapshotVersion = latestVersion(dir, 'snapshot');
  const snapshotMd = snapshotVersion > 0 ? readMetadata(dir, MetadataKind.Snapshot, snapshotVersion) : undefined;
  const timestampMd = existsSync(join(dir, METADATA_DIR, TIMESTAMP_FILE)) ? readMetadata(dir, MetadataKind.Timestamp) : undefined;
  const published = timestampMd ? readMetadata(dir, MetadataKind.Snapshot, timestampMd.signed.snapshotMeta.version).signed.meta['targets.json']?.version ?? 0 : 0;
  return {
    root: role('root', root.signed.version, root.signed.expires),
    targets: targetsMd && role('targets', targetsMd.signed.version, targetsMd.signed.expires),
    snapshot: snapshotMd && role('snapshot', snapshotMd.signed.version, snapshotMd.signed.expires),
    timestamp: timestampMd && role('timestamp', timestampMd.signed.version, timestampMd.signed.expires),
    targetFiles: Object.values(targetsMd?.signed.targets ?? {})
      .map((t) => ({ name: t.path, length: t.length, sha256: t.hashes['sha256'] ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    publishedTargetsVersion: published,
    assignments: assignmentFiles(join(dir, ASSIGNMENTS_DIR)).map((file) => {
      const a = (JSON.parse(readFileSync(file, 'utf8')) as SignedAssignment).signed;
      return { siteId: a.siteId, edgeId: a.edgeId, version: a.version, expires: a.expires, policy: a.policy.target, models: a.models.map((m) => m.target) };
    }),
  };
}

function assignmentFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => join(e.parentPath, e.name))
    .sort((a, b) => relative(root, a).split(sep).join('/').localeCompare(relative(root, b).split(sep).join('/')));
}
