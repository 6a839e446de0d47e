/**
 * The latest good value of each tag, as the pipeline validated it: what the dispatch loop builds
 * its snapshot from. Updated by the agent as each source's batch leaves ingest (ahead of the group
 * commit, only on a gateway that dispatches); a reading older than the one held (a late one)
 * does not replace it; readings that are not Good, or flagged by the pipeline, are skipped (a
 * controller must not act on a suspect value).
 * State kept: one { value, tsMs } per tag.
 */
import { Quality, type Reading } from '../protocols/index.js';

export interface LatestValue {
  value: number;
  tsMs: number;
}

/** Whether a reading may become a tag's latest value: Good, not flagged by the pipeline, finite. */
export function usableReading(r: Reading): boolean {
  return r.quality === Quality.Good && (r.flags ?? 0) === 0 && Number.isFinite(r.value);
}

export class LatestValues {
  private readonly values = new Map<string, LatestValue>();

  update(readings: readonly Reading[]): void {
    for (const r of readings) {
      if (!usableReading(r)) continue;
      const held = this.values.get(r.tagId);
      if (held === undefined) this.values.set(r.tagId, { value: r.value, tsMs: r.tsMs });
      else if (r.tsMs >= held.tsMs) {
        // in place: this runs for every reading of every commit
        held.value = r.value;
        held.tsMs = r.tsMs;
      }
    }
  }

  get(tagId: string): LatestValue | undefined {
    return this.values.get(tagId);
  }

  /** A frozen copy of every tag's latest value (the cycle's process image). */
  snapshot(): ReadonlyMap<string, Readonly<LatestValue>> {
    const copy = new Map<string, Readonly<LatestValue>>();
    for (const [k, v] of this.values) copy.set(k, Object.freeze({ ...v }));
    return copy;
  }
}
