/**
 * Reading and writing the repository's metadata files, and signing with threshold checks.
 * Files are written whole to a temporary name and renamed, so a crash leaves the old or the new file.
 */
import { createHash, sign } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Metadata, MetadataKind, Signature, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { METADATA_DIR, TIMESTAMP_FILE, rootVersionOf, versionedMetadataFile } from '../../protocols/tuf/index.js';
import { HubTufError } from './errors.js';
import type { SigningKey } from './keys.js';

type AnyMetadata = Metadata<Root> | Metadata<Timestamp> | Metadata<Snapshot> | Metadata<Targets>;
type JSONObject = Parameters<typeof Metadata.fromJSON>[1];

export const DAY_MS = 86_400_000;

/** How long each kind of document stays valid after it is signed. */
export interface Expiries {
  rootMs: number;
  targetsMs: number;
  snapshotMs: number;
  timestampMs: number;
  assignmentMs: number;
}
export const DEFAULT_EXPIRIES: Readonly<Expiries> = Object.freeze({ rootMs: 365 * DAY_MS, targetsMs: 90 * DAY_MS, snapshotMs: 7 * DAY_MS, timestampMs: DAY_MS, assignmentMs: 7 * DAY_MS });

/** Options every writing operation takes: an injectable clock and expiry overrides. */
export interface WriteOptions {
  now?: () => number;
  expiries?: Partial<Expiries>;
}
export function resolveOptions(o: WriteOptions | undefined): { nowMs: number; expiries: Expiries } {
  return { nowMs: (o?.now ?? Date.now)(), expiries: { ...DEFAULT_EXPIRIES, ...o?.expiries } };
}

/** TUF's expiry format: ISO 8601 UTC to the second. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function metadataDir(dir: string): string {
  return join(dir, METADATA_DIR);
}

/** Highest `<v>.<role>.json` version present, 0 when none. */
export function latestVersion(dir: string, role: 'root' | 'snapshot' | 'targets'): number {
  if (!existsSync(metadataDir(dir))) return 0;
  let max = 0;
  for (const name of readdirSync(metadataDir(dir))) {
    const v = role === 'root' ? rootVersionOf(name) : Number(new RegExp(`^([1-9]\\d{0,9})\\.${role}\\.json$`).exec(name)?.[1] ?? 0);
    if (v !== undefined && v > max) max = v;
  }
  return max;
}

export function readMetadata(dir: string, kind: MetadataKind.Root, version: number): Metadata<Root>;
export function readMetadata(dir: string, kind: MetadataKind.Snapshot, version: number): Metadata<Snapshot>;
export function readMetadata(dir: string, kind: MetadataKind.Targets, version: number): Metadata<Targets>;
export function readMetadata(dir: string, kind: MetadataKind.Timestamp): Metadata<Timestamp>;
export function readMetadata(dir: string, kind: MetadataKind, version?: number): AnyMetadata {
  const file = kind === MetadataKind.Timestamp ? TIMESTAMP_FILE : versionedMetadataFile(kind, version ?? 0);
  const data = JSON.parse(readFileSync(join(metadataDir(dir), file), 'utf8')) as JSONObject;
  return Metadata.fromJSON(kind as MetadataKind.Root, data);
}

/** The newest root, or HUB_TUF_REPO_MISSING. */
export function currentRoot(dir: string): Metadata<Root> {
  const v = latestVersion(dir, 'root');
  if (v === 0) throw new HubTufError('HUB_TUF_REPO_MISSING', `${dir}: no TUF repository (no ${METADATA_DIR}/1.root.json); run init first`);
  return readMetadata(dir, MetadataKind.Root, v);
}

/** Serialises and writes metadata; returns the bytes written (snapshot and timestamp hash them). */
export function writeMetadata(dir: string, md: AnyMetadata): Buffer {
  const bytes = Buffer.from(JSON.stringify(md.toJSON(), null, 2) + '\n');
  const kind = md.signed.type;
  writeFileAtomic(join(metadataDir(dir), kind === MetadataKind.Timestamp ? TIMESTAMP_FILE : versionedMetadataFile(kind, md.signed.version)), bytes);
  return bytes;
}

/** A role as root defines it: key ids and threshold. */
export interface RoleDef {
  keyIDs: readonly string[];
  threshold: number;
}

/**
 * Signs `md` with every signer the role lists; throws HUB_TUF_KEY_NOT_IN_ROLE for a signer it
 * does not list (unless `extraRoles` lists it) and HUB_TUF_THRESHOLD_NOT_MET when too few signed.
 */
export function signWithThreshold(md: AnyMetadata, roleName: string, roles: readonly RoleDef[], signers: readonly SigningKey[]): void {
  const allowed = new Set(roles.flatMap((r) => r.keyIDs));
  for (const s of signers) {
    if (!allowed.has(s.keyId)) throw new HubTufError('HUB_TUF_KEY_NOT_IN_ROLE', `key ${s.keyId.slice(0, 12)}... is not a ${roleName} key of this repository; nothing was signed`);
  }
  for (const role of roles) {
    const signed = new Set(signers.filter((s) => role.keyIDs.includes(s.keyId)).map((s) => s.keyId));
    if (signed.size < role.threshold) {
      throw new HubTufError('HUB_TUF_THRESHOLD_NOT_MET', `${roleName} needs ${role.threshold} of its ${role.keyIDs.length} keys, got ${signed.size}; nothing was written. Gather more key holders`);
    }
  }
  const seen = new Set<string>();
  for (const s of signers) {
    if (seen.has(s.keyId)) continue;
    seen.add(s.keyId);
    md.sign((data) => new Signature({ keyID: s.keyId, sig: sign(null, data, s.privateKey).toString('hex') }));
  }
}

/** The role definition root holds for `role`. */
export function roleOf(root: Metadata<Root>, role: 'root' | 'targets' | 'snapshot' | 'timestamp'): RoleDef {
  const r = root.signed.roles[role];
  if (!r) throw new HubTufError('HUB_TUF_REPO_MISSING', `root v${root.signed.version} defines no ${role} role`);
  return r;
}
