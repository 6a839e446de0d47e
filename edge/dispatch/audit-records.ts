/**
 * Which audit records a dispatch fact makes, and what they say. Pure: no I/O, no clock.
 *
 * A proposal's trail, in chain order, one record per journal step (journal.ts `dispatch_events`):
 *   journaled          -> telemetry-summary (the cycle's snapshot), forecast, proposal
 *   gated              -> policy-outcome
 *   decided            -> decision (status `applied`: the hub decision that moved it)
 *   timedOut           -> timeout (what the policy's timeout behaviour did)
 *   executed | failed | aborted -> execution
 * and, `effectAfterMs` after `executed`, observed-effect. Subjects link by ids: `proposalId`
 * always, `forecastId`, `decisionId`, `fallbackOf` / `fallbackProposalId` where they apply.
 *
 * Each record stands for one journal step, so "is it recorded" is a question the audit table
 * answers by itself (`auditedKinds`): a record of that kind for that proposal exists. Decisions
 * the gate refused, or admitted but the journal did not apply, are decision records too, with
 * status `refused` / `not-applied`: events, not steps, so they never count as the step.
 * A record written at restart for a step the journal committed but the audit did not (the process
 * died in between) carries `recovered: true` and only what the journal holds.
 * `atMs` of a record is when its fact happened (the journal's time of the step).
 */
import type { AuditEntry, AuditKind, AuditRow, JsonValue } from '../../protocols/audit/index.js';
import type { Decision } from '../../protocols/index.js';
import type { LatestValue } from '../latest-values.js';
import type { Verdict } from '../policy/index.js';
import type { ForecastInput } from './controllers/peak-shaving.js';
import type { DispatchEventRecord } from './journal.js';
import type { DispatchState } from './states.js';
import type { Proposal } from './types.js';

/** One committed journal step of a proposal (a `dispatch_events` row without its seq). */
export type AuditStep = Omit<DispatchEventRecord, 'seq' | 'proposalId'>;

/** The part of a cycle's snapshot the telemetry summary reports (loop.ts `CycleSnapshot` is one). */
export interface CycleFacts {
  readonly nowMs: number;
  readonly values: ReadonlyMap<string, Readonly<LatestValue>>;
  readonly forecast: Readonly<ForecastInput> | undefined;
  readonly policy: { readonly policyId: string; readonly version: number } | undefined;
  readonly hubReachable: boolean;
}

/** The tags a telemetry summary and an observed effect read. */
export interface TelemetryTags {
  feederKw: string;
  socPct: string;
  voltagePu: string;
  /** The battery's measured power; without it the observed effect has no battery power. */
  batteryKw?: string;
}

/** What the device and readings said right before a write (loop.ts `execute`). */
export interface ExecutionInputs {
  fromKw: number;
  socPct: number | null;
  voltagePu: number | null;
}

/** What only the process that saw a step knows; absent at restart. */
export interface LiveFacts {
  snapshot?: CycleFacts;
  forecastIssuedAtMs?: number;
  decision?: Decision;
  execution?: ExecutionInputs;
}

const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v ?? null)) as JsonValue;
const codeOf = (reason: string | null): string | null => /^([A-Z][A-Z0-9_]*)(?::|$| )/.exec(reason ?? '')?.[1] ?? null;
const FINISHED: readonly DispatchState[] = ['executed', 'failed', 'aborted'];

/** The kinds a journal step is recorded as, in chain order. */
export function kindsOfStep(step: AuditStep): AuditKind[] {
  if (step.from === null) return ['telemetry-summary', 'forecast', 'proposal'];
  if (step.event.type === 'gated') return ['policy-outcome'];
  if (step.event.type === 'decided') return ['decision'];
  if (step.event.type === 'timedOut') return ['timeout'];
  return FINISHED.includes(step.to) ? ['execution'] : [];
}

/** The kinds of a proposal's steps its audit rows already hold (a refused or unapplied decision is no step). */
export function auditedKinds(rows: readonly AuditRow[]): Set<string> {
  const kinds = new Set<string>();
  for (const r of rows) {
    if (r.kind === 'decision' && !isAppliedDecision(r.bodyJson)) continue;
    kinds.add(r.kind);
  }
  return kinds;
}

function isAppliedDecision(bodyJson: string): boolean {
  try {
    return (JSON.parse(bodyJson) as { status?: unknown }).status === 'applied';
  } catch {
    return false;
  }
}

export function forecastIdOf(p: Proposal, issuedAtMs: number | undefined): string | undefined {
  if (!p.forecast) return undefined;
  return issuedAtMs === undefined ? `${p.forecast.target}@start:${p.forecast.startMs}` : `${p.forecast.target}@${issuedAtMs}`;
}

/**
 * The entries of one step of proposal `p` (judged by `verdict`), `kinds` of them (default: all
 * `kindsOfStep`). `history` is the proposal's journal history (when it was escalated, started
 * executing); `recovered`: written at restart, with what was kept (`live`, usually nothing).
 */
export function entriesOfStep(p: Proposal, verdict: Verdict, step: AuditStep, history: readonly AuditStep[], tags: TelemetryTags, live: LiveFacts, recovered: boolean, kinds = kindsOfStep(step)): AuditEntry[] {
  const rec: Record<string, JsonValue> = recovered ? { recovered: true } : {};
  const base = { proposalId: p.id };
  const forecastId = forecastIdOf(p, live.forecastIssuedAtMs);
  const at = step.atMs;
  return kinds.map((kind): AuditEntry => {
    switch (kind) {
      case 'telemetry-summary':
        return { atMs: at, kind, subject: base, body: { ...telemetry(live.snapshot, tags, recovered), ...rec } };
      case 'forecast':
        return { atMs: at, kind, subject: { ...base, ...(forecastId && { forecastId }) }, body: { ...forecastBody(p, live), ...rec } };
      case 'proposal':
        return { atMs: at, kind, subject: { ...base, ...(forecastId && { forecastId }), ...(p.fallbackOf && { fallbackOf: p.fallbackOf.proposalId }) }, body: { ...proposalBody(p, at), ...rec } };
      case 'policy-outcome':
        return { atMs: at, kind, subject: { ...base, ...(verdict.policyId !== '' && { policyId: verdict.policyId }) }, body: { ...(json(verdict) as Record<string, JsonValue>), state: step.to, ...rec } };
      case 'decision':
        return decisionEntry(p, step, live.decision, rec);
      case 'timeout':
        return timeoutEntry(p, verdict, step, history, rec);
      case 'execution':
        return { atMs: at, kind, subject: base, body: { ...executionBody(p, step, history, live.execution), ...rec } };
      default:
        throw new TypeError(`no audit record of kind ${kind} for a journal step`);
    }
  });
}

function reading(tag: string, v: Readonly<LatestValue> | undefined, nowMs: number): JsonValue {
  return v === undefined ? { tag, value: null, quality: 'missing' } : { tag, value: v.value, tsMs: v.tsMs, ageMs: nowMs - v.tsMs, quality: 'good' };
}

function telemetry(s: CycleFacts | undefined, tags: TelemetryTags, recovered: boolean): Record<string, JsonValue> {
  if (s === undefined) return { snapshotAtMs: null, readings: null, note: recovered ? 'the snapshot was not kept: the agent stopped before this record was written' : 'journaled outside a dispatch cycle: no snapshot' };
  const readings: Record<string, JsonValue> = {};
  for (const [name, tag] of Object.entries(tags) as [string, string | undefined][]) if (tag !== undefined) readings[name] = reading(tag, s.values.get(tag), s.nowMs);
  return { snapshotAtMs: s.nowMs, readings, hubReachable: s.hubReachable, policy: s.policy ? { policyId: s.policy.policyId, version: s.policy.version } : null };
}

function forecastBody(p: Proposal, live: LiveFacts): Record<string, JsonValue> {
  const f = p.forecast;
  if (!f) return { forecast: null, measurement: json(p.measurement), note: 'the proposal rests on measurements, not on a forecast' };
  const s = live.snapshot?.forecast;
  const series = s && s.target === f.target && s.startMs === f.startMs ? { stepMs: s.stepMs, load: [...s.load], p10: [...s.p10], p90: [...s.p90] } : null;
  return {
    target: f.target,
    issuedAtMs: live.forecastIssuedAtMs ?? null,
    startMs: f.startMs,
    basis: f.basis,
    model: json(f.model),
    fallback: f.fallback,
    interval: { startMs: p.intervalStartMs, endMs: p.intervalEndMs, loadKw: f.loadKw, p10Kw: f.p10Kw, p90Kw: f.p90Kw },
    series,
  };
}

function proposalBody(p: Proposal, journaledAtMs: number): Record<string, JsonValue> {
  return {
    id: p.id,
    hash: p.hash,
    controller: p.controller,
    assetId: p.assetId,
    action: p.action,
    magnitudeKw: p.magnitudeKw,
    magnitudePercent: p.magnitudePercent ?? null,
    energyKwh: p.energyKwh,
    intervalStartMs: p.intervalStartMs,
    intervalEndMs: p.intervalEndMs,
    setpoint: json(p.setpoint),
    reason: p.reason,
    fallbackOf: json(p.fallbackOf),
    journaledAtMs,
  };
}

function decisionEntry(p: Proposal, step: AuditStep, d: Decision | undefined, rec: Record<string, JsonValue>): AuditEntry {
  const outcome = step.event.type === 'decided' ? step.event.decision : null;
  return {
    atMs: step.atMs,
    kind: 'decision',
    subject: { proposalId: p.id, ...(d && { decisionId: d.id }) },
    body: { status: 'applied', outcome, state: step.to, appliedAtMs: step.atMs, ...decisionFields(d), ...rec },
  };
}

export function decisionFields(d: Decision | undefined): Record<string, JsonValue> {
  if (!d) return { decisionId: null, approvers: null, note: 'the decision itself was not kept' };
  return { decisionId: d.id, approvers: [...d.approvers], comment: d.comment ?? null, issuedAtMs: d.issuedAtMs, expiresAtMs: d.expiresAtMs, proposalHash: d.proposalHash };
}

function timeoutEntry(p: Proposal, verdict: Verdict, step: AuditStep, history: readonly AuditStep[], rec: Record<string, JsonValue>): AuditEntry {
  const reason = step.reason ?? '';
  const code = codeOf(reason);
  const t = verdict.onTimeout;
  const fallbackId = /^TIMEOUT_FALLBACK:\S+ -> (\S+)$/.exec(reason)?.[1];
  const none = /^TIMEOUT_FALLBACK:\S+ \(([A-Z_]+): (.*)\)$/.exec(reason);
  const did =
    code === 'TIMEOUT_REFUSE' ? 'refused: nothing written'
    : code === 'TIMEOUT_FALLBACK' ? (fallbackId ? `fallback ${fallbackId} journaled, to run like an auto proposal` : `fallback writes nothing (${none?.[1] ?? 'unknown'})`)
    : t?.then === 'hold' ? 'held until the interval ended: nothing written'
    : 'the interval ended before the timeout: nothing written';
  const f = verdict.fallback;
  return {
    atMs: step.atMs,
    kind: 'timeout',
    subject: { proposalId: p.id, ...(fallbackId && { fallbackProposalId: fallbackId }) },
    body: {
      code,
      reason,
      did,
      escalatedAtMs: history.find((h) => h.to === 'escalated')?.atMs ?? null,
      expiredAtMs: step.atMs,
      onTimeout: json(t),
      fallback: code === 'TIMEOUT_FALLBACK' ? { name: t?.fallback ?? f?.name ?? null, action: json(f?.action), description: f?.description ?? null, proposalId: fallbackId ?? null, code: none?.[1] ?? null, message: none?.[2] ?? null } : null,
      ...rec,
    },
  };
}

function executionBody(p: Proposal, step: AuditStep, history: readonly AuditStep[], before: ExecutionInputs | undefined): Record<string, JsonValue> {
  const startedAtMs = history.find((h) => h.to === 'executing')?.atMs ?? null;
  const executed = step.to === 'executed';
  const code = codeOf(step.reason);
  // aborted: refused before the write (interlock, interval passed), except a write past its deadline
  const written = executed ? true : startedAtMs === null || (step.to === 'aborted' && code !== 'DEADLINE_EXCEEDED') ? false : null;
  return {
    result: step.to,
    code,
    reason: step.reason,
    startedAtMs,
    finishedAtMs: step.atMs,
    setpoint: json(p.setpoint),
    written,
    readBack: executed ? (step.reason === 'READ_BACK' ? 'reached (after a restart)' : 'verified') : step.reason === 'INTERRUPTED' ? 'not confirmed' : null,
    before: json(before),
  };
}

/** The observed effect of executed proposal `p`: what the feeder and battery did vs what was planned. */
export function effectEntry(p: Proposal, executedAtMs: number, dueAtMs: number, nowMs: number, tags: TelemetryTags, read: (tag: string) => Readonly<LatestValue> | undefined, before: ExecutionInputs | undefined): AuditEntry {
  const f = p.forecast;
  const forecastKw = f ? (f.basis === 'p90' ? f.p90Kw : f.loadKw) : null;
  const plannedFeederKw = forecastKw === null ? null : forecastKw - p.setpoint.value;
  const feeder = read(tags.feederKw);
  const battery = tags.batteryKw === undefined ? undefined : read(tags.batteryKw);
  const soc = read(tags.socPct);
  return {
    atMs: nowMs,
    kind: 'observed-effect',
    subject: { proposalId: p.id },
    body: {
      executedAtMs,
      dueAtMs,
      observedAtMs: nowMs,
      lateByMs: Math.max(0, nowMs - dueAtMs),
      planned: { setpointKw: p.setpoint.value, forecastKw, feederKw: plannedFeederKw, socAtExecutionPct: before?.socPct ?? null },
      observed: {
        feederKw: reading(tags.feederKw, feeder, nowMs),
        batteryKw: tags.batteryKw === undefined ? null : reading(tags.batteryKw, battery, nowMs),
        socPct: reading(tags.socPct, soc, nowMs),
      },
      deviation: {
        feederKw: feeder && plannedFeederKw !== null ? feeder.value - plannedFeederKw : null,
        batteryKw: battery ? battery.value - p.setpoint.value : null,
        socSinceExecutionPct: soc && before?.socPct != null ? soc.value - before.socPct : null,
      },
    },
  };
}

/** An effect that can no longer be observed (the agent was down until after the proposal's interval). */
export function missedEffectEntry(p: Proposal, executedAtMs: number, dueAtMs: number, nowMs: number): AuditEntry {
  return {
    atMs: nowMs,
    kind: 'observed-effect',
    subject: { proposalId: p.id },
    body: { executedAtMs, dueAtMs, observedAtMs: null, missed: 'AGENT_DOWN', note: `the agent was not running at ${new Date(dueAtMs).toISOString()} and the proposal's interval has ended: no observation`, recovered: true },
  };
}
