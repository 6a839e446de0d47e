import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { Arrival, Ingest, TagOrder, TagQuality, TagWindows, batchReadings, type TagRule } from '../../edge/index.js';
import { Quality, ReadingFlag, type Reading } from '../../protocols/index.js';

const r = (tagId: string, tsMs: number, value: number, quality: Quality = Quality.Good): Reading => ({ tagId, tsMs, value, quality });
const off = { stuckSamples: 0, spikeSigma: 0, spikeWarmup: 30 };
const rule = (id: string, min = -1e9, max = 1e9, quality = off): TagRule => ({ id, min, max, quality });

describe('TagOrder (duplicates and lateness)', () => {
  it('new above the high-water mark, duplicate when seen, new when out of order within the window, late beyond it', () => {
    const o = new TagOrder();
    expect([o.arrive(1000, 100), o.arrive(1000, 100), o.arrive(950, 100), o.arrive(950, 100), o.arrive(899, 100), o.arrive(1001, 100)]).toEqual([
      Arrival.New,
      Arrival.Duplicate,
      Arrival.New,
      Arrival.Duplicate,
      Arrival.Late,
      Arrival.New,
    ]);
  });

  it('after a restart, seeded from the store, recognises what it already has', () => {
    const o = new TagOrder();
    o.seed([30, 10, 20]);
    expect([o.arrive(20, 100), o.arrive(25, 100), o.arrive(31, 100)]).toEqual([Arrival.Duplicate, Arrival.New, Arrival.New]);
  });
});

describe('TagQuality', () => {
  it('flags a value repeated stuckSamples times in a row, and stops when it moves', () => {
    const q = new TagQuality({ stuckSamples: 3, spikeSigma: 0, spikeWarmup: 30 });
    expect([5, 5, 5, 5, 6].map((v) => q.assess(v))).toEqual([0, 0, ReadingFlag.Stuck, ReadingFlag.Stuck, 0]);
  });

  it('flags a spike beyond k sigma after the warm-up, and the spike does not widen the band', () => {
    const q = new TagQuality({ stuckSamples: 0, spikeSigma: 4, spikeWarmup: 20 });
    const noise = Array.from({ length: 200 }, (_, i) => 100 + Math.sin(i) * 2);
    expect(noise.map((v) => q.assess(v)).filter((f) => f !== 0)).toEqual([]);
    expect(q.assess(160)).toBe(ReadingFlag.Spike);
    expect(q.assess(161)).toBe(ReadingFlag.Spike);
    expect(q.assess(101)).toBe(0);
  });
});

describe('TagWindows', () => {
  it('closes 1 min windows on the watermark and builds 15 min ones from them', () => {
    const w = new TagWindows('p', [60_000, 900_000]);
    for (let t = 0; t < 900_000; t += 10_000) w.add(t, t / 10_000);
    const closed = w.advance(900_000);
    expect(closed.filter((a) => a.windowMs === 60_000)).toHaveLength(15);
    const q = closed.find((a) => a.windowMs === 900_000)!;
    expect(q).toEqual({ tagId: 'p', windowStartMs: 0, windowMs: 900_000, mean: 44.5, min: 0, max: 89, last: 89, count: 90 });
    expect(w.add(59_999, 1)).toBe(false); // its window is closed
  });
});

describe('Ingest', () => {
  const opts = { latenessMs: 5_000, windowsMs: [60_000], idleCloseMs: 0 };

  it('flags out-of-range, NaN and bad-quality readings, stores them, and leaves them out of aggregates', () => {
    const ing = new Ingest([rule('v', 0.8, 1.2)], opts);
    const out = ing.process([r('v', 1_000, 1.0), r('v', 2_000, 1.5), r('v', 3_000, Number.NaN), r('v', 4_000, 1.1, Quality.Bad), r('x', 5_000, 1), r('v', 6_000, 0.9)]);
    expect(out.readings.map((x) => [x.tsMs, x.flags ?? 0])).toEqual([
      [1_000, 0],
      [2_000, ReadingFlag.OutOfRange],
      [3_000, ReadingFlag.NotFinite],
      [4_000, 0],
      [6_000, 0],
    ]);
    expect(out.rejected.map((x) => x.reason)).toEqual(['unknown_tag']);
    expect(out.flagged).toMatchObject({ OutOfRange: 1, NotFinite: 1 });
    const [agg] = ing.drain();
    expect(agg).toMatchObject({ count: 2, mean: 0.95, min: 0.9, max: 1.0, last: 0.9 });
  });

  it('drops duplicates, aggregates out-of-order readings within the lateness window, flags later ones Late', () => {
    const ing = new Ingest([rule('p')], opts);
    const a = ing.process([r('p', 10_000, 1), r('p', 10_000, 1), r('p', 8_000, 2), r('p', 63_000, 3)]);
    expect(a.duplicates).toBe(1);
    expect(a.aggregates).toEqual([]); // watermark 58 s: the first minute is still open
    const b = ing.process([r('p', 59_000, 4), r('p', 66_000, 5)]);
    expect(b.aggregates).toEqual([{ tagId: 'p', windowStartMs: 0, windowMs: 60_000, mean: 7 / 3, min: 1, max: 4, last: 4, count: 3 }]);
    const c = ing.process([r('p', 59_500, 6)]);
    expect(c.readings[0]?.flags).toBe(ReadingFlag.Late);
  });

  it('refuses a reading stamped far ahead of the clock, so it cannot make the real ones after it look late', () => {
    const ing = new Ingest([rule('p')], { ...opts, maxAheadMs: 60_000 });
    const out = ing.process([r('p', 1_000_000, 1), r('p', 10_000_000_000, 2), r('p', 1_001_000, 3)], 1_000_000);
    expect(out.rejected.map((x) => [x.reading.tsMs, x.reason])).toEqual([[10_000_000_000, 'bad_timestamp']]);
    expect(out.rejected[0]?.detail).toMatch(/ahead of the clock/);
    expect(out.readings.map((x) => [x.tsMs, x.flags ?? 0])).toEqual([
      [1_000_000, 0],
      [1_001_000, 0],
    ]);
  });

  it('closes the windows of a quiet tag by the wall clock', () => {
    const ing = new Ingest([rule('p')], { ...opts, idleCloseMs: 1_000 });
    ing.process([r('p', 1_000, 1)], 1_000);
    expect(ing.flush(65_999)).toEqual([]);
    expect(ing.flush(66_000)).toHaveLength(1);
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
      const out = source.pipe(batchReadings({ flushMs: 10, maxReadings: 3, scheduler }));
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
      expectObservable(cold('a 50ms |', { a }).pipe(batchReadings({ flushMs: 10, maxReadings: 100, scheduler }))).toBe('10ms x 40ms |', { x: a });
    });
  });
});
