/** Sequence numbers <-> contiguous ranges, as Ack and Gap carry them. */
import type { SeqRange } from './types.js';

/** Sequence numbers (any order, duplicates allowed) -> sorted contiguous ranges. */
export function toRanges(seqs: Iterable<number>): SeqRange[] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: SeqRange[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last.toSeq + 1) last.toSeq = s;
    else if (!last || s > last.toSeq) out.push({ fromSeq: s, toSeq: s });
  }
  return out;
}
