/**
 * Offline is normal. An edge starts while its hub's broker (mosquitto) is down: it keeps
 * reading the substation and stores everything in its outbox. The broker comes up with the hub
 * behind it: the backlog is delivered, the outbox drains, and the hub holds exactly what the edge
 * stored. Then the broker is killed and restarted (a cut link, sessions lost): delivery resumes,
 * nothing is lost and nothing is stored twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { freePort } from '../helpers/ports.js';
import { loginToHub, type HubSession } from '../helpers/hub-login.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-offline-'));
const { logger, records } = captureLogger('debug');
const TAG = 'feeder1.active_power_kw';
let sim: SubstationHandle;
let agent: Agent;
let hub: Hub | undefined;
let viewer: HubSession;
let broker: Mosquitto | undefined;
let brokerPort = 0;

beforeAll(async () => {
  sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: 20, tickMs: 200, pkiDir: join(dir, 'sim-pki'), logger });
  brokerPort = await freePort();
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-off', site: 'site-off' },
      hub: { mqttUrl: `mqtt://127.0.0.1:${brokerPort}` },
      storage: { dataDir: join(dir, 'edge') },
      uplink: { flushInterval: '200ms', ackTimeout: '2s' },
      sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '200ms', publishingInterval: '200ms', tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, min: p.minValue, max: p.maxValue })) }],
    },
    'test',
  );
  agent = await startAgent(config, { logger });
  await agent.sourcesReady;
}, 60_000);

// On failure, show what the edge, hub and broker said: a fault test that fails must say why.
beforeEach(() => onTestFailed(() => {
  for (const r of records) if (r.level !== 20 || r.component !== 'uplink') process.stderr.write(`${JSON.stringify(r)}\n`);
}));

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
  await broker?.stop();
});

async function hubReadings(tag: string) {
  const res = await hub!.app.inject({ method: 'GET', url: `/api/readings?edge=edge-off&tag=${tag}&from=0&limit=100000`, headers: viewer.headers });
  return (res.json() as { readings: { tsMs: number; value: number }[] }).readings;
}

describe('store and forward through mosquitto', () => {
  it('buffers while the broker is down, then delivers the whole backlog once it is up', async () => {
    await waitFor('a backlog of 10 messages', () => agent.store.outboxDepth() >= 10, 15_000);
    expect(agent.uplink.connected).toBe(false);

    broker = await startMosquitto(brokerPort);
    hub = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'external', url: broker.url }, storage: { dataDir: join(dir, 'hub') } }, 'test'), { logger });
    await hub.start();
    viewer = await loginToHub(hub);

    await waitFor('the outbox to drain', () => agent.store.outboxDepth() <= 2, 20_000);
    const atEdge = agent.store.readings(TAG);
    const atHub = await hubReadings(TAG);
    // everything the edge stored up to the last acknowledged message is at the hub, exactly
    const upTo = atHub.at(-1)!.tsMs;
    expect(atHub).toEqual(atEdge.filter((r) => r.tsMs <= upTo).map(({ tsMs, value }) => ({ tsMs, value, quality: 0, flags: 0 })));
    expect(atHub.length).toBeGreaterThan(10);

    // the hub shows the edge online, its backlog and its data lag, on the API and as metrics
    await waitFor('a state report after the drain', async () => {
      const [e] = (await hub!.app.inject({ method: 'GET', url: '/api/edges', headers: viewer.headers })).json() as { online: boolean; lagMs: number; backlog: { messages: number } }[];
      return e?.online === true && e.lagMs < 10_000 ? e : undefined;
    }, 15_000);
    const metrics = (await hub!.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^gridos_hub_edge_online\{edge="edge-off",site="site-off"\} 1$/m);
    expect(metrics).toMatch(/^gridos_hub_edge_backlog_messages\{edge="edge-off",site="site-off"\} \d+$/m);
    expect(metrics).toMatch(/^gridos_hub_edge_lag_seconds\{edge="edge-off",site="site-off"\} [\d.]+$/m);
  });

  it('survives a broker restart that loses every session: no loss, no duplicates', async () => {
    await broker!.stop();
    const seqAtCut = agent.store.lastSeq();
    await waitFor('more messages stored while the link is down', () => agent.store.lastSeq() >= seqAtCut + 5, 10_000);
    broker = await startMosquitto(brokerPort);
    await waitFor('the outbox to drain after the restart', () => agent.store.outboxDepth() <= 2 && agent.store.lastSeq() > seqAtCut + 5, 25_000);

    const atEdge = agent.store.readings(TAG);
    const atHub = await hubReadings(TAG);
    const upTo = atHub.at(-1)!.tsMs;
    expect(upTo).toBeGreaterThan(atEdge.find((r) => r.tsMs > 0)!.tsMs);
    expect(atHub).toEqual(atEdge.filter((r) => r.tsMs <= upTo).map(({ tsMs, value }) => ({ tsMs, value, quality: 0, flags: 0 })));
    // Read the edge's side first: everything it had seen acknowledged by then is stored at the hub.
    const acknowledgedBefore = agent.store.lastSeq() - agent.store.outboxDepth();
    const metrics = await hub!.metrics.registry.getSingleMetricAsString('gridos_hub_messages_total');
    const stored = [...metrics.matchAll(/^gridos_hub_messages_total\{kind="\w+"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    // every seq was stored once (the broker lost the unacknowledged ones, the edge resent them):
    // all but those still in the outbox, and at most the few whose ack is on its way back
    const lastSeq = agent.store.lastSeq();
    expect(stored).toBeGreaterThanOrEqual(acknowledgedBefore);
    expect(stored).toBeLessThanOrEqual(lastSeq);
    expect(hub!.store.edges().find((e) => e.id === 'edge-off')!.ackedThrough).toBeLessThanOrEqual(lastSeq);
  });

  it('an edge speaking MQTT 5 (session expiry) delivers through the same broker', async () => {
    const v5 = await startAgent(
      validateConfig(
        edgeConfigSchema,
        {
          edge: { id: 'edge-v5', site: 'site-off' },
          hub: { mqttUrl: broker!.url, protocolVersion: 5, sessionExpiry: '1h' },
          storage: { dataDir: join(dir, 'edge-v5') },
          uplink: { flushInterval: '200ms', ackTimeout: '2s' },
          sources: [{ kind: 'opcua', name: 'substation', endpoint: sim.endpointUrl, samplingInterval: '200ms', publishingInterval: '200ms', tags: sim.points.slice(0, 3).map((p) => ({ id: p.tag, nodeId: p.nodeId, min: p.minValue, max: p.maxValue })) }],
        },
        'test',
      ),
      { logger },
    );
    try {
      const tag = sim.points[0]!.tag;
      await waitFor('MQTT 5 edge readings at the hub', async () => {
        const res = await hub!.app.inject({ method: 'GET', url: `/api/readings?edge=edge-v5&tag=${tag}&from=0`, headers: viewer.headers });
        return (res.json() as { readings: unknown[] }).readings.length >= 5;
      }, 15_000);
      await waitFor('its outbox to drain', () => v5.store.outboxDepth() <= 2, 10_000);
    } finally {
      await v5.stop();
    }
  });
});
