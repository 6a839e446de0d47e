/** How every edge SQLite file is opened: on disk, WAL, the synchronous level asked for, a bounded page cache. */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteFile, SMALL_FILE_CACHE_KIB } from '../../edge/store/sqlite-file.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-sqlite-file-'));

describe('openSqliteFile', () => {
  it('creates the folder, and sets WAL, FULL and a cache far below the 16 MB better-sqlite3 builds in', () => {
    const file = join(dir, 'nested', 'a.db');
    const db = openSqliteFile(file);
    try {
      expect(existsSync(file)).toBe(true);
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(db.pragma('cache_size', { simple: true })).toBe(-SMALL_FILE_CACHE_KIB);
      expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      db.close();
    }
  });

  it('takes NORMAL and a cache size in KiB, with a floor of 64 KiB', () => {
    const a = openSqliteFile(join(dir, 'b.db'), { synchronous: 'NORMAL', cacheKiB: 4096 });
    const b = openSqliteFile(join(dir, 'c.db'), { cacheKiB: 1 });
    try {
      expect(a.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(a.pragma('cache_size', { simple: true })).toBe(-4096);
      expect(b.pragma('cache_size', { simple: true })).toBe(-64);
    } finally {
      a.close();
      b.close();
    }
  });
});
