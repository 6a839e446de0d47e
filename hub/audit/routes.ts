/**
 * The audit alarms' write route (fastify plugin), beside `GET /api/edges/:id/audit` (http/api.ts):
 *
 *   POST /api/edges/:id/audit/alarms/:alarmId/acknowledge { comment }   supervisor+ (and CSRF)
 *
 * Answers the alarm as it now stands; 400 HUB_API_BAD_REQUEST without a comment, 404
 * HUB_AUDIT_ALARM_NOT_FOUND, 409 HUB_AUDIT_ALARM_ACKNOWLEDGED or HUB_AUDIT_ALARM_CLEARED.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { guard, type UserStore } from '../auth/index.js';
import type { AlarmAcknowledger } from './acknowledge.js';

export interface AuditAlarmRoutesOptions {
  acknowledger: AlarmAcknowledger;
  users: UserStore;
  now: () => number;
}

const params = z.strictObject({ id: z.string().min(1), alarmId: z.coerce.number().int().min(1) });
const body = z.strictObject({ comment: z.string().trim().min(1).max(2000) });

export async function auditAlarmRoutes(app: FastifyInstance, o: AuditAlarmRoutesOptions): Promise<void> {
  app.post('/api/edges/:id/audit/alarms/:alarmId/acknowledge', { preHandler: guard(o.users, o.now, 'supervisor') }, async (req, reply) => {
    const p = params.safeParse(req.params);
    const b = body.safeParse(req.body ?? undefined);
    if (!p.success || !b.success) {
      return reply.code(400).send({ error: 'HUB_API_BAD_REQUEST', message: 'expected /api/edges/<edge>/audit/alarms/<number>/acknowledge with a JSON body { "comment": "..." } (1-2000 characters: why the alarm may rest)' });
    }
    const u = req.hubUser!;
    const r = o.acknowledger.acknowledge(p.data.id, p.data.alarmId, { name: u.name, role: u.role }, b.data.comment);
    if (!r.ok) return reply.code(r.status).send({ error: r.code, message: r.message });
    return r.alarm;
  });
}
