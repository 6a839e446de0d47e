/**
 * Releases: a new targets version (offline targets keys, threshold checked) and its publication
 * (new snapshot and timestamp with the hub's online keys).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetaFile, Metadata, MetadataKind, Snapshot, TargetFile, Targets, Timestamp } from '@tufjs/models';
import { isKnownTarget, targetFilePath } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import type { SigningKey } from './keys.js';
import { SPEC_VERSION } from './repository.js';
import { currentRoot, isoSeconds, latestVersion, readMetadata, resolveOptions, roleOf, sha256Hex, signWithThreshold, writeFileAtomic, writeMetadata, type WriteOptions } from './repo-files.js';

type JSONValue = ConstructorParameters<typeof TargetFile>[0]['unrecognizedFields'] extends Record<string, infer V> | undefined ? V : never;

/** One file to release under a target name (see protocols/tuf/layout.ts for the names). */
export interface TargetInput {
  target: string;
  bytes: Uint8Array;
  /** Stored as the target's `custom` field, e.g. `{ gridos: { kind: 'policy', id, version } }`. */
  custom?: Record<string, JSONValue>;
}

export interface TargetChanges {
  add?: readonly TargetInput[];
  /** Target names to drop from the new targets version (their files stay for older snapshots). */
  remove?: readonly string[];
}

/** Writes targets v+1 = the current targets with `changes`, signed by `targetsSigners` (threshold checked). */
export function addTargets(dir: string, changes: TargetChanges, targetsSigners: readonly SigningKey[], options?: WriteOptions): { targetsVersion: number } {
  const root = currentRoot(dir);
  const { nowMs, expiries } = resolveOptions(options);
  const current = latestVersion(dir, 'targets');
  const previous = current > 0 ? readMetadata(dir, MetadataKind.Targets, current).signed.targets : {};
  const targets: Record<string, TargetFile> = { ...previous };
  for (const name of changes.remove ?? []) delete targets[name];
  const files: [string, Uint8Array][] = [];
  for (const t of changes.add ?? []) {
    if (!isKnownTarget(t.target)) throw new HubTufError('HUB_TUF_BAD_TARGET', `'${t.target}' is not a gridos target name (policies/<id>/<version>.yaml or models/<id>/<version>/model.onnx|card.json)`);
    const sha256 = sha256Hex(t.bytes);
    const before = previous[t.target];
    if (before && before.hashes['sha256'] !== sha256) {
      throw new HubTufError('HUB_TUF_TARGET_CHANGED', `${t.target} was released with other content (sha256 ${before.hashes['sha256']?.slice(0, 12)}...); a released version never changes: raise the version`);
    }
    targets[t.target] = new TargetFile({ path: t.target, length: t.bytes.length, hashes: { sha256 }, unrecognizedFields: t.custom ? { custom: t.custom } : {} });
    files.push([targetFilePath(t.target, sha256), t.bytes]);
  }
  const version = current + 1;
  const md = new Metadata(new Targets({ version, specVersion: SPEC_VERSION, expires: isoSeconds(nowMs + expiries.targetsMs), targets }));
  signWithThreshold(md, 'targets', [roleOf(root, 'targets')], targetsSigners);
  for (const [path, bytes] of files) if (!existsSync(join(dir, path))) writeFileAtomic(join(dir, path), bytes);
  writeMetadata(dir, md);
  return { targetsVersion: version };
}

export interface OnlineSigners {
  snapshot: readonly SigningKey[];
  timestamp: readonly SigningKey[];
}

/** Publishes the current targets: snapshot v+1 (targets version, length, sha256), then timestamp v+1. */
export function publish(dir: string, signers: OnlineSigners, options?: WriteOptions): { snapshotVersion: number; timestampVersion: number; targetsVersion: number } {
  const root = currentRoot(dir);
  const { nowMs, expiries } = resolveOptions(options);
  const targetsVersion = latestVersion(dir, 'targets');
  if (targetsVersion === 0) throw new HubTufError('HUB_TUF_NOTHING_TO_PUBLISH', `${dir}: no targets released yet; run addTargets first`);
  const targetsBytes = readFileSync(join(dir, 'metadata', `${targetsVersion}.targets.json`));
  const snapshotVersion = latestVersion(dir, 'snapshot') + 1;
  const snapshot = new Metadata(
    new Snapshot({
      version: snapshotVersion,
      specVersion: SPEC_VERSION,
      expires: isoSeconds(nowMs + expiries.snapshotMs),
      meta: { 'targets.json': new MetaFile({ version: targetsVersion, length: targetsBytes.length, hashes: { sha256: sha256Hex(targetsBytes) } }) },
    }),
  );
  signWithThreshold(snapshot, 'snapshot', [roleOf(root, 'snapshot')], signers.snapshot);
  const timestampVersion = existsSync(join(dir, 'metadata', 'timestamp.json')) ? readMetadata(dir, MetadataKind.Timestamp).signed.version + 1 : 1;
  // Sign the timestamp before writing anything, so a threshold failure leaves the repository as it was.
  const draftSnapshotBytes = Buffer.from(JSON.stringify(snapshot.toJSON(), null, 2) + '\n');
  const timestamp = new Metadata(
    new Timestamp({
      version: timestampVersion,
      specVersion: SPEC_VERSION,
      expires: isoSeconds(nowMs + expiries.timestampMs),
      snapshotMeta: new MetaFile({ version: snapshotVersion, length: draftSnapshotBytes.length, hashes: { sha256: sha256Hex(draftSnapshotBytes) } }),
    }),
  );
  signWithThreshold(timestamp, 'timestamp', [roleOf(root, 'timestamp')], signers.timestamp);
  const written = writeMetadata(dir, snapshot);
  if (!written.equals(draftSnapshotBytes)) throw new Error('snapshot serialisation is not stable');
  writeMetadata(dir, timestamp);
  return { snapshotVersion, timestampVersion, targetsVersion };
}
