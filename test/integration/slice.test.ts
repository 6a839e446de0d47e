/**
 * The first end-to-end slice on real protocols: the simulator's OPC UA server on an ephemeral
 * port, an edge agent subscribed to it, the hub with its embedded broker. Within 15 s the hub's
 * /api/readings returns values for every configured tag, equal to what the simulator served.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeConfigSchema, hubConfigSchema, validateConfig } from '../../config/index.js';
import { startAgent, type Agent } from '../../edge/index.js';
import { buildHub, type Hub } from '../../hub/index.js';
import { startSubstation, substationDefaults, type SubstationHandle } from '../../simulators/index.js';
import { captureLogger } from '../helpers/logger.js';
import { loginToHub, type HubSession } from '../helpers/hub-login.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'gridos-slice-'));
const { logger } = captureLogger('warn');
let hub: Hub;
let viewer: HubSession;
let sim: SubstationHandle;
let agent: Agent;
let startedAt = 0;

beforeAll(async () => {
  hub = await buildHub(validateConfig(hubConfigSchema, { http: { port: 0 }, broker: { mode: 'embedded', port: 0 }, storage: { dataDir: join(dir, 'hub') } }, 'test'), { logger });
  viewer = await loginToHub(hub);
  const { brokerUrl } = await hub.start();
  sim = await startSubstation({ ...substationDefaults, port: 0, hourSeconds: 30, tickMs: 500, pkiDir: join(dir, 'sim-pki'), logger });
  const config = validateConfig(
    edgeConfigSchema,
    {
      edge: { id: 'edge-1', site: 'site-1' },
      hub: { mqttUrl: brokerUrl },
      storage: { dataDir: join(dir, 'edge') },
      uplink: { flushInterval: '250ms' },
      sources: [
        {
          kind: 'opcua',
          name: 'substation',
          endpoint: sim.endpointUrl,
          samplingInterval: '250ms',
          publishingInterval: '250ms',
          tags: sim.points.map((p) => ({ id: p.tag, nodeId: p.nodeId, unit: p.unit, min: p.minValue, max: p.maxValue })),
        },
      ],
    },
    'test',
  );
  startedAt = Date.now();
  agent = await startAgent(config, { logger });
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await sim?.stop();
  await hub?.stop();
});

describe('simulator -> OPC UA -> edge -> MQTT -> hub', () => {
  it('the hub has readings of every tag within 15 s, each equal to the value the simulator served at that timestamp', async () => {
    const tags = sim.points.map((p) => p.tag);
    expect(tags.length).toBeGreaterThanOrEqual(8);
    const byTag = await waitFor(
      'readings of every tag at the hub',
      async () => {
        const all = await Promise.all(
          sim.points.map(async (p) => {
            const res = await hub.app.inject({ method: 'GET', url: `/api/readings?edge=edge-1&tag=${p.tag}&from=${startedAt - 60_000}`, headers: viewer.headers });
            return { point: p, readings: (res.json() as { readings: { tsMs: number; value: number; quality: number }[] }).readings };
          }),
        );
        return all.every((t) => t.readings.length > 0) ? all : undefined;
      },
      15_000,
      250,
    );
    for (const { point, readings } of byTag) {
      for (const r of readings) {
        expect(r.quality, point.tag).toBe(0);
        expect(sim.servedValue(point.nodeId, r.tsMs), `${point.tag} at ${r.tsMs}`).toBe(r.value);
      }
    }
    // the edge's own store holds the same raw readings, and nothing was rejected
    const edgeRows = agent.store.readings(sim.points[0]!.tag);
    expect(edgeRows.length).toBeGreaterThan(0);
    const metrics = await agent.metrics.registry.getSingleMetricAsString('gridos_edge_readings_rejected_total');
    expect(metrics).not.toMatch(/reason=/);
  });

  it('the edge registered with its tags, and the outbox drains as the hub acknowledges', async () => {
    const tags = (await hub.app.inject({ method: 'GET', url: '/api/edges/edge-1/tags', headers: viewer.headers })).json() as { id: string; unit: string; source: string }[];
    expect(tags.map((t) => t.id).sort()).toEqual(sim.points.map((p) => p.tag).sort());
    expect(tags.every((t) => t.source.startsWith('opcua:substation ns=1;s='))).toBe(true);
    await waitFor('an empty outbox', () => agent.store.outboxDepth() === 0, 10_000);
    expect(agent.store.lastSeq()).toBeGreaterThan(1);
  });
});
