/**
 * @module edge/audit
 * The edge's append-only audit log (SQLite); chain rules and checkpoints are protocols/audit's.
 *
 * @example
 *   const log = new EdgeAuditLog(db, { chainId: 'edge-1' });
 *   log.append({ atMs: clock(), kind: 'proposal', subject: { proposalId: 'p1' }, body: { kw: 250 } });
 *   log.verify(); // { ok: true, head, records }
 *   const cp = log.checkpoint(edgeKey, clock());
 *   // the agent sends the chain to the hub's mirror, in signed runs, through the outbox:
 *   new AuditHubSync({ edgeId: 'edge-1', log, key: loadOrCreateEdgeKey(dataDir), store, draft, onQueued, ... }).start();
 */
export { EdgeAuditLog } from './log.js';
export type { AuditLogOptions } from './log.js';
export { EDGE_AUDIT_FILE, openEdgeAudit, type OpenEdgeAudit } from './open.js';
export { latestAuditRecords } from './latest.js';
export { EDGE_KEY_FILE, loadOrCreateEdgeKey } from './key.js';
export { AuditHubSync, type AuditHubSyncOptions } from './sync.js';
