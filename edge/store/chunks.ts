/**
 * Raw readings of one tag, packed column-wise in a blob: what the journal's frames carry and
 * what compaction writes as one row per tag (raw-readings.ts). A row per reading would cost more
 * than the rest of the pipeline together at hundreds of thousands of readings per second.
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

/** Typed-array views of a chunk's columns over `buf` (8-byte aligned). */
function columns(buf: ArrayBuffer, n: number, format: number, firstTsMs: number) {
  const tsBytes = format === DELTAS ? 4 : 8;
  const tsOffset = 8 + n * 8;
  return {
    /** Add to a stored timestamp to get ms since the epoch. */
    base: format === DELTAS ? firstTsMs : 0,
    values: new Float64Array(buf, 8, n),
    ts: format === DELTAS ? new Int32Array(buf, tsOffset, n) : new Float64Array(buf, tsOffset, n),
    quality: new Uint8Array(buf, tsOffset + n * tsBytes, n),
    flags: new Uint8Array(buf, tsOffset + n * tsBytes + n, n),
  };
}

/** A new, empty chunk's buffer and columns for `n` readings spanning first..last. */
function allocate(n: number, first: number, last: number) {
  const format = last - first <= 0x7fffffff ? DELTAS : ABSOLUTE;
  const buf = new ArrayBuffer(8 + n * (8 + (format === DELTAS ? 4 : 8) + 2));
  new Uint8Array(buf, 0, 1)[0] = format;
  return { buf, cols: columns(buf, n, format, first) };
}

/** Views of a stored chunk. SQLite hands back a Buffer at any offset: copied to an aligned one. */
function read(data: Buffer, n: number, firstTsMs: number) {
  const buf = new Uint8Array(data).buffer;
  return columns(buf, n, new Uint8Array(buf, 0, 1)[0]!, firstTsMs);
}

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
  const { buf, cols } = allocate(n, first, last);
  for (let i = 0; i < n; i++) {
    const r = readings[i]!;
    cols.values[i] = r.value;
    cols.ts[i] = r.tsMs - cols.base;
    cols.quality[i] = r.quality;
    cols.flags[i] = r.flags ?? 0;
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
  const c = read(data, count, firstTsMs);
  const codes = status ? new Uint32Array(new Uint8Array(status).buffer) : undefined;
  const out = new Array<Reading>(count);
  for (let i = 0; i < count; i++) {
    const r: Reading = { tagId, tsMs: c.base + c.ts[i]!, value: c.values[i]!, quality: c.quality[i]! as Quality };
    if (c.flags[i]) r.flags = c.flags[i]!;
    if (codes?.[i]) r.sourceStatus = codes[i]!;
    out[i] = r;
  }
  return out;
}

/** Timestamps only (restart seeding, duplicate checks): no Reading objects. */
export function chunkTimestamps(firstTsMs: number, count: number, data: Buffer): number[] {
  const c = read(data, count, firstTsMs);
  return Array.from(c.ts, (t) => c.base + t);
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
  const { buf, cols } = allocate(n, first, last);
  const status = anyStatus ? new Uint32Array(n) : undefined;
  let at = 0;
  for (const p of parts) {
    const c = read(p.data, p.count, p.firstTsMs);
    cols.values.set(c.values, at);
    const shift = c.base - cols.base;
    for (let i = 0; i < p.count; i++) cols.ts[at + i] = c.ts[i]! + shift;
    cols.quality.set(c.quality, at);
    cols.flags.set(c.flags, at);
    if (status && p.status) status.set(new Uint32Array(new Uint8Array(p.status).buffer), at);
    at += p.count;
  }
  return { firstTsMs: first, lastTsMs: last, count: n, data: Buffer.from(buf), status: status ? Buffer.from(status.buffer) : null };
}
