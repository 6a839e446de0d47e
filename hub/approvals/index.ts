/**
 * @module hub/approvals
 * Escalated proposals from edges, decided by people at the hub, answered with signed decisions.
 *
 * @example
 *   const store = new ApprovalStore(hubStore.sqlite());
 *   const approvals = new Approvals({ store, key: loadOrCreateDecisionKey(path), audit, now, logger });
 *   await approvals.act(1, { name: 'ana', role: 'operator' }, 'approve', 'ok for the evening peak');
 */
export { ApprovalStore, ESCALATION_STATES } from './store.js';
export type { EscalationRow, EscalationState, ApprovalRow } from './store.js';
export { Approvals } from './approvals.js';
export type { ApprovalErrorCode, ActResult, DecisionPublisher } from './approvals.js';
export { loadOrCreateDecisionKey } from './decision-key.js';
export type { DecisionKey } from './decision-key.js';
export { approvalRoutes } from './routes.js';
