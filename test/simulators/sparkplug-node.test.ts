/**
 * The Sparkplug edge node simulator against a real mosquitto, seen by a subscriber written with
 * mqtt.js and the shared codec: births, data, seq, rebirth on NCMD, deaths.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BDSEQ_METRIC, DataType, REBIRTH_METRIC, encodePayload, sparkplugTopic } from '../../protocols/sparkplug/index.js';
import { startSparkplugNode, sparkplugNodeDefaults, type SparkplugNode, type SparkplugNodeOptions } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';
import { subscribeSparkplug, type SparkplugSubscriber } from './sparkplug-subscriber.js';

const TEST_TIMEOUT_MS = 30_000;
let broker: Mosquitto;
beforeAll(async () => {
  broker = await startMosquitto();
});
afterAll(() => broker?.stop());

let groupNo = 0;
/** A node and a subscriber on a group of their own, so tests never see each other's messages. */
async function setup(o: Partial<SparkplugNodeOptions> = {}): Promise<{ node: SparkplugNode; sub: SparkplugSubscriber; group: string; done: () => Promise<void> }> {
  const group = `g${process.pid}-${++groupNo}`;
  const sub = await subscribeSparkplug(broker.url, group);
  const node = await startSparkplugNode({ ...sparkplugNodeDefaults, url: broker.url, group, clientId: `sim-${group}`, logger: captureLogger('warn').logger, ...o });
  return { node, sub, group, done: async () => { await node.stop(); await sub.close(); } };
}

describe('sparkplug edge node simulator', () => {
  it('publishes NBIRTH, one DBIRTH per device with names, aliases and data types, then DDATA by alias with seq wrapping past 255', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { node, sub, done } = await setup({ devices: 3, metricsPerDevice: 20, batchSize: 10, ratePerSec: 20_000 });
    try {
      await waitFor('300 DDATA messages', () => sub.of('DDATA').length >= 300, 20_000, 20);
      const [nbirth, ...rest] = sub.messages;
      expect(nbirth!.parsed.type).toBe('NBIRTH');
      expect(nbirth!.payload!.seq).toBe(0);
      const nodeMetrics = new Map(nbirth!.payload!.metrics.map((m) => [m.name, m]));
      expect(nodeMetrics.get(BDSEQ_METRIC)).toMatchObject({ datatype: DataType.Int64, value: 0n });
      expect(nodeMetrics.get(REBIRTH_METRIC)).toMatchObject({ datatype: DataType.Boolean, value: false });

      const dbirths = rest.slice(0, 3);
      expect(dbirths.map((m) => [m.parsed.type, m.parsed.device, m.payload!.seq])).toEqual([['DBIRTH', 'Bay01', 1], ['DBIRTH', 'Bay02', 2], ['DBIRTH', 'Bay03', 3]]);
      const born = dbirths.flatMap((m) => m.payload!.metrics);
      expect(born).toHaveLength(60);
      for (const m of born) {
        expect(m.name).toMatch(/^Feeder\d\d\/\w+$/);
        expect(m.timestampMs).toBeTypeOf('number');
        expect(m.value).toBeDefined();
      }
      expect(new Set(born.map((m) => m.alias)).size).toBe(60);
      expect(node.metrics.map((m) => m.alias)).toEqual(born.map((m) => m.alias));
      const types = born.map((m) => m.datatype);
      expect(types.filter((t) => t === DataType.Double).length).toBe(48);
      expect(types.filter((t) => t === DataType.Int32).length).toBe(6);
      expect(types.filter((t) => t === DataType.Boolean).length).toBe(6);
      const typeOf = new Map(born.map((m) => [m.alias!, m.datatype]));

      const data = sub.of('DDATA');
      const lastTs = new Map<number, number>();
      for (const msg of data) {
        expect(msg.payload!.metrics).toHaveLength(10);
        for (const m of msg.payload!.metrics) {
          expect(m.name).toBeUndefined();
          expect(m.datatype).toBeUndefined();
          expect(typeOf.has(m.alias!)).toBe(true);
          expect(typeof m.value).toBe(typeOf.get(m.alias!) === DataType.Boolean ? 'boolean' : 'number');
          // Strictly increasing per metric: consumers deduplicate on metric and timestamp.
          expect(m.timestampMs!).toBeGreaterThan(lastTs.get(m.alias!) ?? 0);
          lastTs.set(m.alias!, m.timestampMs!);
        }
      }
      const seqs = sub.messages.slice(1).map((m) => m.payload!.seq!);
      seqs.forEach((s, i) => expect(s).toBe((i + 1) % 256));
      expect(seqs.length).toBeGreaterThan(256);

      const c = node.counters();
      expect(c.births).toBe(4);
      expect(c.dataMessages).toBeGreaterThanOrEqual(data.length);
    } finally {
      await done();
    }
  });

  it('publishes NBIRTH and every DBIRTH again on an NCMD rebirth, seq from 0, same bdSeq', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { node, sub, group, done } = await setup({ devices: 2, metricsPerDevice: 10, batchSize: 10, ratePerSec: 2000 });
    try {
      await waitFor('some DDATA', () => sub.of('DDATA').length >= 5, 10_000, 20);
      const ncmd = encodePayload({ timestampMs: Date.now(), metrics: [{ name: REBIRTH_METRIC, datatype: DataType.Boolean, value: true }] });
      await sub.client.publishAsync(sparkplugTopic({ group, node: sparkplugNodeDefaults.node, type: 'NCMD' }), Buffer.from(ncmd), { qos: 1 });
      await waitFor('a second NBIRTH', () => sub.of('NBIRTH').length === 2, 10_000, 20);
      await waitFor('data after the rebirth', () => sub.messages.at(-1)!.parsed.type === 'DDATA' && sub.of('DBIRTH').length === 4, 10_000, 20);
      const i = sub.messages.findIndex((m, k) => k > 0 && m.parsed.type === 'NBIRTH');
      const after = sub.messages.slice(i);
      expect(after[0]!.payload!.seq).toBe(0);
      expect(after[0]!.payload!.metrics.find((m) => m.name === BDSEQ_METRIC)!.value).toBe(0n);
      expect(after.slice(1, 3).map((m) => [m.parsed.type, m.payload!.seq])).toEqual([['DBIRTH', 1], ['DBIRTH', 2]]);
      expect(after[3]!.payload!.seq).toBe(3);
      expect(node.counters().births).toBe(6);
    } finally {
      await done();
    }
  });

  it('leaves the will NDEATH with the session bdSeq to the broker when the connection drops, then starts a new session', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { node, sub, done } = await setup({ devices: 1, metricsPerDevice: 10, batchSize: 10, ratePerSec: 1000, reconnectMs: 200 });
    try {
      await waitFor('some DDATA', () => sub.of('DDATA').length >= 3, 10_000, 20);
      node.dropConnection();
      await waitFor('the will', () => sub.of('NDEATH').length === 1, 10_000, 20);
      expect(sub.of('NDEATH')[0]!.payload!.metrics).toEqual([expect.objectContaining({ name: BDSEQ_METRIC, value: 0n })]);
      expect(sub.of('NDEATH')[0]!.payload!.seq).toBeUndefined();
      await waitFor('the new session', () => sub.of('NBIRTH').length === 2, 10_000, 20);
      expect(sub.of('NBIRTH')[1]!.payload!.metrics.find((m) => m.name === BDSEQ_METRIC)!.value).toBe(1n);
      expect(node.counters()).toMatchObject({ sessions: 2, bdSeq: 1 });

      await node.stop();
      await waitFor('the explicit NDEATH', () => sub.of('NDEATH').length === 2, 10_000, 20);
      expect(sub.of('NDEATH')[1]!.payload!.metrics.find((m) => m.name === BDSEQ_METRIC)!.value).toBe(1n);
      expect(sub.messages.at(-1)!.parsed.type).toBe('NDEATH');
    } finally {
      await done();
    }
  });

  it('publishes DDEATH for a killed device and no more of its data; DBIRTH when it comes back; restart() begins a session with bdSeq + 1', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { node, sub, done } = await setup({ devices: 2, metricsPerDevice: 10, batchSize: 10, ratePerSec: 2000 });
    try {
      await waitFor('some DDATA', () => sub.of('DDATA').length >= 4, 10_000, 20);
      node.killDevice('Bay02');
      await waitFor('DDEATH', () => sub.of('DDEATH').length === 1, 10_000, 20);
      const death = sub.messages.findIndex((m) => m.parsed.type === 'DDEATH');
      expect(sub.messages[death]!.parsed.device).toBe('Bay02');
      expect(sub.messages[death]!.payload!.seq).toBe((sub.messages[death - 1]!.payload!.seq! + 1) % 256);
      await waitFor('more DDATA', () => sub.messages.length > death + 5, 10_000, 20);
      expect(sub.messages.slice(death + 1).every((m) => m.parsed.device === 'Bay01')).toBe(true);

      node.reviveDevice('Bay02');
      await waitFor('Bay02 data again', () => sub.of('DDATA').at(-1)!.parsed.device === 'Bay02', 10_000, 20);
      expect(sub.of('DBIRTH').map((m) => m.parsed.device)).toEqual(['Bay01', 'Bay02', 'Bay02']);

      await node.restart();
      await waitFor('the second NBIRTH', () => sub.of('NBIRTH').length === 2, 10_000, 20);
      expect(sub.of('NDEATH').map((m) => m.payload!.metrics[0]!.value)).toEqual([0n]);
      expect(sub.of('NBIRTH')[1]!.payload!.metrics.find((m) => m.name === BDSEQ_METRIC)!.value).toBe(1n);
    } finally {
      await done();
    }
  });

  it('refuses options it cannot run before connecting', async () => {
    const err: unknown = await startSparkplugNode({ ...sparkplugNodeDefaults, batchSize: 200, devices: 0, group: 'a/b', logger: captureLogger().logger }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIM_OPTIONS_INVALID' });
    expect((err as { problems: string[] }).problems).toEqual([expect.stringMatching(/^group/), expect.stringMatching(/^devices/), expect.stringMatching(/^batchSize/)]);
  });
});
