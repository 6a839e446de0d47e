/**
 * The console's read routes (fastify plugin), one per page so each page's first view is one
 * request, every one behind the auth guard (viewer+):
 *
 *   GET /api/console/fleet                every edge: link state, backlog, policy, models, alarms
 *   GET /api/console/edges/:id            tags, aggregates, forecast vs actuals, battery, PV, voltage
 *   GET /api/console/approvals?decided=N  pending escalations with their forecasts; N decided ones
 *   GET /api/console/audit?q=&limit=      the hub's audit chain and login events, searched; each chain's status and alarms
 *   GET /api/events                       server-sent events: escalation, approval, decision, edge, readings, audit
 *
 * Each answer carries `nowMs` (the hub's clock: countdowns in the browser run from it) and `me`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApprovalStore } from '../approvals/index.js';
import { readableRecordOfRow } from '../../protocols/audit/index.js';
import type { EdgeAuditMirror, HubAuditLog } from '../audit/index.js';
import { guard, type UserStore } from '../auth/index.js';
import type { HubStore } from '../store/hub-store.js';
import { ConsoleFeed, type FeedEvent } from './console-feed.js';
import { approvalsView, edgeChainStatus, edgeView, fleetView, type ViewContext } from './console-views.js';

export interface ConsoleApiOptions {
  store: HubStore;
  approvals: ApprovalStore;
  users: UserStore;
  audit: HubAuditLog;
  auditMirror: EdgeAuditMirror;
  now: () => number;
  /** Feed poll period (default 1 s). */
  feedIntervalMs?: number;
  /** SSE keep-alive comment period (default 15 s), under common proxies' idle timeouts. */
  keepAliveMs?: number;
}

const approvalsQuery = z.strictObject({ decided: z.coerce.number().int().min(0).max(5000).default(1000) });
const auditQuery = z.strictObject({ q: z.string().max(200).default(''), limit: z.coerce.number().int().min(1).max(5000).default(500) });

const badQuery = (reply: FastifyReply, issues: readonly z.core.$ZodIssue[]) =>
  reply.code(400).send({ error: 'HUB_API_BAD_QUERY', message: issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });

export interface AuditEntryView {
  source: 'hub-chain' | 'auth';
  seq: number | null;
  atMs: number;
  kind: string;
  subject: unknown;
  body: unknown;
  hash: string | null;
}

export async function consoleApiRoutes(app: FastifyInstance, o: ConsoleApiOptions): Promise<void> {
  const { users, now } = o;
  const viewer = { preHandler: guard(users, now, 'viewer') };
  const ctx = (): ViewContext => ({ store: o.store, approvals: o.approvals, mirror: o.auditMirror, nowMs: now() });
  const me = (req: FastifyRequest) => ({ name: req.hubUser!.name, role: req.hubUser!.role });

  app.get('/api/console/fleet', viewer, async (req) => ({ me: me(req), ...fleetView(ctx()) }));

  app.get<{ Params: { id: string } }>('/api/console/edges/:id', viewer, async (req, reply) => {
    const view = edgeView(ctx(), req.params.id);
    if (!view) return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${req.params.id}' has reported to this hub` });
    return { me: me(req), ...view };
  });

  app.get('/api/console/approvals', viewer, async (req, reply) => {
    const q = approvalsQuery.safeParse(req.query);
    if (!q.success) return badQuery(reply, q.error.issues);
    return { me: me(req), ...approvalsView(ctx(), q.data.decided) };
  });

  app.get('/api/console/audit', viewer, async (req, reply) => {
    const q = auditQuery.safeParse(req.query);
    if (!q.success) return badQuery(reply, q.error.issues);
    const chain = o.audit.rows().map((row): AuditEntryView => {
      const r = readableRecordOfRow(row);
      return { source: 'hub-chain', seq: r.seq, atMs: r.atMs, kind: r.kind, subject: r.subject, body: r.body, hash: r.hash };
    });
    const auth = users.events().map((e): AuditEntryView => ({ source: 'auth', seq: null, atMs: e.atMs, kind: e.event, subject: { user: e.userName }, body: { detail: e.detail }, hash: null }));
    const needle = q.data.q.toLowerCase();
    const records = [...chain, ...auth]
      .filter((r) => !needle || JSON.stringify([r.kind, r.subject, r.body]).toLowerCase().includes(needle))
      .sort((a, b) => b.atMs - a.atMs)
      .slice(0, q.data.limit);
    const verification = o.audit.verify();
    const edges = o.store.edges().map((e) => {
      const { status, detail, alarms } = edgeChainStatus(o.auditMirror, e.id);
      return { edgeId: e.id, chain: { status, detail }, alarms };
    });
    return { me: me(req), nowMs: now(), q: q.data.q, records, hubChain: verification, edges };
  });

  const feed = new ConsoleFeed({ store: o.store, approvals: o.approvals, now, auditHeads: () => o.auditMirror.heads(), ...(o.feedIntervalMs ? { intervalMs: o.feedIntervalMs } : {}) });
  const streams = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of [...streams]) end();
    feed.close();
  });

  app.get('/api/events', viewer, async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    // The browser's EventSource waits this long before it reconnects after a drop.
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ nowMs: now(), me: me(req) })}\n\n`);
    const send = (e: FeedEvent) => res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`);
    const unsubscribe = feed.subscribe(send);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
    const end = () => {
      clearInterval(keepAlive);
      unsubscribe();
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    streams.add(end);
    req.raw.on('close', end);
  });
}
