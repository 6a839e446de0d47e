/**
 * Batching stage: gathers readings into durable commits.
 * In: batches of readings of any size. Out: batches of at most `maxReadings`, emitted when that
 * many have gathered, `flushMs` after the oldest pending reading, or, once `soon$` has fired,
 * at the end of the current turn of the event loop (group commit: a source waiting on the
 * commit, such as MQTT holding its broker acknowledgements, gets one as soon as the messages
 * that arrived together are in). After every flush, when nothing is pending any more,
 * `afterFlush` runs: by then everything received so far has gone downstream.
 * State: the pending readings. Completes after emitting what is pending when its input completes.
 * Time comes from the scheduler, so tests can run it on a virtual clock.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Reading } from '../../protocols/index.js';

export interface BatchOptions {
  flushMs: number;
  maxReadings: number;
  scheduler?: SchedulerLike;
  /** Each emission asks for a flush at the end of the current turn. */
  soon$?: Observable<unknown>;
  afterFlush?: () => void;
}

export function batchReadings(options: BatchOptions): OperatorFunction<Reading[], Reading[]> {
  const { flushMs, maxReadings, scheduler = asyncScheduler, soon$, afterFlush } = options;
  return (source) =>
    new Observable<Reading[]>((out) => {
      let pending: Reading[] = [];
      let timer: Subscription | undefined;
      let immediate: NodeJS.Immediate | undefined;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        if (immediate) clearImmediate(immediate);
        immediate = undefined;
        while (pending.length > 0) {
          const head = pending.length > maxReadings ? pending.slice(0, maxReadings) : pending;
          pending = pending.length > maxReadings ? pending.slice(maxReadings) : [];
          out.next(head);
        }
        afterFlush?.();
      };
      const soon = soon$?.subscribe(() => {
        immediate ??= setImmediate(flush);
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
        if (immediate) clearImmediate(immediate);
        soon?.unsubscribe();
        sub.unsubscribe();
      };
    });
}
