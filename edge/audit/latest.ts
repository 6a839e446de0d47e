/**
 * The newest record of each asked kind in the edge's audit chain, read without the agent's help
 * (`gridos policy status` on the gateway): opens `<dataDir>/audit.db` read-only, never creates it.
 * Returns an empty map when there is no audit file yet.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { recordOfRow, type AuditRecord, type AuditRow } from '../../protocols/audit/index.js';
import { EDGE_AUDIT_FILE } from './open.js';

export function latestAuditRecords(dataDir: string, kinds: readonly string[]): Map<string, AuditRecord> {
  const file = join(dataDir, EDGE_AUDIT_FILE);
  const out = new Map<string, AuditRecord>();
  if (!existsSync(file)) return out;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit'").get();
    if (!hasTable) return out;
    const q = db.prepare<[string], AuditRow>('SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM audit WHERE kind = ? ORDER BY seq DESC LIMIT 1');
    for (const kind of kinds) {
      const row = q.get(kind);
      if (row) out.set(kind, recordOfRow(row));
    }
    return out;
  } finally {
    db.close();
  }
}
