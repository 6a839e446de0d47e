/**
 * `gridos policy status`: what is signed and where, from either end.
 *   --repo <dir>        the hub's repository: role versions and expiries, targets, assignments
 *   --config edge.yaml  an edge: the installed policy (what the running agent enforces: it syncs
 *                       with the trust store every period), its trust expiry, the time floor, and
 *                       from the audit chain the last install, refusal and expiry
 * The edge's trust store is `<storage.dataDir>/trust.db` and its audit chain `audit.db`; a missing
 * one is reported, never created.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exitOnConfigError } from './options.js';
import { fail, failOnRegistryError } from './tuf-cli.js';

/** The edge's trust store file. */
export function trustStoreFile(dataDir: string): string {
  return join(dataDir, 'trust.db');
}

/** The edge's policy state, a value (not a log line): NOT_PROVISIONED, NO_POLICY, POLICY_EXPIRED or ACTIVE. */
export type EdgePolicyState = 'NOT_PROVISIONED' | 'NO_POLICY' | 'POLICY_EXPIRED' | 'ACTIVE';

export function policyStatusCommand(): Command {
  return new Command('status')
    .description('show signed policy state: of the hub repository (--repo) or of an edge (--config)')
    .option('--repo <dir>', "the hub's TUF repository")
    .option('--config <edge.yaml>', "an edge's config (reads <storage.dataDir>/trust.db)")
    .option('--json', 'print one JSON object')
    .action(async (o: { repo?: string; config?: string; json?: boolean }) => {
      if ((o.repo === undefined) === (o.config === undefined)) fail('policy status', 'give exactly one of --repo <dir> (hub) or --config <edge.yaml> (edge)');
      if (o.repo !== undefined) await repoStatus(o.repo, o.json === true);
      else await edgeStatus(o.config!, o.json === true);
    });
}

async function repoStatus(repo: string, json: boolean): Promise<void> {
  const { repositoryStatus } = await import('../hub/registry/index.js');
  let s;
  try {
    s = repositoryStatus(repo);
  } catch (err) {
    failOnRegistryError('policy status', err);
  }
  if (json) {
    process.stdout.write(JSON.stringify(s) + '\n');
    return;
  }
  const role = (name: string, r: { version: number; expires: string; threshold: number; keyIds: string[] } | undefined) =>
    `  ${name.padEnd(10)} ${r ? `v${r.version}`.padEnd(5) + ` expires ${r.expires}  (${r.threshold} of ${r.keyIds.length} keys)` : '-'}`;
  const lines = [`repository ${repo}`, role('root', s.root), role('targets', s.targets), role('snapshot', s.snapshot), role('timestamp', s.timestamp)];
  const pending = s.targets !== undefined && s.targets.version !== s.publishedTargetsVersion;
  lines.push(`targets (v${s.targets?.version ?? 0}${pending ? `, published: v${s.publishedTargetsVersion}; run gridos policy publish` : ''}):`);
  for (const t of s.targetFiles) lines.push(`  ${t.name}  ${t.length} bytes  sha256 ${t.sha256.slice(0, 16)}...`);
  if (s.targetFiles.length === 0) lines.push('  (none)');
  lines.push('assignments:');
  for (const a of s.assignments) lines.push(`  ${a.siteId}/${a.edgeId}  v${a.version}  ${a.policy}${a.models.length ? ` + ${a.models.length} model file(s)` : ''}  expires ${a.expires}`);
  if (s.assignments.length === 0) lines.push('  (none)');
  process.stdout.write(lines.join('\n') + '\n');
}

async function edgeStatus(configFile: string, json: boolean): Promise<void> {
  const { loadEdgeConfig } = await import('../config/index.js');
  let config;
  try {
    config = loadEdgeConfig(configFile);
  } catch (err) {
    exitOnConfigError(err);
  }
  const file = trustStoreFile(config.storage.dataDir);
  const edge = `${config.edge.site}/${config.edge.id}`;
  if (!existsSync(file)) {
    const out = { edge, trustStore: file, state: 'NOT_PROVISIONED' as EdgePolicyState };
    process.stdout.write(json ? JSON.stringify(out) + '\n' : `edge ${edge}: NOT_PROVISIONED (no ${file}); provision with gridos bundle import <dir> --config ${configFile} --root 1.root.json\n`);
    return;
  }
  const { TrustStore, trustStatus } = await import('../edge/policy/update/index.js');
  const { latestAuditRecords } = await import('../edge/audit/index.js');
  const history = latestAuditRecords(config.storage.dataDir, ['policy.installed', 'policy.refused', 'policy.expired']);
  const event = (kind: string) => {
    const r = history.get(kind);
    return r && { at: iso(r.atMs), seq: r.seq, ...(r.body as Record<string, unknown>) };
  };
  const store = new TrustStore(file);
  try {
    const rootJson = store.metadata('root');
    const st = trustStatus(store, Date.now());
    const state: EdgePolicyState = rootJson === undefined ? 'NOT_PROVISIONED' : !st.installed ? 'NO_POLICY' : st.expired ? 'POLICY_EXPIRED' : 'ACTIVE';
    const rootVersion = rootJson === undefined ? undefined : (JSON.parse(rootJson) as { signed: { version: number } }).signed.version;
    const p = st.installed;
    const out = {
      edge,
      trustStore: file,
      state,
      rootVersion,
      policy: p && { id: p.policyId, version: p.version, target: p.target, sha256: p.sha256, installedAt: iso(p.installedAtMs) },
      expires: st.expiresMs === undefined ? undefined : iso(st.expiresMs),
      expired: st.expired,
      expiredBy: st.expiredBy,
      timeFloor: iso(store.timeFloorMs()),
      assignmentVersion: store.assignment().version,
      lastInstall: event('policy.installed'),
      lastRefusal: event('policy.refused'),
      lastExpiry: event('policy.expired'),
    };
    if (json) {
      process.stdout.write(JSON.stringify(out) + '\n');
      return;
    }
    const lines = [`edge ${edge}: ${state}${state === 'POLICY_EXPIRED' ? ` (${st.expiredBy} expired; every action escalates until a fresh update)` : ''}`];
    lines.push(`  trust store  ${file}, root v${rootVersion ?? '-'}, assignment v${out.assignmentVersion}`);
    if (p) lines.push(`  policy       ${p.policyId} version ${p.version} (${p.target}), sha256 ${p.sha256.slice(0, 16)}..., installed ${out.policy!.installedAt}`);
    if (out.expires) lines.push(`  expires      ${out.expires}${st.expired ? ' (expired)' : ''}`);
    lines.push(`  time floor   ${out.timeFloor}`);
    const r = out.lastRefusal as { at: string; code: string; message: string } | undefined;
    if (r) lines.push(`  last refusal ${r.at} ${r.code}: ${r.message}`);
    const x = out.lastExpiry as { at: string; version: number; expiredBy: string | null } | undefined;
    if (x) lines.push(`  last expiry  ${x.at} version ${x.version} (${x.expiredBy ?? 'expired'})`);
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    store.close();
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
