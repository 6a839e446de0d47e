/**
 * `gridos bundle export | import`: signed policies across an air gap. `export` copies the
 * repository's published state (every root version, timestamp, snapshot, targets, files,
 * assignments) to removable media; `import` runs the edge's TUF update on it, the same client
 * and checks as over HTTP (a hub URL works too). The first import provisions trust from a root
 * file the operator names (--root): trust is never taken from the media itself. Each install and
 * refusal is a record in the edge's audit chain (<dataDir>/audit.db), as when the agent updates.
 */
import { Command } from 'commander';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitOnConfigError } from './options.js';
import { trustStoreFile } from './policy-status.js';
import { collect, EXIT_REFUSED, fail, failOnRegistryError } from './tuf-cli.js';

function exportCommand(): Command {
  return new Command('export')
    .description('copy the published repository to a new or empty folder (removable media) for edges without a network')
    .requiredOption('--repo <dir>', 'the TUF repository')
    .requiredOption('--out <dir>', 'a new or empty folder')
    .option('--edge <site/edge>', "only this edge's assignment (repeat); all assignments when omitted", collect)
    .action(async (o: { repo: string; out: string; edge?: string[] }) => {
      const { exportBundle } = await import('../hub/registry/index.js');
      const edges = (o.edge ?? []).map((e) => {
        const m = /^([^/]+)\/([^/]+)$/.exec(e);
        if (!m) fail('bundle export', `--edge expects <site>/<edge>, got '${e}'`);
        return { siteId: m[1]!, edgeId: m[2]! };
      });
      try {
        const { files } = exportBundle(o.repo, o.out, o.edge ? { edges } : undefined);
        const assignments = files.filter((f) => f.startsWith('assignments'));
        process.stdout.write(`exported ${files.length} files to ${o.out} (${assignments.length} assignment(s))\n`);
      } catch (err) {
        failOnRegistryError('bundle export', err);
      }
    });
}

interface ImportOptions {
  config: string;
  root?: string;
  modelsDir?: string;
  json?: boolean;
}

function importCommand(): Command {
  return new Command('import')
    .description("verify and install this edge's assigned policy from a bundle folder (or the hub's http(s)://.../tuf/ URL); exit 1 when refused")
    .argument('<source>', 'bundle folder (gridos bundle export) or the hub URL')
    .requiredOption('--config <edge.yaml>', "the edge's config: edge.id, edge.site, storage.dataDir (trust store <dataDir>/trust.db)")
    .option('--root <1.root.json>', 'first import only: the hub root this edge trusts, from the hub operator (not from the media)')
    .option('--models-dir <dir>', 'where assigned model files go (default <storage.dataDir>/models)')
    .option('--json', 'print the result as one JSON object')
    .action(async (source: string, o: ImportOptions) => {
      const { loadEdgeConfig } = await import('../config/index.js');
      let config;
      try {
        config = loadEdgeConfig(o.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const file = trustStoreFile(config.storage.dataDir);
      if (!existsSync(file) && o.root === undefined) {
        refused('EDGE_TUF_NOT_PROVISIONED', `this edge holds no trusted root (${file}); pass --root with the hub's 1.root.json, obtained from the hub operator, on the first import`, o.json === true);
      }
      const rootText = o.root === undefined ? undefined : readRoot(o.root);
      const { TrustStore, auditedUpdate, PolicyJournal } = await import('../edge/policy/update/index.js');
      const { openEdgeAudit } = await import('../edge/audit/index.js');
      const store = new TrustStore(file);
      // The agent's audit chain, appended beside a running agent (WAL, busy wait): same records, same code path.
      const audit = openEdgeAudit(config.storage.dataDir, config.edge.id);
      try {
        if (store.metadata('root') === undefined) {
          if (rootText === undefined) refused('EDGE_TUF_NOT_PROVISIONED', `this edge holds no trusted root (${file}); pass --root with the hub's 1.root.json`, o.json === true);
          try {
            store.provision(rootText);
          } catch (err) {
            fail('bundle import', `${o.root} is not a root signed by its own threshold: ${(err as Error).message}`);
          }
          const version = (JSON.parse(rootText) as { signed: { version: number } }).signed.version;
          process.stderr.write(`gridos bundle import: trust provisioned from ${o.root}: root v${version}, sha256 ${createHash('sha256').update(rootText).digest('hex')}\n`);
        } else if (rootText !== undefined && rootText !== store.metadata('root')) {
          process.stderr.write(`gridos bundle import: trust already provisioned; --root ignored (root rotations arrive signed in the bundle)\n`);
        }
        const options = { edgeId: config.edge.id, siteId: config.edge.site, modelsDir: o.modelsDir ?? join(config.storage.dataDir, 'models') };
        const r = await auditedUpdate(store, source, options, new PolicyJournal(audit.log, Date.now));
        if ('refused' in r) refused(r.refused.code, r.refused.message, o.json === true);
        const p = r.installed;
        if (o.json) process.stdout.write(JSON.stringify({ installed: { policyId: p.policyId, version: p.version, target: p.target, sha256: p.sha256, changed: p.changed, models: p.models } }) + '\n');
        else {
          process.stdout.write(`${p.changed ? 'installed' : 'already installed'} policy ${p.policyId} version ${p.version} (${p.target}, sha256 ${p.sha256.slice(0, 16)}...)\n`);
          for (const m of p.models) process.stdout.write(`  model ${m.modelId}@${m.version}: ${m.path ?? m.target}\n`);
        }
      } finally {
        store.close();
        audit.close();
      }
    });
}

function readRoot(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    fail('bundle import', `--root: ${(err as Error).message}`);
  }
}

function refused(code: string, message: string, json: boolean): never {
  if (json) process.stdout.write(JSON.stringify({ refused: { code, message } }) + '\n');
  fail('bundle import', `${code}: ${message}`, EXIT_REFUSED);
}

export function bundleCommand(): Command {
  return new Command('bundle').description('signed policies on removable media: export at the hub, import at an edge').addCommand(exportCommand()).addCommand(importCommand());
}
