/**
 * @module edge/policy/update
 * Signed policy and model delivery, edge side: a tuf-js client over HTTP or a directory (the same
 * code path), the hub's per-edge assignment, a SQLite trust store with a time floor, atomic
 * activation. Refusals are values with EDGE_TUF_* codes; the active policy stays as it was.
 *
 * @example
 *   const store = new TrustStore('/var/lib/gridos/trust.db');
 *   if (store.metadata('root') === undefined) store.provision(readFileSync('1.root.json', 'utf8'));
 *   const r = await updateFrom(store, '/media/usb/gridos', { edgeId: 'e1', siteId: 's1' });
 *   if ('installed' in r) engine = compilePolicy(parsePolicy(r.installed.policyText, r.installed.target));
 *   else audit(r.refused.code, r.refused.message);
 *   const { expired } = trustStatus(store, Date.now()); // -> PolicyContext.policyExpired
 */
export { TrustStore, TRUSTED_ROLES, ConcurrentUpdateError } from './trust-store.js';
export type { InstalledPolicy, TrustedRole, Activation } from './trust-store.js';
export { updateFrom } from './update.js';
export type { UpdateOptions, UpdateResult, UpdateInstalled } from './update.js';
export type { InstalledModel } from './models.js';
export { trustStatus } from './status.js';
export { auditedUpdate, PolicyJournal, policyRef } from './journal.js';
export type { PolicyRef } from './journal.js';
export type { TrustStatus } from './status.js';
export type { OfferedUpdate, UpdateRefusal, UpdateRefusalCode } from './refusal.js';
