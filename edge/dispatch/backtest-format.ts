/** The policy backtests' reports as tables for people (the JSON is the report itself). */
import type { BacktestReport, OutcomeTally } from './backtest.js';
import type { StoreBacktestReport } from './replay.js';

const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
const cell = (t: OutcomeTally) => `${t.count} / ${n(t.kwh)}`;

export function formatBacktestTable(r: BacktestReport): string {
  const s = r.settings;
  const b = s.battery;
  const lines = [
    `policy ${r.policy.id} v${r.policy.version}: ${s.from} to ${s.to} (exclusive), feeder peak ${n(s.peakKw)} kW, limit ${n(s.limitKw)} kW (charging ${n(s.chargeMarginKw)} kW under it), forecast basis ${s.basis}${s.measuredGuard ? ', guarded by the last hour measured' : ''}`,
    `battery ${n(b.capacityKwh)} kWh, ${n(b.maxDischargeKw)} kW out / ${n(b.maxChargeKw)} kW in, round trip ${n(b.roundTripEfficiency * 100)} %, SoC ${n(b.socMinPct)}-${n(b.socMaxPct)} % from ${n(b.initialSocPct)} %; ` +
      `escalations ${s.escalated === 'approved' ? 'assumed approved (they run)' : 'assumed refused (they do not run)'}; policy validity ${s.validity === 'ignore' ? 'ignored (judged as if in force)' : 'checked at the replayed time'}`,
    '',
  ];
  const head = ['date', 'forecast', 'actions', 'auto n/kWh', 'escalate n/kWh', 'deny n/kWh', 'out kWh', 'in kWh', 'peak kW before', 'after', 'h>limit before', 'after', 'SoC end %'];
  const rows: string[][] = r.days.map((d) =>
    d.skipped !== null
      ? [d.date, d.forecast, 'skipped: ' + d.skipped]
      : [d.date, d.forecast, String(d.proposals), cell(d.auto), cell(d.escalate), cell(d.deny), n(d.dischargedKwh), n(d.chargedKwh), n(d.peakBeforeKw), n(d.peakAfterKw), String(d.hoursOverLimitBefore), String(d.hoursOverLimitAfter), n(d.socEndPct)],
  );
  const t = r.total;
  rows.push([`total (${t.days} d)`, t.skippedDays > 0 ? `${t.skippedDays} skipped` : '', String(t.proposals), cell(t.auto), cell(t.escalate), cell(t.deny), n(t.dischargedKwh), n(t.chargedKwh), n(t.peakBeforeKw), n(t.peakAfterKw), String(t.hoursOverLimitBefore), String(t.hoursOverLimitAfter), '']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.filter((row) => row.length === head.length).map((row) => row[i]!.length)));
  const fmt = (row: string[]) => (row.length === head.length ? row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ') : row.join('  '));
  lines.push(fmt(head), ...rows.slice(0, -1).map(fmt), '-'.repeat(widths.reduce((a, w) => a + w + 2, -2)), fmt(rows.at(-1)!));
  const list = (o: Record<string, number>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  lines.push('', `deciding rules: ${list(t.byRule)}`, `verdict flags: ${list(t.flags)}`);
  return lines.join('\n');
}

/** The backtest on an edge's store (replay.ts), as a table: per UTC day and in total. */
export function formatStoreBacktestTable(r: StoreBacktestReport): string {
  const lines = [`policy ${r.policy.id} v${r.policy.version} over the recorded dispatch cycles (live: ${r.livePolicies.join(', ') || 'no cycles'}); n / kWh per outcome`, ''];
  for (const d of r.days) lines.push(`${d.date}  ${d.cycles} cycles  ${d.proposals} proposals  auto ${cell(d.auto)}  escalate ${cell(d.escalate)}  deny ${cell(d.deny)}`);
  const t = r.total;
  lines.push(`total  ${t.cycles} cycles  ${t.proposals} proposals  auto ${cell(t.auto)}  escalate ${cell(t.escalate)}  deny ${cell(t.deny)}  (${t.days} d)`);
  return lines.join('\n');
}
