/**
 * `gridos audit verify`: reads an audit chain from a SQLite file (the table edge/audit and
 * hub/audit write) and names the first broken record. Exit 0: intact; 1: broken; 2: the file or
 * table cannot be read.
 */
import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { EXIT_CONFIG } from './options.js';

/** Exit code when the chain is broken. */
const EXIT_BROKEN = 1;

function fail(message: string): never {
  process.stderr.write(`gridos audit: ${message}\n`);
  process.exit(EXIT_CONFIG);
}

function tableName(value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new InvalidArgumentError(`expected an SQL table name, got '${value}'`);
  return value;
}

interface VerifyCliOptions {
  db: string;
  table: string;
  json?: boolean;
}

function verifyCommand(): Command {
  return new Command('verify')
    .description('verify an audit chain: every record links to the one before and matches its hash; names the first broken record')
    .requiredOption('--db <file>', 'the SQLite file holding the audit table')
    .option('--table <name>', 'the audit table', tableName, 'audit')
    .option('--json', 'print the result as JSON')
    .action(async (o: VerifyCliOptions) => {
      if (!existsSync(o.db)) fail(`no such file: ${o.db}`);
      const { default: Database } = await import('better-sqlite3');
      const { verifyChain } = await import('../protocols/audit/index.js');
      type AuditRow = import('../protocols/audit/index.js').AuditRow;
      let rows: AuditRow[];
      try {
        const db = new Database(o.db, { readonly: true, fileMustExist: true });
        try {
          const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(o.table);
          if (!exists) fail(`${o.db} has no table '${o.table}'`);
          rows = db.prepare<[], AuditRow>(`SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM ${o.table} ORDER BY seq`).all();
        } finally {
          db.close();
        }
      } catch (err) {
        fail(`cannot read ${o.db}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const result = verifyChain(rows);
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else if (result.ok) process.stdout.write(`ok: ${result.records} records, head ${result.head.hash}\n`);
      else process.stdout.write(`broken at record ${result.at}: ${result.code}: ${result.message}\n`);
      process.exitCode = result.ok ? 0 : EXIT_BROKEN;
    });
}

export function auditCommand(): Command {
  return new Command('audit').description('audit chains: verify the append-only record of what the edge and hub decided and did').addCommand(verifyCommand());
}
