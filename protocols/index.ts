/**
 * @module protocols
 * The wire between edges and the hub: protobuf envelopes, topic names, typed decode errors.
 * Imports nothing else of gridos.
 *
 * @example
 *   const bytes = encodeEnvelope(envelope({ edgeId: 'e1', siteId: 's1', seq: 1, sentAtMs: Date.now(),
 *     payload: { kind: 'telemetry', readings: [{ tagId: 'feeder1.active_power_kw', tsMs: Date.now(), value: 812.5, quality: Quality.Good }] } }));
 *   const r = decodeEnvelope(bytes); // { ok: true, value: Envelope } | { ok: false, error: ProtocolError }
 */
export { SCHEMA_VERSION, Quality, qualityName, ReadingFlag, flagNames } from './types.js';
export type { Reading, TagInfo, Birth, VoltageLimits, Ack, Payload, PayloadKind, Envelope, Aggregate, Gap, SeqRange, EdgeState, EdgeRuntime, ActivePolicyInfo, ActiveModelInfo, OutboxStats, ForecastMessage, ModelRef, ModelScore, Escalation, VerdictSummary, AuditSync, AuditSyncCheckpoint, AuditHeadNotice } from './types.js';
export { ProtocolError } from './errors.js';
export { toRanges } from './ranges.js';
export type { ProtocolErrorCode, DecodeResult } from './errors.js';
export { encodeEnvelope, decodeEnvelope, envelope, packReadings, MAX_INFLATED_BYTES } from './codec.js';
export type { EncodeOptions } from './codec.js';
export {
  TOPIC_ROOT,
  UPLINK_KINDS,
  COMMAND_KINDS,
  HUB_UPLINK_FILTER,
  isValidId,
  uplinkTopic,
  commandTopic,
  edgeCommandFilter,
  parseTopic,
} from './topics.js';
export type { UplinkKind, CommandKind, ParsedTopic } from './topics.js';
export { MAX_DECISION_BYTES, decisionSchema, decisionKeyId, signDecision, verifyDecision, signedDecisionToWire, signedDecisionFromWire, sha256Hex } from './decision.js';
export type { Decision, SignedDecision, SignedDecisionWire, DecisionProblemCode, DecisionResult, DecisionExpectation } from './decision.js';
export { MAX_AUDIT_SYNC_RECORDS, checkpointToWire, checkpointFromWire } from './audit-sync.js';
export { loadOrCreateEd25519Key } from './key-file.js';
export type { Ed25519KeyFile } from './key-file.js';
