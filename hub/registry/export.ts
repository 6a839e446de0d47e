/**
 * `bundle export`: everything an air-gapped edge needs, in the repository layout, so that the
 * edge's `updateFrom(<dir>)` runs the same TUF client as over HTTP: every root version (a client
 * two rotations behind walks 2, 3, ... in order), the timestamp, the snapshot and targets it
 * names, their target files, and the assignments.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { MetadataKind } from '@tufjs/models';
import { ASSIGNMENTS_DIR, METADATA_DIR, TIMESTAMP_FILE, assignmentFile, targetFilePath, versionedMetadataFile } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import { latestVersion, readMetadata } from './repo-files.js';

export interface ExportOptions {
  /** Only these edges' assignments; all when omitted. */
  edges?: readonly { siteId: string; edgeId: string }[];
}

/** Copies the published state of the repository at `dir` into the empty (or new) `outDir`; returns the files, relative. */
export function exportBundle(dir: string, outDir: string, options?: ExportOptions): { files: string[] } {
  if (existsSync(outDir) && readdirSync(outDir).length > 0) throw new HubTufError('HUB_TUF_EXPORT_NOT_EMPTY', `${outDir} is not empty; export into a new or empty directory so no stale file rides along`);
  if (!existsSync(join(dir, METADATA_DIR, TIMESTAMP_FILE))) throw new HubTufError('HUB_TUF_NOTHING_TO_PUBLISH', `${dir}: nothing published yet; run publish first`);
  const files: string[] = [];
  const copy = (rel: string) => {
    mkdirSync(dirname(join(outDir, rel)), { recursive: true });
    copyFileSync(join(dir, rel), join(outDir, rel));
    files.push(rel);
  };
  for (let v = 1; v <= latestVersion(dir, 'root'); v++) copy(join(METADATA_DIR, versionedMetadataFile('root', v)));
  const timestamp = readMetadata(dir, MetadataKind.Timestamp);
  copy(join(METADATA_DIR, TIMESTAMP_FILE));
  const snapshotVersion = timestamp.signed.snapshotMeta.version;
  copy(join(METADATA_DIR, versionedMetadataFile('snapshot', snapshotVersion)));
  const targetsVersion = readMetadata(dir, MetadataKind.Snapshot, snapshotVersion).signed.meta['targets.json']?.version ?? 0;
  copy(join(METADATA_DIR, versionedMetadataFile('targets', targetsVersion)));
  for (const t of Object.values(readMetadata(dir, MetadataKind.Targets, targetsVersion).signed.targets)) {
    copy(targetFilePath(t.path, t.hashes['sha256'] ?? ''));
  }
  const assignments = options?.edges
    ? options.edges.map((e) => assignmentFile(e.siteId, e.edgeId)).filter((rel) => existsSync(join(dir, rel)))
    : listFiles(join(dir, ASSIGNMENTS_DIR)).map((f) => relative(dir, f));
  for (const rel of assignments) copy(rel);
  return { files };
}

function listFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}
