/**
 * Logins, sessions and the per-route role guard (fastify).
 *
 *   POST /api/login  { name, password } -> { name, role, csrfToken, expiresAtMs } + gridos_session cookie
 *   POST /api/logout (session + x-csrf-token)
 *   GET  /api/me     (viewer+)
 *
 * `guard(users, min)` is the preHandler protected routes carry: 401 HUB_AUTH_REQUIRED without a
 * live session, 403 HUB_AUTH_FORBIDDEN below `min`, and on every method but GET/HEAD a matching
 * `x-csrf-token` header or 403 HUB_AUTH_CSRF. The session cookie is HttpOnly and SameSite=Strict.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { DUMMY_HASH, verifyPassword } from './passwords.js';
import { atLeast, type Role } from './roles.js';
import type { SessionUser, UserStore } from './users.js';

export const SESSION_COOKIE = 'gridos_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** The logged-in user, set by the auth guard. */
    hubUser?: SessionUser;
  }
}

export interface AuthOptions {
  users: UserStore;
  now: () => number;
  maxFailedLogins: number;
  lockoutMs: number;
  sessionTtlMs: number;
  secureCookie: boolean;
}

/** The value of one cookie from the Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const deny = (reply: FastifyReply, status: number, error: string, message: string) => reply.code(status).send({ error, message });

/** The preHandler of a protected route: a live session, at least `min`, and CSRF on writes. */
export function guard(users: UserStore, now: () => number, min: Role): preHandlerAsyncHookHandler {
  return async function (this: FastifyInstance, req: FastifyRequest, reply: FastifyReply) {
    const sid = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const user = sid ? users.session(sid, now()) : undefined;
    if (!user) return deny(reply, 401, 'HUB_AUTH_REQUIRED', 'log in first (POST /api/login); the session is missing or has expired');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const token = req.headers['x-csrf-token'];
      if (typeof token !== 'string' || !sameToken(token, user.csrf)) {
        return deny(reply, 403, 'HUB_AUTH_CSRF', 'send the csrfToken from POST /api/login in the x-csrf-token header');
      }
    }
    if (!atLeast(user.role, min)) return deny(reply, 403, 'HUB_AUTH_FORBIDDEN', `this needs the ${min} role or higher; ${user.name} is ${user.role}`);
    req.hubUser = user;
  };
}

const loginBody = z.strictObject({ name: z.string().min(1).max(200), password: z.string().min(1).max(1024) });

export async function authRoutes(app: FastifyInstance, o: AuthOptions): Promise<void> {
  const { users, now } = o;

  app.post('/api/login', async (req, reply) => {
    const body = loginBody.safeParse(req.body);
    if (!body.success) return deny(reply, 400, 'HUB_AUTH_BAD_REQUEST', 'send { "name": ..., "password": ... } as JSON');
    const { name, password } = body.data;
    const user = users.byName(name);
    const t = now();
    if (user && user.lockedUntilMs > t) {
      users.audit(t, 'login-locked', name, `locked until ${new Date(user.lockedUntilMs).toISOString()}`);
      return deny(reply, 429, 'HUB_AUTH_LOCKED', `too many failed logins: this account is locked until ${new Date(user.lockedUntilMs).toISOString()} (or until an admin sets a new password)`);
    }
    const good = await verifyPassword(password, user?.password ?? DUMMY_HASH);
    if (!user || !good || user.disabled) {
      if (user && !user.disabled) {
        const failed = user.failedCount + 1;
        const lock = failed >= o.maxFailedLogins;
        users.setFailures(user.id, lock ? 0 : failed, lock ? t + o.lockoutMs : 0);
        if (lock) users.audit(t, 'locked', name, `${failed} failed logins in a row`);
      }
      users.audit(t, 'login-failed', name, !user ? 'unknown user' : user.disabled ? 'disabled' : 'wrong password');
      return deny(reply, 401, 'HUB_AUTH_BAD_CREDENTIALS', 'wrong name or password');
    }
    users.setFailures(user.id, 0, 0);
    const s = users.openSession(user.id, t, o.sessionTtlMs);
    users.audit(t, 'login', name, user.role);
    const maxAge = Math.floor(o.sessionTtlMs / 1000);
    reply.header('set-cookie', `${SESSION_COOKIE}=${s.sessionId}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAge}${o.secureCookie ? '; Secure' : ''}`);
    return { name: user.name, role: user.role, csrfToken: s.csrf, expiresAtMs: s.expiresMs };
  });

  app.post('/api/logout', { preHandler: guard(users, now, 'viewer') }, async (req, reply) => {
    const u = req.hubUser!;
    users.endSession(u.sessionHash);
    users.audit(now(), 'logout', u.name, '');
    reply.header('set-cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return { ok: true };
  });

  app.get('/api/me', { preHandler: guard(users, now, 'viewer') }, async (req) => {
    const u = req.hubUser!;
    return { name: u.name, role: u.role };
  });
}
