/**
 * The edge page: live readings and aggregates per tag; the load forecast with its p10-p90 band
 * against actuals; battery state of charge and setpoint; PV output and curtailment; voltage with
 * the limits the edge reported it enforces (none drawn, and said so, when it reported none).
 * Charts are rebuilt on each refresh (a live `readings` event).
 */
import type uPlot from 'uplot';
import { getJson } from './api.js';
import { forecastChart, legendNote, seriesChart, type LimitSpec } from './charts.js';
import { esc, num, QUALITY_NAMES, timeEl } from './format.js';
import type { Page, PageContext } from './page.js';
import type { AuditChainStatus, EdgeView, TagView, VoltageLimits } from './types.js';

const CHAIN_BADGE: Record<AuditChainStatus['status'], string> = {
  ok: '<span class="badge good">verified</span>',
  broken: '<span class="badge bad">alarm</span>',
  unknown: '<span class="muted">unknown</span>',
};

/** The edge's audit chain at the hub: status, head, last signed checkpoint, alarms. */
function auditChain(c: AuditChainStatus): string {
  const head = c.head ? `head record ${c.head.seq} <span class="mono">${esc(c.head.hash.slice(0, 12))}</span>` : 'no records yet';
  const alarms = c.alarms.map((a) => `<tr data-alarm="${esc(a.kind)}"><td>${timeEl(a.atMs, true)}</td><td><span class="badge bad">${esc(a.kind)}</span></td><td class="num">${a.seq}</td><td>${esc(a.message)} <span class="muted">${esc(a.code)}</span></td></tr>`);
  return `<section class="audit-chain" data-status="${c.status}">
    <h3>Audit chain ${CHAIN_BADGE[c.status]} <span class="muted">${head}${c.lastCheckpointAtMs ? `, signed checkpoint ${timeEl(c.lastCheckpointAtMs, true)}` : ''}</span></h3>
    <p class="muted">${esc(c.detail)}</p>
    ${alarms.length > 0 ? `<table class="grid" aria-label="audit alarms"><thead><tr><th>time</th><th>alarm</th><th class="num">record</th><th>detail</th></tr></thead><tbody>${alarms.join('')}</tbody></table>` : ''}
  </section>`;
}

const pu = (v: number) => `${Number(v.toFixed(3))} pu`;

/** The lines the voltage chart draws: each limit the edge reported, labelled with what it does. */
function voltageLimitLines(l: VoltageLimits): LimitSpec[] {
  const lines: LimitSpec[] = [];
  if (l.interlockHighPu !== undefined) lines.push({ value: l.interlockHighPu, label: `interlock max ${pu(l.interlockHighPu)}`, color: '#c0392b' });
  if (l.interlockLowPu !== undefined) lines.push({ value: l.interlockLowPu, label: `interlock min ${pu(l.interlockLowPu)}`, color: '#c0392b' });
  if (l.curtailAbovePu !== undefined) lines.push({ value: l.curtailAbovePu, label: `curtails PV above ${pu(l.curtailAbovePu)}`, color: '#b9770e' });
  if (l.releaseBelowPu !== undefined) lines.push({ value: l.releaseBelowPu, label: `releases curtailment below ${pu(l.releaseBelowPu)}`, color: '#b9770e' });
  return lines;
}

/** Under the voltage KPI: the interlock band the edge enforces, or that it reported none. */
function voltageKpiNote(l: VoltageLimits | null): string {
  if (!l) return 'limits not reported';
  const lo = l.interlockLowPu;
  const hi = l.interlockHighPu;
  if (lo !== undefined && hi !== undefined) return `interlock ${pu(lo)} &ndash; ${pu(hi)}`;
  return voltageLimitLines(l).map((x) => esc(x.label)).join(', ') || 'limits not reported';
}

function tagRow(t: TagView): string {
  const a = t.aggregate;
  const q = t.latest ? (QUALITY_NAMES[t.latest.quality] ?? '?') : '';
  return `<tr data-tag="${esc(t.id)}">
    <th scope="row">${esc(t.id)}<div class="muted">${esc(t.description)}</div></th>
    <td class="num value">${num(t.latest?.value, t.unit)}</td>
    <td>${timeEl(t.latest?.tsMs)}</td>
    <td><span class="q-${esc(q)}">${esc(q)}</span></td>
    <td class="num">${a ? num(a.mean, t.unit) : '&ndash;'}</td>
    <td class="num">${a ? `${num(a.min, t.unit)} &hellip; ${num(a.max, t.unit)}` : '&ndash;'}</td>
    <td>${a ? `${timeEl(a.windowStartMs)} +${Math.round(a.windowMs / 1000)}&nbsp;s, ${a.count} samples` : '&ndash;'}</td>
  </tr>`;
}

export function edgePage(ctx: PageContext, edgeId: string): Page {
  let charts: uPlot[] = [];
  const dropCharts = () => {
    for (const c of charts) c.destroy();
    charts = [];
  };
  return {
    liveEvents: ['edge', 'readings'],
    async refresh() {
      const v = await getJson<EdgeView>(`/api/console/edges/${encodeURIComponent(edgeId)}`);
      const e = v.edge;
      ctx.notice(e.online ? null : `Edge ${e.id} is unreachable (${e.stateReason || 'no recent message'}); showing the last data received at ${new Date(e.lastSeenMs).toLocaleTimeString()}.`, 'warn');
      const s = v.series;
      const latest = (k: keyof EdgeView['series']) => s[k].points[s[k].points.length - 1]?.value ?? null;
      dropCharts();
      ctx.root.innerHTML = `
        <h2>Edge ${esc(e.id)} ${e.online ? '<span class="badge good">online</span>' : '<span class="badge bad">offline</span>'} <span class="muted">site ${esc(e.siteId)}, last seen ${timeEl(e.lastSeenMs)}</span></h2>
        <div class="kpis">
          <div class="kpi"><span>Feeder load</span><strong>${num(latest('load'), 'kW')}</strong></div>
          <div class="kpi"><span>Battery state of charge</span><strong>${num(latest('soc'), '%', 1)}</strong></div>
          <div class="kpi"><span>Battery setpoint</span><strong>${num(latest('setpoint'), 'kW', 0)}</strong></div>
          <div class="kpi"><span>PV output</span><strong>${num(latest('pv'), 'kW')}</strong></div>
          <div class="kpi"><span>PV curtailment limit</span><strong>${num(latest('curtailment'), '%', 0)}</strong></div>
          <div class="kpi"><span>Voltage</span><strong>${num(latest('voltage'), 'pu', 3)}</strong><small class="voltage-limits">${voltageKpiNote(v.voltage.limits)}</small></div>
        </div>
        <section class="charts">
          <div class="chart" id="chart-forecast">${v.forecast ? '' : '<p class="muted">No forecast from this edge yet.</p>'}</div>
          <div class="chart" id="chart-battery"></div>
          <div class="chart" id="chart-pv"></div>
          <div class="chart" id="chart-voltage" data-limits="${v.voltage.limits ? 'reported' : 'not-reported'}"></div>
        </section>
        ${auditChain(v.auditChain)}
        <h3>Tags <span class="muted">latest value and the last aggregate window</span></h3>
        <table class="grid" aria-label="tags">
          <thead><tr><th>tag</th><th class="num">latest</th><th>time</th><th>quality</th><th class="num">mean</th><th class="num">min &hellip; max</th><th>window</th></tr></thead>
          <tbody>${v.tags.map(tagRow).join('') || '<tr><td colspan="7" class="muted">No tags yet.</td></tr>'}</tbody>
        </table>`;
      const el = (id: string) => ctx.root.querySelector<HTMLElement>(id)!;
      // The last hour, or less when the edge has reported for less (a freshly started one).
      const firsts = Object.values(s).map((x) => x.points[0]?.tsMs ?? v.nowMs);
      const range = { fromMs: Math.max(v.nowMs - 3_600_000, Math.min(v.nowMs - 60_000, ...firsts)), toMs: v.nowMs };
      if (v.forecast) charts.push(forecastChart(el('#chart-forecast'), v.forecast));
      const limits = v.voltage.limits ? voltageLimitLines(v.voltage.limits) : [];
      const voltageChart = seriesChart(el('#chart-voltage'), limits.length > 0 ? 'Voltage and the limits this edge enforces' : 'Voltage', range, [{ label: `voltage ${v.voltage.tag}`, unit: 'pu', points: s.voltage.points, color: '#2c3e50' }], limits);
      // Never a band the edge did not report: an operator would take it for what the edge enforces.
      if (limits.length === 0) legendNote(voltageChart, 'voltage limits: not reported by this edge', { limits: 'not-reported' });
      charts.push(
        voltageChart,
        seriesChart(el('#chart-battery'), 'Battery: state of charge and setpoint', range, [
          { label: 'state of charge', unit: '%', points: s.soc.points, color: '#27ae60' },
          { label: 'setpoint', unit: 'kW', points: s.setpoint.points, color: '#8e44ad', right: true },
          { label: 'active power', unit: 'kW', points: s.batteryPower.points, color: '#d35400', right: true, dash: [3, 3] },
        ]),
        seriesChart(el('#chart-pv'), 'PV: output and curtailment limit', range, [
          { label: 'output', unit: 'kW', points: s.pv.points, color: '#f1c40f' },
          { label: 'curtailment limit', unit: '%', points: s.curtailment.points, color: '#7f8c8d', right: true },
        ]),
      );
      ctx.rendered('edge');
    },
    dispose: dropCharts,
  };
}
