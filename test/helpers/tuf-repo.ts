/**
 * A real hub TUF repository in a temp dir (real PEM keys, real signatures) and an edge trust store,
 * for the tuf-* tests. `forgeTargets` writes a targets version the hub API would refuse to sign,
 * as an attacker holding the hub's online keys (but not the offline targets keys) could.
 */
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, MetadataKind, Signature, TargetFile, type Targets } from '@tufjs/models';
import { TrustStore } from '../../edge/policy/update/index.js';
import {
  addTargets,
  exportBundle,
  generateKeyFiles,
  initRepository,
  issueAssignment,
  loadSigningKey,
  publish,
  type RepositoryRoles,
  type SigningKey,
  type WriteOptions,
} from '../../hub/registry/index.js';
import { policyTarget, targetFilePath } from '../../protocols/tuf/index.js';
import { sha256Hex, writeFileAtomic } from '../../hub/registry/repo-files.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const EDGE = { edgeId: 'edge-1', siteId: 'north' } as const;
const EXAMPLE = readFileSync(new URL('../../config/policy.example.yaml', import.meta.url), 'utf8');

export function policyText(version: number): string {
  return EXAMPLE.replace(/^version: \d+$/m, `version: ${version}`);
}

export interface HubFixture {
  tmp: string;
  repo: string;
  /** Wall-clock time the hub signs at (tuf-js judges expiry at the real clock too). */
  t0: number;
  keys: { root: SigningKey[]; targets: SigningKey[]; snapshot: SigningKey; timestamp: SigningKey; assignment: SigningKey; rogue: SigningKey[] };
  opts: WriteOptions;
}

export function key(tmp: string, name: string): SigningKey {
  return loadSigningKey(generateKeyFiles(join(tmp, 'keys'), name).privateKeyFile);
}

export function rolesFor(k: HubFixture['keys']): RepositoryRoles {
  return {
    root: { keys: k.root, threshold: 2 },
    targets: { keys: k.targets, threshold: 2 },
    snapshot: { keys: [k.snapshot], threshold: 1 },
    timestamp: { keys: [k.timestamp], threshold: 1 },
    assignment: { keys: [k.assignment], threshold: 1 },
  };
}

/** Root 2 of 3, targets 2 of 3 (policy owners), online snapshot, timestamp and assignment keys. */
export function makeHub(): HubFixture {
  const tmp = mkdtempSync(join(tmpdir(), 'gridos-tuf-test-'));
  const keys = {
    root: [1, 2, 3].map((i) => key(tmp, `root-${i}`)),
    targets: [1, 2, 3].map((i) => key(tmp, `owner-${i}`)),
    snapshot: key(tmp, 'snapshot'),
    timestamp: key(tmp, 'timestamp'),
    assignment: key(tmp, 'assignment'),
    rogue: [1, 2].map((i) => key(tmp, `rogue-${i}`)),
  };
  const t0 = Date.now();
  const fx: HubFixture = { tmp, repo: join(tmp, 'repo'), t0, keys, opts: { now: () => t0 } };
  initRepository(fx.repo, rolesFor(keys), keys.root.slice(0, 2), fx.opts);
  return fx;
}

/** Releases policy `version` (2 of 3 owners), publishes, and assigns it to EDGE. */
export function release(fx: HubFixture, version: number, opts: WriteOptions = fx.opts): void {
  const bytes = Buffer.from(policyText(version));
  const target = policyTarget('north-feeders', version);
  addTargets(fx.repo, { add: [{ target, bytes, custom: { gridos: { kind: 'policy', id: 'north-feeders', version } } }] }, fx.keys.targets.slice(0, 2), opts);
  publishAndAssign(fx, version, opts);
}

export function publishAndAssign(fx: HubFixture, version: number, opts: WriteOptions = fx.opts, edge: { edgeId: string; siteId: string } = EDGE): void {
  publish(fx.repo, { snapshot: [fx.keys.snapshot], timestamp: [fx.keys.timestamp] }, opts);
  issueAssignment(fx.repo, { ...edge, policy: policyTarget('north-feeders', version) }, [fx.keys.assignment], opts);
}

let exports = 0;
/** Exports the repository's published state to a fresh directory (removable media). */
export function exportMedia(fx: HubFixture): string {
  const out = join(fx.tmp, `media-${++exports}`);
  exportBundle(fx.repo, out);
  return out;
}

/** Writes targets v+1 with policy `version`, signed by whatever `signers` (no threshold check). */
export function forgeTargets(fx: HubFixture, version: number, signers: readonly SigningKey[]): void {
  const md = JSON.parse(readFileSync(join(fx.repo, 'metadata', latestTargets(fx) + '.targets.json'), 'utf8')) as Parameters<typeof Metadata.fromJSON>[1];
  const prev: Metadata<Targets> = Metadata.fromJSON(MetadataKind.Targets, md);
  const bytes = Buffer.from(policyText(version));
  const target = policyTarget('north-feeders', version);
  const sha256 = sha256Hex(bytes);
  const json = prev.signed.toJSON() as Record<string, unknown>;
  const targets = { ...(json['targets'] as object), [target]: new TargetFile({ path: target, length: bytes.length, hashes: { sha256 } }).toJSON() };
  const forged = Metadata.fromJSON(MetadataKind.Targets, { signed: { ...json, version: prev.signed.version + 1, targets }, signatures: [] } as unknown as Parameters<typeof Metadata.fromJSON>[1]);
  for (const s of signers) forged.sign((data) => new Signature({ keyID: s.keyId, sig: sign(null, data, s.privateKey).toString('hex') }));
  writeFileAtomic(join(fx.repo, targetFilePath(target, sha256)), bytes);
  writeFileSync(join(fx.repo, 'metadata', `${forged.signed.version}.targets.json`), JSON.stringify(forged.toJSON(), null, 2) + '\n');
}

function latestTargets(fx: HubFixture): number {
  let v = 1;
  while (true) {
    try {
      readFileSync(join(fx.repo, 'metadata', `${v + 1}.targets.json`));
      v++;
    } catch {
      return v;
    }
  }
}

/** An edge trust store provisioned with the hub's root v1. */
export function newEdge(fx: HubFixture, name = 'edge'): TrustStore {
  const store = new TrustStore(join(fx.tmp, `${name}.db`));
  store.provision(readFileSync(join(fx.repo, 'metadata', '1.root.json'), 'utf8'));
  return store;
}
