/**
 * The hub's embedded store (SQLite, WAL, synchronous=FULL): edges and their link state, tags,
 * readings, aggregates, gaps, and what has been received from each edge.
 *
 * Exactly-once: a message is stored together with its (edge, seq) in one transaction, and a seq
 * already received is a no-op. The received set stays small: everything up to `acked_through`
 * (all seqs received or reported dropped) is summarised by that one number.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ActiveModelInfo, ActivePolicyInfo, Aggregate, Birth, EdgeState, Escalation, ForecastMessage, Gap, ModelScore, Payload, Reading, VoltageLimits } from '../../protocols/index.js';
import { ADDED_COLUMNS, SCHEMA } from './schema.js';

export interface EdgeRow {
  id: string;
  siteId: string;
  agentVersion: string;
  configHash: string;
  streamId: string;
  firstSeenMs: number;
  lastSeenMs: number;
  lastSeq: number;
  ackedThrough: number;
  online: boolean;
  stateReason: string;
  stateChangedMs: number;
  backlog: { messages: number; bytes: number; readings: number; oldestMs: number };
  lastReadingTsMs: number;
  tagCount: number;
  /** The edge's active signed policy as it last reported it (State.runtime); null: none, or never reported. */
  policy: EdgePolicyRow | null;
  /** Its forecast models (target, role, id, version, sha256) as last reported. */
  models: ActiveModelInfo[];
  /** The voltage limits it enforces, per tag, from its last birth; empty: it reported none (an older edge, or no interlocks). */
  voltageLimits: VoltageLimits[];
}

export interface EdgePolicyRow {
  id: string;
  version: number;
  sha256: string;
  expiresMs: number | null;
  expired: boolean;
}

const policyOf = (p: ActivePolicyInfo): EdgePolicyRow => ({ id: p.id, version: p.version, sha256: p.sha256, expiresMs: p.expiresMs, expired: p.expired });

export interface TagRow {
  id: string;
  unit: string;
  description: string;
  source: string;
  minValue: number | null;
  maxValue: number | null;
  latest: { tsMs: number; value: number; quality: number } | null;
}

export interface StoredReading {
  tsMs: number;
  /** null when the edge received something that was not a finite number (flags has NotFinite). */
  value: number | null;
  quality: number;
  flags: number;
}

export interface GapRow {
  seq: number;
  reason: string;
  readings: number;
  fromTsMs: number;
  toTsMs: number;
  droppedSeqs: string;
  receivedMs: number;
}

export interface ForecastRow extends ForecastMessage {
  edgeId: string;
  receivedMs: number;
}

export interface ModelScoreRow extends ModelScore {
  edgeId: string;
  atMs: number;
}

export interface IncomingMessage {
  edgeId: string;
  siteId: string;
  seq: number;
  nowMs: number;
  payload: Payload;
}

export interface ReceiveResult {
  fresh: boolean;
  /** Readings that were already stored (same tag and timestamp from another message). */
  duplicateReadings: number;
}

export class HubStore {
  private readonly db: Database.Database;
  private readonly handlers = new Map<Payload['kind'], (msg: IncomingMessage) => void>();
  private readonly settledListeners: ((committed: boolean) => void)[] = [];
  private readonly seriesIds = new Map<string, number>();
  private readonly s;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    // A store written by an older hub lacks the newer columns: add them (never drop or rename).
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const has = (this.db.prepare(`SELECT name FROM pragma_table_info('${table}')`).pluck().all() as string[]).includes(column);
      if (!has) this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      touchEdge: p(`INSERT INTO edges (id, site_id, first_seen_ms, last_seen_ms, last_seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, last_seen_ms = excluded.last_seen_ms, last_seq = max(last_seq, excluded.last_seq)`),
      edgeDedupe: p('SELECT stream_id AS streamId, acked_through AS ackedThrough FROM edges WHERE id = ?'),
      resetStream: p('UPDATE edges SET stream_id = ?, acked_through = 0, last_seq = ? WHERE id = ?'),
      clearReceived: p('DELETE FROM received WHERE edge_id = ?'),
      received: p('INSERT OR IGNORE INTO received (edge_id, seq) VALUES (?, ?)'),
      receivedAfter: p('SELECT seq FROM received WHERE edge_id = ? AND seq > ? ORDER BY seq').pluck(),
      advance: p('UPDATE edges SET acked_through = ? WHERE id = ?'),
      forget: p('DELETE FROM received WHERE edge_id = ? AND seq <= ?'),
      birth: p('UPDATE edges SET agent_version = ?, config_hash = ?, voltage_limits_json = ? WHERE id = ?'),
      tag: p(`INSERT INTO tags VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (edge_id, tag_id) DO UPDATE SET
        unit = excluded.unit, description = excluded.description, source = excluded.source, min_value = excluded.min_value, max_value = excluded.max_value`),
      series: p('INSERT INTO series (edge_id, tag_id) VALUES (?, ?) ON CONFLICT DO UPDATE SET tag_id = tag_id RETURNING id').pluck(),
      reading: p('INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?, ?)'),
      lastReading: p('UPDATE edges SET last_reading_ts_ms = max(last_reading_ts_ms, ?) WHERE id = ?'),
      aggregate: p('INSERT OR REPLACE INTO aggregates VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      gap: p('INSERT INTO gaps (edge_id, seq, reason, readings, from_ts_ms, to_ts_ms, dropped_seqs, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      state: p(`UPDATE edges SET online = ?, state_reason = ?, state_changed_ms = CASE WHEN online = ? THEN state_changed_ms ELSE ? END,
        backlog_messages = ?, backlog_bytes = ?, backlog_readings = ?, backlog_oldest_ms = ?, last_seen_ms = max(last_seen_ms, ?) WHERE id = ?`),
      runtime: p('UPDATE edges SET policy_json = ?, models_json = ? WHERE id = ?'),
      edges: p(`SELECT e.*, (SELECT COUNT(*) FROM series s WHERE s.edge_id = e.id) AS tag_count FROM edges e ORDER BY e.site_id, e.id`),
      tags: p(`SELECT s.tag_id AS id, coalesce(t.unit, '') AS unit, coalesce(t.description, '') AS description,
        coalesce(t.source, '') AS source, t.min_value AS minValue, t.max_value AS maxValue, s.id AS seriesId
        FROM series s LEFT JOIN tags t ON t.edge_id = s.edge_id AND t.tag_id = s.tag_id WHERE s.edge_id = ?
        UNION SELECT t.tag_id, t.unit, t.description, t.source, t.min_value, t.max_value, NULL FROM tags t
        WHERE t.edge_id = ? AND NOT EXISTS (SELECT 1 FROM series s WHERE s.edge_id = t.edge_id AND s.tag_id = t.tag_id)
        ORDER BY 1`),
      latest: p('SELECT ts_ms AS tsMs, value, quality, flags FROM readings WHERE series_id = ? ORDER BY ts_ms DESC LIMIT 1'),
      seriesId: p('SELECT id FROM series WHERE edge_id = ? AND tag_id = ?').pluck(),
      range: p('SELECT ts_ms AS tsMs, value, quality, flags FROM readings WHERE series_id = ? AND ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms LIMIT ?'),
      aggRange: p(`SELECT window_start_ms AS windowStartMs, window_ms AS windowMs, mean, min, max, last, count FROM aggregates
        WHERE series_id = ? AND window_start_ms >= ? AND window_start_ms <= ? ORDER BY window_start_ms LIMIT ?`),
      gaps: p(`SELECT seq, reason, readings, from_ts_ms AS fromTsMs, to_ts_ms AS toTsMs, dropped_seqs AS droppedSeqs, received_ms AS receivedMs
        FROM gaps WHERE edge_id = ? ORDER BY id DESC LIMIT ?`),
      edgeExists: p('SELECT 1 FROM edges WHERE id = ?').pluck(),
      forecast: p(`INSERT OR IGNORE INTO forecasts (edge_id, target, tag, horizon, role, issued_at_ms, first_hour_ms, hour_ms, load, p10, p90,
        model_id, model_version, model_sha256, feature_builder_version, fallback_code, fallback_reason, latency_us, received_ms)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      forecasts: p(`SELECT * FROM forecasts WHERE edge_id = ? AND (? IS NULL OR target = ?) AND first_hour_ms >= ? AND first_hour_ms <= ?
        ORDER BY first_hour_ms DESC, role LIMIT ?`),
      score: p(`INSERT OR REPLACE INTO model_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      scores: p('SELECT * FROM model_scores WHERE edge_id = ? ORDER BY target, role'),
      escalation: p(`INSERT OR IGNORE INTO escalations (edge_id, site_id, proposal_id, proposal_hash, proposal_json, verdict_json,
        approval_roles, approvers_required, escalated_at_ms, deadline_ms, received_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    };
  }

  private seriesId(edgeId: string, tagId: string): number {
    const key = `${edgeId}\u0000${tagId}`;
    let id = this.seriesIds.get(key);
    if (id === undefined) {
      id = this.s.series.get(edgeId, tagId) as number;
      this.seriesIds.set(key, id);
    }
    return id;
  }

  /**
   * Records one sequenced message from an edge, exactly once. A birth from a new store
   * (another stream id) starts that edge's sequence over.
   */
  receive(msg: IncomingMessage): ReceiveResult {
    return this.receiveMany([msg])[0]!;
  }

  /** Several messages in one transaction (one fsync): how ingest keeps up with a backlog. */
  receiveMany(msgs: readonly IncomingMessage[]): ReceiveResult[] {
    let committed = false;
    try {
      const results = this.db.transaction(() => msgs.map((m) => this.receiveOne(m)))();
      committed = true;
      return results;
    } finally {
      for (const listener of this.settledListeners) listener(committed);
    }
  }

  /**
   * Called after each receiving transaction, committed or rolled back: what a handler did that is
   * not in the database (telling of an alarm, answering an edge) waits for it, so a group commit
   * that fails and is received again does not do it twice. A listener must not throw.
   */
  onSettled(listener: (committed: boolean) => void): void {
    this.settledListeners.push(listener);
  }

  private receiveOne(msg: IncomingMessage): ReceiveResult {
    {
      const { edgeId, seq, payload } = msg;
      this.s.touchEdge.run(edgeId, msg.siteId, msg.nowMs, msg.nowMs, seq);
      const edge = this.s.edgeDedupe.get(edgeId) as { streamId: string; ackedThrough: number };
      if (payload.kind === 'birth' && payload.birth.streamId && payload.birth.streamId !== edge.streamId) {
        this.s.clearReceived.run(edgeId);
        this.s.resetStream.run(payload.birth.streamId, seq, edgeId);
        edge.ackedThrough = 0;
      }
      if (seq <= edge.ackedThrough || this.s.received.run(edgeId, seq).changes === 0) return { fresh: false, duplicateReadings: 0 };
      let duplicateReadings = 0;
      switch (payload.kind) {
        case 'birth':
          this.applyBirth(edgeId, payload.birth);
          break;
        case 'telemetry':
          duplicateReadings = this.applyReadings(edgeId, payload.readings);
          break;
        case 'aggregates':
          this.applyAggregates(edgeId, payload.aggregates);
          break;
        case 'gap':
          this.applyGap(edgeId, seq, payload.gap, msg.nowMs);
          break;
        case 'forecast':
          this.applyForecast(edgeId, payload.forecast, msg.nowMs);
          break;
        case 'scores':
          for (const sc of payload.scores) {
            const m = sc.model;
            this.s.score.run(edgeId, sc.target, sc.role, sc.horizon, m?.id ?? '', m?.version ?? '', m?.sha256 ?? '', sc.n, sc.windowHours, sc.mape, sc.mae, sc.bias, payload.atMs);
          }
          break;
        case 'escalation':
          this.applyEscalation(edgeId, msg.siteId, payload.escalation, msg.nowMs);
          break;
        default:
          this.handlers.get(payload.kind)?.(msg);
          break;
      }
      this.advance(edgeId, edge.ackedThrough);
      return { fresh: true, duplicateReadings };
    }
  }

  /** An escalation waits for people (hub/approvals); the edge resends by proposal id, so the first copy wins. */
  private applyEscalation(edgeId: string, siteId: string, e: Escalation, nowMs: number): void {
    const { approvalRoles, approversRequired, ...verdict } = e.verdict;
    this.s.escalation.run(edgeId, siteId, e.proposalId, e.proposalHash, Buffer.from(e.proposalJson).toString('utf8'), JSON.stringify(verdict),
      JSON.stringify(approvalRoles ?? []), approversRequired === 2 ? 2 : 1, e.escalatedAtMs, e.deadlineMs, nowMs);
  }

  /**
   * Stores messages of `kind` through `handler`, inside the receiving transaction (so a message is
   * taken exactly once): a part of the hub with tables of its own (hub/audit's mirror of `audit`).
   */
  handle(kind: Payload['kind'], handler: (msg: IncomingMessage) => void): void {
    this.handlers.set(kind, handler);
  }

  /** The SQLite handle, for the hub's other tables in the same file (auth, approvals, audit). */
  sqlite(): Database.Database {
    return this.db;
  }

  private applyBirth(edgeId: string, birth: Birth): void {
    // Replaced, not merged: a birth says everything the edge enforces now.
    this.s.birth.run(birth.agentVersion, birth.configHash, JSON.stringify(birth.voltageLimits), edgeId);
    for (const t of birth.tags) this.s.tag.run(edgeId, t.id, t.unit, t.description, t.source, t.minValue, t.maxValue);
  }

  private applyReadings(edgeId: string, readings: readonly Reading[]): number {
    let dup = 0;
    let newest = 0;
    for (const r of readings) {
      if (this.s.reading.run(this.seriesId(edgeId, r.tagId), r.tsMs, Number.isFinite(r.value) ? r.value : null, r.quality, r.flags ?? 0).changes === 0) dup++;
      if (r.tsMs > newest) newest = r.tsMs;
    }
    if (newest > 0) this.s.lastReading.run(newest, edgeId);
    return dup;
  }

  private applyAggregates(edgeId: string, aggregates: readonly Aggregate[]): void {
    for (const a of aggregates) this.s.aggregate.run(this.seriesId(edgeId, a.tagId), a.windowMs, a.windowStartMs, a.mean, a.min, a.max, a.last, a.count);
  }

  private applyGap(edgeId: string, seq: number, gap: Gap, nowMs: number): void {
    const ranges = gap.droppedSeqs.map((r) => (r.fromSeq === r.toSeq ? `${r.fromSeq}` : `${r.fromSeq}-${r.toSeq}`)).join(',');
    this.s.gap.run(edgeId, seq, gap.reason, gap.readings, gap.fromTsMs, gap.toTsMs, ranges, nowMs);
    // The dropped messages will never arrive: count them as accounted for.
    for (const r of gap.droppedSeqs) for (let s = r.fromSeq; s <= r.toSeq; s++) this.s.received.run(edgeId, s);
  }

  private applyForecast(edgeId: string, f: ForecastMessage, nowMs: number): void {
    const m = f.model;
    this.s.forecast.run(edgeId, f.target, f.tag, f.horizon, f.role, f.issuedAtMs, f.firstHourMs, f.hourMs, JSON.stringify(f.load), JSON.stringify(f.p10), JSON.stringify(f.p90),
      m?.id ?? '', m?.version ?? '', m?.sha256 ?? '', m?.featureBuilderVersion ?? '', f.fallbackCode, f.fallbackReason, f.latencyUs, nowMs);
  }

  /** Forecasts of an edge whose first hour lies in [fromMs, toMs], newest first. */
  forecasts(edgeId: string, target: string | undefined, fromMs: number, toMs: number, limit: number): ForecastRow[] {
    return (this.s.forecasts.all(edgeId, target ?? null, target ?? null, fromMs, toMs, limit) as Record<string, string | number>[]).map((r) => {
      const row: ForecastRow = {
        edgeId: String(r.edge_id),
        target: String(r.target),
        tag: String(r.tag),
        horizon: String(r.horizon),
        role: String(r.role),
        issuedAtMs: Number(r.issued_at_ms),
        firstHourMs: Number(r.first_hour_ms),
        hourMs: Number(r.hour_ms),
        load: JSON.parse(String(r.load)) as number[],
        p10: JSON.parse(String(r.p10)) as number[],
        p90: JSON.parse(String(r.p90)) as number[],
        fallbackCode: String(r.fallback_code),
        fallbackReason: String(r.fallback_reason),
        latencyUs: Number(r.latency_us),
        receivedMs: Number(r.received_ms),
      };
      if (r.model_id) row.model = { id: String(r.model_id), version: String(r.model_version), sha256: String(r.model_sha256), featureBuilderVersion: String(r.feature_builder_version) };
      return row;
    });
  }

  modelScores(edgeId: string): ModelScoreRow[] {
    return (this.s.scores.all(edgeId) as Record<string, string | number>[]).map((r) => ({
      edgeId: String(r.edge_id),
      target: String(r.target),
      role: String(r.role),
      horizon: String(r.horizon),
      ...(r.model_id ? { model: { id: String(r.model_id), version: String(r.model_version), sha256: String(r.model_sha256), featureBuilderVersion: '' } } : {}),
      n: Number(r.n),
      windowHours: Number(r.window_hours),
      mape: Number(r.mape),
      mae: Number(r.mae),
      bias: Number(r.bias),
      atMs: Number(r.at_ms),
    }));
  }

  /** Moves acked_through over every contiguous seq received, and forgets those rows. */
  private advance(edgeId: string, from: number): void {
    let through = from;
    for (const seq of this.s.receivedAfter.iterate(edgeId, from) as IterableIterator<number>) {
      if (seq !== through + 1) break;
      through = seq;
    }
    if (through > from) {
      this.s.advance.run(through, edgeId);
      this.s.forget.run(edgeId, through);
    }
  }

  /** Records an edge's link state (unsequenced, latest wins). */
  updateState(edgeId: string, siteId: string, state: EdgeState, nowMs: number): void {
    this.db.transaction(() => {
      this.s.touchEdge.run(edgeId, siteId, nowMs, nowMs, 0);
      const o = state.outbox;
      const online = state.online ? 1 : 0;
      this.s.state.run(online, state.reason, online, nowMs, o.messages, o.bytes, o.readings, o.oldestMs, state.online ? nowMs : 0, edgeId);
      if (state.runtime) this.s.runtime.run(state.runtime.policy === null ? null : JSON.stringify(state.runtime.policy), JSON.stringify(state.runtime.models), edgeId);
    })();
  }

  edges(): EdgeRow[] {
    return (this.s.edges.all() as Record<string, number | string>[]).map((e) => ({
      id: String(e.id),
      siteId: String(e.site_id),
      agentVersion: String(e.agent_version),
      configHash: String(e.config_hash),
      streamId: String(e.stream_id),
      firstSeenMs: Number(e.first_seen_ms),
      lastSeenMs: Number(e.last_seen_ms),
      lastSeq: Number(e.last_seq),
      ackedThrough: Number(e.acked_through),
      online: e.online === 1,
      stateReason: String(e.state_reason),
      stateChangedMs: Number(e.state_changed_ms),
      backlog: { messages: Number(e.backlog_messages), bytes: Number(e.backlog_bytes), readings: Number(e.backlog_readings), oldestMs: Number(e.backlog_oldest_ms) },
      lastReadingTsMs: Number(e.last_reading_ts_ms),
      tagCount: Number(e.tag_count),
      policy: e.policy_json === null || e.policy_json === undefined ? null : policyOf(JSON.parse(String(e.policy_json)) as ActivePolicyInfo),
      models: JSON.parse(String(e.models_json ?? '[]')) as ActiveModelInfo[],
      voltageLimits: JSON.parse(String(e.voltage_limits_json ?? '[]')) as VoltageLimits[],
    }));
  }

  hasEdge(edgeId: string): boolean {
    return this.s.edgeExists.get(edgeId) !== undefined;
  }

  tags(edgeId: string): TagRow[] {
    const rows = this.s.tags.all(edgeId, edgeId) as (Omit<TagRow, 'latest'> & { seriesId: number | null })[];
    return rows.map(({ seriesId, ...t }) => ({
      ...t,
      latest: seriesId === null ? null : ((this.s.latest.get(seriesId) as TagRow['latest'] | undefined) ?? null),
    }));
  }

  readings(edgeId: string, tagId: string, fromMs: number, toMs: number, limit: number): StoredReading[] {
    const id = this.s.seriesId.get(edgeId, tagId) as number | undefined;
    return id === undefined ? [] : (this.s.range.all(id, fromMs, toMs, limit) as StoredReading[]);
  }

  aggregates(edgeId: string, tagId: string, fromMs: number, toMs: number, limit: number): Omit<Aggregate, 'tagId'>[] {
    const id = this.s.seriesId.get(edgeId, tagId) as number | undefined;
    return id === undefined ? [] : (this.s.aggRange.all(id, fromMs, toMs, limit) as Omit<Aggregate, 'tagId'>[]);
  }

  gaps(edgeId: string, limit = 100): GapRow[] {
    return this.s.gaps.all(edgeId, limit) as GapRow[];
  }

  close(): void {
    this.db.close();
  }
}
