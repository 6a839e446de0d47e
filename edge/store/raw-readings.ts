/**
 * Raw readings, written the way a time-series store writes them: every commit appends one frame
 * (all the commit's readings, grouped by tag) to a journal table, and about once a second the
 * frames are compacted into one chunk per tag (chunks.ts), in the table queries read.
 *
 * Why: a row per tag per commit costs a page write per tag per commit (the tag index scatters),
 * which at hundreds of thousands of readings per second is most of a commit. A frame is one
 * appended row; compaction pays the per-tag price once a second instead of fifty times.
 *
 * The frames not yet compacted are also kept in memory, encoded (the "head"), so queries see
 * them; after a crash they are read back from the journal on open. Frames and their compaction
 * are transactional: a reading is in a frame or in a chunk, never both, never neither.
 */
import type Database from 'better-sqlite3';
import type { Reading } from '../../protocols/index.js';
import { chunkTimestamps, decodeChunk, encodeChunk, mergeChunks, type Chunk } from './chunks.js';

interface ChunkRow {
  f: number;
  n: number;
  data: Buffer;
  status: Buffer | null;
}

interface FrameEntry {
  t: string;
  f: number;
  l: number;
  n: number;
  d: number;
  s: number;
}

/** One frame: the chunks of several tags in one blob, with a small JSON directory in front. */
function encodeFrame(chunks: Map<string, Chunk>): Buffer {
  const entries: FrameEntry[] = [];
  const parts: Buffer[] = [];
  for (const [t, c] of chunks) {
    entries.push({ t, f: c.firstTsMs, l: c.lastTsMs, n: c.count, d: c.data.length, s: c.status?.length ?? 0 });
    parts.push(c.data);
    if (c.status) parts.push(c.status);
  }
  const header = Buffer.from(JSON.stringify(entries));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  return Buffer.concat([len, header, ...parts]);
}

function decodeFrame(frame: Buffer): Map<string, Chunk> {
  const headerLen = frame.readUInt32LE(0);
  const entries = JSON.parse(frame.subarray(4, 4 + headerLen).toString('utf8')) as FrameEntry[];
  const out = new Map<string, Chunk>();
  let at = 4 + headerLen;
  for (const e of entries) {
    const data = Buffer.from(frame.subarray(at, at + e.d));
    at += e.d;
    const status = e.s > 0 ? Buffer.from(frame.subarray(at, at + e.s)) : null;
    at += e.s;
    out.set(e.t, { firstTsMs: e.f, lastTsMs: e.l, count: e.n, data, status });
  }
  return out;
}

export class RawReadings {
  private readonly s;
  /** Chunks of frames not yet compacted, per tag, oldest first. */
  private head = new Map<string, Chunk[]>();
  private headReadings = 0;
  private lastFrameId = 0;
  private staged: { id: number; chunks: Map<string, Chunk> }[] = [];
  private compactedMs = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly compactEveryMs = 1_000,
    private readonly compactAtReadings = 500_000,
  ) {
    this.s = {
      frame: db.prepare('INSERT INTO reading_frames (readings, data) VALUES (?, ?)'),
      frames: db.prepare('SELECT id, data FROM reading_frames ORDER BY id'),
      dropFrames: db.prepare('DELETE FROM reading_frames WHERE id <= ?'),
      chunk: db.prepare('INSERT INTO reading_chunks (tag_id, first_ts_ms, last_ts_ms, count, data, status) VALUES (?, ?, ?, ?, ?, ?)'),
      mark: db.prepare('INSERT INTO tag_marks VALUES (?, ?) ON CONFLICT (tag_id) DO UPDATE SET high_water_ms = max(high_water_ms, excluded.high_water_ms)'),
      chunksOf: db.prepare('SELECT first_ts_ms AS f, count AS n, data, status FROM reading_chunks WHERE tag_id = ? AND last_ts_ms >= ? AND first_ts_ms <= ? ORDER BY id'),
      marks: db.prepare('SELECT tag_id AS tagId, high_water_ms AS highWaterMs FROM tag_marks'),
      expire: db.prepare('DELETE FROM reading_chunks WHERE last_ts_ms < ?'),
    };
    this.compactedMs = Date.now();
    // After a crash: what was committed but not compacted is in the journal.
    for (const row of this.s.frames.iterate() as IterableIterator<{ id: number; data: Buffer }>) {
      for (const [tagId, c] of decodeFrame(row.data)) this.addToHead(tagId, c);
      this.lastFrameId = row.id;
    }
  }

  /** Appends readings as one frame; call inside the commit's transaction. */
  append(byTag: Map<string, Reading[]>): void {
    const chunks = new Map<string, Chunk>();
    let n = 0;
    for (const [tagId, list] of byTag) {
      chunks.set(tagId, encodeChunk(list));
      n += list.length;
    }
    if (n === 0) return;
    const id = Number(this.s.frame.run(n, encodeFrame(chunks)).lastInsertRowid);
    // Into the head only once the transaction commits (settle), so a rolled-back commit leaves no trace.
    this.staged.push({ id, chunks });
  }

  /** The commit's transaction went through: its frames join the head. */
  settle(): void {
    for (const { id, chunks } of this.staged) {
      this.lastFrameId = id;
      for (const [tagId, c] of chunks) this.addToHead(tagId, c);
    }
    this.staged = [];
  }

  /** The commit's transaction rolled back. */
  discard(): void {
    this.staged = [];
  }

  private addToHead(tagId: string, c: Chunk): void {
    let list = this.head.get(tagId);
    if (!list) this.head.set(tagId, (list = []));
    list.push(c);
    this.headReadings += c.count;
  }

  /** True when compaction is due (a second since the last, or the head is large). */
  due(nowMs: number): boolean {
    return this.headReadings > 0 && (nowMs - this.compactedMs >= this.compactEveryMs || this.headReadings >= this.compactAtReadings);
  }

  /** Moves the head into one chunk per tag and empties the journal; call inside a transaction. */
  compact(): void {
    for (const [tagId, parts] of this.head) {
      const c = mergeChunks(parts);
      this.s.chunk.run(tagId, c.firstTsMs, c.lastTsMs, c.count, c.data, c.status);
      this.s.mark.run(tagId, c.lastTsMs);
    }
    this.s.dropFrames.run(this.lastFrameId);
  }

  /** The transaction of compact() committed: forget the head. */
  compacted(nowMs: number): void {
    this.head = new Map();
    this.headReadings = 0;
    this.compactedMs = nowMs;
  }

  private *chunks(tagId: string, fromMs: number, toMs: number): Generator<ChunkRow> {
    yield* this.s.chunksOf.iterate(tagId, fromMs, toMs) as IterableIterator<ChunkRow>;
    for (const c of this.head.get(tagId) ?? []) {
      if (c.lastTsMs >= fromMs && c.firstTsMs <= toMs) yield { f: c.firstTsMs, n: c.count, data: c.data, status: c.status };
    }
  }

  /** Raw readings of a tag with fromMs <= ts <= toMs, oldest first. */
  query(tagId: string, fromMs: number, toMs: number, limit: number): Reading[] {
    const out: Reading[] = [];
    for (const c of this.chunks(tagId, fromMs, toMs)) {
      for (const r of decodeChunk(tagId, c.f, c.n, c.data, c.status)) if (r.tsMs >= fromMs && r.tsMs <= toMs) out.push(r);
    }
    out.sort((a, b) => a.tsMs - b.tsMs);
    return out.length > limit ? out.slice(0, limit) : out;
  }

  has(tagId: string, tsMs: number): boolean {
    for (const c of this.chunks(tagId, tsMs, tsMs)) if (chunkTimestamps(c.f, c.n, c.data).includes(tsMs)) return true;
    return false;
  }

  /** For each tag: the timestamps stored within `windowMs` of its newest. */
  recentTimestamps(windowMs: number): Map<string, number[]> {
    const newest = new Map<string, number>();
    for (const { tagId, highWaterMs } of this.s.marks.all() as { tagId: string; highWaterMs: number }[]) newest.set(tagId, highWaterMs);
    for (const [tagId, parts] of this.head) for (const c of parts) newest.set(tagId, Math.max(newest.get(tagId) ?? -Infinity, c.lastTsMs));
    const out = new Map<string, number[]>();
    for (const [tagId, hw] of newest) {
      const since = hw - windowMs;
      const ts: number[] = [];
      for (const c of this.chunks(tagId, since, Number.MAX_VALUE)) for (const t of chunkTimestamps(c.f, c.n, c.data)) if (t >= since) ts.push(t);
      out.set(tagId, ts);
    }
    return out;
  }

  /** Deletes compacted readings older than `beforeMs`; returns how many chunks went. */
  expire(beforeMs: number): number {
    return this.s.expire.run(beforeMs).changes;
  }

  /** Readings waiting in the journal for compaction. */
  get pending(): number {
    return this.headReadings;
  }
}
