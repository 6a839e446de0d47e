/**
 * Fixed-window aggregation (pure; time is passed in).
 * In: batches of accepted readings. Out: closed windows (mean, min, max, last, count) per tag.
 * State: the open window of each tag. A window [start, start + windowMs) closes when the clock
 * passes its end plus `graceMs` (readings may arrive a little late), or when a reading of the
 * same tag for a later window arrives after that point. A reading for an already closed window
 * is counted as late and left out of the aggregates (it is still stored raw).
 * Only good-quality readings are aggregated; a reading with the same timestamp as the window's
 * latest is a repeat and is skipped.
 */
import { Quality, type Aggregate, type Reading } from '../../protocols/index.js';

export type { Aggregate };

interface OpenWindow {
  startMs: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  lastTsMs: number;
  count: number;
}

export class WindowAggregator {
  private readonly open = new Map<string, OpenWindow>();
  private readonly closedUpTo = new Map<string, number>();
  lateReadings = 0;

  constructor(
    readonly windowMs: number,
    readonly graceMs: number,
  ) {}

  /** Adds readings; returns windows that closed because a later window of their tag began. */
  add(readings: readonly Reading[]): Aggregate[] {
    const closed: Aggregate[] = [];
    for (const r of readings) {
      if (r.quality !== Quality.Good) continue;
      const startMs = r.tsMs - (r.tsMs % this.windowMs);
      if (startMs < (this.closedUpTo.get(r.tagId) ?? -Infinity)) {
        this.lateReadings++;
        continue;
      }
      let w = this.open.get(r.tagId);
      if (w && startMs > w.startMs) {
        closed.push(this.close(r.tagId, w));
        w = undefined;
      } else if (w && startMs < w.startMs) {
        // older than the open window but not yet closed: an out-of-order straggler
        this.lateReadings++;
        continue;
      }
      // The same reading again (a source resending its current value after a reconnect).
      if (w && r.tsMs === w.lastTsMs) continue;
      if (!w) {
        w = { startMs, sum: 0, min: Infinity, max: -Infinity, last: r.value, lastTsMs: r.tsMs, count: 0 };
        this.open.set(r.tagId, w);
      }
      w.sum += r.value;
      w.count++;
      if (r.value < w.min) w.min = r.value;
      if (r.value > w.max) w.max = r.value;
      if (r.tsMs >= w.lastTsMs) {
        w.last = r.value;
        w.lastTsMs = r.tsMs;
      }
    }
    return closed;
  }

  /** Closes every window whose end plus grace is at or before `nowMs`. */
  flush(nowMs: number): Aggregate[] {
    const closed: Aggregate[] = [];
    for (const [tagId, w] of this.open) {
      if (w.startMs + this.windowMs + this.graceMs <= nowMs) closed.push(this.close(tagId, w));
    }
    return closed;
  }

  /** Closes everything (on shutdown), partial windows included. */
  drain(): Aggregate[] {
    return [...this.open].map(([tagId, w]) => this.close(tagId, w));
  }

  private close(tagId: string, w: OpenWindow): Aggregate {
    this.open.delete(tagId);
    this.closedUpTo.set(tagId, w.startMs + this.windowMs);
    return { tagId, windowStartMs: w.startMs, windowMs: this.windowMs, mean: w.sum / w.count, min: w.min, max: w.max, last: w.last, count: w.count };
  }
}
