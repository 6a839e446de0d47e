/** The wire messages as our code sees them: plain, typed, numbers for 64-bit fields. */
import type { AuditRow } from './audit/record.js';
import type { SignedDecisionWire } from './decision.js';
export type { SignedDecisionWire };

export const SCHEMA_VERSION = 1;

/** Reading quality on the wire; mirrors `gridos.v1.Quality`. */
export const Quality = {
  Good: 0,
  Uncertain: 1,
  Bad: 2,
  Stale: 3,
} as const;
export type Quality = (typeof Quality)[keyof typeof Quality];

export function qualityName(q: Quality): string {
  return ['good', 'uncertain', 'bad', 'stale'][q] ?? 'unknown';
}

/** What the edge's pipeline found wrong with a reading: bits of Reading.flags (mirrors `gridos.v1.ReadingFlag`). */
export const ReadingFlag = {
  OutOfRange: 1,
  NotFinite: 2,
  Stuck: 4,
  Spike: 8,
  Late: 16,
} as const;
export type ReadingFlag = (typeof ReadingFlag)[keyof typeof ReadingFlag];

/** The names of the bits set in `flags`, for logs and the console. */
export function flagNames(flags: number): string[] {
  return Object.entries(ReadingFlag).filter(([, bit]) => (flags & bit) !== 0).map(([name]) => name);
}

/** One value of one tag at one instant. */
export interface Reading {
  tagId: string;
  /** Source timestamp, ms since the Unix epoch. */
  tsMs: number;
  value: number;
  quality: Quality;
  /** The source's native status code (OPC UA StatusCode value), 0 when good. */
  sourceStatus?: number;
  /** ReadingFlag bits set by the edge's pipeline; absent or 0 when nothing was found wrong. */
  flags?: number;
}

export interface TagInfo {
  id: string;
  unit: string;
  description: string;
  source: string;
  minValue: number;
  maxValue: number;
}

export interface Birth {
  agentVersion: string;
  tags: TagInfo[];
  configHash: string;
  startedAtMs: number;
  /** The edge store's identity; a new one restarts seq at 1. */
  streamId: string;
  /** The voltage limits the edge enforces, per voltage tag; empty when it reports none (an older edge too). */
  voltageLimits: VoltageLimits[];
}

/** The voltage limits an edge enforces on one tag, pu; a limit it does not enforce is absent. */
export interface VoltageLimits {
  tagId: string;
  /** Interlocks: no device write while the voltage is below the low or above the high limit. */
  interlockLowPu?: number;
  interlockHighPu?: number;
  /** Over-voltage controller: curtails PV above this, releases the curtailment below releaseBelowPu. */
  curtailAbovePu?: number;
  releaseBelowPu?: number;
}

/** The limits of VoltageLimits (the codec checks each one it finds on the wire). */
export const VOLTAGE_LIMIT_KEYS = ['interlockLowPu', 'interlockHighPu', 'curtailAbovePu', 'releaseBelowPu'] as const;

export interface Aggregate {
  tagId: string;
  windowStartMs: number;
  windowMs: number;
  mean: number;
  min: number;
  max: number;
  last: number;
  count: number;
}

export interface SeqRange {
  fromSeq: number;
  toSeq: number;
}

export interface Gap {
  reason: string;
  droppedSeqs: SeqRange[];
  readings: number;
  fromTsMs: number;
  toTsMs: number;
}

export interface OutboxStats {
  messages: number;
  bytes: number;
  readings: number;
  oldestMs: number;
}

export interface EdgeState {
  online: boolean;
  reason: string;
  outbox: OutboxStats;
  /** What the edge runs; absent in the last will and the goodbye (the hub keeps what it last heard). */
  runtime?: EdgeRuntime;
}

/** The edge's active signed policy (null: none installed) and forecast models. */
export interface EdgeRuntime {
  policy: ActivePolicyInfo | null;
  models: ActiveModelInfo[];
}

export interface ActivePolicyInfo {
  id: string;
  version: number;
  sha256: string;
  /** When the trust behind it runs out, ms since the epoch; null when unknown. */
  expiresMs: number | null;
  expired: boolean;
}

export interface ActiveModelInfo {
  target: string;
  role: 'active' | 'shadow';
  id: string;
  version: string;
  sha256: string;
}

/** Every seq in [fromSeq, toSeq] is durably stored at the hub. */
export interface Ack {
  fromSeq: number;
  toSeq: number;
}

/** Which model produced a forecast or score. */
export interface ModelRef {
  id: string;
  version: string;
  sha256: string;
  featureBuilderVersion: string;
}

/** A load forecast made at the edge (edge clock, ms since the epoch). */
export interface ForecastMessage {
  target: string;
  tag: string;
  horizon: string;
  role: string;
  issuedAtMs: number;
  firstHourMs: number;
  hourMs: number;
  load: number[];
  p10: number[];
  p90: number[];
  model?: ModelRef;
  /** Empty when the model answered. */
  fallbackCode: string;
  fallbackReason: string;
  latencyUs: number;
}

export interface ModelScore {
  target: string;
  role: string;
  model?: ModelRef;
  horizon: string;
  n: number;
  windowHours: number;
  mape: number;
  mae: number;
  bias: number;
}

/** The policy's verdict on an escalated proposal, as the console shows it. */
export interface VerdictSummary {
  outcome: string;
  ruleId: string;
  reasons: string[];
  policyId: string;
  policyVersion: number;
  flags: string[];
  /** Hub roles that may approve (the rule's approval.roles); absent when the edge sent none. */
  approvalRoles?: string[];
  /** Distinct approvers needed: 1, or 2 for the two-person rule; absent when the edge sent none. */
  approversRequired?: number;
  /** Who last changed the deciding rule (a hub user name): never one of its approvers. Absent when the policy does not say. */
  ruleChangedBy?: string;
}

/** A proposal waiting for a human: its canonical content bytes, their sha256, and why. */
export interface Escalation {
  /** Canonical JSON (UTF-8) of the proposal's content (every field but id and hash). */
  proposalJson: Uint8Array;
  /** sha256 hex of proposalJson; the decoder refuses a mismatch. */
  proposalHash: string;
  proposalId: string;
  verdict: VerdictSummary;
  escalatedAtMs: number;
  deadlineMs: number;
}

/** A signed checkpoint as the wire carries it: the raw signature and the signing key's TUF key id. */
export interface AuditSyncCheckpoint {
  chainId: string;
  seq: number;
  hash: string;
  atMs: number;
  /** The raw 64-byte ed25519 signature. */
  signature: Uint8Array;
  keyId: string;
}

/** A run of an edge's audit chain (rows as stored, possibly none) and a signed checkpoint of its last record. */
export interface AuditSync {
  edgeId: string;
  records: AuditRow[];
  checkpoint: AuditSyncCheckpoint;
}

/** The hub's mirrored head of an edge's audit chain, answering a run it did not merge (hub -> edge). */
export interface AuditHeadNotice {
  edgeId: string;
  seq: number;
  hash: string;
  /** The checkpoint atMs of the run this answers. */
  answersAtMs: number;
  /** The run was refused (no or another registered key, or an invalid record), not merely early. */
  refused: boolean;
  /** The record the hub refused as invalid, 0 if none: nothing from it on is merged, the edge stops sending there. */
  invalidSeq?: number;
}

export type Payload =
  | { kind: 'telemetry'; readings: Reading[] }
  | { kind: 'birth'; birth: Birth }
  | { kind: 'ack'; ack: Ack }
  | { kind: 'gap'; gap: Gap }
  | { kind: 'state'; state: EdgeState }
  | { kind: 'aggregates'; aggregates: Aggregate[] }
  | { kind: 'forecast'; forecast: ForecastMessage }
  | { kind: 'scores'; atMs: number; scores: ModelScore[] }
  | { kind: 'escalation'; escalation: Escalation }
  | { kind: 'decision'; decision: SignedDecisionWire }
  | { kind: 'audit'; audit: AuditSync }
  | { kind: 'auditHead'; auditHead: AuditHeadNotice };

export type PayloadKind = Payload['kind'];

export interface Envelope {
  schemaVersion: number;
  edgeId: string;
  siteId: string;
  seq: number;
  sentAtMs: number;
  payload: Payload;
}
