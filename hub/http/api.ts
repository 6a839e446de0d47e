/**
 * The hub's REST API (fastify plugin): edges, their tags with latest values, reading history,
 * the edges' load forecasts and model scores, and Prometheus metrics. Query parameters are
 * validated with zod; a bad one gets a 400 that names the parameter and what was expected.
 *
 * `GET /api/edges/:id/audit?after=&limit=` is the edge's audit chain as the hub mirrors it (hub/audit).
 *
 * Every read of grid data needs a session (viewer or higher, `guard`): 401 HUB_AUTH_REQUIRED
 * without one. Open on purpose: `/api/health` (load balancers, the CLI's wait), and `/metrics`:
 * Prometheus scrapes without a session, and it exposes counters and gauges of the hub and the
 * link state of each edge (edge and site ids, online, backlog, lag), no readings, tags, users or
 * decisions; where even that is sensitive, expose the hub port only where the scraper lives. (Login, the decision key and /tuf/* are open in their own plugins.)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { readableRecordOfRow } from '../../protocols/audit/index.js';
import type { EdgeAuditMirror } from '../audit/index.js';
import { guard, type UserStore } from '../auth/index.js';
import type { HubMetrics } from '../metrics.js';
import type { HubStore } from '../store/hub-store.js';

/** An edge that never reported its link state is shown online when it sent anything within this long. */
export const ONLINE_WITHIN_MS = 30_000;

const instant = z.union([
  z.coerce.number().int().nonnegative(),
  z.string().transform((s, ctx) => {
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) {
      ctx.addIssue({ code: 'custom', message: 'expected ms since the epoch or an ISO 8601 time' });
      return z.NEVER;
    }
    return ms;
  }),
]);

const readingsQuery = z.strictObject({
  edge: z.string().min(1),
  tag: z.string().min(1),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
});

const forecastsQuery = z.strictObject({
  target: z.string().min(1).optional(),
  from: instant.optional(),
  to: instant.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(200),
});

const auditQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});

export interface ApiDeps {
  store: HubStore;
  auditMirror: EdgeAuditMirror;
  metrics: HubMetrics;
  users: UserStore;
  now: () => number;
}

function badRequest(issues: readonly z.core.$ZodIssue[]) {
  return {
    error: 'HUB_API_BAD_QUERY',
    message: issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
  };
}

export async function apiRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, metrics, now } = deps;
  const viewer = { preHandler: guard(deps.users, now, 'viewer') };

  app.get('/api/health', async () => ({ ok: true, timeMs: now() }));

  app.get('/api/edges', viewer, async () => {
    const edges = store.edges();
    metrics.edges.set(edges.length);
    const t = now();
    return edges.map((e) => ({
      ...e,
      online: e.stateChangedMs > 0 ? e.online : t - e.lastSeenMs <= ONLINE_WITHIN_MS,
      lagMs: e.lastReadingTsMs > 0 ? t - e.lastReadingTsMs : null,
    }));
  });

  app.get<{ Params: { id: string } }>('/api/edges/:id/tags', viewer, async (req, reply) => {
    if (!store.hasEdge(req.params.id)) {
      return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${req.params.id}' has reported to this hub` });
    }
    return store.tags(req.params.id);
  });

  app.get<{ Params: { id: string } }>('/api/edges/:id/gaps', viewer, async (req, reply) => {
    if (!store.hasEdge(req.params.id)) {
      return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${req.params.id}' has reported to this hub` });
    }
    return store.gaps(req.params.id);
  });

  app.get<{ Params: { id: string } }>('/api/edges/:id/forecasts', viewer, async (req, reply) => {
    if (!store.hasEdge(req.params.id)) {
      return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${req.params.id}' has reported to this hub` });
    }
    const q = forecastsQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error.issues));
    const toMs = q.data.to ?? now() + 2 * 86_400_000;
    const fromMs = q.data.from ?? toMs - 4 * 86_400_000;
    return { edge: req.params.id, target: q.data.target ?? null, fromMs, toMs, forecasts: store.forecasts(req.params.id, q.data.target, fromMs, toMs, q.data.limit) };
  });

  app.get<{ Params: { id: string } }>('/api/edges/:id/model-scores', viewer, async (req, reply) => {
    if (!store.hasEdge(req.params.id)) {
      return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${req.params.id}' has reported to this hub` });
    }
    return store.modelScores(req.params.id);
  });

  // The edge's audit chain as the hub mirrors it: status (head, last signed checkpoint, verified,
  // alarms) and the records after `after`, `limit` at a time.
  app.get<{ Params: { id: string } }>('/api/edges/:id/audit', viewer, async (req, reply) => {
    const edgeId = req.params.id;
    if (!store.hasEdge(edgeId)) {
      return reply.code(404).send({ error: 'HUB_API_UNKNOWN_EDGE', message: `no edge '${edgeId}' has reported to this hub` });
    }
    const q = auditQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error.issues));
    const status = deps.auditMirror.status(edgeId);
    const rows = deps.auditMirror.records(edgeId, q.data.after, q.data.limit);
    return {
      edgeId,
      status: status ?? { edgeId, head: deps.auditMirror.head(edgeId), lastCheckpoint: null, verified: false, alarms: [] },
      records: rows.map(readableRecordOfRow),
      nextAfter: rows.length === q.data.limit ? rows[rows.length - 1]!.seq : null,
    };
  });

  const series = (kind: 'readings' | 'aggregates') => async (req: FastifyRequest, reply: FastifyReply) => {
    const q = readingsQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send(badRequest(q.error.issues));
    const toMs = q.data.to ?? now();
    const fromMs = q.data.from ?? toMs - 3_600_000;
    if (fromMs > toMs) return reply.code(400).send({ error: 'HUB_API_BAD_QUERY', message: `from (${fromMs}) is after to (${toMs})` });
    const { edge, tag, limit } = q.data;
    return { edge, tag, fromMs, toMs, [kind]: store[kind](edge, tag, fromMs, toMs, limit) };
  };
  app.get('/api/readings', viewer, series('readings'));
  app.get('/api/aggregates', viewer, series('aggregates'));

  app.get('/metrics', async (_req, reply) => {
    metrics.edges.set(store.edges().length);
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
