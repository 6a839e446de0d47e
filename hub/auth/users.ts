/**
 * Hub users, sessions and the login audit trail, in the hub's SQLite file.
 *
 * Sessions: the cookie carries 32 random bytes; only their sha256 is stored, so a copy of the
 * database does not hand out sessions. Each session has its own CSRF token. Auth events are
 * append-only (triggers refuse UPDATE and DELETE).
 */
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { hashPassword, type PasswordHash } from './passwords.js';
import type { Role } from './roles.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS hub_users (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, pw_hash TEXT NOT NULL, pw_salt TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0, failed_count INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS hub_sessions (
  id_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES hub_users (id), csrf TEXT NOT NULL,
  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS hub_auth_events (
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, event TEXT NOT NULL, user_name TEXT NOT NULL, detail TEXT NOT NULL) STRICT;
CREATE TRIGGER IF NOT EXISTS hub_auth_events_no_update BEFORE UPDATE ON hub_auth_events BEGIN SELECT RAISE(ABORT, 'the auth log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS hub_auth_events_no_delete BEFORE DELETE ON hub_auth_events BEGIN SELECT RAISE(ABORT, 'the auth log is append-only'); END;
`;

export interface UserRow {
  id: number;
  name: string;
  role: Role;
  password: PasswordHash;
  disabled: boolean;
  failedCount: number;
  lockedUntilMs: number;
}

export interface SessionUser {
  userId: number;
  name: string;
  role: Role;
  csrf: string;
  sessionHash: string;
}

export type AuthEvent = 'login' | 'login-failed' | 'login-locked' | 'locked' | 'logout' | 'user-added' | 'password-changed' | 'user-disabled';

export interface AuthEventRow {
  atMs: number;
  event: AuthEvent;
  userName: string;
  detail: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export class UserStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      add: p('INSERT INTO hub_users (name, role, pw_hash, pw_salt, created_ms, changed_ms) VALUES (?, ?, ?, ?, ?, ?)'),
      byName: p('SELECT * FROM hub_users WHERE name = ?'),
      passwd: p('UPDATE hub_users SET pw_hash = ?, pw_salt = ?, failed_count = 0, locked_until_ms = 0, changed_ms = ? WHERE name = ?'),
      disable: p('UPDATE hub_users SET disabled = 1, changed_ms = ? WHERE name = ?'),
      failed: p('UPDATE hub_users SET failed_count = ?, locked_until_ms = ? WHERE id = ?'),
      dropSessions: p('DELETE FROM hub_sessions WHERE user_id = (SELECT id FROM hub_users WHERE name = ?)'),
      session: p('INSERT INTO hub_sessions (id_hash, user_id, csrf, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)'),
      sessionUser: p(`SELECT s.user_id AS userId, u.name, u.role, s.csrf, s.id_hash AS sessionHash FROM hub_sessions s JOIN hub_users u ON u.id = s.user_id
        WHERE s.id_hash = ? AND s.expires_ms > ? AND u.disabled = 0`),
      endSession: p('DELETE FROM hub_sessions WHERE id_hash = ?'),
      expired: p('DELETE FROM hub_sessions WHERE expires_ms <= ?'),
      event: p('INSERT INTO hub_auth_events (at_ms, event, user_name, detail) VALUES (?, ?, ?, ?)'),
      events: p('SELECT at_ms AS atMs, event, user_name AS userName, detail FROM hub_auth_events ORDER BY id'),
    };
  }

  async add(name: string, role: Role, password: string, nowMs: number): Promise<void> {
    const h = await hashPassword(password);
    this.s.add.run(name, role, h.hash, h.salt, nowMs, nowMs);
    this.audit(nowMs, 'user-added', name, role);
  }

  async setPassword(name: string, password: string, nowMs: number): Promise<boolean> {
    const h = await hashPassword(password);
    const changed = this.db.transaction(() => {
      if (this.s.passwd.run(h.hash, h.salt, nowMs, name).changes === 0) return false;
      this.s.dropSessions.run(name);
      return true;
    })();
    if (changed) this.audit(nowMs, 'password-changed', name, '');
    return changed;
  }

  disable(name: string, nowMs: number): boolean {
    const done = this.db.transaction(() => {
      if (this.s.disable.run(nowMs, name).changes === 0) return false;
      this.s.dropSessions.run(name);
      return true;
    })();
    if (done) this.audit(nowMs, 'user-disabled', name, '');
    return done;
  }

  byName(name: string): UserRow | undefined {
    const r = this.s.byName.get(name) as Record<string, string | number> | undefined;
    if (!r) return undefined;
    return {
      id: Number(r.id),
      name: String(r.name),
      role: String(r.role) as Role,
      password: { hash: String(r.pw_hash), salt: String(r.pw_salt) },
      disabled: r.disabled === 1,
      failedCount: Number(r.failed_count),
      lockedUntilMs: Number(r.locked_until_ms),
    };
  }

  /** Records a failed count and lock time (0: not locked). */
  setFailures(userId: number, failedCount: number, lockedUntilMs: number): void {
    this.s.failed.run(failedCount, lockedUntilMs, userId);
  }

  /** Opens a session; returns the cookie value and the CSRF token. */
  openSession(userId: number, nowMs: number, ttlMs: number): { sessionId: string; csrf: string; expiresMs: number } {
    const sessionId = randomBytes(32).toString('base64url');
    const csrf = randomBytes(32).toString('base64url');
    this.s.expired.run(nowMs);
    this.s.session.run(sha256(sessionId), userId, csrf, nowMs, nowMs + ttlMs);
    return { sessionId, csrf, expiresMs: nowMs + ttlMs };
  }

  /** The live session's user, or undefined (unknown, expired, or the user disabled). */
  session(sessionId: string, nowMs: number): SessionUser | undefined {
    return this.s.sessionUser.get(sha256(sessionId), nowMs) as SessionUser | undefined;
  }

  endSession(sessionHash: string): void {
    this.s.endSession.run(sessionHash);
  }

  audit(atMs: number, event: AuthEvent, userName: string, detail: string): void {
    this.s.event.run(atMs, event, userName, detail);
  }

  events(): AuthEventRow[] {
    return this.s.events.all() as AuthEventRow[];
  }
}
