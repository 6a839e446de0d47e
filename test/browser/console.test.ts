/**
 * The operator console in a real browser (Debian's Chromium via playwright-core) against a real
 * system (test/helpers/console-system.ts: hub with its embedded broker, the OPC UA substation
 * simulator, an edge agent dispatching under a policy with auto, one-approver and two-supervisor
 * rules). Screenshots of each page go to test-artifacts/console/ (not committed).
 *
 *  - an operator sees a pending escalation with its forecast chart, approves it; the simulator's
 *    battery setpoint changes and the decision appears in the audit page;
 *  - a viewer sees approvals but has no approve button, and the API refuses (403);
 *  - a two-person escalation stays pending after one supervisor and runs after a second;
 *  - an escalation past its deadline leaves the pending list and the API refuses it (409);
 *  - the edge page's voltage chart labels the limits the edge reported (0.94-1.06 pu interlocks);
 *  - an alarm on the edge's audit chain: an operator sees it without an Acknowledge button, a
 *    supervisor acknowledges it with a comment, and it leaves the fleet's active alarms.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../bench/chromium.js';
import { startConsoleSystem, PASSWORD, USERS, type ConsoleSystem } from '../helpers/console-system.js';
import { captureLogger } from '../helpers/logger.js';
import { waitFor } from '../helpers/wait.js';

const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const UI_MS = 15_000;
const { logger } = captureLogger('warn');

let system: ConsoleSystem;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function loginAs(name: string): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: 'Europe/Berlin' });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.setDefaultTimeout(UI_MS);
  await page.goto(`${system.httpUrl}/#/login`);
  await page.fill('input[name=name]', name);
  await page.fill('input[name=password]', PASSWORD);
  await page.press('input[name=password]', 'Enter');
  await page.waitForSelector('main[data-rendered="approvals"]');
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** POSTs a decision from inside the page, as the console would (cookie + the tab's CSRF token). */
function apiDecide(page: Page, id: number, action: 'approve' | 'reject'): Promise<{ status: number; error: string }> {
  return page.evaluate(
    async ([id, action]) => {
      const store = (globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage;
      const s = JSON.parse(store.getItem('gridos.session') ?? '{}') as { csrfToken?: string };
      const r = await fetch(`/api/approvals/${id}/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrfToken ?? '' }, body: '{"comment":"via the API"}' });
      return { status: r.status, error: ((await r.json()) as { error?: string }).error ?? '' };
    },
    [id, action] as const,
  );
}

beforeAll(async () => {
  if (!existsSync(join(process.cwd(), 'dist', 'hub', 'console', 'js', 'main.js'))) throw new Error('the console is not built: run npm run build first');
  mkdirSync(ARTIFACTS, { recursive: true });
  system = await startConsoleSystem(logger);
  browser = await launchChromium();
}, 90_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await system?.stop();
}, 30_000);

describe('the operator console in Chromium', () => {
  it('shows the login page, then the user and role after logging in', async () => {
    const ctx = await browser.newContext();
    contexts.push(ctx);
    const page = await ctx.newPage();
    await page.goto(`${system.httpUrl}/#/approvals`);
    await page.waitForSelector('main[data-rendered="login"]');
    await shot(page, 'login');
    await page.fill('input[name=name]', USERS.operator);
    await page.fill('input[name=password]', 'wrong password');
    await page.press('input[name=password]', 'Enter');
    await expect.poll(() => page.textContent('#login-error')).toContain('HUB_AUTH_BAD_CREDENTIALS');
    await page.fill('input[name=password]', PASSWORD);
    await page.press('input[name=password]', 'Enter');
    await page.waitForSelector('main[data-rendered="approvals"]');
    expect(await page.textContent('#user')).toContain('operator');
    expect(await page.textContent('#tz')).toMatch(/^Times in Europe\/Berlin|^Times in /);
  }, 60_000);

  it('an operator approves a pending escalation: the setpoint changes at the simulator and the audit record appears', async () => {
    const page = await loginAs(USERS.operator);
    const { escalationId } = await system.escalate(400);
    const card = page.locator(`article[data-escalation="${escalationId}"]`);
    await card.waitFor(); // arrives by server-sent event, without a reload
    await expect.poll(() => card.locator('.rule').textContent()).toBe('bess-medium');
    expect(await card.textContent()).toContain('400');
    expect(await card.locator('.model').textContent()).toContain('feeder-hour-ahead');
    expect(await card.locator('[data-deadline]').textContent()).toMatch(/left to decide/);
    await card.locator('canvas').first().waitFor(); // the forecast chart (uPlot draws on a canvas)
    expect(await card.locator('.u-title').textContent()).toContain('Load forecast');
    await shot(page, 'approvals');
    expect(system.sim.snapshot().battery.setpointKw).toBe(0);

    await card.locator('textarea').fill('evening peak, battery is full');
    await card.locator('button.approve').click();
    await page.locator(`table.decided tr[data-escalation="${escalationId}"][data-state="approved"]`).waitFor();
    expect(await page.textContent('#notice')).toContain('approval recorded');
    await waitFor('the simulator discharging at 400 kW', () => system.sim.snapshot().battery.setpointKw === 400, 20_000);
    await expect.poll(() => page.locator(`table.decided tr[data-escalation="${escalationId}"]`).textContent(), { timeout: UI_MS }).toContain('sent to the edge');
    // the edge's own execution record, mirrored from its audit chain, says the write was verified
    await page.locator(`table.decided tr[data-escalation="${escalationId}"] [data-execution="executed"]`).waitFor({ timeout: UI_MS });

    await page.click('#nav a[href="#/audit"]');
    await page.waitForSelector('main[data-rendered="audit"]');
    await page.fill('#audit-q', 'evening peak');
    await page.press('#audit-q', 'Enter');
    await page.locator('table.records tr[data-kind="decision"]').first().waitFor();
    const rec = await page.locator('table.records tr[data-kind="decision"]').first().textContent();
    expect(rec).toContain(USERS.operator);
    expect(rec).toContain('approve');
    expect(await page.locator('table.chains').textContent()).toContain('verified');
    await shot(page, 'audit');

    await page.click('#nav a[href="#/fleet"]');
    await page.waitForSelector('main[data-rendered="fleet"]');
    expect(await page.locator('tr[data-edge="edge-north"]').textContent()).toContain('online');
    await shot(page, 'fleet');

    await page.click('tr[data-edge="edge-north"] a');
    await page.waitForSelector('main[data-rendered="edge"]');
    await expect.poll(() => page.locator('tr[data-tag="bess1.power_setpoint_kw"] .value').textContent(), { timeout: UI_MS }).toMatch(/400\s*kW/);
    expect(await page.locator('#chart-forecast canvas').count()).toBeGreaterThan(0);
    // the voltage chart draws the limits this edge reported (its interlocks), labelled
    const voltageLegend = await page.locator('#chart-voltage .u-legend').textContent();
    expect(voltageLegend).toContain('interlock max 1.06 pu');
    expect(voltageLegend).toContain('interlock min 0.94 pu');
    await shot(page, 'edge');
  }, 90_000);

  it('a viewer sees pending approvals but cannot approve: no button, and the API answers 403', async () => {
    const { escalationId } = await system.escalate(350);
    const page = await loginAs(USERS.viewer);
    const card = page.locator(`article[data-escalation="${escalationId}"]`);
    await card.waitFor();
    expect(await card.locator('button.approve').count()).toBe(0);
    expect(await card.locator('.cannot').textContent()).toContain('viewer');
    await shot(page, 'approvals-viewer');
    expect(await apiDecide(page, escalationId, 'approve')).toEqual({ status: 403, error: 'HUB_AUTH_FORBIDDEN' });
    expect(system.hub.store.sqlite().prepare('SELECT state FROM escalations WHERE id = ?').pluck().get(escalationId)).toBe('pending');
    // leave nothing pending for the next scenarios
    const op = await loginAs(USERS.operator);
    await op.locator(`article[data-escalation="${escalationId}"] button.reject`).click();
    await op.locator(`table.decided tr[data-escalation="${escalationId}"][data-state="rejected"]`).waitFor();
  }, 60_000);

  it('a two-person escalation needs a second supervisor', async () => {
    const { escalationId } = await system.escalate(800);
    const operator = await loginAs(USERS.operator);
    const sue = await loginAs(USERS.supervisor);
    const sam = await loginAs(USERS.supervisor2);
    const cardOf = (p: Page) => p.locator(`article[data-escalation="${escalationId}"]`);
    await cardOf(operator).waitFor();
    expect(await cardOf(operator).locator('button.approve').count()).toBe(0);
    expect(await cardOf(operator).locator('.cannot').textContent()).toContain('supervisor');
    await cardOf(sue).waitFor();
    expect(await cardOf(sue).locator('.rule').textContent()).toBe('bess-large');
    await cardOf(sue).locator('button.approve').click();
    await cardOf(sue).locator('.approvers[data-approvals="1"]').waitFor();
    expect(await cardOf(sue).locator('.cannot').textContent()).toContain('another supervisor');
    // the second supervisor's page updates live: one of two given
    await cardOf(sam).locator('.approvers[data-approvals="1"]').waitFor();
    await shot(sam, 'approvals-two-person');
    expect(system.hub.store.sqlite().prepare('SELECT state FROM escalations WHERE id = ?').pluck().get(escalationId)).toBe('pending');
    await cardOf(sam).locator('textarea').fill('second pair of eyes');
    await cardOf(sam).locator('button.approve').click();
    const decided = sam.locator(`table.decided tr[data-escalation="${escalationId}"][data-state="approved"]`);
    await decided.waitFor();
    expect(await decided.textContent()).toMatch(/sue.*sam/);
    await sue.locator(`table.decided tr[data-escalation="${escalationId}"][data-state="approved"]`).waitFor();
  }, 90_000);

  it('an escalation past its deadline can no longer be approved', async () => {
    const { escalationId } = await system.escalate(300);
    const page = await loginAs(USERS.operator);
    const card = page.locator(`article[data-escalation="${escalationId}"]`);
    await card.waitFor();
    system.advanceHubClock(16 * 60_000); // the rule's onTimeout is 15 min
    await page.locator(`table.decided tr[data-escalation="${escalationId}"][data-state="expired"]`).waitFor();
    expect(await card.count()).toBe(0);
    expect(await apiDecide(page, escalationId, 'approve')).toEqual({ status: 409, error: 'HUB_APPROVAL_EXPIRED' });
    await shot(page, 'approvals-expired');
  }, 60_000);

  it('an audit alarm: an operator cannot acknowledge it, a supervisor does with a comment; the fleet no longer shows it', async () => {
    const edgeId = 'edge-north';
    system.hub.auditMirror.alarms.raise(edgeId, { kind: 'fork', code: 'HUB_AUDIT_FORK', seq: 99_999, hash: 'ab'.repeat(32), message: `edge ${edgeId} sent record 99999 as abab..., the hub holds cdcd...: two histories` }, Date.now());
    const alarmId = system.hub.auditMirror.alarms.list(edgeId, 1)[0]!.id;
    const row = (p: Page) => p.locator(`table.alarms tr[data-alarm="${alarmId}"]`);

    const olga = await loginAs(USERS.operator);
    await olga.click('#nav a[href="#/audit"]');
    await row(olga).waitFor();
    expect(await row(olga).getAttribute('data-active')).toBe('true');
    expect(await row(olga).locator('form.ack').count()).toBe(0);

    const sue = await loginAs(USERS.supervisor);
    await sue.click('#nav a[href="#/fleet"]');
    await sue.waitForSelector('main[data-rendered="fleet"]');
    expect(await sue.locator(`tr[data-edge="${edgeId}"]`).textContent()).toContain('AUDIT_FORK');
    await sue.click('#nav a[href="#/audit"]');
    await row(sue).locator('form.ack input').fill('field crew restored the gateway from backup, ticket 4411');
    await row(sue).locator('form.ack button').click();
    await sue.locator(`table.alarms tr[data-alarm="${alarmId}"][data-active="false"]`).waitFor();
    expect(await row(sue).textContent()).toMatch(/acknowledged by sue \(supervisor\).*ticket 4411/);
    await shot(sue, 'audit-alarm-acknowledged');
    await sue.click('#nav a[href="#/fleet"]');
    await sue.waitForSelector('main[data-rendered="fleet"]');
    expect(await sue.locator(`tr[data-edge="${edgeId}"]`).textContent()).not.toContain('AUDIT_FORK');
  }, 60_000);
});
