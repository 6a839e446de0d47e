/**
 * The approvals API (fastify plugin), every route behind the auth guard:
 *
 *   GET  /api/approvals?state=pending|approved|rejected|expired   viewer+
 *   POST /api/approvals/:id/approve { comment? }                   operator+ and a role of the rule
 *   POST /api/approvals/:id/reject  { comment? }                   operator+ and a role of the rule
 *   GET  /api/decision-key                                         open: the public key edges trust
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { guard, type UserStore } from '../auth/index.js';
import type { Approvals } from './approvals.js';
import type { DecisionKey } from './decision-key.js';
import { ESCALATION_STATES, type ApprovalStore } from './store.js';

export interface ApprovalRoutesOptions {
  approvals: Approvals;
  store: ApprovalStore;
  users: UserStore;
  key: DecisionKey;
  now: () => number;
}

const listQuery = z.strictObject({ state: z.enum(ESCALATION_STATES).optional(), limit: z.coerce.number().int().min(1).max(1000).default(200) });
const actParams = z.strictObject({ id: z.coerce.number().int().min(1) });
const actBody = z.strictObject({ comment: z.string().max(2000).default('') }).default({ comment: '' });

export async function approvalRoutes(app: FastifyInstance, o: ApprovalRoutesOptions): Promise<void> {
  const { users, now } = o;

  app.get('/api/decision-key', async () => ({ keyId: o.key.keyId, keyType: 'ed25519', publicKeyHex: o.key.publicKeyHex, publicKeyPem: o.key.publicKeyPem }));

  app.get('/api/approvals', { preHandler: guard(users, now, 'viewer') }, async (req, reply) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) return reply.code(400).send({ error: 'HUB_API_BAD_QUERY', message: q.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });
    o.store.expire(now());
    return o.store.list(q.data.state, q.data.limit);
  });

  for (const action of ['approve', 'reject'] as const) {
    app.post(`/api/approvals/:id/${action}`, { preHandler: guard(users, now, 'operator') }, async (req, reply) => {
      const p = actParams.safeParse(req.params);
      const b = actBody.safeParse(req.body ?? undefined);
      if (!p.success || !b.success) return reply.code(400).send({ error: 'HUB_API_BAD_REQUEST', message: 'expected /api/approvals/<number>/' + action + ' with an optional JSON body { "comment": "..." } (at most 2000 characters)' });
      const u = req.hubUser!;
      const r = await o.approvals.act(p.data.id, { name: u.name, role: u.role }, action, b.data.comment);
      if (!r.ok) return reply.code(r.status).send({ error: r.code, message: r.message });
      return r.escalation;
    });
  }
}
