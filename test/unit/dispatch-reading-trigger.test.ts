/**
 * The reading-triggered dispatch cycle's debounce, on vitest's fake clock: a watched reading
 * starts a cycle at once; within the debounce, readings wait and start ONE cycle when it is up;
 * a running cycle is never doubled; unwatched or suspect readings start nothing.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReadingTrigger } from '../../edge/dispatch/reading-trigger.js';
import { Quality, type Reading } from '../../protocols/index.js';

const FEEDER = 'feeder1.active_power_kw';
const reading = (tagId: string, over: Partial<Reading> = {}): Reading => ({ tagId, tsMs: Date.now(), value: 4800, quality: Quality.Good, ...over });

let starts: number[];
let finish: (() => void)[];
let errors: unknown[];
let trigger: ReadingTrigger;

/** A trigger whose cycles end only when the test says so (`finish.shift()!()`). */
function make(debounceMs = 100, run?: () => Promise<unknown>) {
  trigger = new ReadingTrigger({
    tags: [FEEDER, 'bess1.soc_pct'],
    debounceMs,
    nowMs: Date.now,
    run:
      run ??
      (() => {
        starts.push(Date.now());
        return new Promise<void>((resolve) => finish.push(resolve));
      }),
    onError: (err) => errors.push(err),
  });
  return trigger;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
  starts = [];
  finish = [];
  errors = [];
});
afterEach(() => {
  trigger?.stop();
  vi.useRealTimers();
});

describe('ReadingTrigger', () => {
  it('starts a cycle at once on a watched reading, synchronously', () => {
    make().onReadings([reading('feeder1.voltage_pu'), reading(FEEDER)]);
    expect(starts).toEqual([1_000_000]);
  });

  it('ignores readings of other tags, and readings that are not Good, flagged or not finite', () => {
    const t = make();
    t.onReadings([reading('feeder1.voltage_pu')]);
    t.onReadings([reading(FEEDER, { quality: Quality.Bad })]);
    t.onReadings([reading(FEEDER, { flags: 1 })]);
    t.onReadings([reading(FEEDER, { value: Number.NaN })]);
    expect(starts).toEqual([]);
  });

  it('within the debounce, many readings start one cycle when it is up; after it, the next reading starts one at once', async () => {
    const t = make(100);
    t.onReadings([reading(FEEDER)]);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(10);
    for (let i = 0; i < 5; i++) {
      t.onReadings([reading(FEEDER)]);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(starts).toEqual([1_000_000]);
    await vi.advanceTimersByTimeAsync(40); // t = 100 ms after the first start
    expect(starts).toEqual([1_000_000, 1_000_100]);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(500);
    expect(starts).toHaveLength(2); // nothing pending: no cycle without a reading
    t.onReadings([reading('bess1.soc_pct')]);
    expect(starts).toEqual([1_000_000, 1_000_100, 1_000_600]);
  });

  it('never runs two cycles at once: a reading during a long cycle starts one more right after it ends', async () => {
    const t = make(100);
    t.onReadings([reading(FEEDER)]);
    await vi.advanceTimersByTimeAsync(300);
    t.onReadings([reading(FEEDER)]);
    t.onReadings([reading(FEEDER)]);
    await vi.advanceTimersByTimeAsync(300);
    expect(starts).toHaveLength(1);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(starts).toEqual([1_000_000, 1_000_600]);
  });

  it('reports a failed cycle and keeps triggering; after stop, nothing starts', async () => {
    let n = 0;
    const t = make(0, async () => {
      n++;
      throw new Error(`cycle ${n} failed`);
    });
    t.onReadings([reading(FEEDER)]);
    await vi.advanceTimersByTimeAsync(0);
    t.onReadings([reading(FEEDER)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(n).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['cycle 1 failed', 'cycle 2 failed']);
    t.stop();
    t.onReadings([reading(FEEDER)]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(n).toBe(2);
  });

  it('stop() cancels a cycle waiting for the end of the debounce', async () => {
    const t = make(100);
    t.onReadings([reading(FEEDER)]);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(10);
    t.onReadings([reading(FEEDER)]);
    t.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(starts).toHaveLength(1);
  });
});
