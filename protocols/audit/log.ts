/**
 * An audit log: one append-only SQLite table holding one chain, the same layout at the edge
 * (edge/audit) and the hub (hub/audit), which each name it. The code has no UPDATE or DELETE, and
 * triggers refuse both, so a bug cannot rewrite history (a person with the file still can; that
 * is what `gridos audit verify` and the hub's checkpoint comparison find). The database handle
 * is the caller's (better-sqlite3; only its type is named here).
 */
import type Database from 'better-sqlite3';
import type { KeyObject } from 'node:crypto';
import {
  EMPTY_HEAD,
  sealAuditRecord,
  signCheckpoint,
  verifyChain,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditHead,
  type AuditRecord,
  type AuditRow,
  type ChainVerification,
} from './index.js';

export interface AuditLogOptions {
  /** Names this chain in checkpoints (the edge's or the hub's id). */
  chainId: string;
  /** Table name (default `audit`). */
  table?: string;
}

const TABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const COLUMNS = 'seq, at_ms AS atMs, kind, subject AS subjectJson, body AS bodyJson, prev_hash AS prevHash, hash';

export class AuditLog {
  readonly chainId: string;
  private readonly s;
  private readonly appendTx: (entries: readonly AuditEntry[]) => AuditRecord[];

  constructor(db: Database.Database, options: AuditLogOptions) {
    const t = options.table ?? 'audit';
    if (!TABLE.test(t)) throw new TypeError(`audit table name '${t}' must be an SQL identifier`);
    this.chainId = options.chainId;
    db.exec(`
      CREATE TABLE IF NOT EXISTS ${t} (
        seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, kind TEXT NOT NULL,
        subject TEXT NOT NULL, body TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER IF NOT EXISTS ${t}_no_update BEFORE UPDATE ON ${t} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
      CREATE TRIGGER IF NOT EXISTS ${t}_no_delete BEFORE DELETE ON ${t} BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    `);
    this.s = {
      head: db.prepare<[], AuditHead>(`SELECT seq, hash FROM ${t} ORDER BY seq DESC LIMIT 1`),
      insert: db.prepare<[number, number, string, string, string, string, string]>(`INSERT INTO ${t} (seq, at_ms, kind, subject, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      range: db.prepare<[number, number], AuditRow>(`SELECT ${COLUMNS} FROM ${t} WHERE seq >= ? AND seq <= ? ORDER BY seq`),
      page: db.prepare<[number, number], AuditRow>(`SELECT ${COLUMNS} FROM ${t} WHERE seq > ? ORDER BY seq LIMIT ?`),
    };
    // the head is read inside the (IMMEDIATE) transaction: another process appending to the same file waits its turn
    const tx = db.transaction((entries: readonly AuditEntry[]): AuditRecord[] => {
      let head = this.head();
      return entries.map((entry) => {
        const { row, record } = sealAuditRecord(head, entry);
        this.s.insert.run(row.seq, row.atMs, row.kind, row.subjectJson, row.bodyJson, row.prevHash, row.hash);
        head = row;
        return record;
      });
    });
    this.appendTx = (entries) => tx.immediate(entries);
  }

  /** Appends one record in its own transaction; returns it sealed (seq, prevHash, hash). */
  append(entry: AuditEntry): AuditRecord {
    return this.appendTx([entry])[0]!;
  }

  /**
   * Appends records in order in ONE transaction (one fsync): all of them or, when one is refused
   * (AuditEntryError), none. Returns them sealed.
   */
  appendMany(entries: readonly AuditEntry[]): AuditRecord[] {
    return entries.length === 0 ? [] : this.appendTx(entries);
  }

  /** The last record's seq and hash (seq 0 and the genesis hash when empty). */
  head(): AuditHead {
    return this.s.head.get() ?? EMPTY_HEAD;
  }

  /** Stored rows with fromSeq <= seq <= toSeq, in seq order. */
  rows(fromSeq = 1, toSeq = Number.MAX_SAFE_INTEGER): AuditRow[] {
    return this.s.range.all(fromSeq, toSeq);
  }

  /** Up to `limit` stored rows after `afterSeq`, in seq order (a missing seq is skipped, not waited for). */
  rowsAfter(afterSeq: number, limit: number): AuditRow[] {
    return this.s.page.all(afterSeq, limit);
  }

  /** Verifies the whole stored chain. */
  verify(): ChainVerification {
    return verifyChain(this.rows());
  }

  /** A checkpoint of the current head, signed with the owner's ed25519 key. */
  checkpoint(privateKey: KeyObject, atMs: number): AuditCheckpoint {
    const { seq, hash } = this.head();
    return signCheckpoint({ chainId: this.chainId, seq, hash, atMs }, privateKey);
  }
}
