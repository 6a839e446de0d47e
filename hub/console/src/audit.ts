/**
 * The audit page: the hub's audit chain (decisions, approvals, alarm acknowledgements) and login
 * events, newest first, searched by any text in them; whether the hub's chain verifies, each
 * edge's chain status, and the alarms on edges' chains: active ones (a supervisor or admin
 * acknowledges one with a comment), acknowledged ones (who, when, why) and cleared ones.
 */
import { getJson, HubError, postJson } from './api.js';
import { esc, timeEl } from './format.js';
import type { Page, PageContext } from './page.js';
import { ROLES, type AuditAlarm, type AuditRecord, type AuditView, type Me } from './types.js';

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

function alarmState(a: AuditAlarm, me: Me): string {
  if (a.acknowledged) {
    const k = a.acknowledged;
    return `<span class="badge">acknowledged</span> by ${esc(k.by)} (${esc(k.role)}) ${timeEl(k.atMs, true)}: &ldquo;${esc(k.comment)}&rdquo;${a.clearedMs ? `; cleared ${timeEl(a.clearedMs, true)}` : ''}`;
  }
  if (a.clearedMs) return `<span class="badge good">cleared</span> ${timeEl(a.clearedMs, true)}`;
  if (ROLES.indexOf(me.role) < ROLES.indexOf('supervisor')) return '<span class="badge bad">active</span>';
  return `<span class="badge bad">active</span>
    <form class="ack" data-edge="${esc(a.edgeId)}" data-id="${a.id}"><input name="comment" required maxlength="2000" placeholder="why it may rest" aria-label="comment for alarm ${a.id}"> <button type="submit">Acknowledge</button></form>`;
}

function alarmRow(a: AuditAlarm, me: Me): string {
  return `<tr data-alarm="${a.id}" data-active="${a.active}"><td>${timeEl(a.atMs, true)}</td><td>${esc(a.edgeId)}</td><td><span class="code">${esc(a.kind)}</span> <span class="muted">${esc(a.code)}</span></td>
    <td class="num">${a.seq}</td><td>${esc(a.message)}</td><td class="state">${alarmState(a, me)}</td></tr>`;
}

export function auditPage(ctx: PageContext, initialQuery: string): Page {
  let q = initialQuery;
  const page: Page = {
    liveEvents: ['decision', 'approval', 'audit'],
    async refresh() {
      const v = await getJson<AuditView>(`/api/console/audit?q=${encodeURIComponent(q)}`);
      // comments being typed survive a live refresh
      const typing = new Map([...ctx.root.querySelectorAll<HTMLFormElement>('form.ack')].map((f) => [f.dataset.id, (f.elements.namedItem('comment') as HTMLInputElement).value]));
      const alarms = v.edges.flatMap((e) => e.alarms).sort((x, y) => Number(y.active) - Number(x.active) || y.atMs - x.atMs);
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
        <table class="grid alarms" aria-label="edge audit alarms">
          <thead><tr><th>raised</th><th>edge</th><th>alarm</th><th class="num">record</th><th>what</th><th>state</th></tr></thead>
          <tbody>${alarms.map((a) => alarmRow(a, v.me)).join('') || '<tr><td colspan="6" class="muted">No alarm on any edge\'s audit chain.</td></tr>'}</tbody>
        </table>
        <table class="grid records" aria-label="audit records">
          <thead><tr><th>time</th><th>where</th><th>kind</th><th>subject</th><th>details</th><th>hash</th></tr></thead>
          <tbody>${v.records.map(row).join('') || `<tr><td colspan="6" class="muted">No record matches &ldquo;${esc(q)}&rdquo;.</td></tr>`}</tbody>
        </table>`;
      if (hadFocus) ctx.root.querySelector<HTMLInputElement>('#audit-q')?.focus();
      for (const f of ctx.root.querySelectorAll<HTMLFormElement>('form.ack')) (f.elements.namedItem('comment') as HTMLInputElement).value = typing.get(f.dataset.id) ?? '';
      ctx.rendered('audit');
    },
    dispose() {},
  };
  ctx.root.addEventListener('submit', async (ev) => {
    const form = ev.target as HTMLFormElement;
    if (!form.matches('form.ack')) return;
    ev.preventDefault();
    const comment = (form.elements.namedItem('comment') as HTMLInputElement).value;
    form.querySelector('button')!.disabled = true;
    try {
      await postJson(`/api/edges/${encodeURIComponent(form.dataset.edge!)}/audit/alarms/${form.dataset.id}/acknowledge`, { comment });
      ctx.notice(`Audit alarm #${form.dataset.id} acknowledged.`, 'ok');
    } catch (e) {
      ctx.notice(e instanceof HubError ? `Audit alarm #${form.dataset.id} not acknowledged: ${e.message} (${e.code})` : String(e), 'error');
    }
    await page.refresh().catch(() => undefined);
  });
  ctx.root.addEventListener('submit', (ev) => {
    if (!(ev.target as HTMLElement).matches('#audit-search')) return;
    ev.preventDefault();
    q = ctx.root.querySelector<HTMLInputElement>('#audit-q')!.value;
    history.replaceState(null, '', `#/audit?q=${encodeURIComponent(q)}`);
    void page.refresh();
  });
  return page;
}
