/** The edge's audit log: the shared append-only chain table (protocols/audit/log.ts). */
import { AuditLog } from '../../protocols/audit/log.js';

export type { AuditLogOptions } from '../../protocols/audit/log.js';

export class EdgeAuditLog extends AuditLog {}
