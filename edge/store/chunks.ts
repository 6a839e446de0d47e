/**
 * Raw readings are stored as chunks: one row per tag per commit, its readings packed column-wise
 * in a blob. At hundreds of thousands of readings per second a row per reading costs more than
 * the rest of the pipeline together; a chunk costs one row for a commit's worth of a tag.
 *
 * Blob layout (little-endian, as the platform's typed arrays):
 *   [0]      format: 1 = timestamps as int32 ms deltas from first_ts_ms, 2 = as float64 ms
 *   [8..]    values  float64 x n
 *   then     timestamps (int32 deltas or float64) x n, quality uint8 x n, flags uint8 x n
 * The source status codes, rarely non-zero, go in a second blob (uint32 x n) or NULL.
 */
import type { Quality, Reading } from '../../protocols/index.js';

export interface Chunk {
  firstTsMs: number;
  lastTsMs: number;
  count: number;
  data: Buffer;
  status: Buffer | null;
}

const DELTAS = 1;
const ABSOLUTE = 2;

export function encodeChunk(readings: readonly Reading[]): Chunk {
  const n = readings.length;
  let first = Infinity;
  let last = -Infinity;
  let anyStatus = false;
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    if (r.tsMs < first) first = r.tsMs;
    if (r.tsMs > last) last = r.tsMs;
    if (r.sourceStatus) anyStatus = true;
  }
  const format = last - first <= 0x7fffffff ? DELTAS : ABSOLUTE;
  const tsBytes = format === DELTAS ? 4 : 8;
  const buf = new ArrayBuffer(8 + n * (8 + tsBytes + 2));
  new Uint8Array(buf, 0, 1)[0] = format;
  const values = new Float64Array(buf, 8, n);
  const tsOffset = 8 + n * 8;
  const ts = format === DELTAS ? new Int32Array(buf, tsOffset, n) : new Float64Array(buf, tsOffset, n);
  const quality = new Uint8Array(buf, tsOffset + n * tsBytes, n);
  const flags = new Uint8Array(buf, tsOffset + n * tsBytes + n, n);
  const base = format === DELTAS ? first : 0;
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    values[i] = r.value;
    ts[i] = r.tsMs - base;
    quality[i] = r.quality;
    flags[i] = r.flags ?? 0;
  }
  let status: Buffer | null = null;
  if (anyStatus) {
    const s = new Uint32Array(n);
    for (let i = 0; i < n; i++) s[i] = readings[i]!.sourceStatus ?? 0;
    status = Buffer.from(s.buffer);
  }
  return { firstTsMs: first, lastTsMs: last, count: n, data: Buffer.from(buf), status };
}

/** The readings of a chunk, in the order they were stored. */
export function decodeChunk(tagId: string, firstTsMs: number, count: number, data: Buffer, status: Buffer | null): Reading[] {
  // SQLite hands back a Buffer at any offset: copy into an aligned one for the typed-array views.
  const buf = new Uint8Array(data).buffer;
  const n = count;
  const format = new Uint8Array(buf, 0, 1)[0];
  const tsBytes = format === DELTAS ? 4 : 8;
  const values = new Float64Array(buf, 8, n);
  const tsOffset = 8 + n * 8;
  const ts = format === DELTAS ? new Int32Array(buf, tsOffset, n) : new Float64Array(buf, tsOffset, n);
  const quality = new Uint8Array(buf, tsOffset + n * tsBytes, n);
  const flags = new Uint8Array(buf, tsOffset + n * tsBytes + n, n);
  const codes = status ? new Uint32Array(new Uint8Array(status).buffer) : undefined;
  const base = format === DELTAS ? firstTsMs : 0;
  const out = new Array<Reading>(n);
  for (let i = 0; i < n; i++) {
    const r: Reading = { tagId, tsMs: base + ts[i]!, value: values[i]!, quality: quality[i]! as Quality };
    if (flags[i]) r.flags = flags[i]!;
    if (codes?.[i]) r.sourceStatus = codes[i]!;
    out[i] = r;
  }
  return out;
}

/** Timestamps only (restart seeding, duplicate checks): no Reading objects. */
export function chunkTimestamps(firstTsMs: number, count: number, data: Buffer): number[] {
  const buf = new Uint8Array(data).buffer;
  const format = new Uint8Array(buf, 0, 1)[0];
  const tsOffset = 8 + count * 8;
  const ts = format === DELTAS ? new Int32Array(buf, tsOffset, count) : new Float64Array(buf, tsOffset, count);
  const base = format === DELTAS ? firstTsMs : 0;
  return Array.from(ts, (t) => base + t);
}

/**
 * Merges chunks of one tag into one, column by column (no Reading objects): how the readings
 * of many small commits become one chunk on compaction.
 */
export function mergeChunks(parts: readonly Chunk[]): Chunk {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  let first = Infinity;
  let last = -Infinity;
  let anyStatus = false;
  for (const p of parts) {
    n += p.count;
    if (p.firstTsMs < first) first = p.firstTsMs;
    if (p.lastTsMs > last) last = p.lastTsMs;
    if (p.status) anyStatus = true;
  }
  const format = last - first <= 0x7fffffff ? DELTAS : ABSOLUTE;
  const tsBytes = format === DELTAS ? 4 : 8;
  const buf = new ArrayBuffer(8 + n * (8 + tsBytes + 2));
  new Uint8Array(buf, 0, 1)[0] = format;
  const values = new Float64Array(buf, 8, n);
  const tsOffset = 8 + n * 8;
  const ts = format === DELTAS ? new Int32Array(buf, tsOffset, n) : new Float64Array(buf, tsOffset, n);
  const quality = new Uint8Array(buf, tsOffset + n * tsBytes, n);
  const flags = new Uint8Array(buf, tsOffset + n * tsBytes + n, n);
  const status = anyStatus ? new Uint32Array(n) : undefined;
  const base = format === DELTAS ? first : 0;
  let at = 0;
  for (const p of parts) {
    const c = view(p);
    values.set(c.values, at);
    const shift = c.base - base;
    for (let i = 0; i < p.count; i++) ts[at + i] = c.ts[i]! + shift;
    quality.set(c.quality, at);
    flags.set(c.flags, at);
    if (status && p.status) status.set(new Uint32Array(new Uint8Array(p.status).buffer), at);
    at += p.count;
  }
  return { firstTsMs: first, lastTsMs: last, count: n, data: Buffer.from(buf), status: status ? Buffer.from(status.buffer) : null };
}

function view(c: Chunk) {
  const buf = new Uint8Array(c.data).buffer;
  const n = c.count;
  const format = new Uint8Array(buf, 0, 1)[0];
  const tsBytes = format === DELTAS ? 4 : 8;
  const tsOffset = 8 + n * 8;
  return {
    base: format === DELTAS ? c.firstTsMs : 0,
    values: new Float64Array(buf, 8, n),
    ts: format === DELTAS ? new Int32Array(buf, tsOffset, n) : new Float64Array(buf, tsOffset, n),
    quality: new Uint8Array(buf, tsOffset + n * tsBytes, n),
    flags: new Uint8Array(buf, tsOffset + n * tsBytes + n, n),
  };
}
