/**
 * The audit page: the hub's audit chain (decisions, approvals) and login events, newest first,
 * searched by any text in them; whether the hub's chain verifies, and each edge's chain status
 * (unknown while the hub cannot verify edge chains).
 */
import { getJson } from './api.js';
import { esc, timeEl } from './format.js';
import type { Page, PageContext } from './page.js';
import type { AuditRecord, AuditView } from './types.js';

const STATUS: Record<string, string> = { ok: '<span class="badge good">verified</span>', broken: '<span class="badge bad">broken</span>', unknown: '<span class="muted">unknown</span>' };

function brief(v: unknown): string {
  if (v === null || typeof v !== 'object') return esc(v);
  return Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `<span class="kv"><span class="k">${esc(k)}</span> ${esc(typeof x === 'object' ? JSON.stringify(x) : x)}</span>`)
    .join(' ');
}

function row(r: AuditRecord): string {
  return `<tr data-kind="${esc(r.kind)}"><td>${timeEl(r.atMs, true)}</td><td>${r.source === 'hub-chain' ? `chain #${r.seq}` : 'login log'}</td>
    <td>${esc(r.kind)}</td><td>${brief(r.subject)}</td><td>${brief(r.body)}</td><td class="mono">${r.hash ? esc(r.hash.slice(0, 12)) : ''}</td></tr>`;
}

export function auditPage(ctx: PageContext, initialQuery: string): Page {
  let q = initialQuery;
  const page: Page = {
    liveEvents: ['decision', 'approval'],
    async refresh() {
      const v = await getJson<AuditView>(`/api/console/audit?q=${encodeURIComponent(q)}`);
      const hub = v.hubChain.ok ? `${STATUS.ok} ${v.hubChain.records} records` : `${STATUS.broken} at record ${v.hubChain.at}: ${esc(v.hubChain.message)} (${esc(v.hubChain.code)})`;
      const hadFocus = document.activeElement?.id === 'audit-q';
      ctx.root.innerHTML = `
        <h2>Audit</h2>
        <form id="audit-search" role="search"><label>Search <input id="audit-q" name="q" type="search" value="${esc(q)}" placeholder="user, edge, proposal, kind..."></label> <button type="submit">Search</button></form>
        <table class="grid chains" aria-label="chain status">
          <thead><tr><th>chain</th><th>status</th><th>detail</th></tr></thead>
          <tbody><tr><th scope="row">hub</th><td colspan="2">${hub}</td></tr>
          ${v.edges.map((e) => `<tr data-edge="${esc(e.edgeId)}"><th scope="row">edge ${esc(e.edgeId)}</th><td class="chain-status">${STATUS[e.chain.status] ?? esc(e.chain.status)}</td><td class="muted">${esc(e.chain.detail)}</td></tr>`).join('')}</tbody>
        </table>
        <table class="grid records" aria-label="audit records">
          <thead><tr><th>time</th><th>where</th><th>kind</th><th>subject</th><th>details</th><th>hash</th></tr></thead>
          <tbody>${v.records.map(row).join('') || `<tr><td colspan="6" class="muted">No record matches &ldquo;${esc(q)}&rdquo;.</td></tr>`}</tbody>
        </table>`;
      if (hadFocus) ctx.root.querySelector<HTMLInputElement>('#audit-q')?.focus();
      ctx.rendered('audit');
    },
    dispose() {},
  };
  ctx.root.addEventListener('submit', (ev) => {
    if (!(ev.target as HTMLElement).matches('#audit-search')) return;
    ev.preventDefault();
    q = ctx.root.querySelector<HTMLInputElement>('#audit-q')!.value;
    history.replaceState(null, '', `#/audit?q=${encodeURIComponent(q)}`);
    void page.refresh();
  });
  return page;
}
