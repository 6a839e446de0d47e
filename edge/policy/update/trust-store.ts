/**
 * The edge's trust state, in SQLite: the trusted TUF metadata (root, timestamp, snapshot, targets),
 * the accepted assignment, the installed policy (its text, target, version, sha256) and the time
 * floor. Activation writes all of it in one transaction: after a crash the edge holds the old
 * state or the new, never a mix.
 *
 * The time floor is the latest time this edge has ever seen, from its clock or from signed
 * documents (an assignment's issuedAt). It only rises. Expiry is judged at max(clock, floor), so
 * winding the clock back cannot revive expired metadata. The price: a clock once set far ahead
 * makes everything look expired until the floor is reset by re-provisioning (`provision` with
 * `{ reset: true }`), which is a deliberate, audited operator action.
 */
import Database from 'better-sqlite3';
import { Metadata, MetadataKind } from '@tufjs/models';
import { openSqliteFile } from '../../store/sqlite-file.js';

export type TrustedRole = 'root' | 'timestamp' | 'snapshot' | 'targets';
export const TRUSTED_ROLES: readonly TrustedRole[] = ['root', 'timestamp', 'snapshot', 'targets'];

export interface InstalledPolicy {
  target: string;
  policyId: string;
  version: number;
  sha256: string;
  length: number;
  policyText: string;
  installedAtMs: number;
}

/** Everything an accepted update changes, written at once. */
export interface Activation {
  metadata: Record<TrustedRole, string>;
  assignmentJson: string;
  assignmentVersion: number;
  policy: InstalledPolicy;
  /** Signed time seen in the update (the assignment's issuedAt); the floor rises to it. */
  signedTimeMs: number;
  /** The state the update started from; activation fails (ConcurrentUpdateError) if another update committed since. */
  basedOn: { assignmentVersion: number; timestampJson: string | undefined };
}

/** Another update committed between this one's start and its activation; nothing was written. */
export class ConcurrentUpdateError extends Error {
  override readonly name = 'ConcurrentUpdateError';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tuf_metadata (role TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tuf_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  time_floor_ms INTEGER NOT NULL,
  assignment_version INTEGER NOT NULL DEFAULT 0,
  assignment_json TEXT
);
CREATE TABLE IF NOT EXISTS tuf_installed_policy (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  target TEXT NOT NULL, policy_id TEXT NOT NULL, version INTEGER NOT NULL, sha256 TEXT NOT NULL,
  length INTEGER NOT NULL, policy_text TEXT NOT NULL, installed_at_ms INTEGER NOT NULL
);
INSERT OR IGNORE INTO tuf_state (id, time_floor_ms) VALUES (1, 0);
`;

export class TrustStore {
  private readonly owned: boolean;
  private readonly db: Database.Database;

  /** Opens (creating) the trust tables in a SQLite file, or in a database the caller already holds. */
  constructor(fileOrDb: string | Database.Database) {
    if (typeof fileOrDb === 'string') {
      this.db = openSqliteFile(fileOrDb);
      this.owned = true;
    } else {
      this.db = fileOrDb;
      this.owned = false;
    }
    this.db.exec(SCHEMA);
  }

  /**
   * First trust: stores the hub's root (normally 1.root.json, delivered with the edge's
   * installation) after checking it is a root signed by its own threshold. Refuses to replace an
   * existing root unless `reset` (which also clears the installed policy and the time floor).
   */
  provision(rootJson: string, options?: { reset?: boolean }): void {
    const root = Metadata.fromJSON(MetadataKind.Root, JSON.parse(rootJson) as Parameters<typeof Metadata.fromJSON>[1]);
    root.verifyDelegate(MetadataKind.Root, root);
    this.db.transaction(() => {
      if (this.metadata('root') !== undefined && !options?.reset) throw new Error('trust store already provisioned; pass { reset: true } to start over');
      this.db.exec('DELETE FROM tuf_metadata; DELETE FROM tuf_installed_policy; UPDATE tuf_state SET time_floor_ms = 0, assignment_version = 0, assignment_json = NULL;');
      this.db.prepare('INSERT INTO tuf_metadata (role, json) VALUES (?, ?)').run('root', rootJson);
    })();
  }

  metadata(role: TrustedRole): string | undefined {
    const row = this.db.prepare('SELECT json FROM tuf_metadata WHERE role = ?').get(role) as { json: string } | undefined;
    return row?.json;
  }

  installed(): InstalledPolicy | undefined {
    const r = this.db.prepare('SELECT * FROM tuf_installed_policy WHERE id = 1').get() as
      | { target: string; policy_id: string; version: number; sha256: string; length: number; policy_text: string; installed_at_ms: number }
      | undefined;
    return r && { target: r.target, policyId: r.policy_id, version: r.version, sha256: r.sha256, length: r.length, policyText: r.policy_text, installedAtMs: r.installed_at_ms };
  }

  assignment(): { version: number; json: string | undefined } {
    const r = this.db.prepare('SELECT assignment_version AS version, assignment_json AS json FROM tuf_state WHERE id = 1').get() as { version: number; json: string | null };
    return { version: r.version, json: r.json ?? undefined };
  }

  timeFloorMs(): number {
    return (this.db.prepare('SELECT time_floor_ms AS t FROM tuf_state WHERE id = 1').get() as { t: number }).t;
  }

  /** Records a clock reading: the floor rises to it if higher. Returns the reference time, max(reading, floor). */
  observeClock(nowMs: number): number {
    this.db.prepare('UPDATE tuf_state SET time_floor_ms = MAX(time_floor_ms, ?) WHERE id = 1').run(Math.floor(nowMs));
    return this.timeFloorMs();
  }

  /** Writes an accepted update, all or nothing. */
  activate(a: Activation): void {
    this.db.transaction(() => {
      if (this.assignment().version !== a.basedOn.assignmentVersion || this.metadata('timestamp') !== a.basedOn.timestampJson) {
        throw new ConcurrentUpdateError('another update was activated while this one ran; run it again');
      }
      const put = this.db.prepare('INSERT INTO tuf_metadata (role, json) VALUES (?, ?) ON CONFLICT(role) DO UPDATE SET json = excluded.json');
      for (const role of TRUSTED_ROLES) put.run(role, a.metadata[role]);
      this.db
        .prepare('UPDATE tuf_state SET assignment_version = ?, assignment_json = ?, time_floor_ms = MAX(time_floor_ms, ?) WHERE id = 1')
        .run(a.assignmentVersion, a.assignmentJson, Math.floor(a.signedTimeMs));
      const p = a.policy;
      this.db
        .prepare(
          `INSERT INTO tuf_installed_policy (id, target, policy_id, version, sha256, length, policy_text, installed_at_ms) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET target = excluded.target, policy_id = excluded.policy_id, version = excluded.version, sha256 = excluded.sha256,
             length = excluded.length, policy_text = excluded.policy_text, installed_at_ms = excluded.installed_at_ms`,
        )
        .run(p.target, p.policyId, p.version, p.sha256, p.length, p.policyText, p.installedAtMs);
    })();
  }

  close(): void {
    if (this.owned) this.db.close();
  }
}
