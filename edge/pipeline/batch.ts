/**
 * Batching stage: gathers readings into durable commits.
 * In: batches of readings of any size. Out: batches of at most `maxReadings`, emitted when that
 * many have gathered, `flushMs` after the oldest pending reading, or `soonMs` after it when
 * some of the input waits on its commit (`soon$` fires with it: MQTT holding its broker
 * acknowledgements). Group commit: one fsync for everything gathered meanwhile, and a broker
 * waiting for acknowledgements waits no longer than that.
 * After every flush, when nothing is pending any more, `afterFlush` runs: by then everything
 * received so far has gone downstream.
 * State: the pending readings. Completes after emitting what is pending when its input completes.
 * Time comes from the scheduler, so tests can run it on a virtual clock.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Reading } from '../../protocols/index.js';

export interface BatchOptions {
  flushMs: number;
  maxReadings: number;
  scheduler?: SchedulerLike;
  /** Fires with input that waits on its commit. */
  soon$?: Observable<unknown>;
  soonMs?: number;
  afterFlush?: () => void;
}

export function batchReadings(options: BatchOptions): OperatorFunction<Reading[], Reading[]> {
  const { flushMs, maxReadings, scheduler = asyncScheduler, soon$, soonMs = 20, afterFlush } = options;
  return (source) =>
    new Observable<Reading[]>((out) => {
      let pending: Reading[] = [];
      let timer: Subscription | undefined;
      let soonTimer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (soonTimer) clearTimeout(soonTimer);
        soonTimer = undefined;
        while (pending.length > 0) {
          const head = pending.length > maxReadings ? pending.slice(0, maxReadings) : pending;
          pending = pending.length > maxReadings ? pending.slice(maxReadings) : [];
          out.next(head);
        }
        afterFlush?.();
      };
      const soon = soon$?.subscribe(() => {
        soonTimer ??= setTimeout(flush, soonMs);
      });
      const sub = source.subscribe({
        next(batch) {
          for (const r of batch) pending.push(r);
          if (pending.length >= maxReadings) flush();
          else if (!timer && pending.length > 0) timer = scheduler.schedule(flush, flushMs);
        },
        error: (e: unknown) => out.error(e),
        complete() {
          flush();
          out.complete();
        },
      });
      return () => {
        timer?.unsubscribe();
        if (soonTimer) clearTimeout(soonTimer);
        soon?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
