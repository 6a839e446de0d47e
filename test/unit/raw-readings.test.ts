/**
 * Raw readings on real SQLite files: a commit's readings are readable at once (from the journal),
 * survive a crash before compaction (read back from the journal on open), move into per-tag
 * chunks on compaction without loss or duplication, and a rolled-back commit leaves no trace.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeStore, decodeChunk, encodeChunk } from '../../edge/index.js';
import { mergeChunks } from '../../edge/store/chunks.js';
import { Quality, ReadingFlag, type Reading } from '../../protocols/index.js';

const r = (tagId: string, tsMs: number, value: number, extra: Partial<Reading> = {}): Reading => ({ tagId, tsMs, value, quality: Quality.Good, ...extra });
const fresh = () => join(mkdtempSync(join(tmpdir(), 'gridos-raw-')), 'edge.db');
const count = (path: string, table: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;
  } finally {
    db.close();
  }
};

describe('chunks', () => {
  it('encode/decode keep every field; merging keeps order and switches to absolute timestamps for wide spans', () => {
    const a = [r('t', 1_000, 1.5), r('t', 900, Number.NaN, { flags: ReadingFlag.NotFinite }), r('t', 1_100, 2, { quality: Quality.Bad, sourceStatus: 0x80000000 })];
    const c = encodeChunk(a);
    expect(decodeChunk('t', c.firstTsMs, c.count, c.data, c.status)).toEqual(a);
    const far = [r('t', 1_000 + 2 ** 33, 3)];
    const m = mergeChunks([c, encodeChunk(far)]);
    expect(decodeChunk('t', m.firstTsMs, m.count, m.data, m.status)).toEqual([...a, ...far]);
  });
});

describe('raw readings journal', () => {
  it('a committed reading survives a crash before compaction, and compaction moves it exactly once', () => {
    const path = fresh();
    let store = new EdgeStore(path);
    store.commit({ readings: [r('a', 1, 1), r('b', 1, 2), r('a', 2, 3)] });
    expect(store.readings('a').map((x) => x.value)).toEqual([1, 3]);
    // no close(): as if the process died; the journal has the frame
    expect(count(path, 'reading_frames')).toBe(1);
    store = new EdgeStore(path);
    expect(store.readings('a').map((x) => x.value)).toEqual([1, 3]);
    store.commit({ readings: [r('a', 3, 5)] });
    store.close(); // compacts
    expect(count(path, 'reading_frames')).toBe(0);
    store = new EdgeStore(path);
    expect(store.readings('a').map((x) => [x.tsMs, x.value])).toEqual([
      [1, 1],
      [2, 3],
      [3, 5],
    ]);
    expect(store.readings('b')).toHaveLength(1);
    expect(store.recentTimestamps(10).get('a')).toEqual([1, 2, 3]);
    store.close();
  });

  it('a commit that fails leaves nothing behind, in the journal or in memory', () => {
    const store = new EdgeStore(fresh());
    expect(() =>
      store.commit({
        readings: [r('a', 1, 1)],
        outbox: [{ kind: 'x', lane: 0, encode: () => { throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' }); } }],
      }),
    ).toThrow('disk I/O error');
    expect(store.readings('a')).toEqual([]);
    store.commit({ readings: [r('a', 1, 1)] });
    expect(store.readings('a')).toHaveLength(1);
    store.close();
  });

  it('a reading flagged Late that is already stored is not stored again', () => {
    const store = new EdgeStore(fresh());
    store.commit({ readings: [r('a', 1, 1)] });
    store.commit({ readings: [r('a', 1, 1, { flags: ReadingFlag.Late }), r('a', 0, 7, { flags: ReadingFlag.Late }), r('a', 0, 7, { flags: ReadingFlag.Late })] });
    expect(store.readings('a').map((x) => x.tsMs)).toEqual([0, 1]);
    store.close();
  });
});
