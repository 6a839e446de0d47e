/**
 * Batching stage.
 * In: batches of readings of any size. Out: batches of at most `maxReadings`, emitted when that
 * many have gathered or `flushMs` after the oldest pending reading, whichever comes first.
 * State: the pending readings. Completes after emitting what is pending when its input completes.
 * Time comes from the scheduler, so tests can run it on a virtual clock.
 */
import { asyncScheduler, Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import type { Reading } from '../../protocols/index.js';

export function batchReadings(flushMs: number, maxReadings: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<Reading[], Reading[]> {
  return (source) =>
    new Observable<Reading[]>((out) => {
      let pending: Reading[] = [];
      let timer: Subscription | undefined;
      const flush = (): void => {
        timer?.unsubscribe();
        timer = undefined;
        while (pending.length > 0) {
          const head = pending.length > maxReadings ? pending.slice(0, maxReadings) : pending;
          pending = pending.length > maxReadings ? pending.slice(maxReadings) : [];
          out.next(head);
        }
      };
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
        sub.unsubscribe();
      };
    });
}
