/**
 * The edge's audit log: the shared append-only chain table (protocols/audit/log.ts), plus
 *  - the one query the dispatch audit feed needs: the records of a proposal (`subject.proposalId`),
 *    through an index on that expression, so asking at every restart stays a lookup however long
 *    the chain;
 *  - telling listeners (the hub sync) after each append in this process. Appends by another
 *    process (`gridos bundle import`) are not told: the sync also looks periodically.
 */
import type Database from 'better-sqlite3';
import { AuditLog, type AuditLogOptions } from '../../protocols/audit/log.js';
import type { AuditEntry, AuditRecord, AuditRow } from '../../protocols/audit/index.js';

export type { AuditLogOptions } from '../../protocols/audit/log.js';

export class EdgeAuditLog extends AuditLog {
  private readonly byProposal: Database.Statement<[string], AuditRow>;
  private readonly listeners = new Set<(record: AuditRecord) => void>();

  constructor(db: Database.Database, options: AuditLogOptions) {
    super(db, options);
    // the constructor above checked the table name
    const t = options.table ?? 'audit';
    // json_valid first: a row someone tampered into text that is not JSON must not make writes or this query throw
    const proposalId = `(CASE WHEN json_valid(subject) THEN json_extract(subject, '$.proposalId') END)`;
    db.exec(`CREATE INDEX IF NOT EXISTS ${t}_proposal ON ${t} ${proposalId}`);
    this.byProposal = db.prepare(`SELECT seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash FROM ${t} WHERE ${proposalId} = ? ORDER BY seq`);
  }

  /** The records whose subject names `proposalId`, in chain order. */
  ofProposal(proposalId: string): AuditRow[] {
    return this.byProposal.all(proposalId);
  }

  override append(entry: AuditEntry): AuditRecord {
    const record = super.append(entry);
    for (const l of this.listeners) l(record);
    return record;
  }

  override appendMany(entries: readonly AuditEntry[]): AuditRecord[] {
    const records = super.appendMany(entries);
    for (const r of records) for (const l of this.listeners) l(r);
    return records;
  }

  /** Calls `listener` after each append; returns the unsubscribe. A listener must not throw. */
  onAppend(listener: (record: AuditRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
