/**
 * The shapes the console reads from the hub's page routes (hub/http/console-api.ts). Written
 * here again because browser code cannot import the hub's Node modules; keep them in step.
 */
export type Role = 'viewer' | 'operator' | 'supervisor' | 'admin';
export const ROLES: readonly Role[] = ['viewer', 'operator', 'supervisor', 'admin'];

export interface Me {
  name: string;
  role: Role;
}

export interface Alarm {
  code: string;
  message: string;
}

export interface PolicyState {
  id: string;
  version: number;
  expiresMs: number;
  expired: boolean;
}

export interface ModelInfo {
  id: string;
  version: string;
  role?: string;
  target?: string;
}

export interface EdgeSummary {
  id: string;
  siteId: string;
  agentVersion: string;
  online: boolean;
  stateReason: string;
  stateChangedMs: number;
  lastSeenMs: number;
  lagMs: number | null;
  backlog: { messages: number; bytes: number; readings: number; oldestMs: number };
  tagCount: number;
  policy: PolicyState | null;
  models: ModelInfo[] | null;
  alarms: Alarm[];
}

export interface FleetView {
  me: Me;
  nowMs: number;
  edges: EdgeSummary[];
  pendingApprovals: number;
}

export interface Point {
  tsMs: number;
  value: number;
}

export interface ForecastChart {
  target: string;
  tag: string;
  role: string;
  issuedAtMs: number;
  firstHourMs: number;
  hourMs: number;
  load: number[];
  p10: number[];
  p90: number[];
  model: { id: string; version: string } | null;
  fallbackCode: string;
  actuals: Point[];
}

export interface TagView {
  id: string;
  unit: string;
  description: string;
  latest: { tsMs: number; value: number | null; quality: number } | null;
  aggregate: { windowStartMs: number; windowMs: number; mean: number; min: number; max: number; last: number; count: number } | null;
}

export interface AuditChainAlarm {
  kind: 'truncation' | 'fork' | 'key' | 'gap' | 'invalid';
  code: string;
  seq: number;
  message: string;
  atMs: number;
}

/** The edge's audit chain as the hub mirrors it. */
export interface AuditChainStatus {
  status: 'ok' | 'broken' | 'unknown';
  detail: string;
  head: { seq: number; hash: string } | null;
  lastCheckpointAtMs: number | null;
  alarms: AuditChainAlarm[];
}

/** What an edge enforces on a voltage tag, pu; a limit it does not enforce is absent. */
export interface VoltageLimits {
  interlockLowPu?: number;
  interlockHighPu?: number;
  curtailAbovePu?: number;
  releaseBelowPu?: number;
}

export interface EdgeView {
  me: Me;
  nowMs: number;
  edge: EdgeSummary;
  tags: TagView[];
  forecast: ForecastChart | null;
  series: Record<'load' | 'voltage' | 'soc' | 'batteryPower' | 'setpoint' | 'pv' | 'curtailment', { tag: string; points: Point[] }>;
  /** The charted voltage tag and the limits the edge enforces on it (pu); null: the edge reported none. */
  voltage: { tag: string; limits: VoltageLimits | null };
  auditChain: AuditChainStatus;
}

export interface ApprovalStep {
  userName: string;
  role: Role;
  atMs: number;
  comment: string;
}

export interface DecidedItem {
  id: number;
  edgeId: string;
  action: string;
  assetId: string;
  magnitudeKw: number | null;
  intervalStartMs: number | null;
  intervalEndMs: number | null;
  ruleId: string;
  state: 'pending' | 'approved' | 'rejected' | 'expired';
  decidedMs: number;
  approvals: ApprovalStep[];
  decision: { id: string; outcome: string; approvers: string[]; comment: string; issuedAtMs: number } | null;
  published: boolean;
  proposalId: string;
  /** The edge's execution record (its audit chain, mirrored at the hub), once it arrived. */
  execution: { seq: number; atMs: number; body: unknown } | null;
}

export interface PendingItem extends DecidedItem {
  magnitudePercent: number | null;
  energyKwh: number | null;
  setpoint: { point: string; value: number; unit: string } | null;
  reason: string;
  verdict: { outcome: string; ruleId: string; reasons: string[]; policyId: string; policyVersion: number; flags: string[] };
  approvalRoles: string[];
  approversRequired: number;
  escalatedAtMs: number;
  deadlineMs: number;
  model: { id: string; version: string } | null;
  fallback: string | null;
  chart: ForecastChart | null;
}

export interface ApprovalsView {
  me: Me;
  nowMs: number;
  pending: PendingItem[];
  decided: DecidedItem[];
}

export interface AuditRecord {
  source: 'hub-chain' | 'auth';
  seq: number | null;
  atMs: number;
  kind: string;
  subject: unknown;
  body: unknown;
  hash: string | null;
}

export interface AuditView {
  me: Me;
  nowMs: number;
  q: string;
  records: AuditRecord[];
  hubChain: { ok: true; records: number } | { ok: false; at: number; code: string; message: string };
  edges: { edgeId: string; chain: { status: 'ok' | 'broken' | 'unknown'; detail: string }; alarms: AuditAlarm[] }[];
}

/** An alarm on an edge's audit chain, active or kept in the history (hub/audit/alarms.ts). */
export interface AuditAlarm {
  id: number;
  edgeId: string;
  kind: string;
  code: string;
  seq: number;
  message: string;
  atMs: number;
  active: boolean;
  acknowledged: { by: string; role: string; atMs: number; comment: string } | null;
  clearedMs: number | null;
}
