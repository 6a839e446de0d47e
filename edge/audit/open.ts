/**
 * The agent's audit log lives in its own SQLite file, `<dataDir>/audit.db`, apart from the
 * readings store: its records are kept forever while readings are compacted and dropped, and a
 * separate process (`gridos bundle import`) appends to it while the agent runs (WAL, busy wait).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeAuditLog } from './log.js';
import { openSqliteFile } from '../store/sqlite-file.js';

export interface OpenEdgeAudit {
  readonly log: EdgeAuditLog;
  close(): void;
}

export const EDGE_AUDIT_FILE = 'audit.db';

export function openEdgeAudit(dataDir: string, edgeId: string): OpenEdgeAudit {
  mkdirSync(dataDir, { recursive: true });
  const db = openSqliteFile(join(dataDir, EDGE_AUDIT_FILE));
  const log = new EdgeAuditLog(db, { chainId: edgeId, table: 'audit' });
  return { log, close: () => db.close() };
}
