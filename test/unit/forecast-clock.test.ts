/** The substation's local clock for forecasting, and the hourly history the runtime is handed. */
import { describe, expect, it } from 'vitest';
import { realTimeClock, simulatedClock } from '../../edge/forecast/clock.js';
import { LoadHistory } from '../../edge/forecast/history.js';

const H = 3_600_000;
const naive = (s: string): number => Date.parse(`${s}:00Z`);

describe('ForecastClock', () => {
  it('real time in a zone: wall to naive-local and back, across a daylight-saving change', () => {
    const ny = realTimeClock('America/New_York');
    // 2018-07-16 16:00 UTC is 12:00 in New York (EDT, UTC-4)
    expect(ny.toNaive(Date.parse('2018-07-16T16:00:00Z'))).toBe(naive('2018-07-16T12:00'));
    expect(ny.toWall(naive('2018-07-16T12:00'))).toBe(Date.parse('2018-07-16T16:00:00Z'));
    // in January it is UTC-5
    expect(ny.toNaive(Date.parse('2018-01-16T17:00:00Z'))).toBe(naive('2018-01-16T12:00'));
    // spring forward (2018-03-11 02:00 local does not exist): the wall hours after it map 03:00, 04:00
    expect(ny.toNaive(Date.parse('2018-03-11T07:00:00Z'))).toBe(naive('2018-03-11T03:00'));
    expect(ny.toNaive(Date.parse('2018-03-11T06:00:00Z'))).toBe(naive('2018-03-11T01:00'));
    expect(ny.hourMs).toBe(H);
  });

  it('UTC is the identity', () => {
    const utc = realTimeClock('UTC');
    expect(utc.toNaive(1_531_742_400_000)).toBe(1_531_742_400_000);
    expect(utc.toWall(1_531_742_400_000)).toBe(1_531_742_400_000);
  });

  it('simulated time: one simulated hour per hourMs of wall time, from the simulated start', () => {
    const start = naive('2018-07-16T00:00');
    const c = simulatedClock(2_000, start, 1_000_000);
    expect(c.toNaive(1_000_000)).toBe(start);
    expect(c.toNaive(1_000_000 + 2_000)).toBe(start + H);
    expect(c.toNaive(1_000_000 + 48_000)).toBe(start + 24 * H);
    expect(c.toWall(start + 5 * H)).toBe(1_010_000);
  });
});

describe('LoadHistory', () => {
  it('gives the hours before an issue time, NaN where nothing is known, never the issue hour or later', () => {
    const h = new LoadHistory(1000);
    const t0 = naive('2018-07-16T00:00');
    for (let i = -48; i < 5; i++) if (i !== -3) h.set(t0 + i * H, 100 + i);
    const s = h.before(t0, 48);
    expect(s.startMs).toBe(t0 - 48 * H);
    expect(s.load).toHaveLength(48);
    expect(s.load[0]).toBe(100 - 48);
    expect(s.load[47]).toBe(99);
    expect(Number.isNaN(s.load[45]!)).toBe(true); // hour -3 never arrived
    expect(h.newestHourMs).toBe(t0 + 4 * H);
  });

  it('a seed fills only what the agent has not measured, and only before the present', () => {
    const h = new LoadHistory(1000);
    const t0 = naive('2018-07-16T00:00');
    h.set(t0 - 2 * H, 555);
    const load = Float64Array.from({ length: 10 }, (_, i) => i);
    h.seed({ startMs: t0 - 5 * H, load }, 10, t0);
    const s = h.before(t0 + 5 * H, 10);
    // hours -5..-1 from the seed x 10, except -2 which the agent measured; nothing from t0 on
    expect(Array.from(s.load.subarray(0, 5))).toEqual([0, 10, 20, 555, 40]);
    expect(Array.from(s.load.subarray(5)).every(Number.isNaN)).toBe(true);
  });

  it('forgets hours older than it keeps', () => {
    const h = new LoadHistory(10);
    const t0 = naive('2018-07-16T00:00');
    for (let i = 0; i < 100; i++) h.set(t0 + i * H, i);
    h.before(t0 + 100 * H, 5);
    expect(h.has(t0)).toBe(false);
    expect(h.has(t0 + 95 * H)).toBe(true);
  });
});
