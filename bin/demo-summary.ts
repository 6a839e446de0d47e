/**
 * What the demo did, per edge, gathered at exit from the objects in the process (the edge's
 * dispatch journal, the hub's store and approvals table, never the hub's HTTP API, which needs a
 * login): proposals by policy outcome, setpoints executed, escalations still pending at the hub,
 * forecasts received. Rendered twice: for people, and as one JSON line for scripts and tests.
 */
import type { DispatchRecord } from '../edge/dispatch/journal.js';
import type { EscalationRow } from '../hub/approvals/index.js';

export interface EdgeSummary {
  edgeId: string;
  site: string;
  /** The signed policy the edge ran at the end, e.g. `demo-peak-shaving v1`; null if none was installed. */
  policy: string | null;
  proposals: { total: number; auto: number; escalated: number; denied: number };
  /** Journal states at the end (executed, aborted, escalated, expired, ...). */
  states: Record<string, number>;
  /** Setpoints written to the battery and read back, kW (discharge > 0), oldest first. */
  executedSetpointsKw: number[];
  /** Escalations at the hub: still pending, and decided by outcome. */
  approvals: { pending: number; approved: number; rejected: number; expired: number };
  /** Forecasts the hub received from this edge, and how many came from a model (not the fallback). */
  forecasts: { total: number; byModel: number };
  /** Readings at the hub: tags with a value, of the tags the edge reported. */
  tags: { withReadings: number; total: number };
}

export interface DemoSummary {
  edges: EdgeSummary[];
  totals: { auto: number; escalated: number; denied: number; executed: number; pendingApprovals: number; forecasts: number };
  /** True when hub, simulators and edges all stopped without an error. */
  stoppedCleanly: boolean;
  errors: string[];
}

export interface EdgeFacts {
  edgeId: string;
  site: string;
  policy: { policyId: string; version: number } | undefined;
  journal: readonly DispatchRecord[];
  escalations: readonly EscalationRow[];
  forecasts: readonly { fallbackCode: string }[];
  tags: readonly { latest: unknown }[];
}

export function edgeSummary(f: EdgeFacts): EdgeSummary {
  const count = (pred: (r: DispatchRecord) => boolean) => f.journal.filter(pred).length;
  const states: Record<string, number> = {};
  for (const r of f.journal) states[r.state] = (states[r.state] ?? 0) + 1;
  const executed = f.journal.filter((r) => r.state === 'executed').sort((a, b) => a.stateSinceMs - b.stateSinceMs);
  const esc = (s: EscalationRow['state']) => f.escalations.filter((e) => e.state === s).length;
  return {
    edgeId: f.edgeId,
    site: f.site,
    policy: f.policy ? `${f.policy.policyId} v${f.policy.version}` : null,
    proposals: { total: f.journal.length, auto: count((r) => r.verdict.outcome === 'auto'), escalated: count((r) => r.verdict.outcome === 'escalate'), denied: count((r) => r.verdict.outcome === 'deny') },
    states,
    executedSetpointsKw: executed.map((r) => r.proposal.setpoint.value),
    approvals: { pending: esc('pending'), approved: esc('approved'), rejected: esc('rejected'), expired: esc('expired') },
    forecasts: { total: f.forecasts.length, byModel: f.forecasts.filter((x) => !x.fallbackCode).length },
    tags: { withReadings: f.tags.filter((t) => t.latest).length, total: f.tags.length },
  };
}

export function demoSummary(edges: EdgeSummary[], errors: string[]): DemoSummary {
  const sum = (pick: (e: EdgeSummary) => number) => edges.reduce((n, e) => n + pick(e), 0);
  return {
    edges,
    totals: {
      auto: sum((e) => e.proposals.auto),
      escalated: sum((e) => e.proposals.escalated),
      denied: sum((e) => e.proposals.denied),
      executed: sum((e) => e.executedSetpointsKw.length),
      pendingApprovals: sum((e) => e.approvals.pending),
      forecasts: sum((e) => e.forecasts.total),
    },
    stoppedCleanly: errors.length === 0,
    errors,
  };
}

const kw = (v: number) => `${Math.round(v * 10) / 10} kW`;

/** The summary for people: one block per edge, then the totals. */
export function summaryText(s: DemoSummary): string {
  const lines = ['', 'gridos demo summary (this run)'];
  for (const e of s.edges) {
    const p = e.proposals;
    lines.push(`  ${e.site} (${e.edgeId}), policy ${e.policy ?? 'none installed'}`);
    lines.push(`    proposals: ${p.total} (${p.auto} automatic, ${p.escalated} escalated, ${p.denied} denied)`);
    const sp = e.executedSetpointsKw;
    lines.push(`    executed setpoints: ${sp.length}${sp.length > 0 ? ` (${sp.map(kw).join(', ')})` : ''}`);
    const a = e.approvals;
    lines.push(`    approvals at the hub: ${a.pending} pending, ${a.approved} approved, ${a.rejected} rejected, ${a.expired} expired`);
    lines.push(`    forecasts at the hub: ${e.forecasts.total} (${e.forecasts.byModel} by a model, ${e.forecasts.total - e.forecasts.byModel} by the seasonal-naive fallback)`);
    lines.push(`    readings at the hub for ${e.tags.withReadings} of ${e.tags.total} tags`);
  }
  const t = s.totals;
  lines.push(`  in all: ${t.auto} automatic and ${t.escalated} escalated action(s), ${t.denied} denied, ${t.executed} setpoint(s) executed, ${t.pendingApprovals} approval(s) pending, ${t.forecasts} forecasts`);
  lines.push(s.stoppedCleanly ? '  everything stopped cleanly' : `  errors while stopping:\n${s.errors.map((m) => `    ${m}`).join('\n')}`);
  return lines.join('\n') + '\n';
}

/** One line of JSON, `{"gridosDemoSummary": ...}`: the demo's last line on stdout. */
export function summaryJson(s: DemoSummary): string {
  return JSON.stringify({ gridosDemoSummary: s }) + '\n';
}
