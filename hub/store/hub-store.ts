/**
 * The hub's embedded store (SQLite, WAL): edges, their tags, readings, and the (edge, seq)
 * pairs already received, which makes a redelivered message a no-op.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Birth, Reading } from '../../protocols/index.js';

export interface EdgeRow {
  id: string;
  siteId: string;
  agentVersion: string;
  configHash: string;
  firstSeenMs: number;
  lastSeenMs: number;
  lastSeq: number;
  tagCount: number;
}

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
  value: number;
  quality: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS edges (
  id TEXT PRIMARY KEY, site_id TEXT NOT NULL, agent_version TEXT NOT NULL DEFAULT '',
  config_hash TEXT NOT NULL DEFAULT '', first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS tags (
  edge_id TEXT NOT NULL, tag_id TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '', min_value REAL, max_value REAL,
  PRIMARY KEY (edge_id, tag_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY, edge_id TEXT NOT NULL, tag_id TEXT NOT NULL, UNIQUE (edge_id, tag_id));
CREATE TABLE IF NOT EXISTS readings (
  series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL NOT NULL, quality INTEGER NOT NULL,
  PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS received (
  edge_id TEXT NOT NULL, seq INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  PRIMARY KEY (edge_id, seq)) WITHOUT ROWID;
`;

export class HubStore {
  private readonly db: Database.Database;
  private readonly seriesIds = new Map<string, number>();
  private readonly s;

  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(SCHEMA);
    this.s = {
      received: this.db.prepare('INSERT OR IGNORE INTO received (edge_id, seq, received_ms) VALUES (?, ?, ?)'),
      touchEdge: this.db.prepare(`INSERT INTO edges (id, site_id, first_seen_ms, last_seen_ms, last_seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET site_id = excluded.site_id, last_seen_ms = excluded.last_seen_ms, last_seq = max(last_seq, excluded.last_seq)`),
      birth: this.db.prepare('UPDATE edges SET agent_version = ?, config_hash = ? WHERE id = ?'),
      tag: this.db.prepare(`INSERT INTO tags VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (edge_id, tag_id) DO UPDATE SET
        unit = excluded.unit, description = excluded.description, source = excluded.source, min_value = excluded.min_value, max_value = excluded.max_value`),
      series: this.db.prepare('INSERT INTO series (edge_id, tag_id) VALUES (?, ?) ON CONFLICT DO UPDATE SET tag_id = tag_id RETURNING id').pluck(),
      reading: this.db.prepare('INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)'),
      edges: this.db.prepare(`SELECT e.id, e.site_id AS siteId, e.agent_version AS agentVersion, e.config_hash AS configHash,
        e.first_seen_ms AS firstSeenMs, e.last_seen_ms AS lastSeenMs, e.last_seq AS lastSeq,
        (SELECT COUNT(*) FROM series s WHERE s.edge_id = e.id) AS tagCount FROM edges e ORDER BY e.site_id, e.id`),
      tags: this.db.prepare(`SELECT s.tag_id AS id, coalesce(t.unit, '') AS unit, coalesce(t.description, '') AS description,
        coalesce(t.source, '') AS source, t.min_value AS minValue, t.max_value AS maxValue, s.id AS seriesId
        FROM series s LEFT JOIN tags t ON t.edge_id = s.edge_id AND t.tag_id = s.tag_id WHERE s.edge_id = ?
        UNION SELECT t.tag_id, t.unit, t.description, t.source, t.min_value, t.max_value, NULL FROM tags t
        WHERE t.edge_id = ? AND NOT EXISTS (SELECT 1 FROM series s WHERE s.edge_id = t.edge_id AND s.tag_id = t.tag_id)
        ORDER BY 1`),
      latest: this.db.prepare('SELECT ts_ms AS tsMs, value, quality FROM readings WHERE series_id = ? ORDER BY ts_ms DESC LIMIT 1'),
      seriesId: this.db.prepare('SELECT id FROM series WHERE edge_id = ? AND tag_id = ?').pluck(),
      range: this.db.prepare('SELECT ts_ms AS tsMs, value, quality FROM readings WHERE series_id = ? AND ts_ms >= ? AND ts_ms <= ? ORDER BY ts_ms LIMIT ?'),
      edgeExists: this.db.prepare('SELECT 1 FROM edges WHERE id = ?').pluck(),
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
   * Records one message from an edge, exactly once: returns false (and changes nothing but the
   * edge's last-seen time) when this (edge, seq) was already received.
   */
  readonly receive = (msg: { edgeId: string; siteId: string; seq: number; nowMs: number; birth?: Birth; readings?: readonly Reading[] }): boolean =>
    this.db.transaction(() => {
      this.s.touchEdge.run(msg.edgeId, msg.siteId, msg.nowMs, msg.nowMs, msg.seq);
      if (this.s.received.run(msg.edgeId, msg.seq, msg.nowMs).changes === 0) return false;
      if (msg.birth) {
        this.s.birth.run(msg.birth.agentVersion, msg.birth.configHash, msg.edgeId);
        for (const t of msg.birth.tags) this.s.tag.run(msg.edgeId, t.id, t.unit, t.description, t.source, t.minValue, t.maxValue);
      }
      for (const r of msg.readings ?? []) this.s.reading.run(this.seriesId(msg.edgeId, r.tagId), r.tsMs, r.value, r.quality);
      return true;
    })();

  edges(): EdgeRow[] {
    return this.s.edges.all() as EdgeRow[];
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

  close(): void {
    this.db.close();
  }
}
