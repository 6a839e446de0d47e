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
export type { ActivePolicy, ActivePolicyView } from './policy/update/active.js';
export { EdgeStore } from './store/edge-store.js';
export { LatestValues } from './latest-values.js';
export type { LatestValue } from './latest-values.js';
export type { DispatchLoop, DispatchPolicyView, CycleReport } from './dispatch/loop.js';
export type { Source, SourceState, SourceStats } from './sources/source.js';
export { Ingest } from './pipeline/ingest.js';
export type { TagRule, IngestOptions, IngestResult, Rejected, RejectReason } from './pipeline/ingest.js';
export { TagOrder, Arrival } from './pipeline/order.js';
export { TagQuality } from './pipeline/quality.js';
export type { QualityRule } from './pipeline/quality.js';
export { TagWindows } from './pipeline/windows.js';
export type { Aggregate } from './pipeline/windows.js';
export { batchReadings } from './pipeline/batch.js';
export type { BatchOptions } from './pipeline/batch.js';
export { FlowControl } from './pipeline/flow-control.js';
export { SparkplugSession, discoveredTagId } from './sources/mqtt/sparkplug-session.js';
export { readJsonMessage, topicMatches } from './sources/mqtt/json-mapping.js';
export { encodeChunk, decodeChunk } from './store/chunks.js';
export { compilePolicy, PolicyEngineError } from './policy/index.js';
export type { ProposedAction, PolicyContext, Verdict, VerdictFlag, PolicyEvaluator } from './policy/index.js';
export { EdgeAuditLog } from './audit/index.js';
export type { AuditLogOptions } from './audit/index.js';
