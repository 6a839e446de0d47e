/**
 * The approvals page: pending escalations newest first (what, where, how much, when, why, which
 * rule escalated it, the forecast that led to it, the model, time left ticking, the approvals so
 * far for two-person rules) with approve / reject and a comment; then decided items (who, when,
 * outcome, what became of the decision). Comments being typed survive a live refresh.
 */
import type uPlot from 'uplot';
import { getJson, HubError, postJson } from './api.js';
import { chartWidth, forecastChart } from './charts.js';
import { ACTION_NAMES, duration, esc, interval, num, timeEl } from './format.js';
import type { Page, PageContext } from './page.js';
import { ROLES, type ApprovalsView, type DecidedItem, type Me, type PendingItem } from './types.js';

/** Why this user cannot decide an item, or null when they can. */
export function refusal(me: Me, p: PendingItem): string | null {
  if (ROLES.indexOf(me.role) < ROLES.indexOf('operator')) return `Your role (${me.role}) may look but not decide.`;
  if (!p.approvalRoles.includes(me.role)) return `Rule ${p.ruleId} needs ${p.approvalRoles.join(' or ') || 'nobody at the hub'}; you are ${me.role}.`;
  if (p.approvals.some((a) => a.userName === me.name)) return `You approved this; it needs another ${p.approvalRoles.join(' or ')}.`;
  return null;
}

function approversState(p: PendingItem): string {
  const given = p.approvals.map((a) => `${esc(a.userName)} (${esc(a.role)}) at ${timeEl(a.atMs)}${a.comment ? `: &ldquo;${esc(a.comment)}&rdquo;` : ''}`);
  const need = `${p.approversRequired} approver${p.approversRequired > 1 ? 's' : ''} (${esc(p.approvalRoles.join(' or '))})`;
  return `<div class="approvers" data-approvals="${p.approvals.length}" data-required="${p.approversRequired}">
    Needs ${need}${p.approversRequired > 1 ? ' &mdash; two-person rule' : ''}: <strong>${p.approvals.length} of ${p.approversRequired}</strong> given${given.length ? `<ul>${given.map((g) => `<li>${g}</li>`).join('')}</ul>` : ''}</div>`;
}

function pendingCard(me: Me, p: PendingItem): string {
  const no = refusal(me, p);
  const magnitude = `${num(p.magnitudeKw, 'kW')}${p.magnitudePercent !== null ? ` (${num(p.magnitudePercent, '%', 0)})` : ''}${p.energyKwh !== null ? `, ${num(p.energyKwh, 'kWh')}` : ''}`;
  const model = p.model ? `${esc(p.model.id)} <span class="mono">${esc(p.model.version)}</span>` : p.fallback ? `fallback ${esc(p.fallback)}` : '<span class="muted">unknown</span>';
  return `<article class="card escalation" data-escalation="${p.id}" aria-labelledby="esc-${p.id}-title">
    <h3 id="esc-${p.id}-title">${esc(ACTION_NAMES[p.action] ?? p.action)} ${magnitude} on ${esc(p.assetId)} <span class="muted">edge ${esc(p.edgeId)} &middot; #${p.id}</span></h3>
    <p class="left" data-deadline="${p.deadlineMs}" role="timer" aria-live="off"></p>
    <dl>
      <dt>Interval</dt><dd>${interval(p.intervalStartMs, p.intervalEndMs)}</dd>
      <dt>Setpoint if approved</dt><dd>${p.setpoint ? `${esc(p.setpoint.point)} = ${num(p.setpoint.value, p.setpoint.unit)}` : '&ndash;'}</dd>
      <dt>Controller's reason</dt><dd class="reason">${esc(p.reason)}</dd>
      <dt>Escalated by</dt><dd>rule <strong class="rule">${esc(p.verdict.ruleId)}</strong> of policy ${esc(p.verdict.policyId)} v${esc(p.verdict.policyVersion)}${p.verdict.reasons.length ? `: ${p.verdict.reasons.map(esc).join('; ')}` : ''}</dd>
      <dt>Model</dt><dd class="model">${model}</dd>
      <dt>Escalated at</dt><dd>${timeEl(p.escalatedAtMs, true)}</dd>
    </dl>
    ${approversState(p)}
    <div class="chart" id="esc-chart-${p.id}">${p.chart ? '' : '<p class="muted">The forecast behind this proposal has not reached the hub.</p>'}</div>
    ${no
      ? `<p class="banner info cannot">${esc(no)}</p>`
      : `<form class="decide" data-id="${p.id}">
          <label>Comment <textarea name="comment" rows="2" maxlength="2000" placeholder="why (kept in the audit log)"></textarea></label>
          <div class="buttons"><button type="submit" name="action" value="approve" class="approve">Approve</button>
          <button type="submit" name="action" value="reject" class="reject">Reject</button></div>
        </form>`}
  </article>`;
}

/** The edge's own execution record, as its audit chain reached the hub: its outcome and message. */
function executed(d: DecidedItem): string | null {
  if (!d.execution) return null;
  const body = (d.execution.body ?? {}) as Record<string, unknown>;
  const outcome = body.state ?? body.outcome ?? body.result ?? 'recorded';
  const detail = body.message ?? body.code ?? body.reason ?? '';
  return `<span class="badge ${outcome === 'executed' ? 'good' : 'bad'}" data-execution="${esc(outcome)}">${esc(outcome)}</span> ${timeEl(d.execution.atMs, true)}${detail ? ` <span class="muted">${esc(detail)}</span>` : ''}`;
}

function execution(d: DecidedItem): string {
  const fromEdge = executed(d);
  // the edge's own record first; that the signed decision went out stays said beside it
  if (fromEdge) return d.published ? `${fromEdge}<div class="muted">signed decision sent to the edge</div>` : fromEdge;
  switch (d.state) {
    case 'approved':
      return d.published ? 'signed decision sent to the edge; it writes the setpoint after its own interlocks' : 'signed; waiting for the broker to send it';
    case 'rejected':
      return d.published ? 'rejection sent; nothing written' : 'rejected; waiting for the broker to tell the edge';
    case 'expired':
      return 'nobody decided in time; the edge applied its policy&rsquo;s on-timeout';
    default:
      return '&ndash;';
  }
}

function decidedRow(d: DecidedItem): string {
  const who = d.approvals.length > 0 ? d.approvals.map((a) => `${esc(a.userName)} (${esc(a.role)})`).join(', ') : d.decision ? d.decision.approvers.map(esc).join(', ') : '&ndash;';
  const comment = d.decision?.comment || d.approvals.map((a) => a.comment).filter(Boolean).join('; ');
  return `<tr data-escalation="${d.id}" data-state="${d.state}"><td class="num">#${d.id}</td><td>${esc(d.edgeId)}</td>
    <td>${esc(ACTION_NAMES[d.action] ?? d.action)} ${num(d.magnitudeKw, 'kW')} on ${esc(d.assetId)}</td>
    <td>${timeEl(d.intervalStartMs, true)}</td><td>${esc(d.ruleId)}</td>
    <td><span class="badge ${d.state === 'approved' ? 'good' : 'bad'}">${d.state}</span></td>
    <td>${d.state === 'expired' ? '<span class="muted">nobody</span>' : who}${comment ? `<div class="muted">&ldquo;${esc(comment)}&rdquo;</div>` : ''}</td>
    <td>${timeEl(d.decidedMs, true)}</td><td>${execution(d)}</td></tr>`;
}

export function approvalsPage(ctx: PageContext): Page {
  let charts: uPlot[] = [];
  let ticker: number | undefined;
  let clockSkewMs = 0;
  const tick = () => {
    const now = Date.now() + clockSkewMs;
    for (const el of ctx.root.querySelectorAll<HTMLElement>('[data-deadline]')) {
      const left = Number(el.dataset.deadline) - now;
      el.innerHTML = left > 0 ? `<strong>${duration(left)}</strong> left to decide (until ${timeEl(Number(el.dataset.deadline))})` : '<strong>Expired</strong>: the edge no longer waits for a decision';
      el.classList.toggle('urgent', left < 120_000);
      if (left <= 0) for (const b of el.closest('article')?.querySelectorAll('button') ?? []) (b as HTMLButtonElement).disabled = true;
    }
  };
  const page: Page = {
    // audit: an edge's execution record arrived (shown beside the decided item)
    liveEvents: ['escalation', 'approval', 'decision', 'audit'],
    async refresh() {
      const v = await getJson<ApprovalsView>('/api/console/approvals');
      clockSkewMs = v.nowMs - Date.now();
      const typed = new Map([...ctx.root.querySelectorAll<HTMLFormElement>('form.decide')].map((f) => [f.dataset.id!, (f.elements.namedItem('comment') as HTMLTextAreaElement).value]));
      const focused = (document.activeElement as HTMLElement | null)?.closest('form.decide')?.getAttribute('data-id');
      for (const c of charts) c.destroy();
      charts = [];
      ctx.root.innerHTML = `
        <h2>Approvals <span class="muted">${v.pending.length} pending, newest first</span></h2>
        <section class="pending" aria-label="pending escalations">${v.pending.map((p) => pendingCard(v.me, p)).join('') || '<p class="muted none-pending">Nothing waits for a decision.</p>'}</section>
        <h2>Decided <span class="muted">${v.decided.length} most recent</span></h2>
        <table class="grid decided" aria-label="decided escalations">
          <thead><tr><th class="num">id</th><th>edge</th><th>action</th><th>interval from</th><th>rule</th><th>outcome</th><th>who</th><th>when</th><th>execution</th></tr></thead>
          <tbody></tbody>
        </table>`;
      for (const [id, text] of typed) {
        const ta = ctx.root.querySelector<HTMLTextAreaElement>(`form.decide[data-id="${id}"] textarea`);
        if (ta) {
          ta.value = text;
          if (focused === id) ta.focus();
        }
      }
      // Charts before the long decided table, and one width for all: each chart measures its box,
      // and with a thousand rows below every measurement was a full layout.
      const width = chartWidth(ctx.root.querySelector<HTMLElement>('section.pending')!);
      for (const p of v.pending) {
        if (p.chart && p.intervalStartMs && p.intervalEndMs) charts.push(forecastChart(ctx.root.querySelector<HTMLElement>(`#esc-chart-${p.id}`)!, p.chart, 'kW', { startMs: p.intervalStartMs, endMs: p.intervalEndMs }, width));
      }
      ctx.root.querySelector('table.decided tbody')!.innerHTML = v.decided.map(decidedRow).join('');
      tick();
      ctx.rendered('approvals');
    },
    dispose() {
      window.clearInterval(ticker);
      for (const c of charts) c.destroy();
    },
  };
  ticker = window.setInterval(tick, 1000);
  ctx.root.addEventListener('submit', async (ev) => {
    const form = ev.target as HTMLFormElement;
    if (!form.matches('form.decide')) return;
    ev.preventDefault();
    const action = ((ev as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'reject' ? 'reject' : 'approve';
    const comment = (form.elements.namedItem('comment') as HTMLTextAreaElement).value;
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      await postJson(`/api/approvals/${form.dataset.id}/${action}`, { comment });
      ctx.notice(`Escalation #${form.dataset.id}: ${action === 'approve' ? 'approval' : 'rejection'} recorded.`, 'ok');
    } catch (e) {
      ctx.notice(e instanceof HubError ? `Escalation #${form.dataset.id} not ${action === 'approve' ? 'approved' : 'rejected'}: ${e.message} (${e.code})` : String(e), 'error');
    }
    await page.refresh().catch(() => undefined);
  });
  return page;
}
