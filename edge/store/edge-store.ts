/**
 * The edge's durable store, one SQLite file in WAL mode with synchronous=FULL: raw readings,
 * aggregates, and the outbox of messages for the hub.
 *
 * Outbox rules:
 *  - each message takes the next per-edge sequence number in the same transaction that stores
 *    it, so a crash can neither skip nor reuse a number;
 *  - messages sit in priority lanes (lanes.ts); only raw telemetry is ever dropped, when the
 *    outbox exceeds its byte or age bound, and every drop is itself recorded as a Gap message
 *    (in the Event lane, never dropped) in the same transaction;
 *  - a message leaves the outbox only when the hub acknowledges its sequence number.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { ReadingFlag, toRanges, type Aggregate, type ForecastMessage, type Gap, type OutboxStats, type Reading } from '../../protocols/index.js';
import { Lane, type OutboxLimits } from './lanes.js';
import { RawReadings } from './raw-readings.js';
import { SCHEMA } from './schema.js';
import { openSqliteFile } from './sqlite-file.js';

export interface OutboxMessage {
  seq: number;
  lane: Lane;
  kind: string;
  payload: Buffer;
  createdMs: number;
}

/** A message to enqueue; `encode` receives its sequence number. */
export interface OutboxDraft {
  kind: string;
  lane: Lane;
  /** For telemetry: how many readings and which time span, so a drop can say what was lost. */
  readings?: number;
  firstTsMs?: number;
  lastTsMs?: number;
  encode(seq: number): Uint8Array;
}

export interface StoreOptions {
  limits: OutboxLimits;
  /** Builds the Gap message that records dropped telemetry. */
  gapDraft(gap: Gap): OutboxDraft;
  /** Told of every drop (after its transaction committed or not: counts are for metrics and logs). */
  onDrop?(gap: Gap): void;
  now?: () => number;
  /** Upper bound of SQLite's page cache for this file (default 4 MiB: the pages appends and acks touch). */
  cacheBytes?: number;
}

export const DEFAULT_STORE_CACHE_BYTES = 4 * 1024 * 1024;

/** A forecast as stored: its values parsed, the model ('' when none) and the fallback's code ('' when none). */
export interface StoredForecast {
  role: string;
  firstHourMs: number;
  hourMs: number;
  issuedAtMs: number;
  horizon: string;
  load: number[];
  p10: number[];
  p90: number[];
  modelId: string;
  modelVersion: string;
  modelSha256: string;
  fallbackCode: string;
  latencyUs: number;
}

const FORECAST_COLUMNS = 'role, first_hour_ms AS firstHourMs, hour_ms AS hourMs, issued_at_ms AS issuedAtMs, horizon, load, p10, p90, model_id AS modelId, model_version AS modelVersion, model_sha256 AS modelSha256, fallback_code AS fallbackCode, latency_us AS latencyUs';

function toStoredForecast(r: Record<string, string | number>): StoredForecast {
  return {
    role: String(r.role),
    firstHourMs: Number(r.firstHourMs),
    hourMs: Number(r.hourMs),
    issuedAtMs: Number(r.issuedAtMs),
    horizon: String(r.horizon),
    load: JSON.parse(String(r.load)) as number[],
    p10: JSON.parse(String(r.p10)) as number[],
    p90: JSON.parse(String(r.p90)) as number[],
    modelId: String(r.modelId),
    modelVersion: String(r.modelVersion),
    modelSha256: String(r.modelSha256),
    fallbackCode: String(r.fallbackCode),
    latencyUs: Number(r.latencyUs),
  };
}

const UNLIMITED: OutboxLimits = { maxBytes: Number.MAX_SAFE_INTEGER, maxAgeMs: Number.MAX_SAFE_INTEGER, dropPolicy: 'oldest' };

export class EdgeStore {
  private readonly db: Database.Database;
  private readonly s;
  private readonly now: () => number;
  private readonly limits: OutboxLimits;
  private count = 0;
  private bytes = 0;
  /** Set when the outbox is over its bound with nothing left that may be dropped. */
  overCapacity = false;
  /** Dropped telemetry so far: messages and readings. */
  readonly dropped = { messages: 0, readings: 0 };
  readonly streamId: string;
  /** How many readings of the last commit were new. */
  lastFresh = 0;
  private readonly raw: RawReadings;
  private droppedNow: Gap[] = [];
  /** Per forecast target, how many commits stored a forecast of it (readers cache per issue). */
  private readonly forecastIssues = new Map<string, number>();

  constructor(
    readonly path: string,
    private readonly options: StoreOptions = { limits: UNLIMITED, gapDraft: () => ({ kind: 'gap', lane: Lane.Event, encode: () => new Uint8Array() }) },
  ) {
    this.now = options.now ?? Date.now;
    this.limits = options.limits;
    this.db = openSqliteFile(path, { cacheKiB: (options.cacheBytes ?? DEFAULT_STORE_CACHE_BYTES) / 1024 });
    // The log is reused, not shrunk, after a checkpoint: cap what it keeps on a small gateway disk.
    this.db.pragma('journal_size_limit = 8388608');
    this.db.exec(SCHEMA);
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('stream_id', ?)").run(randomUUID());
    this.s = {
      aggregate: this.db.prepare('INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      meta: this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setSeq: this.db.prepare("UPDATE meta SET value = ? WHERE key = 'last_seq'"),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      enqueue: this.db.prepare('INSERT INTO outbox (seq, lane, kind, payload, bytes, readings, first_ts_ms, last_ts_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      inLane: this.db.prepare('SELECT seq, lane, kind, payload, created_ms AS createdMs FROM outbox WHERE lane = ? AND seq > ? AND seq < ? ORDER BY seq LIMIT ?'),
      oldest: this.db.prepare('SELECT seq, created_ms AS createdMs FROM outbox ORDER BY seq LIMIT 1'),
      ack: this.db.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ? RETURNING bytes'),
      totals: this.db.prepare('SELECT COUNT(*) AS n, coalesce(SUM(bytes), 0) AS b, coalesce(SUM(readings), 0) AS r, MIN(created_ms) AS oldest FROM outbox'),
      dropOldest: this.db.prepare(`SELECT seq, bytes, readings, first_ts_ms AS f, last_ts_ms AS l FROM outbox WHERE lane = ${Lane.Telemetry} ORDER BY seq LIMIT ?`),
      dropNewest: this.db.prepare(`SELECT seq, bytes, readings, first_ts_ms AS f, last_ts_ms AS l FROM outbox WHERE lane = ${Lane.Telemetry} ORDER BY seq DESC LIMIT ?`),
      expired: this.db.prepare(`SELECT seq, bytes, readings, first_ts_ms AS f, last_ts_ms AS l FROM outbox WHERE lane = ${Lane.Telemetry} AND created_ms < ? ORDER BY seq LIMIT 10000`),
      delete: this.db.prepare('DELETE FROM outbox WHERE seq = ?'),
      forecast: this.db.prepare('INSERT OR REPLACE INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      newestForecast: this.db.prepare(`SELECT ${FORECAST_COLUMNS} FROM forecasts WHERE target = ? AND role = ? ORDER BY first_hour_ms DESC LIMIT 1`),
    };
    this.raw = new RawReadings(this.db);
    this.streamId = String(this.s.meta.get('stream_id'));
    const t = this.s.totals.get() as { n: number; b: number };
    this.count = t.n;
    this.bytes = t.b;
  }

  /**
   * Stores readings, aggregates and outbox messages in one transaction, then enforces the
   * outbox's byte bound in the same transaction. Returns the sequence numbers given.
   */
  commit(batch: {
    readings?: readonly Reading[];
    aggregates?: readonly Aggregate[];
    forecasts?: readonly ForecastMessage[];
    outbox?: readonly OutboxDraft[];
    /** Builds the telemetry messages from the readings that were new (not already stored). */
    telemetry?: (fresh: Reading[]) => OutboxDraft[];
    /** Bookkeeping that must commit with the outbox messages (what the audit sync has queued). */
    meta?: Readonly<Record<string, string | number>>;
  }): number[] {
    const seqs = this.transaction(() => {
      const fresh = this.storeReadings(batch.readings ?? []);
      for (const a of batch.aggregates ?? []) this.s.aggregate.run(a.tagId, a.windowMs, a.windowStartMs, a.mean, a.min, a.max, a.last, a.count);
      for (const f of batch.forecasts ?? []) {
        const m = f.model;
        this.s.forecast.run(f.target, f.role, f.firstHourMs, f.hourMs, f.issuedAtMs, f.horizon, f.tag, JSON.stringify(f.load), JSON.stringify(f.p10), JSON.stringify(f.p90), m?.id ?? '', m?.version ?? '', m?.sha256 ?? '', f.fallbackCode, f.latencyUs);
      }
      const drafts = batch.telemetry && fresh.length > 0 ? [...batch.telemetry(fresh), ...(batch.outbox ?? [])] : (batch.outbox ?? []);
      this.lastFresh = fresh.length;
      const seqs = this.enqueue(drafts);
      for (const [key, value] of Object.entries(batch.meta ?? {})) this.s.setMeta.run(key, value);
      if (this.bytes > this.limits.maxBytes) this.dropTelemetry('outbox_full', this.limits.dropPolicy);
      return seqs;
    });
    // counted once committed: a rolled-back forecast never invalidates a reader's cache
    for (const target of new Set((batch.forecasts ?? []).map((f) => f.target))) this.forecastIssues.set(target, (this.forecastIssues.get(target) ?? 0) + 1);
    this.compactIfDue();
    return seqs;
  }

  /**
   * Changes whenever a commit stores a forecast of `target` (through this store, the only writer
   * of its file): a reader keeps what it parsed from `forecasts(target)` while this stays the same.
   */
  forecastIssue(target: string): number {
    return this.forecastIssues.get(target) ?? 0;
  }

  /** Moves the raw readings journal into per-tag chunks when it is time (a failure leaves it for the next try). */
  compactIfDue(): void {
    const now = this.now();
    if (!this.raw.due(now)) return;
    try {
      this.db.transaction(() => this.raw.compact())();
      this.raw.compacted(now);
    } catch {
      // e.g. a full disk: the journal keeps the readings, compaction is tried again later
    }
  }

  /**
   * Stores raw readings as one chunk per tag. The pipeline has already dropped duplicates it
   * could see; a reading it flagged Late is older than anything it remembers, so the store
   * checks that one itself. Returns the readings stored.
   */
  private storeReadings(readings: readonly Reading[]): Reading[] {
    const byTag = new Map<string, Reading[]>();
    const fresh: Reading[] = [];
    let lateSeen: Set<string> | undefined;
    for (const r of readings) {
      if (r.flags !== undefined && r.flags & ReadingFlag.Late) {
        const key = `${r.tagId}\u0000${r.tsMs}`;
        lateSeen ??= new Set();
        if (lateSeen.has(key) || this.has(r.tagId, r.tsMs)) continue;
        lateSeen.add(key);
      }
      let list = byTag.get(r.tagId);
      if (!list) byTag.set(r.tagId, (list = []));
      list.push(r);
      fresh.push(r);
    }
    this.raw.append(byTag);
    return fresh;
  }

  private has(tagId: string, tsMs: number): boolean {
    return this.raw.has(tagId, tsMs);
  }

  /** Runs `fn` in a transaction; if it fails (disk full, I/O error), the in-memory totals roll back with it. */
  private transaction<T>(fn: () => T): T {
    const before = { count: this.count, bytes: this.bytes, messages: this.dropped.messages, readings: this.dropped.readings, over: this.overCapacity };
    try {
      const out = this.db.transaction(fn)();
      this.raw.settle();
      const drops = this.droppedNow;
      this.droppedNow = [];
      for (const gap of drops) this.options.onDrop?.(gap);
      return out;
    } catch (e) {
      this.raw.discard();
      this.droppedNow = [];
      this.count = before.count;
      this.bytes = before.bytes;
      this.dropped.messages = before.messages;
      this.dropped.readings = before.readings;
      this.overCapacity = before.over;
      throw e;
    }
  }

  /** Drops the oldest raw telemetry to make room (a full disk); returns how many messages went. */
  makeRoom(reason: string, messages: number): number {
    return this.transaction(() => {
      const victims = this.s.dropOldest.all(messages) as Victim[];
      this.removeAndRecord(victims, reason);
      return victims.length;
    });
  }

  private enqueue(drafts: readonly OutboxDraft[]): number[] {
    const seqs: number[] = [];
    if (drafts.length === 0) return seqs;
    let seq = Number(this.s.meta.get('last_seq'));
    const now = this.now();
    for (const d of drafts) {
      seq++;
      const payload = Buffer.from(d.encode(seq));
      this.s.enqueue.run(seq, d.lane, d.kind, payload, payload.length, d.readings ?? 0, d.firstTsMs ?? null, d.lastTsMs ?? null, now);
      this.count++;
      this.bytes += payload.length;
      seqs.push(seq);
    }
    this.s.setSeq.run(seq);
    return seqs;
  }

  /** Drops raw telemetry until the outbox is back under its byte bound, and records the gap. */
  private dropTelemetry(reason: string, policy: 'oldest' | 'newest'): void {
    const victims = (policy === 'oldest' ? this.s.dropOldest : this.s.dropNewest).iterate(100_000) as IterableIterator<Victim>;
    const chosen: Victim[] = [];
    let bytes = this.bytes;
    for (const v of victims) {
      if (bytes <= this.limits.maxBytes * 0.9) break; // leave some room, so drops come in runs, not one per commit
      chosen.push(v);
      bytes -= v.bytes;
    }
    this.removeAndRecord(chosen, reason);
    this.overCapacity = this.bytes > this.limits.maxBytes;
  }

  /** Drops raw telemetry older than the age bound; returns how many messages went. */
  expire(): number {
    return this.transaction(() => {
      const old = this.s.expired.all(this.now() - this.limits.maxAgeMs) as Victim[];
      this.removeAndRecord(old, 'outbox_age');
      return old.length;
    });
  }

  private removeAndRecord(victims: readonly Victim[], reason: string): void {
    if (victims.length === 0) return;
    let readings = 0;
    let fromTsMs = Number.MAX_SAFE_INTEGER;
    let toTsMs = 0;
    for (const v of victims) {
      this.s.delete.run(v.seq);
      this.count--;
      this.bytes -= v.bytes;
      readings += v.readings;
      if (v.f !== null && v.f < fromTsMs) fromTsMs = v.f;
      if (v.l !== null && v.l > toTsMs) toTsMs = v.l;
    }
    this.dropped.messages += victims.length;
    this.dropped.readings += readings;
    const gap: Gap = { reason, droppedSeqs: toRanges(victims.map((v) => v.seq)), readings, fromTsMs: toTsMs === 0 ? 0 : fromTsMs, toTsMs };
    this.enqueue([this.options.gapDraft(gap)]);
    // Told once the transaction commits: a drop that was rolled back (disk still full) did not happen.
    this.droppedNow.push(gap);
  }

  /** Up to `limit` messages of `lane` with afterSeq < seq < beforeSeq, oldest first. */
  outboxInLane(lane: Lane, afterSeq: number, beforeSeq: number, limit: number): OutboxMessage[] {
    return this.s.inLane.all(lane, afterSeq, beforeSeq, limit) as OutboxMessage[];
  }

  /** The oldest message still waiting for the hub's acknowledgement. */
  oldestWaiting(): { seq: number; createdMs: number } | undefined {
    return this.s.oldest.get() as { seq: number; createdMs: number } | undefined;
  }

  /** Forgets what the hub acknowledged; returns how many messages that removed. */
  acknowledge(fromSeq: number, toSeq: number): number {
    const gone = this.s.ack.all(fromSeq, toSeq) as { bytes: number }[];
    for (const g of gone) this.bytes -= g.bytes;
    this.count -= gone.length;
    if (this.overCapacity && this.bytes <= this.limits.maxBytes) this.overCapacity = false;
    return gone.length;
  }

  /** Applies several acknowledgements in one transaction; returns how many messages that removed. */
  acknowledgeMany(ranges: readonly { fromSeq: number; toSeq: number }[]): number {
    return this.transaction(() => ranges.reduce((n, r) => n + this.acknowledge(r.fromSeq, r.toSeq), 0));
  }

  outboxDepth(): number {
    return this.count;
  }

  outboxBytes(): number {
    return this.bytes;
  }

  stats(): OutboxStats {
    const t = this.s.totals.get() as { n: number; b: number; r: number; oldest: number | null };
    return { messages: t.n, bytes: t.b, readings: t.r, oldestMs: t.oldest ?? 0 };
  }

  /** A value `commit({ meta })` stored, or undefined. */
  metaValue(key: string): string | number | undefined {
    return this.s.meta.get(key) as string | number | undefined;
  }

  lastSeq(): number {
    return Number(this.s.meta.get('last_seq'));
  }

  /** Raw readings of a tag with fromMs <= ts <= toMs, oldest first. */
  readings(tagId: string, fromMs = -Number.MAX_VALUE, toMs = Number.MAX_VALUE, limit = 10_000_000): Reading[] {
    return this.raw.query(tagId, fromMs, toMs, limit);
  }

  /**
   * For each tag: the timestamps stored within `windowMs` of its newest one. After a restart the
   * pipeline starts from these, so a source that sends the same readings again (a broker
   * redelivering what it was never told was stored) is recognised.
   */
  recentTimestamps(windowMs: number): Map<string, number[]> {
    return this.raw.recentTimestamps(windowMs);
  }

  /** Deletes raw readings older than `beforeMs`; returns how many chunks went. */
  expireReadings(beforeMs: number): number {
    return this.raw.expire(beforeMs);
  }

  /** Aggregates of one tag and window length that start at or after `fromMs`, oldest first. */
  aggregatesSince(tagId: string, windowMs: number, fromMs: number): Aggregate[] {
    return this.db
      .prepare('SELECT tag_id AS tagId, window_start_ms AS windowStartMs, window_ms AS windowMs, mean, min, max, last, count FROM aggregates WHERE tag_id = ? AND window_ms = ? AND window_start_ms >= ? ORDER BY window_start_ms')
      .all(tagId, windowMs, fromMs) as Aggregate[];
  }

  /** The newest forecasts of a target (both roles), newest first. */
  forecasts(target: string, limit = 48): StoredForecast[] {
    return (this.db.prepare(`SELECT ${FORECAST_COLUMNS} FROM forecasts WHERE target = ? ORDER BY first_hour_ms DESC LIMIT ?`).all(target, limit) as Record<string, string | number>[]).map(toStoredForecast);
  }

  /** The newest forecast of a target answered for one role: a primary-key search, one row parsed. */
  newestForecast(target: string, role: string): StoredForecast | undefined {
    const row = this.s.newestForecast.get(target, role) as Record<string, string | number> | undefined;
    return row && toStoredForecast(row);
  }

  aggregates(tagId: string): Aggregate[] {
    return this.db
      .prepare('SELECT tag_id AS tagId, window_start_ms AS windowStartMs, window_ms AS windowMs, mean, min, max, last, count FROM aggregates WHERE tag_id = ? ORDER BY window_start_ms')
      .all(tagId) as Aggregate[];
  }

  integrityCheck(): string {
    return String(this.db.pragma('integrity_check', { simple: true }));
  }

  close(): void {
    try {
      if (this.raw.pending > 0) {
        this.db.transaction(() => this.raw.compact())();
        this.raw.compacted(this.now());
      }
    } catch {
      // left in the journal: read back on the next open
    }
    this.db.close();
  }
}

interface Victim {
  seq: number;
  bytes: number;
  readings: number;
  f: number | null;
  l: number | null;
}
