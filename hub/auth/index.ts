/**
 * @module hub/auth
 * Hub users (scrypt), sessions (HttpOnly SameSite=Strict cookie + CSRF token), lockout, and the
 * per-route role guard.
 *
 * @example
 *   const users = new UserStore(store.sqlite());
 *   await users.add('ana', 'operator', 'a long passphrase', Date.now());
 *   app.get('/api/secret', { preHandler: guard(users, Date.now, 'supervisor') }, handler);
 */
export { ROLES, isRole, atLeast } from './roles.js';
export type { Role } from './roles.js';
export { UserStore } from './users.js';
export type { SessionUser, UserRow, AuthEvent, AuthEventRow } from './users.js';
export { authRoutes, guard, cookieValue, SESSION_COOKIE } from './plugin.js';
export type { AuthOptions } from './plugin.js';
export { passwordProblem } from './passwords.js';
