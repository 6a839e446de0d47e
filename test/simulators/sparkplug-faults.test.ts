/** Each injected fault of the Sparkplug simulator, as a subscriber on a real mosquitto sees it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSparkplugNode, sparkplugNodeDefaults, type SparkplugNode } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { subscribeSparkplug, type Received, type SparkplugSubscriber } from './sparkplug-subscriber.js';

const TEST_TIMEOUT_MS = 30_000;
let broker: Mosquitto;
let node: SparkplugNode;
let sub: SparkplugSubscriber;
const group = `faults${process.pid}`;

beforeAll(async () => {
  broker = await startMosquitto();
  sub = await subscribeSparkplug(broker.url, group);
  // One device whose every message carries all its metrics: each metric appears once per DDATA.
  node = await startSparkplugNode({ ...sparkplugNodeDefaults, url: broker.url, group, devices: 2, metricsPerDevice: 20, batchSize: 20, ratePerSec: 4000, logger: captureLogger('warn').logger });
});
afterAll(async () => {
  await node?.stop();
  await sub?.close();
  await broker?.stop();
});

const aliasOf = (key: string): number => node.metrics.find((m) => m.key === key)!.alias;
/** The values of one alias in DDATA, from message index `from` on. */
const valuesOf = (alias: number, from: number): number[] =>
  sub.messages.slice(from).flatMap((m) => (m.parsed.type === 'DDATA' && m.payload ? m.payload.metrics.filter((x) => x.alias === alias).map((x) => x.value as number) : []));
/**
 * The subscriber sees every message of the node, in order, from its first: so the node's message
 * counter is the index, in sub.messages, of the next message it publishes.
 */
const mark = (): number => node.counters().messages;
/** Waits until the subscriber has `n` messages more than the node had published when called. */
const moreData = (n: number) => {
  const target = mark() + n;
  return waitFor(`message ${target}`, () => sub.messages.length >= target, 10_000, 10);
};
const seqsFrom = (from: number): number[] => sub.messages.slice(from).filter((m) => m.payload?.seq !== undefined).map((m) => m.payload!.seq!);

describe('sparkplug simulator faults', () => {
  it('stuck: a metric repeats its last value while the others move on', { timeout: TEST_TIMEOUT_MS }, async () => {
    await moreData(4);
    const key = 'Bay01/Feeder01/Voltage_kV';
    node.stuck(key);
    const from = mark();
    await moreData(10);
    const stuck = valuesOf(aliasOf(key), from);
    expect(stuck.length).toBeGreaterThanOrEqual(5);
    expect(new Set(stuck).size).toBe(1);
    expect(new Set(valuesOf(aliasOf('Bay01/Feeder02/Voltage_kV'), from)).size).toBeGreaterThan(1);
    node.clearFaults();
    const after = mark();
    await moreData(6);
    expect(new Set(valuesOf(aliasOf(key), after)).size).toBeGreaterThan(1);
  });

  it('spike: the next values of a metric are multiplied by the factor', { timeout: TEST_TIMEOUT_MS }, async () => {
    const key = 'Bay02/Feeder01/Current_A';
    await moreData(4);
    const from = mark() - 4;
    node.spike(key, 10, 2);
    await moreData(6);
    const values = valuesOf(aliasOf(key), from);
    // Current is 200 +/- 80 A: a spike of x10 is over 1,000, a normal value under 300.
    const spikes = values.map((v, i) => [i, v] as const).filter(([, v]) => v > 1000);
    expect(spikes).toHaveLength(2);
    expect(spikes[1]![0]).toBe(spikes[0]![0] + 1);
    expect(values[spikes[0]![0] - 1]! * 10).toBeCloseTo(spikes[0]![1], -2);
    expect(() => node.spike('Bay01/Feeder01/BreakerClosed', 10)).toThrow(/Boolean/);
    expect(() => node.spike('Bay09/nothing', 10)).toThrow(/no metric/);
  });

  it('skipSeq: the next message carries seq + 1 + n', { timeout: TEST_TIMEOUT_MS }, async () => {
    await moreData(2);
    node.skipSeq(3);
    const from = mark();
    await moreData(4);
    const seqs = seqsFrom(from - 1);
    const gaps = seqs.slice(1).map((s, i) => (s - seqs[i]! + 256) % 256);
    expect(gaps.filter((g) => g !== 1)).toEqual([4]);
  });

  it('malformed: a DDATA payload that is not protobuf, taking no seq', { timeout: TEST_TIMEOUT_MS }, async () => {
    await moreData(2);
    const from = mark();
    node.malformed('Bay02');
    await moreData(3);
    const bad = sub.messages.slice(from).filter((m) => m.error !== undefined);
    expect(bad.map((m) => [m.parsed.type, m.parsed.device])).toEqual([['DDATA', 'Bay02']]);
    expect(bad[0]!.error).toMatch(/not a Sparkplug B payload/);
    const seqs = seqsFrom(from - 1);
    expect(seqs.slice(1).every((s, i) => s === (seqs[i]! + 1) % 256)).toBe(true);
  });

  it('truncated: a valid DDATA payload cut short, taking no seq', { timeout: TEST_TIMEOUT_MS }, async () => {
    await moreData(2);
    const from = mark();
    const countersBefore = node.counters();
    node.truncated('Bay01');
    await moreData(3);
    const bad: Received[] = sub.messages.slice(from).filter((m) => m.error !== undefined);
    expect(bad.map((m) => [m.parsed.type, m.parsed.device])).toEqual([['DDATA', 'Bay01']]);
    // About half a 20-metric message: not a few stray bytes.
    expect(bad[0]!.bytes).toBeGreaterThan(100);
    const seqs = seqsFrom(from - 1);
    expect(seqs.slice(1).every((s, i) => s === (seqs[i]! + 1) % 256)).toBe(true);
    expect(node.counters().faultyPayloads).toBe(countersBefore.faultyPayloads + 1);
  });
});
