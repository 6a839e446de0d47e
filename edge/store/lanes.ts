/**
 * Outbox lanes, in priority order: what goes to the hub first, and what may be dropped when the
 * outbox is full. Only raw telemetry is ever dropped; everything else waits, however long.
 */
export const Lane = {
  Control: 0,
  Audit: 1,
  /** Alarms, quality events, gaps, births. */
  Event: 2,
  Aggregate: 3,
  Telemetry: 4,
} as const;
export type Lane = (typeof Lane)[keyof typeof Lane];

export const LANES: readonly Lane[] = [Lane.Control, Lane.Audit, Lane.Event, Lane.Aggregate, Lane.Telemetry];

export function isDroppable(lane: Lane): boolean {
  return lane === Lane.Telemetry;
}

export interface OutboxLimits {
  /** Above this many bytes of payload, raw telemetry is dropped. */
  maxBytes: number;
  /** Raw telemetry older than this is dropped. */
  maxAgeMs: number;
  /** Which telemetry goes first when full: the oldest (keep the newest) or the newest (keep the history). */
  dropPolicy: 'oldest' | 'newest';
}
