/**
 * Rolling aggregate windows of one tag (pure; time is passed in): fixed windows of several
 * lengths (by default 1 min, 15 min, 1 h) with mean, min, max, last and count.
 *
 * Only the shortest window sees readings; longer ones are built from its closed windows (sum,
 * count, min, max and the latest `last` compose exactly), so a reading costs one update however
 * many windows are configured. A window closes once the tag's watermark (its newest timestamp
 * minus the lateness window, or the wall clock for a tag gone quiet) passes its end; a reading
 * for a window already closed is refused (the caller flags it late and keeps it raw).
 */
import type { Aggregate } from '../../protocols/index.js';

export type { Aggregate };

interface Partial {
  startMs: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastTsMs: number;
  count: number;
}

const empty = (startMs: number): Partial => ({ startMs, sum: 0, min: Infinity, max: -Infinity, last: Number.NaN, lastTsMs: -Infinity, count: 0 });

function merge(into: Partial, p: Partial): void {
  into.sum += p.sum;
  into.count += p.count;
  if (p.min < into.min) into.min = p.min;
  if (p.max > into.max) into.max = p.max;
  if (p.lastTsMs > into.lastTsMs) {
    into.last = p.last;
    into.lastTsMs = p.lastTsMs;
  }
}

export class TagWindows {
  /** Open windows of the shortest length, by start. Usually one, two when readings straddle a boundary. */
  private readonly base = new Map<number, Partial>();
  /** Open windows of each longer length, by start. */
  private readonly longer: Map<number, Partial>[];
  /** Readings for windows that end at or before this are refused. */
  private closedUpToMs = -Infinity;
  /** The earliest end of an open window: nothing closes before the watermark passes it. */
  nextCloseMs = Infinity;
  /** The open window the last reading went to: nearly every reading goes to the same one. */
  private current: Partial | undefined;

  /** `lengthsMs` ascending, each a multiple of the first. */
  constructor(
    private readonly tagId: string,
    private readonly lengthsMs: readonly number[],
  ) {
    this.longer = lengthsMs.slice(1).map(() => new Map());
  }

  /** Adds a good reading; false when its window has already closed. */
  add(tsMs: number, value: number): boolean {
    const len = this.lengthsMs[0]!;
    const startMs = tsMs - (((tsMs % len) + len) % len);
    if (startMs < this.closedUpToMs) return false;
    let w = this.current;
    if (w === undefined || w.startMs !== startMs) {
      w = this.base.get(startMs);
      if (!w) {
        w = empty(startMs);
        this.base.set(startMs, w);
        if (startMs + len < this.nextCloseMs) this.nextCloseMs = startMs + len;
      }
      this.current = w;
    }
    w.sum += value;
    w.count++;
    if (value < w.min) w.min = value;
    if (value > w.max) w.max = value;
    if (tsMs > w.lastTsMs) {
      w.last = value;
      w.lastTsMs = tsMs;
    }
    return true;
  }

  /** Closes every window that ends at or before `watermarkMs`; returns them, shortest first, oldest first. */
  advance(watermarkMs: number, out: Aggregate[] = []): Aggregate[] {
    if (watermarkMs < this.nextCloseMs) return out;
    this.current = undefined;
    const len = this.lengthsMs[0]!;
    const closing = [...this.base.values()].filter((w) => w.startMs + len <= watermarkMs).sort((a, b) => a.startMs - b.startMs);
    for (const w of closing) {
      this.base.delete(w.startMs);
      out.push(this.toAggregate(w, len));
      this.lengthsMs.slice(1).forEach((L, i) => {
        const key = w.startMs - (((w.startMs % L) + L) % L);
        const acc = this.longer[i]!;
        let into = acc.get(key);
        if (!into) acc.set(key, (into = empty(key)));
        merge(into, w);
      });
    }
    // Even a window with no readings in it closes: later readings for it would otherwise be
    // aggregated into a window the hub has already been told about.
    const closedTo = Number.isFinite(watermarkMs) ? watermarkMs - (((watermarkMs % len) + len) % len) : Infinity;
    if (closedTo > this.closedUpToMs) this.closedUpToMs = closedTo;
    this.lengthsMs.slice(1).forEach((L, i) => {
      const acc = this.longer[i]!;
      const done = [...acc.values()].filter((w) => w.startMs + L <= watermarkMs).sort((a, b) => a.startMs - b.startMs);
      for (const w of done) {
        acc.delete(w.startMs);
        out.push(this.toAggregate(w, L));
      }
    });
    this.nextCloseMs = Infinity;
    for (const w of this.base.values()) if (w.startMs + len < this.nextCloseMs) this.nextCloseMs = w.startMs + len;
    this.lengthsMs.slice(1).forEach((L, i) => {
      for (const w of this.longer[i]!.values()) if (w.startMs + L < this.nextCloseMs) this.nextCloseMs = w.startMs + L;
    });
    return out;
  }

  /** Closes everything, partial windows included (on shutdown). */
  drain(out: Aggregate[] = []): Aggregate[] {
    return this.advance(Infinity, out);
  }

  private toAggregate(w: Partial, windowMs: number): Aggregate {
    return { tagId: this.tagId, windowStartMs: w.startMs, windowMs, mean: w.sum / w.count, min: w.min, max: w.max, last: w.last, count: w.count };
  }
}
