/** The hub store's tables. */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS edges (
  id TEXT PRIMARY KEY, site_id TEXT NOT NULL, agent_version TEXT NOT NULL DEFAULT '',
  config_hash TEXT NOT NULL DEFAULT '', stream_id TEXT NOT NULL DEFAULT '',
  first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  -- every seq <= acked_through has been received (or reported dropped); newer ones are in received
  acked_through INTEGER NOT NULL DEFAULT 0,
  online INTEGER NOT NULL DEFAULT 0, state_reason TEXT NOT NULL DEFAULT '', state_changed_ms INTEGER NOT NULL DEFAULT 0,
  backlog_messages INTEGER NOT NULL DEFAULT 0, backlog_bytes INTEGER NOT NULL DEFAULT 0,
  backlog_readings INTEGER NOT NULL DEFAULT 0, backlog_oldest_ms INTEGER NOT NULL DEFAULT 0,
  last_reading_ts_ms INTEGER NOT NULL DEFAULT 0,
  -- what the edge last reported it runs (State.runtime): its active policy (JSON or NULL) and models (JSON array)
  policy_json TEXT, models_json TEXT NOT NULL DEFAULT '[]',
  -- the voltage limits the edge enforces, per tag, from its last birth (JSON array; [] when it reported none)
  voltage_limits_json TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS tags (
  edge_id TEXT NOT NULL, tag_id TEXT NOT NULL, unit TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '', min_value REAL, max_value REAL,
  PRIMARY KEY (edge_id, tag_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY, edge_id TEXT NOT NULL, tag_id TEXT NOT NULL, UNIQUE (edge_id, tag_id));
-- value is NULL for a reading that was not a finite number (flagged NOT_FINITE at the edge).
CREATE TABLE IF NOT EXISTS readings (
  series_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, value REAL, quality INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (series_id, ts_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aggregates (
  series_id INTEGER NOT NULL, window_ms INTEGER NOT NULL, window_start_ms INTEGER NOT NULL,
  mean REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, count INTEGER NOT NULL,
  PRIMARY KEY (series_id, window_ms, window_start_ms)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS received (
  edge_id TEXT NOT NULL, seq INTEGER NOT NULL,
  PRIMARY KEY (edge_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gaps (
  id INTEGER PRIMARY KEY AUTOINCREMENT, edge_id TEXT NOT NULL, seq INTEGER NOT NULL, reason TEXT NOT NULL,
  readings INTEGER NOT NULL, from_ts_ms INTEGER NOT NULL, to_ts_ms INTEGER NOT NULL, dropped_seqs TEXT NOT NULL,
  received_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS gaps_edge ON gaps (edge_id, id);
-- load forecasts made at the edges; values as JSON arrays (a forecast is read whole)
CREATE TABLE IF NOT EXISTS forecasts (
  id INTEGER PRIMARY KEY AUTOINCREMENT, edge_id TEXT NOT NULL, target TEXT NOT NULL, tag TEXT NOT NULL,
  horizon TEXT NOT NULL, role TEXT NOT NULL, issued_at_ms INTEGER NOT NULL, first_hour_ms INTEGER NOT NULL,
  hour_ms INTEGER NOT NULL, load TEXT NOT NULL, p10 TEXT NOT NULL, p90 TEXT NOT NULL,
  model_id TEXT NOT NULL, model_version TEXT NOT NULL, model_sha256 TEXT NOT NULL, feature_builder_version TEXT NOT NULL,
  fallback_code TEXT NOT NULL, fallback_reason TEXT NOT NULL, latency_us INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  UNIQUE (edge_id, target, role, issued_at_ms));
CREATE INDEX IF NOT EXISTS forecasts_first_hour ON forecasts (edge_id, target, first_hour_ms);
-- the latest rolling accuracy of each model at each edge
CREATE TABLE IF NOT EXISTS model_scores (
  edge_id TEXT NOT NULL, target TEXT NOT NULL, role TEXT NOT NULL, horizon TEXT NOT NULL,
  model_id TEXT NOT NULL, model_version TEXT NOT NULL, model_sha256 TEXT NOT NULL,
  n INTEGER NOT NULL, window_hours INTEGER NOT NULL, mape REAL NOT NULL, mae REAL NOT NULL, bias REAL NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY (edge_id, target, role)) WITHOUT ROWID;
-- Escalated proposals from edges, waiting for people (hub/approvals); one per (edge, proposal).
CREATE TABLE IF NOT EXISTS escalations (
  id INTEGER PRIMARY KEY, edge_id TEXT NOT NULL, site_id TEXT NOT NULL, proposal_id TEXT NOT NULL,
  proposal_hash TEXT NOT NULL, proposal_json TEXT NOT NULL, verdict_json TEXT NOT NULL,
  approval_roles TEXT NOT NULL, approvers_required INTEGER NOT NULL,
  escalated_at_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
  -- pending | approved | rejected | expired
  state TEXT NOT NULL DEFAULT 'pending', decided_ms INTEGER NOT NULL DEFAULT 0,
  UNIQUE (edge_id, proposal_id));
`;

/** Columns added to existing tables since their first release: [table, column, definition]. */
export const ADDED_COLUMNS: readonly (readonly [string, string, string])[] = [
  ['edges', 'policy_json', 'TEXT'],
  ['edges', 'models_json', "TEXT NOT NULL DEFAULT '[]'"],
  ['edges', 'voltage_limits_json', "TEXT NOT NULL DEFAULT '[]'"],
];
