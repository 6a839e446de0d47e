/**
 * The hub's own audit log: the shared append-only chain table (protocols/audit/log.ts). The hub
 * keeps each edge's checkpoints apart from this chain.
 */
import { AuditLog } from '../../protocols/audit/log.js';

export type { AuditLogOptions } from '../../protocols/audit/log.js';

export class HubAuditLog extends AuditLog {}
