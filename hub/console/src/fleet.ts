/** The fleet page: every edge with link state, last seen, backlog, policy, models and alarms. */
import { getJson } from './api.js';
import { duration, esc, num, timeEl } from './format.js';
import type { Page, PageContext } from './page.js';
import type { EdgeSummary, FleetView } from './types.js';

function policyCell(e: EdgeSummary, nowMs: number): string {
  const p = e.policy;
  if (!p) return '<span class="muted">unknown</span>';
  const state = p.expired ? '<span class="badge bad">expired</span>' : `<span class="badge good">valid</span> until ${timeEl(p.expiresMs, true)} (${duration(p.expiresMs - nowMs)} left)`;
  return `${esc(p.id)} v${esc(p.version)} ${state}`;
}

function modelsCell(e: EdgeSummary): string {
  if (!e.models || e.models.length === 0) return '<span class="muted">unknown</span>';
  return e.models.map((m) => `${esc(m.id)} <span class="mono">${esc(m.version)}</span>${m.role ? ` <span class="muted">(${esc(m.role)})</span>` : ''}`).join('<br>');
}

function row(e: EdgeSummary, nowMs: number): string {
  const alarms = e.alarms.length === 0 ? '<span class="muted">none</span>' : `<ul class="alarms">${e.alarms.map((a) => `<li><span class="code">${esc(a.code)}</span> ${esc(a.message)}</li>`).join('')}</ul>`;
  return `<tr data-edge="${esc(e.id)}">
    <th scope="row"><a href="#/edge/${encodeURIComponent(e.id)}">${esc(e.id)}</a><div class="muted">site ${esc(e.siteId)} &middot; agent ${esc(e.agentVersion || '?')}</div></th>
    <td>${e.online ? '<span class="badge good">online</span>' : `<span class="badge bad">offline</span><div class="muted">${esc(e.stateReason || 'no recent message')}</div>`}</td>
    <td>${timeEl(e.lastSeenMs)}<div class="muted">${duration(nowMs - e.lastSeenMs)} ago</div></td>
    <td class="num">${num(e.backlog.messages, 'msg', 0)}<div class="muted">${num(e.backlog.readings, 'readings', 0)}</div></td>
    <td>${policyCell(e, nowMs)}</td>
    <td>${modelsCell(e)}</td>
    <td>${alarms}</td>
  </tr>`;
}

export function fleetPage(ctx: PageContext): Page {
  return {
    liveEvents: ['edge', 'escalation', 'decision', 'readings'],
    async refresh() {
      const v = await getJson<FleetView>('/api/console/fleet');
      const offline = v.edges.filter((e) => !e.online);
      ctx.notice(offline.length > 0 ? `Unreachable edge(s): ${offline.map((e) => e.id).join(', ')}. Their data below is the last received.` : null, 'warn');
      ctx.root.innerHTML = `
        <h2>Fleet <span class="muted">${v.edges.length} edge(s), <a href="#/approvals">${v.pendingApprovals} pending approval(s)</a></span></h2>
        ${v.edges.length === 0 ? '<p class="muted">No edge has reported to this hub yet.</p>' : `
        <table class="grid" aria-label="edges">
          <thead><tr><th>edge</th><th>state</th><th>last seen</th><th class="num">backlog</th><th>policy</th><th>models</th><th>active alarms</th></tr></thead>
          <tbody>${v.edges.map((e) => row(e, v.nowMs)).join('')}</tbody>
        </table>`}`;
      ctx.rendered('fleet');
    },
    dispose() {},
  };
}
