/**
 * Validation stage (pure).
 * In: a batch of readings. Out: the accepted ones and the rejected ones with a reason.
 * State: none. A reading is rejected when its tag is not configured, its value is not a finite
 * number, or it lies outside the tag's physical range.
 */
import type { Reading } from '../../protocols/index.js';

export type RejectReason = 'unknown_tag' | 'not_finite' | 'out_of_range';

export interface TagLimits {
  min: number;
  max: number;
}

export interface Rejected {
  reading: Reading;
  reason: RejectReason;
  detail: string;
}

export interface Validated {
  accepted: Reading[];
  rejected: Rejected[];
}

export function validateReadings(batch: readonly Reading[], limits: ReadonlyMap<string, TagLimits>): Validated {
  const accepted: Reading[] = [];
  const rejected: Rejected[] = [];
  for (const r of batch) {
    const lim = limits.get(r.tagId);
    if (!lim) {
      rejected.push({ reading: r, reason: 'unknown_tag', detail: `tag '${r.tagId}' is not configured` });
    } else if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
      rejected.push({ reading: r, reason: 'not_finite', detail: `${r.tagId}: value ${String(r.value)} is not a finite number` });
    } else if (r.value < lim.min || r.value > lim.max) {
      rejected.push({ reading: r, reason: 'out_of_range', detail: `${r.tagId}: ${r.value} is outside [${lim.min}, ${lim.max}]` });
    } else {
      accepted.push(r);
    }
  }
  return { accepted, rejected };
}
