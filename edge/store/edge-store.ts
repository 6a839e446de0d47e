/**
 * The edge's durable store, one SQLite file in WAL mode: raw readings, aggregates, and the
 * outbox of messages for the hub. Each outbox message takes the next per-edge sequence number
 * in the same transaction that stores it, so a crash can neither skip nor reuse a number.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Reading } from '../../protocols/index.js';
import type { Aggregate } from '../pipeline/aggregate.js';

export interface OutboxMessage {
  seq: number;
  kind: string;
  payload: Buffer;
}

/** A message to enqueue; `encode` receives its sequence number. */
export interface OutboxDraft {
  kind: string;
  encode(seq: number): Uint8Array;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  tag_id TEXT NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL,
  quality INTEGER NOT NULL, source_status INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tag_id, ts_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aggregates (
  tag_id TEXT NOT NULL, window_ms INTEGER NOT NULL, window_start_ms INTEGER NOT NULL,
  mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (tag_id, window_ms, window_start_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, payload BLOB NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0);
`;

export class EdgeStore {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly path: string, private readonly now: () => number = Date.now) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.stmts = {
      reading: this.db.prepare('INSERT OR IGNORE INTO readings (tag_id, ts_ms, value, quality, source_status) VALUES (?, ?, ?, ?, ?)'),
      aggregate: this.db.prepare('INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      lastSeq: this.db.prepare("SELECT value FROM meta WHERE key = 'last_seq'").pluck(),
      setSeq: this.db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'"),
      enqueue: this.db.prepare('INSERT INTO outbox (seq, kind, payload, created_ms) VALUES (?, ?, ?, ?)'),
      after: this.db.prepare('SELECT seq, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      ack: this.db.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ?'),
      depth: this.db.prepare('SELECT COUNT(*) FROM outbox').pluck(),
      countUpTo: this.db.prepare('SELECT COUNT(*) FROM outbox WHERE seq <= ?').pluck(),
    };
  }

  /** Stores readings, aggregates and outbox messages in one transaction; returns the seqs given. */
  readonly commit = (batch: { readings?: readonly Reading[]; aggregates?: readonly Aggregate[]; outbox?: readonly OutboxDraft[] }): number[] =>
    this.db.transaction(() => {
      for (const r of batch.readings ?? []) this.stmts.reading.run(r.tagId, r.tsMs, r.value, r.quality, r.sourceStatus ?? 0);
      for (const a of batch.aggregates ?? []) this.stmts.aggregate.run(a.tagId, a.windowMs, a.windowStartMs, a.mean, a.min, a.max, a.last, a.count);
      const seqs: number[] = [];
      let seq = this.stmts.lastSeq.get() as number;
      for (const draft of batch.outbox ?? []) {
        seq++;
        this.stmts.enqueue.run(seq, draft.kind, Buffer.from(draft.encode(seq)), this.now());
        seqs.push(seq);
      }
      if (seqs.length > 0) this.stmts.setSeq.run(seq);
      return seqs;
    })();

  /** Up to `limit` outbox messages with seq > `afterSeq`, oldest first. */
  outboxAfter(afterSeq: number, limit: number): OutboxMessage[] {
    return this.stmts.after.all(afterSeq, limit) as OutboxMessage[];
  }

  /** Forgets what the hub acknowledged; returns how many messages that removed. */
  acknowledge(fromSeq: number, toSeq: number): number {
    return this.stmts.ack.run(fromSeq, toSeq).changes;
  }

  outboxDepth(): number {
    return this.stmts.depth.get() as number;
  }

  /** Messages still in the outbox with seq <= `seq` (sent but not yet acknowledged). */
  unacknowledgedUpTo(seq: number): number {
    return this.stmts.countUpTo.get(seq) as number;
  }

  lastSeq(): number {
    return this.stmts.lastSeq.get() as number;
  }

  /** For inspection and tests: readings of a tag, oldest first. */
  readings(tagId: string, limit = 10_000): Reading[] {
    return this.db
      .prepare('SELECT tag_id AS tagId, ts_ms AS tsMs, value, quality FROM readings WHERE tag_id = ? ORDER BY ts_ms LIMIT ?')
      .all(tagId, limit) as Reading[];
  }

  aggregates(tagId: string): Aggregate[] {
    return this.db
      .prepare('SELECT tag_id AS tagId, window_start_ms AS windowStartMs, window_ms AS windowMs, mean, min, max, last, count FROM aggregates WHERE tag_id = ? ORDER BY window_start_ms')
      .all(tagId) as Aggregate[];
  }

  close(): void {
    this.db.close();
  }
}
