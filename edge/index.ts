/**
 * @module edge
 * The edge agent. Never imports hub/: it meets the hub only through protocols/ on the wire.
 *
 * @example
 *   const agent = await startAgent(loadEdgeConfig('edge.yaml'), { logger });
 *   await agent.sourcesReady;
 *   // ... later
 *   await agent.stop();
 */
export { startAgent, configHash, AGENT_VERSION } from './agent.js';
export type { Agent, AgentDeps } from './agent.js';
export { EdgeStore } from './store/edge-store.js';
export type { Source, SourceState } from './sources/source.js';
export { validateReadings } from './pipeline/validate.js';
export type { TagLimits, Rejected, RejectReason, Validated } from './pipeline/validate.js';
export { WindowAggregator } from './pipeline/aggregate.js';
export type { Aggregate } from './pipeline/aggregate.js';
export { batchReadings } from './pipeline/batch.js';
