/**
 * Local time for time-window conditions, without I/O and without reading the clock.
 *
 * `ZoneClock` gives a zone's UTC offset at an instant through Intl (slow, ~microseconds), so it
 * remembers the offset per UTC quarter hour: zones change offset on quarter-hour boundaries, and
 * a quarter whose two ends disagree is never cached. The memo only makes the same answer faster.
 *
 * `WeekMask` is a rule's windows precomputed over the 10,080 minutes of a week (Monday 00:00
 * first), with, for each minute, how many minutes the state lasts from there, so "is this whole
 * interval inside?" and "does it touch a window?" are one lookup each.
 */
import type { PolicyTimeWindow } from '../../config/index.js';

const MINUTE_MS = 60_000;
const QUARTER_MS = 15 * MINUTE_MS;
export const WEEK_MIN = 7 * 1440;
/** 1970-01-01 was a Thursday: day 3 of a Monday-first week. */
const EPOCH_MINUTE_OF_WEEK = 3 * 1440;
const CACHE_LIMIT = 8192;

export class ZoneClock {
  private readonly format: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  }

  /** Local time minus UTC at `utcMs`, in ms. */
  offsetMs(utcMs: number): number {
    const quarter = Math.floor(utcMs / QUARTER_MS);
    let offset = this.offsets.get(quarter);
    if (offset === undefined) {
      const first = this.exactOffsetMs(quarter * QUARTER_MS);
      offset = first === this.exactOffsetMs((quarter + 1) * QUARTER_MS - 1000) ? first : NaN;
      if (this.offsets.size >= CACHE_LIMIT) this.offsets.clear();
      this.offsets.set(quarter, offset);
    }
    return Number.isNaN(offset) ? this.exactOffsetMs(utcMs) : offset;
  }

  private exactOffsetMs(utcMs: number): number {
    const wholeSecond = Math.floor(utcMs / 1000) * 1000;
    const p: Record<string, number> = {};
    for (const part of this.format.formatToParts(wholeSecond)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - wholeSecond;
  }
}

/** Minute of the week (0 = Monday 00:00) of a local time in ms. */
export function minuteOfWeek(localMs: number): number {
  const m = (Math.floor(localMs / MINUTE_MS) + EPOCH_MINUTE_OF_WEEK) % WEEK_MIN;
  return m < 0 ? m + WEEK_MIN : m;
}

export class WeekMask {
  /** 1 where a window is open. */
  readonly open = new Uint8Array(WEEK_MIN);
  /** Minutes the state at this minute lasts (itself included); WEEK_MIN when it never changes. */
  readonly run = new Uint16Array(WEEK_MIN);

  constructor(windows: readonly PolicyTimeWindow[]) {
    for (const w of windows) {
      const length = w.toMinuteOfDay > w.fromMinuteOfDay ? w.toMinuteOfDay - w.fromMinuteOfDay : 1440 - w.fromMinuteOfDay + w.toMinuteOfDay;
      for (const day of w.days) {
        const start = day * 1440 + w.fromMinuteOfDay;
        for (let m = 0; m < length; m++) this.open[(start + m) % WEEK_MIN] = 1;
      }
    }
    let change = -1;
    for (let m = 0; m < WEEK_MIN; m++) if (this.open[m] !== this.open[(m + 1) % WEEK_MIN]) change = m;
    if (change < 0) {
      this.run.fill(WEEK_MIN);
      return;
    }
    // Walk backwards from the last minute before a change, once around the week.
    let length = 0;
    for (let i = 0; i < WEEK_MIN; i++) {
      const m = (change - i + WEEK_MIN) % WEEK_MIN;
      length = i > 0 && this.open[m] === this.open[(m + 1) % WEEK_MIN] ? length + 1 : 1;
      this.run[m] = length;
    }
  }

  /** Whether `span` minutes from `first` are all inside a window. */
  covers(first: number, span: number): boolean {
    return this.open[first] === 1 && this.run[first]! >= span;
  }

  /** Whether any of `span` minutes from `first` is inside a window. */
  touches(first: number, span: number): boolean {
    return this.open[first] === 1 || this.run[first]! < span;
  }
}
