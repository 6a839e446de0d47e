/** The edge store's tables. */
export const SCHEMA = `
-- Time first: a batch of readings lands on a few pages at the end of the tree instead of one
-- page per tag, which is what makes a durable (synchronous=FULL) commit cheap.
CREATE TABLE IF NOT EXISTS readings (
  ts_ms INTEGER NOT NULL, tag_id TEXT NOT NULL, value REAL NOT NULL,
  quality INTEGER NOT NULL, source_status INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ts_ms, tag_id)) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
INSERT OR IGNORE INTO meta (key, value) VALUES ('last_seq', 0);
`;
