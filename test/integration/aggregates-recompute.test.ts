/**
 * Windows: every aggregate equals a straightforward recomputation over the raw readings it
 * covers, including with late, out-of-order and duplicated input. What it proves:
 *  1. (property, fast-check, seeded) for the pure `Ingest`: whatever order, lateness and
 *     duplication the input has, the aggregates it emits (while running, then on drain) are
 *     exactly the windows of the readings it returned unflagged and Good, by tag and window
 *     length: same windows, same count, min, max, last, and mean within 1e-9 (relative to the
 *     largest magnitude in the window: the sum is taken in another order);
 *  2. (end to end: a Sparkplug node played by this test with mqtt.js, a real mosquitto, the agent
 *     and its SQLite store) `agent.store.aggregates(tag)` equals the recomputation over
 *     `agent.store.readings(tag)` filtered to Good and unflagged, for the default 1 min / 15 min
 *     windows and for small windows (1 s, 5 s, 10 s, lateness 2 s); readings out of order within
 *     the lateness window are aggregated, those beyond it are stored flagged Late and left out;
 *     a duplicate delivery is stored once;
 *  3. (end to end) a reading outside its tag's physical range, a NaN, and a non-Good reading
 *     (Stale, after the node's NDEATH) are stored with their flag or quality and not aggregated.
 * Nothing is mocked. The node stamps its metrics in the future (hours ahead of the wall clock),
 * so that windows close by the node's own watermark only, never by the agent's wall clock: what
 * is compared is then a function of the input, not of the machine's speed.
 */
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { Ingest, startAgent, type Agent } from '../../edge/index.js';
import { Quality, ReadingFlag, type Aggregate, type Reading } from '../../protocols/index.js';
import { BDSEQ_METRIC, DataType, encodePayload, sparkplugTopic, type Metric } from '../../protocols/sparkplug/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

// ---------------------------------------------------------------- the reference

const key = (a: { tagId: string; windowMs: number; windowStartMs: number }): string => `${a.tagId}|${a.windowMs}|${a.windowStartMs}`;

/** Aggregates recomputed the obvious way: every Good, unflagged reading into each window length containing it. */
function recompute(readings: readonly Reading[], windowsMs: readonly number[]): Map<string, Aggregate & { scale: number }> {
  const out = new Map<string, Aggregate & { scale: number; lastTs: number; sum: number }>();
  for (const r of readings) {
    if (r.quality !== Quality.Good || (r.flags ?? 0) !== 0) continue;
    for (const L of windowsMs) {
      const windowStartMs = Math.floor(r.tsMs / L) * L;
      const k = key({ tagId: r.tagId, windowMs: L, windowStartMs });
      const a = out.get(k) ?? { tagId: r.tagId, windowMs: L, windowStartMs, mean: 0, min: Infinity, max: -Infinity, last: Number.NaN, count: 0, scale: 1, lastTs: -Infinity, sum: 0 };
      a.count++;
      a.sum += r.value;
      a.min = Math.min(a.min, r.value);
      a.max = Math.max(a.max, r.value);
      a.scale = Math.max(a.scale, Math.abs(r.value));
      if (r.tsMs > a.lastTs) {
        a.lastTs = r.tsMs;
        a.last = r.value;
      }
      a.mean = a.sum / a.count;
      out.set(k, a);
    }
  }
  return out;
}

/** `actual` (windows emitted) and `expected` (recomputed) hold the same windows with the same values. */
function expectSameAggregates(actual: readonly Aggregate[], expected: Map<string, Aggregate & { scale: number }>): void {
  const seen = new Set<string>();
  for (const a of actual) {
    const k = key(a);
    expect(seen.has(k), `window ${k} emitted twice`).toBe(false);
    seen.add(k);
    const e = expected.get(k);
    expect(e, `window ${k} emitted, but no Good unflagged reading falls in it`).toBeDefined();
    expect({ k, count: a.count, min: a.min, max: a.max, last: a.last }).toEqual({ k, count: e!.count, min: e!.min, max: e!.max, last: e!.last });
    expect(Math.abs(a.mean - e!.mean), `mean of ${k}: ${a.mean} vs ${e!.mean}`).toBeLessThanOrEqual(1e-9 * e!.scale);
  }
  expect([...expected.keys()].filter((k) => !seen.has(k)), 'windows with readings that were never emitted').toEqual([]);
}

// ---------------------------------------------------------------- 1. the property over Ingest

describe('Ingest: aggregates equal a recomputation over what it returned', () => {
  const TAGS = ['t1', 't2'];
  const reading = fc.record({
    tag: fc.constantFrom(...TAGS),
    /** Time of the reading on the source's clock, ms from the start. */
    tsMs: fc.integer({ min: 0, max: 60_000 }),
    value: fc.oneof({ weight: 8, arbitrary: fc.double({ min: -2_000, max: 2_000, noNaN: true }) }, fc.constantFrom(Number.NaN, Infinity, 5_000, -5_000)),
    quality: fc.oneof({ weight: 8, arbitrary: fc.constant(Quality.Good) }, fc.constantFrom(Quality.Uncertain, Quality.Bad, Quality.Stale)),
  });
  /**
   * Input in roughly time order (the sorted timestamps), each reading moved by up to `jitterMs`
   * (out of order within, and sometimes beyond, the lateness window), some sent twice, cut into
   * batches, with the wall clock's flush now and then.
   */
  const scenario = fc.record({
    readings: fc.array(reading, { minLength: 1, maxLength: 400 }),
    jitter: fc.array(fc.integer({ min: -8_000, max: 8_000 }), { minLength: 400, maxLength: 400 }),
    duplicates: fc.array(fc.nat(399), { maxLength: 40 }),
    cuts: fc.array(fc.nat(400), { maxLength: 30 }),
    flushes: fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 30_000 })), { maxLength: 5 }),
    windowsMs: fc.constantFrom([1_000, 5_000, 10_000], [1_000, 3_000], [60_000, 900_000, 3_600_000], [250, 1_000, 2_000, 4_000]),
    latenessMs: fc.constantFrom(0, 500, 2_000, 5_000),
    quality: fc.constantFrom({ stuckSamples: 0, spikeSigma: 0, spikeWarmup: 30 }, { stuckSamples: 3, spikeSigma: 3, spikeWarmup: 5 }),
  });

  it('for any order, lateness and duplication (seeded property, 300 runs)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const base = Date.UTC(2025, 0, 1);
        const sorted = [...s.readings].sort((a, b) => a.tsMs - b.tsMs);
        // Arrival order: by timestamp plus jitter; the reading keeps its own timestamp.
        const arrivals = sorted.map((r, i) => ({ r, at: r.tsMs + s.jitter[i]! })).sort((a, b) => a.at - b.at).map((x) => x.r);
        for (const d of s.duplicates) if (d < arrivals.length) arrivals.splice(Math.min(arrivals.length, d + 3), 0, arrivals[d]!);
        const ingest = new Ingest(TAGS.map((id) => ({ id, min: -2_500, max: 2_500, quality: s.quality })), { latenessMs: s.latenessMs, windowsMs: s.windowsMs, idleCloseMs: 2_000 });
        const returned: Reading[] = [];
        const aggregates: Aggregate[] = [];
        const cuts = new Set(s.cuts);
        let batch: Reading[] = [];
        const run = (): void => {
          const out = ingest.process(batch);
          expect(out.rejected).toEqual([]);
          returned.push(...out.readings);
          aggregates.push(...out.aggregates);
          batch = [];
        };
        arrivals.forEach((r, i) => {
          batch.push({ tagId: r.tag, tsMs: base + r.tsMs, value: r.value, quality: r.quality });
          if (cuts.has(i)) run();
          for (const [at, nowMs] of s.flushes) if (at === i) {
            run();
            aggregates.push(...ingest.flush(base + nowMs));
          }
        });
        run();
        aggregates.push(...ingest.drain());

        // Duplicates (same tag and timestamp) are returned once, unless flagged late (the store checks those).
        const onTime = returned.filter((r) => !((r.flags ?? 0) & ReadingFlag.Late)).map((r) => `${r.tagId}|${r.tsMs}`);
        expect(new Set(onTime).size).toBe(onTime.length);
        // Every reading with a non-finite or out-of-range value is flagged, whatever its quality.
        for (const r of returned) {
          if (!Number.isFinite(r.value)) expect((r.flags ?? 0) & ReadingFlag.NotFinite).toBeTruthy();
          else if (Math.abs(r.value) > 2_500) expect((r.flags ?? 0) & ReadingFlag.OutOfRange).toBeTruthy();
        }
        expectSameAggregates(aggregates, recompute(returned, s.windowsMs));
      }),
      { seed: 424_242, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------- 2 and 3. end to end

const GROUP = 'agg';
const dir = mkdtempSync(join(tmpdir(), 'gridos-agg-'));
const { logger } = captureLogger('error');
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker?.stop());

/** Tag a: range -100..100 (some values sent out of it), tag b: any value (some NaN), tag c: plain. */
const TAGS = [
  { id: 'e2e.a', metric: 'M/a', min: -100, max: 100 },
  { id: 'e2e.b', metric: 'M/b' },
  { id: 'e2e.c', metric: 'M/c' },
];

interface Node {
  client: MqttClient;
  publish(type: 'NBIRTH' | 'DBIRTH' | 'DDATA' | 'NDEATH', metrics: Metric[], tsMs: number): Promise<void>;
}

async function playNode(node: string, group: string): Promise<Node> {
  const client = mqtt.connect(broker.url, { clientId: `agg-${node}-${process.pid}` });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  let seq = 0;
  return {
    client,
    async publish(type, metrics, tsMs) {
      if (type === 'NBIRTH') seq = 0;
      const topic = sparkplugTopic({ group, type, node, ...(type.startsWith('D') ? { device: 'dev' } : {}) });
      const payload = encodePayload({ timestampMs: tsMs, ...(type === 'NDEATH' ? {} : { seq }), metrics });
      if (type !== 'NDEATH') seq = (seq + 1) % 256;
      await client.publishAsync(topic, Buffer.from(payload), { qos: 1 });
    },
  };
}

interface Plan {
  /** Node timestamps, in the order they are sent; each carries a value of every tag. */
  sent: { tsMs: number; values: number[] }[];
  /** Sent again later (a duplicate delivery). */
  duplicates: number[];
  /** Held back and sent after the node's clock has moved on by more than the lateness window. */
  late: number[];
}

/**
 * `n` samples `stepMs` apart from t0, shuffled within blocks spanning less than the lateness
 * window; every 37th held back (sent late), every 53rd sent twice; tag a out of range every
 * 29th, tag b NaN every 31st. Deterministic (fast-check's seeded random for values and order).
 */
function plan(t0: number, n: number, stepMs: number, latenessMs: number, seed: number): Plan {
  const [values, keys] = fc.sample(fc.tuple(fc.array(fc.double({ min: -90, max: 90, noNaN: true }), { minLength: 3 * n, maxLength: 3 * n }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n })), { seed, numRuns: 1 })[0]!;
  const samples = Array.from({ length: n }, (_, i) => ({
    tsMs: t0 + i * stepMs,
    values: [i % 29 === 5 ? 1_000 + i : values[3 * i]!, i % 31 === 7 ? Number.NaN : values[3 * i + 1]!, values[3 * i + 2]!],
  }));
  const block = Math.max(1, Math.floor((latenessMs - 1) / stepMs)); // a block spans < lateness
  const late = samples.filter((_, i) => i % 37 === 20 && i < n - 40).map((s) => s.tsMs);
  const onTime = samples.filter((s) => !late.includes(s.tsMs));
  const sent: Plan['sent'] = [];
  for (let i = 0; i < onTime.length; i += block) {
    const b = onTime.slice(i, i + block).map((s, j) => ({ s, k: keys[i + j]! }));
    sent.push(...b.sort((x, y) => x.k - y.k).map((x) => x.s));
  }
  const duplicates = onTime.filter((_, i) => i % 53 === 11).map((s) => s.tsMs);
  return { sent: [...sent, ...samples.filter((s) => late.includes(s.tsMs))], duplicates, late };
}

const metricsOf = (tsMs: number, values: number[]): Metric[] => values.map((value, i) => ({ alias: i + 1, timestampMs: tsMs, datatype: DataType.Double, value }));

async function endToEnd(o: { edgeId: string; windows?: string[]; lateness?: string; windowsMs: number[]; latenessMs: number; stepMs: number; n: number; seed: number }): Promise<void> {
  const group = `${GROUP}-${o.edgeId}`;
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: o.edgeId, site: 'site-agg' },
      hub: { mqttUrl: 'mqtt://127.0.0.1:1' },
      storage: { dataDir: join(dir, o.edgeId) },
      sources: [{ kind: 'sparkplug', name: 'node', url: broker.url, group, tags: TAGS.map(({ metric, ...t }) => ({ ...t, node: 'n1', device: 'dev', metric })) }],
      ...(o.windows ? { pipeline: { windows: o.windows, lateness: o.lateness } } : {}),
    },
    'test',
  );
  expect(config.pipeline.windowsMs).toEqual(o.windowsMs);
  expect(config.pipeline.latenessMs).toBe(o.latenessMs);
  const agent: Agent = await startAgent(config, { logger });
  const node = await playNode('n1', group);
  try {
    await agent.sourcesReady;
    // Hours ahead of the wall clock, on a boundary of the longest window.
    const longest = o.windowsMs.at(-1)!;
    const t0 = Math.ceil((Date.now() + 3 * 3_600_000) / longest) * longest;
    const p = plan(t0, o.n, o.stepMs, o.latenessMs, o.seed);
    await node.publish('NBIRTH', [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 1 }], t0);
    // The birth's values: a timestamp before every sample, in a window of its own.
    await node.publish('DBIRTH', TAGS.map((t, i) => ({ name: t.metric, alias: i + 1, timestampMs: t0 - 10 * longest, datatype: DataType.Double, value: 0 })), t0);
    const dup = new Set(p.duplicates);
    const tsOfLastSample = t0 + (o.n - 1) * o.stepMs;
    for (const s of p.sent) {
      await node.publish('DDATA', metricsOf(s.tsMs, s.values), s.tsMs);
      if (dup.has(s.tsMs)) await node.publish('DDATA', metricsOf(s.tsMs, s.values), s.tsMs);
    }
    // Moves the node's watermark past every window of the run (closes them all), in a window of its own.
    const closerTs = tsOfLastSample + 2 * longest + o.latenessMs;
    await node.publish('DDATA', metricsOf(closerTs, [1, 1, 1]), closerTs);
    // The node dies: a Stale reading per tag (quality not Good), stamped after its last one.
    await node.publish('NDEATH', [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 1 }], closerTs);

    const uniqueSamples = o.n + 2; // birth + samples + closer
    await waitFor('every reading and the stale markers stored', () => TAGS.every((t) => agent.store.readings(t.id).length === uniqueSamples + 1), 20_000, 100);
    const windowsClosed = (): number => TAGS.reduce((n, t) => n + agent.store.aggregates(t.id).length, 0);
    let last = -1;
    await waitFor('the aggregates to settle', () => { const n = windowsClosed(); const done = n === last && n > 0; last = n; return done; }, 20_000, 500);

    const lateSet = new Set(p.late);
    for (const [i, t] of TAGS.entries()) {
      const stored = agent.store.readings(t.id);
      // Each sample once (duplicates dropped), in time order.
      expect(new Set(stored.map((r) => r.tsMs)).size).toBe(stored.length);
      // Flagged late: exactly the held-back samples; out-of-order ones within the lateness window are not.
      expect(stored.filter((r) => (r.flags ?? 0) & ReadingFlag.Late).map((r) => r.tsMs).sort((a, b) => a - b)).toEqual([...p.late].sort((a, b) => a - b));
      // Out of range and NaN: stored, flagged.
      const sample = (r: Reading) => p.sent.find((s) => s.tsMs === r.tsMs);
      for (const r of stored) {
        const s = sample(r);
        if (!s) continue;
        const v = s.values[i]! + 0; // -0 is stored as 0
        if (Number.isNaN(v)) expect([Number.isNaN(r.value), (r.flags ?? 0) & ReadingFlag.NotFinite]).toEqual([true, ReadingFlag.NotFinite]);
        else if (t.min !== undefined && (v < t.min || v > t.max!)) expect([r.value, (r.flags ?? 0) & ReadingFlag.OutOfRange]).toEqual([v, ReadingFlag.OutOfRange]);
        else if (!lateSet.has(r.tsMs)) expect([r.value, r.flags ?? 0, r.quality]).toEqual([v, 0, Quality.Good]);
      }
      if (i === 0) expect(stored.filter((r) => (r.flags ?? 0) & ReadingFlag.OutOfRange).length).toBeGreaterThan(0);
      if (i === 1) expect(stored.filter((r) => (r.flags ?? 0) & ReadingFlag.NotFinite).length).toBeGreaterThan(0);
      // The death's marker: Stale, after the closer, with the last value.
      expect(stored.at(-1)).toMatchObject({ quality: Quality.Stale, value: 1 });

      // The aggregates: every closed window equals the recomputation from the stored raw readings.
      const closedBefore = closerTs - o.latenessMs;
      const expected = recompute(stored, o.windowsMs);
      for (const [k, a] of expected) if (a.windowStartMs + a.windowMs > closedBefore) expected.delete(k);
      const aggregates = agent.store.aggregates(t.id);
      expectSameAggregates(aggregates, expected);
      for (const L of o.windowsMs) expect(aggregates.filter((a) => a.windowMs === L).length, `windows of ${L} ms`).toBeGreaterThan(0);
      // Nothing flagged or non-Good counted: tag a's out-of-range values never reach a max.
      if (t.max !== undefined) expect(Math.max(...aggregates.map((a) => a.max))).toBeLessThanOrEqual(t.max);
      expect(aggregates.every((a) => Number.isFinite(a.mean))).toBe(true);
    }
  } finally {
    await node.client.endAsync();
    await agent.stop();
  }
}

describe('end to end: store aggregates equal a recomputation over the stored raw readings', () => {
  it('default windows (1 min, 15 min, 1 h), lateness 5 s: 40 min of node time, out of order, late and duplicated', { timeout: 60_000 }, async () => {
    await endToEnd({ edgeId: 'edge-agg-1m', windowsMs: [60_000, 900_000, 3_600_000], latenessMs: 5_000, stepMs: 2_000, n: 1_200, seed: 7 });
  });

  it("small windows ['1s','5s','10s'], lateness '2s': 2 min of node time, out of order, late and duplicated", { timeout: 60_000 }, async () => {
    await endToEnd({ edgeId: 'edge-agg-1s', windows: ['1s', '5s', '10s'], lateness: '2s', windowsMs: [1_000, 5_000, 10_000], latenessMs: 2_000, stepMs: 100, n: 1_200, seed: 11 });
  });
});
