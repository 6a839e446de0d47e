import { describe, expect, it } from 'vitest';
import { DriftWatch, ForecastScorer } from '../../edge/forecast/index.js';
import { AccuracyMeter } from '../../models/accuracy.js';
import { HOUR_MS } from '../../models/series.js';

const T0 = Date.UTC(2017, 7, 1);
const hour = (h: number): number => T0 + h * HOUR_MS;

/** The offline computation: AccuracyMeter over (forecast, actual) pairs, in hour order. */
function offline(pairs: [number, number][]): { n: number; mape: number; mae: number; bias: number } {
  const m = new AccuracyMeter();
  for (const [f, a] of pairs) m.add(f, a);
  const { n, mape, mae, bias } = m.result();
  return { n, mape, mae, bias };
}

describe('ForecastScorer', () => {
  it('scores a day-ahead forecast hour by hour and forgets it once every hour is scored', () => {
    const s = new ForecastScorer({ windowHours: 48 });
    const load = Array.from({ length: 24 }, (_, h) => 1000 + 10 * h);
    const actual = load.map((v, h) => v * (1 + ((h % 5) - 2) / 100));
    s.add('active', hour(0), load, 'm1');
    for (let h = 0; h < 23; h++) expect(s.observe(hour(h), actual[h]!)).toBe(1);
    expect(s.pendingCount('active')).toBe(1);
    expect(s.observe(hour(23), actual[23]!)).toBe(1);
    expect(s.pendingCount('active')).toBe(0);
    expect(s.score('active')).toEqual({ role: 'active', modelId: 'm1', ...offline(load.map((f, h) => [f, actual[h]!])) });
    // nothing pending any more: a later actual scores nothing
    expect(s.observe(hour(24), 1000)).toBe(0);
  });

  it('keeps the hours of the window that ends at the newest scored hour, whatever order actuals come in', () => {
    const s = new ForecastScorer({ windowHours: 5 });
    const pairs: [number, number][] = [];
    for (let h = 0; h < 12; h++) {
      const f = 100 + h;
      const a = 100 + h + (h % 3) - 1 + 0.5;
      s.add('active', hour(h), [f], 'm');
      pairs.push([f, a]);
    }
    // hours 0..11 observed as 0..5, then 11, then 6..10 (late arrivals)
    const order = [0, 1, 2, 3, 4, 5, 11, 6, 7, 8, 9, 10];
    for (const h of order) s.observe(hour(h), pairs[h]![1]);
    expect(s.score('active')).toEqual({ role: 'active', modelId: 'm', ...offline(pairs.slice(7, 12)) });
  });

  it('scores an hour once per role; ignores missing, non-finite and misaligned actuals', () => {
    const s = new ForecastScorer({ windowHours: 24 });
    s.add('active', hour(0), [100, 200], 'a');
    s.add('active', hour(0), [110, 210], 'a'); // re-issued before any actual: replaces the first
    s.add('shadow', hour(0), [90, 190], 'b');
    expect(s.observe(hour(0), NaN)).toBe(0);
    expect(s.observe(hour(0) + 1, 100)).toBe(0);
    expect(s.observe(hour(0), 100)).toBe(2);
    expect(s.observe(hour(0), 150)).toBe(0); // a second actual for a scored hour
    expect(s.observe(hour(1), 200)).toBe(2);
    expect(s.score('active')).toEqual({ role: 'active', modelId: 'a', ...offline([[110, 100], [210, 200]]) });
    expect(s.score('shadow')).toEqual({ role: 'shadow', modelId: 'b', ...offline([[90, 100], [190, 200]]) });
    s.reset('shadow');
    expect(s.score('shadow')).toEqual({ role: 'shadow', n: 0, mape: NaN, mae: NaN, bias: NaN });
  });

  it('bounds memory: at most maxPending forecasts, and none that can no longer enter the window', () => {
    const s = new ForecastScorer({ windowHours: 3, maxPending: 10 });
    for (let h = 0; h < 100; h++) s.add('active', hour(h), [1], 'm');
    expect(s.pendingCount('active')).toBe(10); // the newest ten: hours 90..99
    expect(s.observe(hour(95), 1)).toBe(1);
    // hours 90..92 can no longer enter the window (93..95); 93, 94 could still
    expect(s.pendingCount('active')).toBe(6);
    s.add('active', hour(80), [1], 'm'); // too old to matter
    expect(s.pendingCount('active')).toBe(6);
  });

  it('matches the offline computation over a long random replay', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const s = new ForecastScorer({ windowHours: 72 });
    const pairs = new Map<number, [number, number]>();
    for (let day = 0; day < 20; day++) {
      const load = Array.from({ length: 24 }, () => 500 + 500 * rand());
      s.add('active', hour(day * 24), load, 'm');
      for (let h = 0; h < 24; h++) {
        if (rand() < 0.05) continue; // a missing actual
        const a = 500 + 500 * rand();
        s.observe(hour(day * 24 + h), a);
        pairs.set(day * 24 + h, [load[h]!, a]);
      }
    }
    const newest = Math.max(...pairs.keys());
    const inWindow = [...pairs.entries()].filter(([h]) => h > newest - 72).sort(([a], [b]) => a - b).map(([, p]) => p);
    const got = s.score('active');
    const want = offline(inWindow);
    expect(got.n).toBe(want.n);
    for (const k of ['mape', 'mae', 'bias'] as const) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want[k])));
  });
});

describe('DriftWatch', () => {
  it('raises once when the rolling MAPE crosses the bound, and clears once when it is back under', () => {
    const s = new ForecastScorer({ windowHours: 6 });
    const watch = new DriftWatch({ maxMape: 10, minSamples: 4 });
    // hourly errors: 5 % for 10 h, 30 % for 10 h, 1 % for 10 h
    const errors = [...Array<number>(10).fill(0.05), ...Array<number>(10).fill(0.3), ...Array<number>(10).fill(0.01)];
    const changes: [number, string][] = [];
    errors.forEach((e, h) => {
      s.add('active', hour(h), [1000 * (1 + e)], 'm');
      s.observe(hour(h), 1000);
      const change = watch.update(s.score('active'));
      if (change) changes.push([h, change]);
    });
    // window of 6 h: over 10 % at the 2nd hour of 30 % (hour 11: (4*5 + 2*30)/6 = 13.3 %, hour 10: 9.2 %);
    // back under at hour 24 ((1*30 + 5*1)/6 = 5.8 %; hour 23: (2*30 + 4*1)/6 = 10.7 %)
    expect(changes).toEqual([
      [11, 'raised'],
      [24, 'cleared'],
    ]);
  });

  it('decides nothing before minSamples scored hours', () => {
    const watch = new DriftWatch({ maxMape: 10, minSamples: 4 });
    expect(watch.update({ n: 3, mape: 50 })).toBeUndefined();
    expect(watch.drifting).toBe(false);
    expect(watch.update({ n: 4, mape: 50 })).toBe('raised');
    expect(watch.update({ n: 2, mape: 1 })).toBeUndefined();
    expect(watch.drifting).toBe(true);
    watch.reset();
    expect(watch.drifting).toBe(false);
  });
});
