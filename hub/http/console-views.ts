/**
 * Page-shaped views for the operator console: each console page renders its first view from one
 * of these, so it needs one request to the hub. Reads only (HubStore, ApprovalStore, the hub's
 * audit chain and auth events); no state of its own.
 *
 *   fleetView(ctx)          every edge with link state, backlog, policy, models, active alarms
 *   edgeView(ctx, id)       tags with latest values and aggregates, the chart series, and the
 *                           voltage limits the edge reported (none assumed)
 *   approvalsView(ctx)      pending escalations (with the forecast that led to each), decided ones
 *                           (with the edge's execution record from the audit mirror, when it came)
 *   edgeChainStatus(m, id)  the edge's audit chain as mirrored: verified, broken (alarms) or unknown
 */
import { readableRecordOfRow, type AuditHead } from '../../protocols/audit/index.js';
import type { ApprovalStore, EscalationRow } from '../approvals/index.js';
import type { EdgeAuditMirror, StoredAuditAlarm } from '../audit/index.js';
import type { VoltageLimits } from '../../protocols/index.js';
import type { EdgeRow, ForecastRow, HubStore, StoredReading } from '../store/hub-store.js';
import { ONLINE_WITHIN_MS } from './api.js';

export interface ViewContext {
  store: HubStore;
  approvals: ApprovalStore;
  mirror: EdgeAuditMirror;
  nowMs: number;
}

export interface EdgeChainStatus {
  status: 'ok' | 'broken' | 'unknown';
  detail: string;
  head: AuditHead | null;
  lastCheckpointAtMs: number | null;
  alarms: StoredAuditAlarm[];
}

/**
 * An edge's audit chain as the hub mirrors it: verified up to a signed checkpoint, broken (active
 * alarms), or unknown (nothing yet). Acknowledged and cleared alarms stay in `alarms`, marked so.
 */
export function edgeChainStatus(mirror: EdgeAuditMirror, edgeId: string): EdgeChainStatus {
  const s = mirror.status(edgeId);
  if (!s) return { status: 'unknown', detail: 'no audit records from this edge yet', head: null, lastCheckpointAtMs: null, alarms: [] };
  const base = { head: s.head, lastCheckpointAtMs: s.lastCheckpoint?.atMs ?? null, alarms: s.alarms };
  const latest = s.alarms.find((a) => a.active);
  if (latest) return { status: 'broken', detail: `${s.activeAlarms} active alarm(s); latest ${latest.kind}: ${latest.message}`, ...base };
  const rested = s.alarms.length > 0 ? ` (${s.alarms.length} alarm(s) acknowledged or cleared)` : '';
  if (!s.verified) return { status: 'unknown', detail: `record ${s.head.seq} mirrored, no signed checkpoint of it yet${rested}`, ...base };
  return { status: 'ok', detail: `${s.head.seq} records, signed checkpoint of ${new Date(s.lastCheckpoint!.atMs).toISOString()}${rested}`, ...base };
}

export interface Alarm {
  code: string;
  message: string;
}

/** Tags the edge page charts, by the simulator's and the dispatch config's naming. */
export const CHART_TAGS = {
  load: 'feeder1.active_power_kw',
  voltage: 'feeder1.voltage_pu',
  soc: 'bess1.soc_pct',
  batteryPower: 'bess1.active_power_kw',
  setpoint: 'bess1.power_setpoint_kw',
  pv: 'pv1.active_power_kw',
  curtailment: 'pv1.curtailment_limit_pct',
} as const;

/** The voltage the edge page charts and the limits the edge enforces on it; null: it reported none. */
export interface VoltageChartView {
  tag: string;
  limits: Omit<VoltageLimits, 'tagId'> | null;
}

/**
 * The charted voltage tag's limits as the edge reported them. An edge that reports limits for
 * another voltage tag than the usual one gets that tag charted: the operator must see the limits
 * the edge enforces, on the reading it enforces them on. No band is ever assumed.
 */
function voltageChartOf(e: Pick<EdgeRow, 'voltageLimits'>): VoltageChartView {
  const reported = e.voltageLimits.find((l) => l.tagId === CHART_TAGS.voltage) ?? e.voltageLimits[0];
  if (!reported) return { tag: CHART_TAGS.voltage, limits: null };
  const { tagId, ...limits } = reported;
  return { tag: tagId, limits };
}

const QUALITY_BAD = 2;
const QUALITY_STALE = 3;
/** A backlog older than this at the edge is an alarm. */
const BACKLOG_ALARM_MS = 60_000;

/** Online by its last link state, or (one that never reported one) by having sent anything lately. */
export function isOnline(e: EdgeRow, nowMs: number): boolean {
  return e.stateChangedMs > 0 ? e.online : nowMs - e.lastSeenMs <= ONLINE_WITHIN_MS;
}

/** Alarms derived from what the hub holds about one edge (another helper may report more). */
export function edgeAlarms(ctx: ViewContext, e: EdgeRow & { policy?: { expired?: boolean } | null }, pending: number): Alarm[] {
  const alarms: Alarm[] = [];
  if (!isOnline(e, ctx.nowMs)) alarms.push({ code: 'EDGE_OFFLINE', message: `offline${e.stateReason ? ` (${e.stateReason})` : ''} since ${new Date(e.stateChangedMs || e.lastSeenMs).toISOString()}` });
  if (e.backlog.messages > 0 && e.backlog.oldestMs > 0 && ctx.nowMs - e.backlog.oldestMs > BACKLOG_ALARM_MS) alarms.push({ code: 'EDGE_BACKLOG', message: `${e.backlog.messages} messages waiting at the edge` });
  if (e.policy?.expired) alarms.push({ code: 'POLICY_EXPIRED', message: 'the dispatch policy has expired: nothing runs on its own' });
  const bad = ctx.store.tags(e.id).filter((t) => t.latest && (t.latest.quality === QUALITY_BAD || t.latest.quality === QUALITY_STALE));
  if (bad.length > 0) alarms.push({ code: 'TAG_QUALITY', message: `${bad.length} tag(s) bad or stale: ${bad.slice(0, 3).map((t) => t.id).join(', ')}` });
  const latest = ctx.store.forecasts(e.id, undefined, 0, ctx.nowMs + 7 * 86_400_000, 1)[0];
  if (latest?.fallbackCode) alarms.push({ code: `FORECAST_${latest.fallbackCode}`, message: latest.fallbackReason || 'the forecast fell back to the seasonal naive' });
  if (pending > 0) alarms.push({ code: 'APPROVAL_PENDING', message: `${pending} escalation(s) waiting for approval` });
  // The newest active audit alarm of each kind (AUDIT_TRUNCATION, _FORK, _KEY, _GAP, _INVALID, _STALE); acknowledged ones are not.
  const seen = new Set<string>();
  for (const a of ctx.mirror.status(e.id)?.alarms ?? []) {
    if (!a.active || seen.has(a.kind)) continue;
    seen.add(a.kind);
    alarms.push({ code: `AUDIT_${a.kind.toUpperCase()}`, message: a.message });
  }
  return alarms;
}

export function fleetView(ctx: ViewContext) {
  ctx.approvals.expire(ctx.nowMs);
  const pending = ctx.approvals.list('pending', 1000);
  const edges = ctx.store.edges().map((e) => {
    // `policy` and `models` arrive on the edge row once the hub stores them; until then: unknown.
    const extra = e as EdgeRow & { policy?: unknown; models?: unknown };
    return {
      ...e,
      online: isOnline(e, ctx.nowMs),
      lagMs: e.lastReadingTsMs > 0 ? ctx.nowMs - e.lastReadingTsMs : null,
      policy: extra.policy ?? null,
      models: Array.isArray(extra.models) ? extra.models : modelsFromScores(ctx, e.id),
      alarms: edgeAlarms(ctx, extra as EdgeRow & { policy?: { expired?: boolean } | null }, pending.filter((p) => p.edgeId === e.id).length),
    };
  });
  return { nowMs: ctx.nowMs, edges, pendingApprovals: pending.length };
}

/** Model versions the edge last scored: what the hub knows until edges report them directly. */
function modelsFromScores(ctx: ViewContext, edgeId: string): { id: string; version: string; role: string; target: string }[] {
  return ctx.store
    .modelScores(edgeId)
    .filter((s) => s.model)
    .map((s) => ({ id: s.model!.id, version: s.model!.version, role: s.role, target: s.target }));
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
  actuals: { tsMs: number; value: number }[];
}

const actualsOf = (rows: StoredReading[]) => rows.filter((r) => r.value !== null).map((r) => ({ tsMs: r.tsMs, value: r.value! }));

function chartOf(ctx: ViewContext, f: ForecastRow): ForecastChart {
  const endMs = f.firstHourMs + f.load.length * f.hourMs;
  return {
    target: f.target,
    tag: f.tag,
    role: f.role,
    issuedAtMs: f.issuedAtMs,
    firstHourMs: f.firstHourMs,
    hourMs: f.hourMs,
    load: f.load,
    p10: f.p10,
    p90: f.p90,
    model: f.model ? { id: f.model.id, version: f.model.version } : null,
    fallbackCode: f.fallbackCode,
    actuals: thin(actualsOf(ctx.store.readings(f.edgeId, f.tag, f.firstHourMs - f.hourMs, Math.min(endMs, ctx.nowMs), 20_000)), 600),
  };
}

/** At most `max` points, evenly picked: a chart 600 px wide shows no more. */
function thin<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const step = rows.length / max;
  return Array.from({ length: max }, (_, i) => rows[Math.floor(i * step)]!);
}

/** The newest active forecast of an edge (any target when none given). */
function latestForecast(ctx: ViewContext, edgeId: string, target?: string, firstHourMs?: number): ForecastRow | undefined {
  const from = firstHourMs ?? 0;
  const to = firstHourMs ?? ctx.nowMs + 7 * 86_400_000;
  const rows = ctx.store.forecasts(edgeId, target, from, to, 8);
  return rows.find((r) => r.role === 'active') ?? rows[0];
}

export function edgeView(ctx: ViewContext, edgeId: string) {
  const fleet = fleetView(ctx).edges.find((e) => e.id === edgeId);
  if (!fleet) return undefined;
  const fromMs = ctx.nowMs - 3_600_000;
  const tags = ctx.store.tags(edgeId).map((t) => {
    const agg = ctx.store.aggregates(edgeId, t.id, fromMs, ctx.nowMs, 10_000);
    return { ...t, aggregate: agg[agg.length - 1] ?? null };
  });
  const series = (tag: string) => thin(actualsOf(ctx.store.readings(edgeId, tag, fromMs, ctx.nowMs, 50_000)), 600);
  // The tag's own min/max are its instrument range, not what the edge enforces: not a band.
  const voltage = voltageChartOf(fleet);
  const chartTags: Record<keyof typeof CHART_TAGS, string> = { ...CHART_TAGS, voltage: voltage.tag };
  const forecast = latestForecast(ctx, edgeId);
  return {
    nowMs: ctx.nowMs,
    edge: fleet,
    tags,
    forecast: forecast ? chartOf(ctx, forecast) : null,
    series: Object.fromEntries(Object.entries(chartTags).map(([k, tag]) => [k, { tag, points: series(tag) }])),
    voltage,
    auditChain: edgeChainStatus(ctx.mirror, edgeId),
  };
}

interface ProposalLike {
  action?: string;
  assetId?: string;
  magnitudeKw?: number;
  magnitudePercent?: number;
  energyKwh?: number;
  intervalStartMs?: number;
  intervalEndMs?: number;
  reason?: string;
  setpoint?: { point: string; value: number; unit: string };
  forecast?: { target: string; startMs: number; model: { id: string; version: string } | null; fallback: string | null } | null;
}

/** The edge's newest `execution` audit record of a proposal, when the mirror has it. */
function executionOf(ctx: ViewContext, e: EscalationRow): { seq: number; atMs: number; body: unknown } | null {
  const row = ctx.mirror.execution(e.edgeId, e.proposalId);
  if (!row) return null;
  return { seq: row.seq, atMs: row.atMs, body: readableRecordOfRow(row).body };
}

/** What the console shows of a decided escalation (no chart: a thousand of them render at once). */
function decidedRow(ctx: ViewContext, e: EscalationRow) {
  const p = (e.proposal ?? {}) as ProposalLike;
  return {
    id: e.id,
    edgeId: e.edgeId,
    proposalId: e.proposalId,
    action: p.action ?? '?',
    assetId: p.assetId ?? '?',
    magnitudeKw: p.magnitudeKw ?? null,
    intervalStartMs: p.intervalStartMs ?? null,
    intervalEndMs: p.intervalEndMs ?? null,
    ruleId: e.verdict.ruleId,
    state: e.state,
    decidedMs: e.decidedMs,
    approvals: e.approvals.map((a) => ({ userName: a.userName, role: a.role, atMs: a.atMs, comment: a.comment })),
    decision: e.decision ? { id: e.decision.decision.id, outcome: e.decision.decision.outcome, approvers: e.decision.decision.approvers, comment: e.decision.decision.comment ?? '', issuedAtMs: e.decision.decision.issuedAtMs } : null,
    published: e.published,
    execution: e.state === 'pending' ? null : executionOf(ctx, e),
  };
}

function pendingRow(ctx: ViewContext, e: EscalationRow) {
  const p = (e.proposal ?? {}) as ProposalLike;
  const f = p.forecast ? latestForecast(ctx, e.edgeId, p.forecast.target, p.forecast.startMs) : undefined;
  return {
    ...decidedRow(ctx, e),
    magnitudePercent: p.magnitudePercent ?? null,
    energyKwh: p.energyKwh ?? null,
    setpoint: p.setpoint ?? null,
    reason: p.reason ?? '',
    verdict: e.verdict,
    approvalRoles: e.approvalRoles,
    approversRequired: e.approversRequired,
    escalatedAtMs: e.escalatedAtMs,
    deadlineMs: e.deadlineMs,
    model: p.forecast?.model ?? null,
    fallback: p.forecast?.fallback ?? null,
    chart: f ? chartOf(ctx, f) : null,
  };
}

export type PendingRow = ReturnType<typeof pendingRow>;
export type DecidedRow = ReturnType<typeof decidedRow>;

export function approvalsView(ctx: ViewContext, decidedLimit: number) {
  ctx.approvals.expire(ctx.nowMs);
  const pending = ctx.approvals.list('pending', 1000).map((e) => pendingRow(ctx, e));
  const decided = ctx.approvals
    .list(undefined, decidedLimit + pending.length)
    .filter((e) => e.state !== 'pending')
    .slice(0, decidedLimit)
    .map((e) => decidedRow(ctx, e));
  return { nowMs: ctx.nowMs, pending, decided };
}
