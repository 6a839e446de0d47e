/**
 * Opens one of the edge's SQLite files the way they all must be opened: write-ahead log, a
 * stated synchronous level, a busy timeout, and a bounded page cache.
 *
 * The cache is bounded because better-sqlite3 builds SQLite with a 16 MB cache per connection
 * (DEFAULT_CACHE_SIZE=-16000). The agent keeps several files open for its whole life, and a
 * file that grows (the store appends readings all day) fills its cache page by page: on a
 * gateway that showed up as resident memory creeping up by about a megabyte a minute.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export interface SqliteFileOptions {
  /** FULL: a commit survives a power cut; NORMAL: it may be lost, the file stays consistent. */
  synchronous?: 'FULL' | 'NORMAL';
  /** Upper bound of the page cache, KiB. */
  cacheKiB?: number;
  busyTimeoutMs?: number;
}

/** The page cache of the edge's small files (audit, journals, trust store): their working set is a few pages. */
export const SMALL_FILE_CACHE_KIB = 1024;

export function openSqliteFile(file: string, options: SqliteFileOptions = {}): Database.Database {
  const { synchronous = 'FULL', cacheKiB = SMALL_FILE_CACHE_KIB, busyTimeoutMs = 5000 } = options;
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    // set, not left to the build's default, which applies only when the file is already in WAL mode
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`busy_timeout = ${Math.round(busyTimeoutMs)}`);
    // negative: a size in KiB rather than a number of pages
    db.pragma(`cache_size = ${-Math.max(64, Math.round(cacheKiB))}`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
