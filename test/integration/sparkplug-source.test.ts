/**
 * The Sparkplug B source end to end against a real mosquitto: an edge node (played by this test
 * with mqtt.js and the codec) is born, sends data, loses messages, dies; the agent stores
 * readings, asks for a rebirth on a sequence gap or data before birth, and marks the node's tags
 * stale on its death. And the broker's acknowledgement waits for the store: when commits fail,
 * nothing the broker sent is lost, it is delivered again once the store works.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { Quality } from '../../protocols/index.js';
import { BDSEQ_METRIC, DataType, REBIRTH_METRIC, decodePayload, encodePayload, sparkplugTopic, type Metric } from '../../protocols/sparkplug/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/wait.js';

const GROUP = 'sub-north';
const NODE = 'gw1';
const dir = mkdtempSync(join(tmpdir(), 'gridos-spb-'));
const { logger } = captureLogger('warn');
let broker: Mosquitto;
let agent: Agent;
let node: MqttClient;
const rebirths: number[] = [];
let seq = 0;

const tags = ['p1', 'p2', 'p3'].map((m, i) => ({ id: `feeder${i + 1}.active_power_kw`, node: NODE, device: 'meter1', metric: `Feeder${i + 1}/ActivePower`, min: -1000, max: 1000 }));

function publish(type: 'NBIRTH' | 'DBIRTH' | 'DDATA' | 'NDEATH', metrics: Metric[], s?: number): Promise<void> {
  const topic = sparkplugTopic({ group: GROUP, type, node: NODE, ...(type.startsWith('D') ? { device: 'meter1' } : {}) });
  const payload = encodePayload({ timestampMs: Date.now(), ...(type === 'NDEATH' ? {} : { seq: s ?? seq }), metrics });
  if (type !== 'NDEATH' && s === undefined) seq = (seq + 1) % 256;
  return new Promise((resolve, reject) => node.publish(topic, Buffer.from(payload), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
}

async function birth(): Promise<void> {
  seq = 0;
  await publish('NBIRTH', [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 7n }, { name: REBIRTH_METRIC, datatype: DataType.Boolean, value: false }]);
  await publish('DBIRTH', tags.map((t, i) => ({ name: t.metric, alias: i + 1, datatype: DataType.Double, value: 0, timestampMs: 1_000 })));
}

let t0 = Date.now();
const data = (value: number, n = 3): Metric[] => {
  t0 = Math.max(t0 + 10, Date.now()); // a node with a synchronised clock
  return Array.from({ length: n }, (_, i) => ({ alias: i + 1, timestampMs: t0, value, datatype: DataType.Double }));
};
const stored = (tag: string) => agent.store.readings(tag);
const good = (tag: string, fromMs: number) => stored(tag).filter((r) => r.quality === Quality.Good && r.tsMs >= fromMs);

beforeAll(async () => {
  broker = await startMosquitto();
  node = mqtt.connect(broker.url, { clientId: 'test-node' });
  await new Promise((r) => node.once('connect', r));
  node.subscribe(sparkplugTopic({ group: GROUP, type: 'NCMD', node: NODE }), { qos: 1 });
  node.on('message', (_t, payload) => {
    const p = decodePayload(payload);
    if (p.ok && p.value.metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)) rebirths.push(Date.now());
  });
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-spb', site: 'site-spb' },
      hub: { mqttUrl: 'mqtt://127.0.0.1:1' }, // no hub: offline is normal
      storage: { dataDir: join(dir, 'edge') },
      sources: [{ kind: 'sparkplug', name: 'meters', url: broker.url, group: GROUP, tags }],
    },
    'test',
  );
  agent = await startAgent(config, { logger });
  await agent.sourcesReady;
}, 30_000);

afterAll(async () => {
  await agent?.stop();
  await node?.endAsync();
  await broker?.stop();
});

describe('Sparkplug B source', () => {
  it('data before a birth is refused and a rebirth requested', async () => {
    await publish('DDATA', data(1), 5);
    await waitFor('a rebirth request', () => rebirths.length >= 1, 10_000);
    expect(agent.sources[0]!.stats().rejected.data_before_birth).toBe(3);
    expect(stored(tags[0]!.id)).toEqual([]);
  });

  it('birth then data: every metric becomes a reading of its tag, by alias', async () => {
    await birth();
    for (let i = 0; i < 20; i++) await publish('DDATA', data(100 + i));
    await waitFor('20 data readings per tag', () => stored(tags[2]!.id).filter((r) => r.tsMs > 1_000).length === 20, 10_000);
    for (const t of tags) {
      const rs = stored(t.id);
      expect(rs[0]).toMatchObject({ tsMs: 1_000, value: 0, quality: Quality.Good }); // the birth's value
      expect(rs.slice(1).map((r) => r.value)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    }
  });

  it('a sequence gap is counted and answered with a rebirth; the data is still read', async () => {
    const before = rebirths.length;
    await new Promise((r) => setTimeout(r, 5_100)); // rebirth requests are throttled to one per 5 s per node
    seq = (seq + 3) % 256; // three messages "lost"
    await publish('DDATA', data(500));
    await waitFor('a rebirth request after the gap', () => rebirths.length > before, 10_000);
    expect(agent.sources[0]!.stats().rejected.seq_gap).toBe(1);
    await waitFor('the data after the gap', () => stored(tags[0]!.id).at(-1)?.value === 500, 5_000);
  });

  it('seq wraps from 255 to 0 without a gap', async () => {
    await birth();
    for (let i = 0; i < 300; i++) await publish('DDATA', data(i % 50));
    await waitFor('300 more readings', () => stored(tags[1]!.id).filter((r) => r.tsMs > 1_000).length >= 321, 15_000);
    expect(agent.sources[0]!.stats().rejected.seq_gap).toBe(1);
  });

  it('NDEATH with the birth session number marks every tag of the node stale, with its last value', async () => {
    const before = Date.now();
    await publish('NDEATH', [{ name: BDSEQ_METRIC, datatype: DataType.Int64, value: 7n }]);
    await waitFor('stale readings', () => tags.every((t) => stored(t.id).some((r) => r.quality === Quality.Stale && r.tsMs >= before)), 10_000);
    const last = stored(tags[0]!.id).filter((r) => r.quality === Quality.Good).at(-1)!;
    expect(stored(tags[0]!.id).at(-1)).toMatchObject({ quality: Quality.Stale, value: last.value });
  });

  it('a duplicate delivery (same metric and timestamp) is stored once', async () => {
    await birth();
    const metrics = data(42);
    await publish('DDATA', metrics);
    await publish('DDATA', metrics);
    await waitFor('the reading', () => stored(tags[0]!.id).some((r) => r.value === 42), 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(stored(tags[0]!.id).filter((r) => r.tsMs === t0)).toHaveLength(1);
  });
});

describe('acknowledged only once stored', () => {
  it('while the store cannot commit, nothing is acknowledged; once it can, every message is there exactly once', async () => {
    await birth();
    const store = agent.store as unknown as { commit: (...a: unknown[]) => unknown };
    const commit = store.commit.bind(agent.store);
    // Mocked failure: a disk that refuses writes (the disk-full fault test uses a real full tmpfs).
    store.commit = () => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    };
    const from = t0 + 10;
    for (let i = 0; i < 50; i++) await publish('DDATA', data(1_000 + i, 3));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(good(tags[0]!.id, from)).toEqual([]);
    store.commit = commit;
    await waitFor('every message redelivered and stored', () => good(tags[0]!.id, from).length === 50, 20_000, 200);
    for (const t of tags) {
      const vals = good(t.id, from).map((r) => r.value);
      expect(vals).toEqual(Array.from({ length: 50 }, (_, i) => 1_000 + i));
    }
  }, 40_000);
});
