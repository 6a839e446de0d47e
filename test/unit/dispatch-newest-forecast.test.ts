/** The dispatch loop's newest forecast, kept per forecast issue, on a real EdgeStore file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NewestForecast } from '../../edge/dispatch/newest-forecast.js';
import { EdgeStore } from '../../edge/store/edge-store.js';
import type { ForecastMessage } from '../../protocols/index.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

function forecast(target: string, firstHourMs: number, load: number[], role = 'active'): ForecastMessage {
  return { target, tag: 'feeder1.active_power_kw', horizon: 'day-ahead', role, issuedAtMs: firstHourMs, firstHourMs, hourMs: HOUR, load, p10: load.map((v) => v - 1), p90: load.map((v) => v + 1), fallbackCode: '', fallbackReason: '', latencyUs: 0 };
}

let dir: string;
let store: EdgeStore;
/** How often the store was asked for rows: the cache's misses. */
let reads: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gridos-newest-forecast-'));
  store = new EdgeStore(join(dir, 'edge.db'));
  reads = 0;
  const newest = store.newestForecast.bind(store);
  store.newestForecast = (target, role) => {
    reads++;
    return newest(target, role);
  };
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('NewestForecast', () => {
  it('answers from what it parsed until a new forecast of its target is committed, then reads the new one', () => {
    const newest = new NewestForecast(store, 'feeder1-load');
    expect(newest.get()).toBeUndefined();
    store.commit({ forecasts: [forecast('feeder1-load', T0, [100, 200])] });
    const first = newest.get();
    expect(first).toMatchObject({ target: 'feeder1-load', startMs: T0, stepMs: HOUR, stepHours: 1, load: [100, 200], p90: [101, 201] });
    const readsAfterFirst = reads;
    expect(newest.get()).toBe(first);
    expect(newest.get()).toBe(first);
    expect(reads).toBe(readsAfterFirst);

    store.commit({ forecasts: [forecast('feeder1-load', T0 + HOUR, [300, 400])] });
    const second = newest.get();
    expect(second).toMatchObject({ startMs: T0 + HOUR, load: [300, 400] });
    expect(reads).toBe(readsAfterFirst + 1);
  });

  it('a forecast re-issued for the same hour (the row replaced) is a new issue too', () => {
    const newest = new NewestForecast(store, 'feeder1-load');
    store.commit({ forecasts: [forecast('feeder1-load', T0, [100])] });
    expect(newest.get()?.load).toEqual([100]);
    store.commit({ forecasts: [forecast('feeder1-load', T0, [150])] });
    expect(newest.get()?.load).toEqual([150]);
  });

  it('is not invalidated by another target, a shadow forecast is skipped, and what it hands out is frozen', () => {
    const newest = new NewestForecast(store, 'feeder1-load');
    store.commit({ forecasts: [forecast('feeder1-load', T0, [100])] });
    const held = newest.get()!;
    const readsBefore = reads;
    store.commit({ forecasts: [forecast('feeder2-load', T0 + HOUR, [999])] });
    store.commit({ readings: [] });
    expect(newest.get()).toBe(held);
    expect(reads).toBe(readsBefore);

    store.commit({ forecasts: [forecast('feeder1-load', T0 + HOUR, [555], 'shadow')] });
    expect(newest.get()).toMatchObject({ startMs: T0, load: [100] });
    expect(Object.isFrozen(held)).toBe(true);
    expect(Object.isFrozen(held.load)).toBe(true);
  });

  it('a commit that fails does not count as an issue', () => {
    const newest = new NewestForecast(store, 'feeder1-load');
    store.commit({ forecasts: [forecast('feeder1-load', T0, [100])] });
    const held = newest.get();
    const readsBefore = reads;
    // the forecast's row is written, then the same transaction fails and rolls it back
    expect(() => store.commit({ forecasts: [forecast('feeder1-load', T0 + HOUR, [1])], outbox: [{ kind: 'x', lane: 0, encode: () => { throw new Error('encode failed'); } }] })).toThrow('encode failed');
    expect(newest.get()).toBe(held);
    expect(reads).toBe(readsBefore);
  });
});
