/**
 * @module hub
 * The hub: broker, ingest, store, HTTP API and console. Never imports edge/: it meets edges
 * only through protocols/ on the wire.
 *
 * @example
 *   const hub = await buildHub(loadHubConfig(undefined), { logger });
 *   const { httpUrl, brokerUrl } = await hub.start();
 *   // ... later
 *   await hub.stop();
 */
export { buildHub } from './hub.js';
export type { Hub, HubDeps, HubEndpoints, HubRoute } from './hub.js';
export { HubStore } from './store/hub-store.js';
export type { EdgeRow, TagRow, StoredReading } from './store/hub-store.js';
export { ONLINE_WITHIN_MS } from './http/api.js';
export type { IngestErrorCode } from './ingest/ingest.js';
export { HubAuditLog } from './audit/index.js';
export { UserStore, ROLES } from './auth/index.js';
export type { Role } from './auth/index.js';
export { Approvals } from './approvals/index.js';
export type { EscalationRow, EscalationState } from './approvals/index.js';
