/**
 * Writes each pipeline batch (raw readings, closed aggregates, their outbox messages) to the
 * store in one transaction, and survives a store that cannot write (disk full, I/O error):
 *  - raw readings of a failed batch are kept in memory, up to `maxRetainedReadings`, and written
 *    with the next attempt (sources that wait for the commit, MQTT holding its broker
 *    acknowledgements, are not acknowledged meanwhile, so they stop sending);
 *  - beyond that bound the oldest are lost; the loss is remembered and reported to the hub as
 *    a Gap (reason `disk_full`) with the first write that succeeds again;
 *  - aggregates are never dropped: they are kept in memory and written with the next batch;
 *  - on a full disk it first tries to make room by dropping the oldest raw telemetry waiting in
 *    the outbox (also reported as a gap).
 * The agent keeps running throughout and recovers by itself when space returns.
 */
import type { Logger } from 'pino';
import type { Aggregate, Reading } from '../protocols/index.js';
import type { EdgeMetrics } from './metrics.js';
import type { EdgeStore } from './store/edge-store.js';
import { aggregateDraft, gapDraft, telemetryDrafts, type DraftContext } from './uplink/drafts.js';

interface Loss {
  readings: number;
  fromTsMs: number;
  toTsMs: number;
}

export class DurableWriter {
  private lost: Loss | undefined;
  private heldAggregates: Aggregate[] = [];
  private retained: Reading[] = [];
  private failing = false;

  constructor(
    private readonly store: EdgeStore,
    private readonly ctx: DraftContext,
    private readonly metrics: EdgeMetrics,
    private readonly log: Logger,
    private readonly maxRetainedReadings = 50_000,
  ) {}

  /** True from a failed write until the next one that succeeds. */
  get isFailing(): boolean {
    return this.failing;
  }

  /** Raw readings waiting in memory for the store to accept them again. */
  get retainedReadings(): number {
    return this.retained.length;
  }

  /** How many readings the last successful write stored (new, not seen before). */
  get lastStored(): number {
    return this.store.lastFresh;
  }

  /** How many readings the last write tried to store (retained ones included). */
  lastAttempted = 0;

  /** The aggregates the last successful write stored (held ones included). */
  lastAggregates: readonly Aggregate[] = [];

  /** True when the batch (and whatever was retained before it) is durably stored. */
  write(batch: readonly Reading[], aggregates: readonly Aggregate[]): boolean {
    const aggs = this.heldAggregates.length > 0 ? [...this.heldAggregates, ...aggregates] : aggregates;
    const readings = this.retained.length > 0 ? [...this.retained, ...batch] : batch;
    this.lastAttempted = readings.length;
    try {
      this.commit(readings, aggs);
      return true;
    } catch (first) {
      if (errorCode(first) === 'SQLITE_FULL') {
        try {
          this.store.makeRoom('disk_full', 1000);
          this.commit(readings, aggs);
          return true;
        } catch {
          // still no room: fall through and drop this batch's raw readings
        }
      }
      this.onFailure(first, readings, aggs);
      return false;
    }
  }

  private commit(readings: readonly Reading[], aggs: readonly Aggregate[]): void {
    const lost = this.lost;
    this.store.commit({
      readings,
      aggregates: aggs,
      telemetry: (fresh) => telemetryDrafts(this.ctx, fresh),
      outbox: [
        ...(aggs.length > 0 ? [aggregateDraft(this.ctx, aggs)] : []),
        ...(lost ? [gapDraft(this.ctx, { reason: 'disk_full', droppedSeqs: [], readings: lost.readings, fromTsMs: lost.fromTsMs, toTsMs: lost.toTsMs })] : []),
      ],
    });
    this.lastAggregates = aggs;
    this.heldAggregates = [];
    this.retained = [];
    if (this.failing) {
      this.log.info({ lostReadings: lost?.readings ?? 0 }, 'local store writable again; the loss is reported to the hub as a gap');
      this.failing = false;
    }
    this.lost = undefined;
  }

  private onFailure(err: unknown, readings: readonly Reading[], aggs: readonly Aggregate[]): void {
    const code = errorCode(err);
    this.metrics.storeErrors.inc({ code });
    this.heldAggregates = [...aggs];
    const excess = readings.length - this.maxRetainedReadings;
    this.retained = excess > 0 ? readings.slice(excess) : [...readings];
    if (excess > 0) {
      const lostNow = readings.slice(0, excess);
      this.metrics.droppedReadings.inc({ reason: code === 'SQLITE_FULL' ? 'disk_full' : 'store_error' }, lostNow.length);
      let from = Infinity;
      let to = -Infinity;
      for (const r of lostNow) {
        if (r.tsMs < from) from = r.tsMs;
        if (r.tsMs > to) to = r.tsMs;
      }
      const l = this.lost;
      this.lost = { readings: (l?.readings ?? 0) + lostNow.length, fromTsMs: Math.min(l?.fromTsMs ?? from, from), toTsMs: Math.max(l?.toTsMs ?? to, to) };
    }
    if (!this.failing) {
      this.failing = true;
      this.log.error({ code, err: err instanceof Error ? err.message : String(err), maxRetainedReadings: this.maxRetainedReadings }, 'cannot write the local store; keeping readings in memory up to the bound, then dropping the oldest raw ones (counted, reported to the hub as a gap), until it recovers');
    }
  }
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
