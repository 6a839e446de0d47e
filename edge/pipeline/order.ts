/**
 * Arrival order of one tag's readings (pure): is a reading new, a duplicate, or too late?
 *
 * State per tag: the newest timestamp seen (high-water mark) and the timestamps seen within the
 * lateness window below it, sorted. A reading newer than the high-water mark is new (the common
 * case, O(1)); one within the window is new unless its timestamp was already seen (binary
 * search); one older than the window is late: it cannot be placed in a closed aggregate window
 * and is kept only as a flagged raw reading.
 */

export const Arrival = { New: 0, Duplicate: 1, Late: 2 } as const;
export type Arrival = (typeof Arrival)[keyof typeof Arrival];

export class TagOrder {
  /** Newest timestamp seen, ms. */
  highWaterMs = -Infinity;
  private seen: number[] = [];
  private head = 0;

  /** Seeds the state after a restart with what the store already holds (any order). */
  seed(timestamps: readonly number[]): void {
    this.seen = [...new Set(timestamps)].sort((a, b) => a - b);
    this.head = 0;
    this.highWaterMs = this.seen.length > 0 ? this.seen[this.seen.length - 1]! : -Infinity;
  }

  arrive(tsMs: number, latenessMs: number): Arrival {
    if (tsMs > this.highWaterMs) {
      this.highWaterMs = tsMs;
      this.seen.push(tsMs);
      this.prune(tsMs - latenessMs);
      return Arrival.New;
    }
    if (tsMs < this.highWaterMs - latenessMs) return Arrival.Late;
    // Within the window: find where it belongs among the timestamps seen.
    let lo = this.head;
    let hi = this.seen.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seen[mid]! < tsMs) lo = mid + 1;
      else hi = mid;
    }
    if (lo < this.seen.length && this.seen[lo] === tsMs) return Arrival.Duplicate;
    this.seen.splice(lo, 0, tsMs);
    return Arrival.New;
  }

  private prune(floorMs: number): void {
    while (this.head < this.seen.length && this.seen[this.head]! < floorMs) this.head++;
    // Compact now and then rather than shifting on every reading.
    if (this.head > 1024 && this.head * 2 > this.seen.length) {
      this.seen = this.seen.slice(this.head);
      this.head = 0;
    }
  }
}
