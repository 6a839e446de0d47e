import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { WindowAggregator, batchReadings, validateReadings } from '../../edge/index.js';
import { Quality, type Reading } from '../../protocols/index.js';

const r = (tagId: string, tsMs: number, value: number, quality: Quality = Quality.Good): Reading => ({ tagId, tsMs, value, quality });

describe('validateReadings', () => {
  const limits = new Map([
    ['v', { min: 0.8, max: 1.2 }],
    ['p', { min: -100, max: 100 }],
  ]);

  it('accepts finite in-range readings of known tags and says why it rejects the rest', () => {
    const out = validateReadings([r('v', 1, 1.01), r('v', 2, 1.5), r('p', 3, Number.NaN), r('p', 4, Infinity), r('x', 5, 1), r('p', 6, -100)], limits);
    expect(out.accepted).toEqual([r('v', 1, 1.01), r('p', 6, -100)]);
    expect(out.rejected.map((x) => [x.reading.tsMs, x.reason])).toEqual([
      [2, 'out_of_range'],
      [3, 'not_finite'],
      [4, 'not_finite'],
      [5, 'unknown_tag'],
    ]);
    expect(out.rejected[0]?.detail).toBe('v: 1.5 is outside [0.8, 1.2]');
  });
});

describe('WindowAggregator (1-minute windows, 2 s grace)', () => {
  it('computes mean, min, max, last and count per tag and closes a window when the next begins', () => {
    const agg = new WindowAggregator(60_000, 2_000);
    expect(agg.add([r('p', 60_000, 10), r('p', 90_000, 30), r('q', 61_000, 5), r('p', 119_999, 20)])).toEqual([]);
    const closed = agg.add([r('p', 120_000, 99)]);
    expect(closed).toEqual([{ tagId: 'p', windowStartMs: 60_000, windowMs: 60_000, mean: 20, min: 10, max: 30, last: 20, count: 3 }]);
  });

  it('closes idle windows on the clock only after the grace period', () => {
    const agg = new WindowAggregator(60_000, 2_000);
    agg.add([r('q', 61_000, 5), r('q', 62_000, 7)]);
    expect(agg.flush(121_999)).toEqual([]);
    expect(agg.flush(122_000)).toEqual([{ tagId: 'q', windowStartMs: 60_000, windowMs: 60_000, mean: 6, min: 5, max: 7, last: 7, count: 2 }]);
  });

  it('last is the latest by timestamp, not by arrival; bad readings and late ones are left out', () => {
    const agg = new WindowAggregator(60_000, 2_000);
    agg.add([r('p', 10_000, 1), r('p', 5_000, 2), r('p', 20_000, 50, Quality.Bad)]);
    const [w] = agg.flush(1_000_000);
    expect(w).toMatchObject({ last: 1, count: 2, max: 2 });
    expect(agg.add([r('p', 30_000, 3)])).toEqual([]);
    expect(agg.lateReadings).toBe(1);
    expect(agg.drain()).toEqual([]);
  });
});

describe('batchReadings', () => {
  it('emits when maxReadings gather or flushMs after the first pending reading, and flushes on completion', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const a = [r('p', 1, 1), r('p', 2, 2)];
      const b = [r('p', 3, 3), r('p', 4, 4), r('p', 5, 5)];
      const c = [r('p', 6, 6)];
      const source = cold('a 5ms b 20ms c 3ms |', { a, b, c });
      // a at 0, b at 6: 5 pending >= 3, so all go at once (3 + 2); c at 27 goes out with completion at 31
      const out = source.pipe(batchReadings(10, 3, scheduler));
      expectObservable(out).toBe('6ms (xy) 21ms (z|)', {
        x: [...a, b[0]],
        y: [b[1], b[2]],
        z: c,
      });
    });
  });

  it('flushes a partial batch after flushMs', () => {
    const scheduler = new TestScheduler((a, b) => expect(a).toEqual(b));
    scheduler.run(({ cold, expectObservable }) => {
      const a = [r('p', 1, 1)];
      expectObservable(cold('a 50ms |', { a }).pipe(batchReadings(10, 100, scheduler))).toBe('10ms x 40ms |', { x: a });
    });
  });
});
