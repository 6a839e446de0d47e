/**
 * The hub's InfluxDB output against a real server speaking the v2 write API (Debian's
 * victoria-metrics): points arrive with the right tags, values and timestamps; a server outage
 * or a hub restart during one loses nothing; a batch the server refuses as malformed is dropped
 * and counted without blocking the queue.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubConfigSchema, validateConfig } from '../../config/index.js';
import { buildHub } from '../../hub/index.js';
import { InfluxOutput } from '../../hub/timeseries/influx.js';
import { Quality, encodeEnvelope, envelope, uplinkTopic, type Reading } from '../../protocols/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria-metrics.js';
import { waitFor } from '../helpers/wait.js';

const OUTAGE_MS = Number(process.env.GRIDOS_TEST_INFLUX_OUTAGE_S ?? 30) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'gridos-influx-'));
const { logger } = captureLogger('error');
let vm: VictoriaMetrics;
const outputs: InfluxOutput[] = [];

beforeAll(async () => {
  vm = await startVictoriaMetrics({ dataDir: join(dir, 'vm') });
}, 30_000);

afterAll(async () => {
  for (const o of outputs) await o.stop().catch(() => undefined);
  await vm?.stop();
});

function output(queue: string, url = vm.url, registry = new Registry()) {
  const o = new InfluxOutput({ url, org: 'gridos', bucket: 'grid', token: 'secret', queuePath: join(dir, queue), flushIntervalMs: 100, retryInitialMs: 200, retryMaxMs: 1000 }, registry, logger);
  outputs.push(o);
  return { o, registry };
}

const readings = (tag: string, t0: number, n: number): Reading[] => Array.from({ length: n }, (_, i) => ({ tagId: tag, tsMs: t0 + i * 1000, value: 100 + i + 0.25, quality: Quality.Good }));
const counter = async (registry: Registry, name: string) => Number(/ (\d+)$/m.exec((await registry.getSingleMetricAsString(name)) ?? '')?.[1] ?? 0);

describe('InfluxDB output', () => {
  it('points arrive with their tags, values and ms timestamps, readings and aggregates', async () => {
    const { o, registry } = output('q1.db');
    o.start();
    const t0 = Date.now() - 600_000;
    o.enqueue({ edgeId: 'edge-1', siteId: 'site-a', readings: readings('feeder1.active_power_kw', t0, 5) });
    o.enqueue({ edgeId: 'edge-2', siteId: 'site-b', readings: readings('bess1.soc_pct', t0, 3), aggregates: [{ tagId: 'bess1.soc_pct', windowStartMs: t0, windowMs: 60_000, mean: 55.5, min: 50, max: 60, last: 58, count: 60 }] });
    await waitFor('points written', async () => (await counter(registry, 'gridos_hub_influx_points_written_total')) === 9, 10_000);
    const series = await waitFor('series exported', async () => {
      const s = await vm.exportSeries('{__name__=~"gridos_.*"}');
      return s.length >= 8 ? s : undefined;
    }, 10_000);
    const power = series.find((s) => s.metric.__name__ === 'gridos_reading_value' && s.metric.tag === 'feeder1.active_power_kw')!;
    expect(power.metric).toMatchObject({ edge: 'edge-1', site: 'site-a' });
    expect(power.timestamps).toEqual(readings('x', t0, 5).map((r) => r.tsMs));
    expect(power.values).toEqual([100.25, 101.25, 102.25, 103.25, 104.25]);
    const mean = series.find((s) => s.metric.__name__ === 'gridos_aggregate_mean')!;
    expect(mean).toMatchObject({ metric: { edge: 'edge-2', site: 'site-b', tag: 'bess1.soc_pct', window: '60s' }, values: [55.5], timestamps: [t0] });
    expect(o.queuedPoints()).toBe(0);
  });

  it(`keeps everything through a ${OUTAGE_MS / 1000} s server outage and a hub restart, then delivers it`, async () => {
    const port = vm.port;
    await vm.stop();
    const first = output('q2.db');
    first.o.start();
    const t0 = Date.now() - 300_000;
    first.o.enqueue({ edgeId: 'edge-3', siteId: 'site-c', readings: readings('feeder2.voltage_pu', t0, 50) });
    await waitFor('a failed write', async () => (await counter(first.registry, 'gridos_hub_influx_write_failures_total')) > 0, 10_000);
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    await first.o.stop(); // the hub restarts during the outage
    outputs.splice(outputs.indexOf(first.o), 1);
    const second = output('q2.db');
    expect(second.o.queuedPoints()).toBe(50);
    second.o.start();
    second.o.enqueue({ edgeId: 'edge-3', siteId: 'site-c', readings: readings('feeder2.voltage_pu', t0 + 50_000, 25) });
    await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
    vm = await startVictoriaMetrics({ port, dataDir: join(dir, 'vm') });
    await waitFor('the queue to drain', () => second.o.queuedPoints() === 0, 20_000);
    expect(await counter(second.registry, 'gridos_hub_influx_points_written_total')).toBe(75);
    const [s] = await waitFor('the series', async () => {
      const found = await vm.exportSeries('gridos_reading_value{edge="edge-3"}');
      return found[0]?.values.length === 75 ? found : undefined;
    }, 10_000);
    expect(s!.timestamps).toEqual(readings('x', t0, 75).map((r) => r.tsMs));
  }, OUTAGE_MS + 60_000);

  it('a batch the server refuses as malformed is dropped and counted, and the queue moves on', async () => {
    // victoria-metrics accepts nearly any line, so a tiny server of our own answers 400 to the first write.
    let writes = 0;
    const server: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        writes++;
        res.writeHead(writes === 1 ? 400 : 204, { 'content-type': 'application/json' }).end(writes === 1 ? '{"code":"invalid","message":"unable to parse"}' : '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    try {
      const { o, registry } = output('q3.db', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
      o.enqueue({ edgeId: 'edge-4', siteId: 'site-d', readings: readings('t', 0, 3) });
      o.start();
      await waitFor('the bad batch dropped', async () => (await counter(registry, 'gridos_hub_influx_points_dropped_total')) === 3, 5_000);
      o.enqueue({ edgeId: 'edge-4', siteId: 'site-d', readings: readings('t', 10_000, 2) });
      await waitFor('the next batch written', async () => (await counter(registry, 'gridos_hub_influx_points_written_total')) === 2, 5_000);
      expect(o.queuedPoints()).toBe(0);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a hub configured with timeseries.influx writes what it ingests, once', async () => {
    const hub = await buildHub(
      validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir: join(dir, 'hub') }, timeseries: { influx: { url: vm.url, org: 'gridos', bucket: 'grid', token: 'secret', flushInterval: '100ms' } } }, 'test'),
      { logger },
    );
    const { brokerUrl } = await hub.start();
    const client = await mqtt.connectAsync(brokerUrl, { protocolVersion: 4 });
    try {
      const t0 = Date.now() - 120_000;
      const msg = (seq: number) => Buffer.from(encodeEnvelope(envelope({ edgeId: 'edge-5', siteId: 'site-e', seq, sentAtMs: Date.now(), payload: { kind: 'telemetry', readings: readings('pv1.active_power_kw', t0 + seq * 10_000, 4) } }), { compress: true }));
      await client.publishAsync(uplinkTopic('site-e', 'edge-5', 'telemetry'), msg(1), { qos: 1 });
      await client.publishAsync(uplinkTopic('site-e', 'edge-5', 'telemetry'), msg(1), { qos: 1 }); // redelivered: stored once, written once
      await client.publishAsync(uplinkTopic('site-e', 'edge-5', 'telemetry'), msg(2), { qos: 1 });
      const [s] = await waitFor('the hub\'s points in InfluxDB', async () => {
        const found = await vm.exportSeries('gridos_reading_value{edge="edge-5"}');
        return found[0]?.values.length === 8 ? found : undefined;
      }, 10_000);
      expect(s!.metric).toMatchObject({ site: 'site-e', tag: 'pv1.active_power_kw' });
      expect(await counter(hub.metrics.registry, 'gridos_hub_influx_points_written_total')).toBe(8);
    } finally {
      await client.endAsync();
      await hub.stop();
    }
  });
});
