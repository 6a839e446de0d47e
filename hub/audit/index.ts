/**
 * @module hub/audit
 * The hub's own append-only audit log (SQLite); chain rules and checkpoints are protocols/audit's.
 *
 * @example
 *   const log = new HubAuditLog(db, { chainId: 'hub' });
 *   log.append({ atMs: clock(), kind: 'proposal', subject: { proposalId: 'p1' }, body: { kw: 250 } });
 *   log.verify(); // { ok: true, head, records }
 *   const cp = log.checkpoint(hubKey, clock());
 */
export { HubAuditLog } from './log.js';
export type { AuditLogOptions } from './log.js';
