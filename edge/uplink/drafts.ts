/**
 * Outbox drafts: what each kind of uplink message looks like before it has a sequence number.
 * Telemetry is cut into messages bounded by reading count and (estimated) bytes.
 */
import { encodeEnvelope, envelope, type Aggregate, type AuditSync, type Birth, type Escalation, type ForecastMessage, type Gap, type ModelScore, type Payload, type Reading } from '../../protocols/index.js';
import type { OutboxDraft } from '../store/edge-store.js';
import { Lane } from '../store/lanes.js';

export interface DraftContext {
  edgeId: string;
  siteId: string;
  compress: boolean;
  maxBatchReadings: number;
  maxBatchBytes: number;
  now: () => number;
}

function draft(ctx: DraftContext, lane: Lane, payload: Payload, extra: Partial<OutboxDraft> = {}): OutboxDraft {
  return {
    kind: payload.kind,
    lane,
    ...extra,
    encode: (seq) => encodeEnvelope(envelope({ edgeId: ctx.edgeId, siteId: ctx.siteId, seq, sentAtMs: ctx.now(), payload }), { compress: ctx.compress }),
  };
}

/** Uncompressed bytes a reading costs on the wire, about: index, delta, value, and its tag name once. */
const BYTES_PER_READING = 14;

export function telemetryDrafts(ctx: DraftContext, readings: readonly Reading[]): OutboxDraft[] {
  const drafts: OutboxDraft[] = [];
  let start = 0;
  while (start < readings.length) {
    let end = start;
    let bytes = 0;
    const seenTags = new Set<string>();
    while (end < readings.length && end - start < ctx.maxBatchReadings) {
      const r = readings[end]!;
      const cost = BYTES_PER_READING + (seenTags.has(r.tagId) ? 0 : r.tagId.length + 2);
      if (end > start && bytes + cost > ctx.maxBatchBytes) break;
      seenTags.add(r.tagId);
      bytes += cost;
      end++;
    }
    const chunk = readings.slice(start, end);
    let firstTsMs = Infinity;
    let lastTsMs = -Infinity;
    for (const r of chunk) {
      if (r.tsMs < firstTsMs) firstTsMs = r.tsMs;
      if (r.tsMs > lastTsMs) lastTsMs = r.tsMs;
    }
    drafts.push(draft(ctx, Lane.Telemetry, { kind: 'telemetry', readings: chunk }, { readings: chunk.length, firstTsMs, lastTsMs }));
    start = end;
  }
  return drafts;
}

export function aggregateDraft(ctx: DraftContext, aggregates: readonly Aggregate[]): OutboxDraft {
  return draft(ctx, Lane.Aggregate, { kind: 'aggregates', aggregates: [...aggregates] });
}

export function birthDraft(ctx: DraftContext, birth: Birth): OutboxDraft {
  return draft(ctx, Lane.Event, { kind: 'birth', birth });
}

export function gapDraft(ctx: DraftContext, gap: Gap): OutboxDraft {
  return draft(ctx, Lane.Event, { kind: 'gap', gap });
}

/** Forecasts travel with the aggregates: never dropped, after control, audit and events. */
export function forecastDraft(ctx: DraftContext, forecast: ForecastMessage): OutboxDraft {
  return draft(ctx, Lane.Aggregate, { kind: 'forecast', forecast });
}

export function scoresDraft(ctx: DraftContext, atMs: number, scores: ModelScore[]): OutboxDraft {
  return draft(ctx, Lane.Aggregate, { kind: 'scores', atMs, scores });
}

/** A proposal waiting for a human at the hub: the control lane, first on the wire, never dropped. */
export function escalationDraft(ctx: DraftContext, escalation: Escalation): OutboxDraft {
  return draft(ctx, Lane.Control, { kind: 'escalation', escalation });
}

/** A run of the audit chain for the hub's mirror: the audit lane, right after control, never dropped. */
export function auditDraft(ctx: DraftContext, audit: AuditSync): OutboxDraft {
  return draft(ctx, Lane.Audit, { kind: 'audit', audit });
}
