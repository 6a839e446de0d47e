/**
 * The approvals page's first render with 1,000 decided escalations (and a few pending ones with
 * their forecasts), in Chromium against a real hub on loopback. The console renders from one
 * request (`/api/console/approvals`); the baseline, in the same run and browser, is the naive
 * console: the list from `/api/approvals`, then each item's forecast from
 * `/api/edges/:id/forecasts`, then the same table. Times are first-render medians of 5 loads
 * (navigation start to the page's `gridos-rendered-approvals` mark); the target is < 1 s.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { hubConfigSchema, validateConfig } from '../config/index.js';
import { buildHub, type Hub } from '../hub/index.js';
import { launchChromium } from './chromium.js';
import { machine } from './machine.js';

const EDGE = 'edge-bench';
const SITE = 'site-bench';
const HOUR_MS = 3_600_000;

/** Escalations as an edge sends them (through the store's ingest path), `decided` of them decided by `approvals.act`. */
async function seed(hub: Hub, decided: number, pending: number, nowMs: number): Promise<void> {
  let seq = 1;
  const receive = (payload: Parameters<Hub['store']['receive']>[0]['payload']) => hub.store.receive({ edgeId: EDGE, siteId: SITE, seq: seq++, nowMs, payload });
  for (let i = 0; i < decided + pending; i++) {
    const startMs = nowMs - (decided - i) * HOUR_MS;
    const load = [5400 + (i % 7) * 50, 4800, 4500];
    receive({ kind: 'forecast', forecast: { target: 'feeder1-load', tag: 'feeder1.active_power_kw', horizon: 'hour-ahead', role: 'active', issuedAtMs: startMs - 60_000, firstHourMs: startMs, hourMs: HOUR_MS, load, p10: load.map((v) => v * 0.95), p90: load.map((v) => v * 1.05), model: { id: 'feeder-hour-ahead', version: '2026.12.1', sha256: 'ab'.repeat(32), featureBuilderVersion: '1' }, fallbackCode: '', fallbackReason: '', latencyUs: 800 } });
    const proposal = {
      controller: 'peak-shaving', edgeId: EDGE, siteId: SITE, assetId: 'bess-01', action: 'battery_discharge', magnitudeKw: 400 + (i % 7) * 50, energyKwh: 400, intervalStartMs: startMs, intervalEndMs: startMs + HOUR_MS,
      setpoint: { point: 'ns=1;s=BESS1.PowerSetpoint', value: 400, unit: 'kW' }, reason: `forecast peak ${load[0]} kW above the 5000 kW limit`,
      forecast: { target: 'feeder1-load', startMs, basis: 'load', loadKw: load[0], p10Kw: load[0]! * 0.95, p90Kw: load[0]! * 1.05, model: { id: 'feeder-hour-ahead', version: '2026.12.1', sha256: 'ab'.repeat(32) }, fallback: null }, measurement: null,
    };
    const json = Buffer.from(JSON.stringify(proposal));
    const escalatedAtMs = i < decided ? startMs - 600_000 : nowMs;
    receive({ kind: 'escalation', escalation: { proposalJson: json, proposalHash: createHash('sha256').update(json).digest('hex'), proposalId: `peak-shaving-${i}`, verdict: { outcome: 'escalate', ruleId: 'bess-medium', reasons: ['power above 250 kW'], policyId: 'bench', policyVersion: 1, flags: [], approvalRoles: ['operator'], approversRequired: 1 }, escalatedAtMs, deadlineMs: i < decided ? nowMs + 600_000 : nowMs + 900_000 } });
  }
  for (let id = 1; id <= decided; id++) {
    const r = await hub.approvals.act(id, { name: id % 2 ? 'olga' : 'oscar', role: 'operator' }, id % 5 === 0 ? 'reject' : 'approve', id % 3 === 0 ? 'evening peak' : '');
    if (!r.ok) throw new Error(`seeding escalation ${id}: ${r.code} ${r.message}`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchConsole(args: string[]): Promise<unknown> {
  const decided = Number(args.find((a) => a.startsWith('--decided='))?.slice(11) ?? 1000);
  const runs = Number(args.find((a) => a.startsWith('--runs='))?.slice(7) ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'gridos-bench-console-'));
  const hub = await buildHub(validateConfig(hubConfigSchema, { http: { host: '127.0.0.1', port: 0 }, storage: { dataDir: dir } }, 'bench hub'), { logger: pino({ level: 'silent' }) });
  const browser = await launchChromium();
  try {
    const nowMs = Date.now();
    await seed(hub, decided, 5, nowMs);
    await hub.users.add('bench', 'operator', 'bench password', nowMs);
    // Only HTTP: no broker or ingest, nothing else competing.
    const url = await hub.app.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${url}/#/login`);
    await page.fill('input[name=name]', 'bench');
    await page.fill('input[name=password]', 'bench password');
    await page.press('input[name=password]', 'Enter');
    await page.waitForSelector('main[data-rendered="approvals"]', { timeout: 30_000 });

    let apiRequests = 0;
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/api/') && path !== '/api/events') apiRequests++;
    });
    const consoleMs: number[] = [];
    const consoleRequests: number[] = [];
    const apiReadyMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      apiRequests = 0;
      await page.goto(`${url}/?run=${i}#/approvals`);
      await page.waitForSelector('main[data-rendered="approvals"]', { timeout: 30_000 });
      consoleMs.push(await page.evaluate(() => performance.getEntriesByName('gridos-rendered-approvals')[0]!.startTime));
      const res = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => [e.name.replace(/^https?:\/\/[^/]+/, ''), Math.round(e.startTime), Math.round((e as unknown as { responseEnd: number }).responseEnd)] as const));
      apiReadyMs.push(res.find(([name]) => name.startsWith('/api/console/approvals'))?.[2] ?? NaN);
      if (process.env.GRIDOS_BENCH_DEBUG) process.stderr.write(JSON.stringify(await page.evaluate(() => performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])).catch(() => res)) + '\n');
      consoleRequests.push(apiRequests);
    }
    const rows = await page.locator('table.decided tbody tr').count();

    const baselineMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      await page.goto(`${url}/console.css?run=${i}`); // same origin, no console script
      baselineMs.push(await page.evaluate(naiveApprovalsPage, decided + 5));
    }
    const firstRenderMs = Math.round(median(consoleMs));
    const baselineFirstRenderMs = Math.round(median(baselineMs));
    return {
      bench: 'console',
      machine: machine(),
      inputs: { decided, pending: 5, runs, decidedRowsRendered: rows, runId: randomUUID() },
      figures: { firstRenderMs, viewAnswerEndMs: Math.round(median(apiReadyMs)), baselineFirstRenderMs, ratio: +(baselineFirstRenderMs / firstRenderMs).toFixed(1), requestsToFirstView: Math.max(...consoleRequests), baselineRequests: 1 + decided + 5, targetMs: 1000, underTarget: firstRenderMs < 1000 },
    };
  } finally {
    await browser.close();
    await hub.app.close();
    hub.store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs in the page: the naive console (list, then one request per item), returns ms from navigation start to its table drawn. */
async function naiveApprovalsPage(limit: number): Promise<number> {
  type Row = { id: number; edgeId: string; state: string; proposal: { action: string; magnitudeKw: number; assetId: string; forecast: { target: string; startMs: number } | null }; approvals: { userName: string }[]; decidedMs: number };
  const list = (await (await fetch(`/api/approvals?limit=${Math.min(limit, 1000)}`)).json()) as Row[];
  const charts = await Promise.all(
    list.map(async (r) => {
      const f = r.proposal.forecast;
      if (!f) return null;
      return (await fetch(`/api/edges/${encodeURIComponent(r.edgeId)}/forecasts?target=${encodeURIComponent(f.target)}&from=${f.startMs}&to=${f.startMs}&limit=2`)).json();
    }),
  );
  const body = list
    .map((r, i) => `<tr><td>#${r.id}</td><td>${r.edgeId}</td><td>${r.proposal.action} ${r.proposal.magnitudeKw} kW on ${r.proposal.assetId}</td><td>${r.state}</td><td>${r.approvals.map((a) => a.userName).join(', ')}</td><td>${new Date(r.decidedMs).toLocaleString()}</td><td>${charts[i] ? 'chart' : ''}</td></tr>`)
    .join('');
  const doc = (globalThis as unknown as { document: { body: { innerHTML: string; getBoundingClientRect(): unknown } } }).document;
  doc.body.innerHTML = `<table><tbody>${body}</tbody></table>`;
  doc.body.getBoundingClientRect(); // layout, as the console's render does before its mark
  return performance.now();
}
