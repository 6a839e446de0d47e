/** The edge store's tables. */
export const SCHEMA = `
-- Raw readings, one chunk per tag per commit (chunks.ts has the blob layout).
CREATE TABLE IF NOT EXISTS reading_chunks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, tag_id TEXT NOT NULL,
  first_ts_ms INTEGER NOT NULL, last_ts_ms INTEGER NOT NULL, count INTEGER NOT NULL,
  data BLOB NOT NULL, status BLOB);
CREATE INDEX IF NOT EXISTS reading_chunks_tag ON reading_chunks (tag_id, last_ts_ms);
CREATE INDEX IF NOT EXISTS reading_chunks_age ON reading_chunks (last_ts_ms);
-- Each commit's readings as one frame, until compaction moves them into reading_chunks (raw-readings.ts).
CREATE TABLE IF NOT EXISTS reading_frames (id INTEGER PRIMARY KEY AUTOINCREMENT, readings INTEGER NOT NULL, data BLOB NOT NULL);
-- The newest timestamp stored per tag: where duplicate detection resumes after a restart.
CREATE TABLE IF NOT EXISTS tag_marks (tag_id TEXT PRIMARY KEY, high_water_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aggregates (
  tag_id TEXT NOT NULL, window_ms INTEGER NOT NULL, window_start_ms INTEGER NOT NULL,
  mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (tag_id, window_ms, window_start_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY, lane INTEGER NOT NULL, kind TEXT NOT NULL, payload BLOB NOT NULL,
  bytes INTEGER NOT NULL, readings INTEGER NOT NULL DEFAULT 0, first_ts_ms INTEGER, last_ts_ms INTEGER,
  created_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_lane ON outbox (lane, seq);
CREATE INDEX IF NOT EXISTS outbox_created ON outbox (lane, created_ms);
-- Forecasts the agent made (edge clock), with the model that made them or the fallback that answered.
CREATE TABLE IF NOT EXISTS forecasts (
  target TEXT NOT NULL, role TEXT NOT NULL, first_hour_ms INTEGER NOT NULL, hour_ms INTEGER NOT NULL,
  issued_at_ms INTEGER NOT NULL, horizon TEXT NOT NULL, tag TEXT NOT NULL,
  load TEXT NOT NULL, p10 TEXT NOT NULL, p90 TEXT NOT NULL,
  model_id TEXT NOT NULL, model_version TEXT NOT NULL, model_sha256 TEXT NOT NULL,
  fallback_code TEXT NOT NULL, latency_us INTEGER NOT NULL,
  PRIMARY KEY (target, role, first_hour_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0);
`;
