/**
 * Cycles started by readings (`dispatch.onReading`), besides the loop's timer: a good reading of
 * a watched tag (the feeder's load, the battery's state of charge, the voltage) starts a cycle at
 * once, so the snapshot holds it and the time from reading to proposal is the cycle's own, not a
 * wait for the next tick.
 * Debounce, leading edge first: when the last cycle this trigger started began less than
 * `debounceMs` ago, or is still running, the reading is kept as pending and ONE cycle starts when
 * that time is up and that cycle has ended, however many readings came meanwhile. A burst of
 * readings thus costs at most one cycle per `debounceMs`, and none is left without a cycle after it.
 * A cycle the loop skips (the timer's cycle still running) is not retried: the next reading of a
 * sampled tag starts one.
 *
 * Input: reading batches as the pipeline passes them. Output: calls to `run`. State: when the
 * last cycle started, whether one runs, whether a reading waits, the debounce timer.
 */
import type { Reading } from '../../protocols/index.js';
import { usableReading } from '../latest-values.js';

export interface ReadingTriggerOptions {
  tags: readonly string[];
  debounceMs: number;
  /** Starts one cycle; its failure is the caller's to report (`onError`). */
  run: () => Promise<unknown>;
  onError: (err: unknown) => void;
  /** Monotonic milliseconds (default performance.now: the debounce is real time, whatever the agent's clock). */
  nowMs?: () => number;
}

export class ReadingTrigger {
  private readonly tags: ReadonlySet<string>;
  private readonly nowMs: () => number;
  private lastStartMs = -Infinity;
  private running = false;
  private pending = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: ReadingTriggerOptions) {
    this.tags = new Set(o.tags);
    this.nowMs = o.nowMs ?? (() => performance.now());
  }

  /** Readings as they pass the pipeline; synchronous, so a cycle it starts runs before this returns to its first wait. */
  onReadings(readings: readonly Reading[]): void {
    if (this.stopped) return;
    if (!readings.some((r) => this.tags.has(r.tagId) && usableReading(r))) return;
    this.pending = true;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (!this.pending || this.running || this.timer !== undefined || this.stopped) return;
    const waitMs = this.lastStartMs + this.o.debounceMs - this.nowMs();
    if (waitMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, waitMs);
      return;
    }
    this.pending = false;
    this.running = true;
    this.lastStartMs = this.nowMs();
    let cycle: Promise<unknown>;
    try {
      cycle = this.o.run();
    } catch (err) {
      cycle = Promise.reject(err);
    }
    cycle
      .catch((err: unknown) => this.o.onError(err))
      .finally(() => {
        this.running = false;
        this.kick();
      });
  }
}
