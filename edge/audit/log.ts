/**
 * The edge's audit log: the shared append-only chain table (protocols/audit/log.ts), telling
 * listeners (the hub sync) after each append in this process. Appends by another process
 * (`gridos bundle import`) are not told: the sync also looks periodically.
 */
import { AuditLog } from '../../protocols/audit/log.js';
import type { AuditEntry, AuditRecord } from '../../protocols/audit/index.js';

export type { AuditLogOptions } from '../../protocols/audit/log.js';

export class EdgeAuditLog extends AuditLog {
  private readonly listeners = new Set<(record: AuditRecord) => void>();

  override append(entry: AuditEntry): AuditRecord {
    const record = super.append(entry);
    for (const l of this.listeners) l(record);
    return record;
  }

  /** Calls `listener` after each append; returns the unsubscribe. A listener must not throw. */
  onAppend(listener: (record: AuditRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
