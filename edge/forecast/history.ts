/**
 * A target's hourly load history, as the model runtime needs it: a complete naive-local hourly
 * grid, built from the agent's own hourly aggregates laid over an optional seed history (a CSV
 * exported from the historian, for a new gateway). Pure: no store, no clock.
 */
import type { HourlySeries } from '../../models/series.js';

const HOUR_MS = 3_600_000;

export class LoadHistory {
  private readonly hours = new Map<number, number>();
  private newestMs = -Infinity;

  constructor(private readonly keepHours: number) {}

  /** The load of the naive-local hour starting at `hourMs` (a later value for the same hour replaces it). */
  set(hourMs: number, load: number): void {
    const h = Math.floor(hourMs / HOUR_MS) * HOUR_MS;
    if (!Number.isFinite(load)) return;
    this.hours.set(h, load);
    if (h > this.newestMs) this.newestMs = h;
  }

  /** Seeds from an hourly series, hours before `beforeMs` only, without overriding what the agent measured itself. */
  seed(series: HourlySeries, scale: number, beforeMs: number): void {
    for (let i = 0; i < series.load.length; i++) {
      const h = series.startMs + i * HOUR_MS;
      if (h >= beforeMs) break;
      const v = series.load[i]!;
      if (!Number.isNaN(v) && !this.hours.has(h)) this.set(h, v * scale);
    }
  }

  get newestHourMs(): number | undefined {
    return Number.isFinite(this.newestMs) ? this.newestMs : undefined;
  }

  has(hourMs: number): boolean {
    return this.hours.has(hourMs);
  }

  /** The `hours` hours before `issueMs` as a series (NaN where nothing is known); forgets older hours than it keeps. */
  before(issueMs: number, hours: number): HourlySeries {
    const startMs = issueMs - hours * HOUR_MS;
    const load = new Float64Array(hours);
    for (let i = 0; i < hours; i++) load[i] = this.hours.get(startMs + i * HOUR_MS) ?? NaN;
    const horizon = this.newestMs - this.keepHours * HOUR_MS;
    if (this.hours.size > this.keepHours * 1.5) for (const h of this.hours.keys()) if (h < horizon) this.hours.delete(h);
    return { startMs, load };
  }
}
