/**
 * `gridos audit verify`: reads an audit chain from a SQLite file (the table edge/audit and
 * hub/audit write), or an edge's chain as the hub mirrors it (`--hub-data <dir> --edge <id>`),
 * and names the first broken record. Exit 0: intact; 1: broken; 2: the file or table cannot be read.
 *
 * `gridos audit key --config edge.yaml`: the edge's audit key (created if it does not exist yet),
 * its public half printed as PEM for the hub's `audit.edgeKeys`.
 */
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadEdgeConfig } from '../config/index.js';
import { EXIT_CONFIG, exitOnConfigError } from './options.js';

/** Exit code when the chain is broken. */
const EXIT_BROKEN = 1;
/** The hub store's file in its data dir (hub/hub.ts). */
const HUB_DB_FILE = 'hub.db';

function fail(message: string): never {
  process.stderr.write(`gridos audit: ${message}\n`);
  process.exit(EXIT_CONFIG);
}

function tableName(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new InvalidArgumentError(`expected an SQL table name, got '${value}'`);
  return value;
}

interface VerifyCliOptions {
  db?: string;
  table: string;
  hubData?: string;
  edge?: string;
  json?: boolean;
}

type AuditRow = import('../protocols/audit/index.js').AuditRow;

/** The rows to verify and what they are, per the options; exits 2 when they cannot be read. */
async function readRows(o: VerifyCliOptions): Promise<AuditRow[]> {
  const hubForm = o.hubData !== undefined || o.edge !== undefined;
  if (hubForm && o.db !== undefined) fail('give either --db, or --hub-data with --edge, not both');
  if (hubForm && (o.hubData === undefined || o.edge === undefined)) fail('--hub-data and --edge go together: the hub data dir and the edge whose mirrored chain to verify');
  if (!hubForm && o.db === undefined) fail('give --db <file> (an audit table), or --hub-data <dir> --edge <id> (an edge chain mirrored at the hub)');
  const file = hubForm ? join(o.hubData!, HUB_DB_FILE) : o.db!;
  const table = hubForm ? 'edge_audit' : o.table;
  if (!existsSync(file)) fail(`no such file: ${file}`);
  const { default: Database } = await import('better-sqlite3');
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
      if (!exists) fail(hubForm ? `${file} holds no mirrored edge audit chains (the hub has not received any)` : `${file} has no table '${table}'`);
      if (hubForm) {
        const { mirroredRows } = await import('../hub/audit/index.js');
        const rows = mirroredRows(db, o.edge!);
        if (rows.length === 0) fail(`${file} holds no audit records of edge '${o.edge}'`);
        return rows;
      }
      return db.prepare<[], AuditRow>(`SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM ${table} ORDER BY seq`).all();
    } finally {
      db.close();
    }
  } catch (err) {
    fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function verifyCommand(): Command {
  return new Command('verify')
    .description('verify an audit chain: every record links to the one before and matches its hash; names the first broken record')
    .option('--db <file>', 'the SQLite file holding the audit table (an edge\'s <dataDir>/audit.db, or the hub\'s hub.db)')
    .option('--table <name>', 'the audit table', tableName, 'audit')
    .option('--hub-data <dir>', 'the hub\'s data dir: verify an edge\'s chain as the hub mirrors it (with --edge)')
    .option('--edge <id>', 'the edge whose mirrored chain to verify (with --hub-data)')
    .option('--json', 'print the result as JSON')
    .action(async (o: VerifyCliOptions) => {
      const rows = await readRows(o);
      const { verifyChain } = await import('../protocols/audit/index.js');
      const result = verifyChain(rows);
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`ok: ${result.records} records, head ${result.head.hash}\n`);
      else process.stdout.write(`broken at record ${result.at}: ${result.code}: ${result.message}\n`);
      process.exitCode = result.ok ? 0 : EXIT_BROKEN;
    });
}

function keyCommand(): Command {
  return new Command('key')
    .description("print the edge's audit key (public half, PEM) that signs its checkpoints; created at <dataDir>/edge-key.pem if missing. Register it at the hub: audit.edgeKeys.<edge id>: <file>")
    .requiredOption('-c, --config <file>', 'edge config file (YAML)')
    .option('--json', 'print the edge id, key id and PEM as JSON')
    .action(async (o: { config: string; json?: boolean }) => {
      let config;
      try {
        config = loadEdgeConfig(o.config);
      } catch (err) {
        exitOnConfigError(err);
      }
      const { loadOrCreateEdgeKey, EDGE_KEY_FILE } = await import('../edge/audit/index.js');
      const key = loadOrCreateEdgeKey(config.storage.dataDir);
      const edgeId = config.edge.id;
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ edgeId, keyId: key.keyId, publicKeyPem: key.publicKeyPem, file: join(config.storage.dataDir, EDGE_KEY_FILE) })}\n`);
        return;
      }
      process.stdout.write(key.publicKeyPem);
      process.stderr.write(`edge ${edgeId}: audit key ${key.keyId}\nsave the PEM above as a file at the hub and add to its config:\n  audit:\n    edgeKeys:\n      ${edgeId}: <that file>\n`);
    });
}

export function auditCommand(): Command {
  return new Command('audit')
    .description('audit chains: verify the append-only record of what the edge and hub decided and did; the edge key that signs its checkpoints')
    .addCommand(verifyCommand())
    .addCommand(keyCommand());
}
